/**
 * What a join costs, per branch and in throughput:
 *   npm run bench:join -- [--endpoint URL] [--backend-name NAME] [--only 10,100,10000,throughput]
 *     [--items 1000] [--branches 20] [--processes 2] [--timeout 600]
 * (`npx node --conditions=sqspipes-source scripts/bench/join-costs.ts …` runs src/ unbuilt.)
 *
 * Pipeline: source → split (fanOut of n numbers) → work (doubles) → sum (join 'split'). split
 * and work run in this process; the join runs in child processes (this file with --child), so
 * that its peak RSS is its own. Fan-out rows: one item of n branches, one join process. The
 * throughput row: --items items of --branches branches through --processes join processes.
 *
 * Counted by middleware on the SQS and S3 clients given to sqspipes, every HTTP attempt: SQS
 * message requests by action (receives that return nothing left out: idle polls cost per idle
 * minute, not per branch), S3 requests by action (PUTs refused by their condition also apart;
 * set-up left out: the bucket and conditions
 * checks, the lifecycle rule), the bytes of join state read and written, the largest state
 * written. Peak RSS: getrusage's maxRSS of the join process (its RSS when it started polling, a
 * TaskClient and the SDKs loaded, shown beside it).
 *
 * On fauxqs (SQS and S3) in its own process, or --endpoint (SQSPIPES_BENCH_ENDPOINT), e.g.
 * LocalStack with SERVICES=sqs,s3 (.ci/localstack-host.sh). A FIFO receive on AWS and LocalStack
 * returns up to 10 messages of one group; fauxqs returns 1. A row that does not finish within
 * --timeout seconds (from its first enqueue) is reported with how far its join got.
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as S3 from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fanOut, type StageEntry, TaskClient } from 'sqspipes';
import { announceReady, CREDENTIALS, errorText, REGION, RssSampler } from './child.ts';
import { startEndpoint } from './emulator.ts';
import { type Child, installCleanup, killAll, startChild } from './procs.ts';
import { MESSAGE_ACTIONS } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    'backend-name': { type: 'string' },
    only: { type: 'string', default: '10,100,10000,throughput' },
    items: { type: 'string', default: '1000' },
    branches: { type: 'string', default: '20' },
    processes: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '600' },
    // The join process (this file run by the benchmark): its pipeline and report file.
    child: { type: 'boolean', default: false },
    domain: { type: 'string' },
    bucket: { type: 'string' },
    report: { type: 'string' },
  },
});
const PREFIX = 'bench/';
const SCRIPT = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;
const WORK_WORKERS = 32;
const JOIN_WORKERS = 20;

/** What one process's clients did. */
interface Tally {
  /** SQS message requests by action, receives that returned nothing left out. */
  sqs: Record<string, number>;
  emptyReceives: number;
  /** Messages received, and receives that brought any. */
  received: number;
  /** S3 requests by action, set-up left out (every attempt; `<action> conflict`: refused, 412 or 409). */
  s3: Record<string, number>;
  stateRead: number;
  stateWritten: number;
  largestState: number;
  /** Milliseconds in join state requests, GET and PUT (a GET to its answer's headers: its body is read after). */
  stateMs: number;
  /** Each join state written (2xx): when (Date.now()) and its bytes. */
  writes: [number, number][];
}

/** What the join process writes to its report file when it stops. */
interface JoinReport {
  readonly tally: Tally;
  readonly outputs: number;
  readonly readyRss: number;
  readonly peakRssKiB: number;
  readonly peakHeapUsed: number;
  readonly cpuMs: number;
  readonly error?: string;
}

const newTally = (): Tally => ({
  sqs: {},
  emptyReceives: 0,
  received: 0,
  s3: {},
  stateRead: 0,
  stateWritten: 0,
  largestState: 0,
  stateMs: 0,
  writes: [],
});
const add = (counts: Record<string, number>, key: string, n = 1) => (counts[key] = (counts[key] ?? 0) + n);
const headerLength = (response: unknown) =>
  Number((response as { headers?: Record<string, string> }).headers?.['content-length'] ?? 0);

function countedSqs(endpoint: string, tally: Tally): SQSClient {
  const sqs = new SQSClient({ region: REGION, endpoint, credentials: CREDENTIALS });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const action = String(context.commandName).replace(/Command$/, '');
      const messages = (result.output as { Messages?: unknown[] }).Messages?.length ?? 0;
      if (action === 'ReceiveMessage' && messages === 0) tally.emptyReceives++;
      else if (MESSAGE_ACTIONS.has(action)) add(tally.sqs, action);
      tally.received += messages;
      return result;
    },
    { step: 'deserialize', name: 'benchCountSqs', priority: 'high' },
  );
  return sqs;
}

function countedS3(endpoint: string, tally?: Tally): S3.S3Client {
  const s3 = new S3.S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: CREDENTIALS });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      const result = await next(args);
      const action = String(context.commandName).replace(/Command$/, '');
      const input = args.input as { Key?: unknown; Body?: unknown };
      const key = String(input.Key);
      if (tally === undefined || key.includes('sqspipes.check') || /Bucket|Lifecycle/.test(action))
        return result;
      add(tally.s3, action);
      // This step sees the HTTP answer before it is parsed: a refused condition does not throw here.
      const status = (result.response as { statusCode?: number }).statusCode ?? 0;
      if (status === 412 || status === 409) add(tally.s3, `${action} conflict`);
      if (key.includes('/join/')) tally.stateMs += performance.now() - started;
      if (status >= 300) return result;
      if (key.includes('/join/') && action === 'GetObject') tally.stateRead += headerLength(result.response);
      if (key.includes('/join/') && action === 'PutObject' && typeof input.Body === 'string') {
        const bytes = Buffer.byteLength(input.Body);
        tally.stateWritten += bytes;
        tally.largestState = Math.max(tally.largestState, bytes);
        tally.writes.push([Date.now(), bytes]);
      }
      return result;
    },
    { step: 'deserialize', name: 'benchCountS3' },
  );
  return s3;
}

/** The pipeline, the same in every process; the join's output says what it gathered. */
const STAGES: StageEntry[] = [
  { name: 'source', method: () => null },
  { name: 'split', method: (n: number) => fanOut(Array.from({ length: n }, (_, i) => i)), input: true },
  { name: 'work', method: (i: number) => i * 2, workers: WORK_WORKERS },
  {
    name: 'sum',
    method: (values: number[]) => ({ branches: values.length, sum: values.reduce((a, b) => a + b, 0) }),
    join: 'split',
    workers: JOIN_WORKERS,
  },
];

function pipelineClient(endpoint: string, domain: string, bucket: string, tally: Tally) {
  const sqs = countedSqs(endpoint, tally);
  const s3 = countedS3(endpoint, tally);
  const client = new TaskClient({
    domain,
    sqs,
    payloads: { bucket, prefix: PREFIX, s3Client: s3 },
    [Symbol.for('sqspipes.queueSettleMs')]: 0, // queues are made before the clock starts
  });
  client.registerTasks(STAGES);
  const destroy = () => {
    sqs.destroy();
    s3.destroy();
  };
  return { client, destroy };
}

/** The join process: runs `sum` until SIGTERM, a JSON line on stdout per output. */
async function joinProcess(): Promise<void> {
  const [endpoint, domain, bucket, report] = [values.endpoint, values.domain, values.bucket, values.report];
  if (!endpoint || !domain || !bucket || !report)
    throw new Error('--child needs --endpoint, --domain, --bucket, --report');
  const tally = newTally();
  const { client, destroy } = pipelineClient(endpoint, domain, bucket, tally);
  const stop = new AbortController();
  process.on('SIGTERM', () => stop.abort());
  let outputs = 0;
  const sampler = new RssSampler(() => outputs);
  let error: string | undefined;
  const readyRss = process.memoryUsage().rss;
  const progress = setInterval(() => {
    const [written, largest] = [tally.writes.length, tally.largestState];
    const rss = process.memoryUsage().rss;
    process.stdout.write(`${JSON.stringify({ event: 'progress', written, largest, rss })}\n`);
  }, 15_000);
  try {
    const run = client.run('sum', { signal: stop.signal, shutdownTimeout: 60_000 });
    const first = run.next();
    announceReady();
    for (let next = await first; next.done !== true; next = await run.next()) {
      outputs++;
      process.stdout.write(`${JSON.stringify({ event: 'output', at: Date.now(), value: next.value })}\n`);
    }
  } catch (e) {
    error = errorText(e);
  } finally {
    clearInterval(progress);
    sampler.stop();
    await client.close().catch(() => {});
    destroy();
  }
  const usage = process.resourceUsage();
  const result: JoinReport = {
    tally,
    outputs,
    readyRss,
    peakRssKiB: usage.maxRSS,
    peakHeapUsed: Math.max(...sampler.samples.map((s) => s.heapUsed)),
    cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
    ...(error === undefined ? {} : { error }),
  };
  writeFileSync(report, JSON.stringify(result));
}

/** A join process, its outputs as they come, and its report once it stopped. */
interface JoinChild {
  readonly child: Child;
  readonly outputs: { at: number; value: { branches: number; sum: number } }[];
  /** Resolves once the outputs of all join processes reach `count` (set by the caller). */
  onOutput: () => void;
  stop(): Promise<JoinReport>;
}

function startJoin(endpoint: string, domain: string, bucket: string, name: string): JoinChild {
  const report = join(tmpdir(), `join-costs-${randomUUID()}.json`);
  const args = [
    '--child',
    '--endpoint',
    endpoint,
    '--domain',
    domain,
    '--bucket',
    bucket,
    '--report',
    report,
  ];
  const child = startChild(name, SCRIPT, args, { nodeArgs: process.execArgv });
  const self: JoinChild = {
    child,
    outputs: [],
    onOutput: () => {},
    async stop() {
      child.process.kill('SIGTERM');
      await child.exited;
      try {
        return JSON.parse(readFileSync(report, 'utf8')) as JoinReport;
      } catch {
        throw new Error(`${name} wrote no report:\n${child.stderr()}`);
      } finally {
        rmSync(report, { force: true });
      }
    },
  };
  let partial = '';
  child.process.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.includes('"event":"progress"'))) {
      const { written, largest, rss } = JSON.parse(line) as Record<string, number>;
      process.stderr.write(
        `  ${name}: ${written} states written, largest ${kib(largest)}, RSS ${mib(rss ?? 0)} MiB\n`,
      );
    }
    for (const line of lines.filter((l) => l.includes('"event":"output"'))) {
      self.outputs.push(JSON.parse(line) as JoinChild['outputs'][number]);
      self.onOutput();
    }
  });
  return self;
}

/** One run: `items` items of `branches` branches through `processes` join processes. */
interface Run {
  readonly items: number;
  readonly branches: number;
  readonly processes: number;
}

interface Measured extends Run {
  readonly seconds: number;
  readonly joined: number;
  readonly parent: Tally;
  readonly joins: JoinReport[];
}

async function measure(endpoint: string, bucket: string, run: Run, timeoutMs: number): Promise<Measured> {
  const domain = `joincost${Date.now().toString(36)}`;
  const parent = newTally();
  const { client, destroy } = pipelineClient(endpoint, domain, bucket, parent);
  const stop = new AbortController();
  const joins: JoinChild[] = [];
  try {
    await client.createQueues();
    for (let i = 0; i < run.processes; i++) joins.push(startJoin(endpoint, domain, bucket, `join ${i + 1}`));
    await Promise.all(joins.map((j) => j.child.ready));
    const stages = ['split', 'work'].map(async (stage) => {
      for await (const _ of client.run(stage, { signal: stop.signal })); // outputs go to the next stage
    });
    const all = () => joins.flatMap((j) => j.outputs);
    const done = new Promise<void>((resolve) => {
      for (const j of joins) j.onOutput = () => all().length >= run.items && resolve();
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const started = Date.now();
    await Promise.all(Array.from({ length: run.items }, () => client.enqueue('split', run.branches)));
    await Promise.race([done, timedOut, ...stages]);
    clearTimeout(timer);
    const outputs = all();
    const last = Math.max(...outputs.map((o) => o.at));
    const seconds = ((outputs.length === run.items ? last : Date.now()) - started) / 1000;
    const expected = run.branches * (run.branches - 1);
    if (outputs.some((o) => o.value.branches !== run.branches || o.value.sum !== expected))
      throw new Error(`a join output is not ${JSON.stringify({ branches: run.branches, sum: expected })}`);
    stop.abort();
    const reports = await Promise.all(joins.map((j) => j.stop()));
    await Promise.all(stages);
    return { ...run, seconds, joined: outputs.length, parent, joins: reports };
  } finally {
    stop.abort();
    for (const j of joins) j.child.process.kill('SIGKILL'); // a no-op for those that stopped
    await Promise.all(joins.map((j) => j.child.exited));
    await client.destroy().catch(() => {});
    await client.close().catch(() => {});
    destroy();
  }
}

const fixed = (n: number, digits = 2) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)}`;
const kib = (bytes = 0) => `${(bytes / 1024).toFixed(1)} KiB`;
const sum = (tallies: readonly Tally[], pick: (t: Tally) => number) =>
  tallies.reduce((a, t) => a + pick(t), 0);
const SQS_COLUMNS = [
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibilityBatch',
];

/** Requests by action over these processes, per branch: `a / b / c` in the order of `columns`. */
function perBranch(tallies: readonly Tally[], source: 'sqs' | 's3', columns: readonly string[], n: number) {
  return columns.map((a) => fixed(sum(tallies, (t) => t[source][a] ?? 0) / n)).join(' / ');
}

function s3Other(tallies: readonly Tally[]): number {
  return sum(tallies, (t) =>
    Object.entries(t.s3).reduce((a, [k, v]) => a + (/^(Get|Put)Object|conflict$/.test(k) ? 0 : v), 0),
  );
}

/** The ms per state write over each tenth of the join's writes: how a fold slows as the state grows. */
function foldTrend(writes: readonly [number, number][]): string {
  if (writes.length < 20) return '';
  const tenth = Math.floor(writes.length / 10);
  const cells = [0, 4, 9].map((d) => {
    const slice = writes.slice(d * tenth, (d + 1) * tenth);
    const ms = ((slice.at(-1)?.[0] ?? 0) - (slice[0]?.[0] ?? 0)) / Math.max(1, slice.length - 1);
    const largest = Math.max(...slice.map(([, bytes]) => bytes));
    return `${ms.toFixed(1)} ms at ${(largest / 1024).toFixed(0)} KiB`;
  });
  return `per fold: ${cells.join(', ')} (1st, 5th, last tenth of writes)`;
}

function fanOutRow(r: Measured): string {
  const n = r.items * r.branches;
  const all = [r.parent, ...r.joins.map((j) => j.tally)];
  const joinTallies = r.joins.map((j) => j.tally);
  const receives = sum(joinTallies, (t) => t.sqs['ReceiveMessage'] ?? 0);
  const get = sum(all, (t) => t.s3['GetObject'] ?? 0);
  const put = sum(all, (t) => t.s3['PutObject'] ?? 0);
  const moved = sum(joinTallies, (t) => t.stateRead + t.stateWritten);
  const largest = Math.max(...joinTallies.map((t) => t.largestState));
  const j = r.joins[0];
  const cells = [
    r.joined === r.items ? String(r.branches) : `${r.branches} (**not joined** in ${r.seconds.toFixed(0)} s)`,
    perBranch(all, 'sqs', SQS_COLUMNS, n),
    `${fixed(sum(joinTallies, (t) => t.received) / Math.max(1, receives))}`,
    [get / n, put / n, s3Other(all) / n].map((x) => fixed(x)).join(' / ') +
      ` (${fixed(sum(all, (t) => t.s3['PutObject conflict'] ?? 0) / n)} PUT refused)`,
    `${(largest / 1024).toFixed(1)} KiB`,
    `${(moved / n / 1024).toFixed(1)} KiB`,
    j === undefined ? '?' : `${mib(j.readyRss)} → ${mib(j.peakRssKiB * 1024)} (heap ${mib(j.peakHeapUsed)})`,
    r.seconds.toFixed(1),
    ((r.seconds * 1000) / n).toFixed(2),
    (sum(joinTallies, (t) => t.stateMs) / n).toFixed(2),
    j === undefined ? '?' : (j.cpuMs / n).toFixed(2),
  ];
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  const only = values.only.split(',');
  const sizes = only.filter((s) => s !== 'throughput').map(Number);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0))
    throw new TypeError(`--only: branch counts and/or "throughput", got ${values.only}`);
  const [items, branches, processes, timeout] = [
    values.items,
    values.branches,
    values.processes,
    values.timeout,
  ].map(Number) as [number, number, number, number];
  const given = values.endpoint ?? process.env['SQSPIPES_BENCH_ENDPOINT'];
  const endpoint =
    given === undefined || given === ''
      ? await startEndpoint()
      : { url: given, name: given, stop: async () => {} };
  const backend = values['backend-name'] ?? endpoint.name;
  installCleanup(async () => {
    await killAll();
    await endpoint.stop();
  });
  const admin = countedS3(endpoint.url);
  const bucket = `sqspipes-joinbench-${Date.now().toString(36)}`;
  const rows: Measured[] = [];
  let throughput: Measured | undefined;
  try {
    await admin.send(new S3.CreateBucketCommand({ Bucket: bucket }));
    for (const n of sizes) {
      process.stderr.write(`1 item × ${n} branches…\n`);
      const started = performance.now();
      rows.push(await measure(endpoint.url, bucket, { items: 1, branches: n, processes: 1 }, timeout * 1000));
      process.stderr.write(`  ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
    if (only.includes('throughput')) {
      process.stderr.write(`${items} items × ${branches} branches, ${processes} join processes…\n`);
      throughput = await measure(endpoint.url, bucket, { items, branches, processes }, timeout * 1000);
    }
  } finally {
    await emptyBucket(admin, bucket).catch(() => {});
    await admin.send(new S3.DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
    admin.destroy();
    await endpoint.stop();
  }
  console.log(`Join costs on ${backend}, loopback; split and work in one process, the join in its own\n`);
  if (rows.length > 0) {
    console.log(
      '| Branches (1 item) | SQS requests per branch, all stages: send batch / receive / delete batch / visibility batch | Join: messages per receive | S3 requests per branch: GET / PUT / other (PUTs refused: 412, 409) | Largest join state | Join state read + written per branch | Join process RSS, MiB: at start → peak (peak heap used) | Wall s | ms per branch | of which in join state GET + PUT | Join process CPU ms per branch |',
    );
    console.log(`|${' --- |'.repeat(11)}`);
    for (const r of rows) console.log(fanOutRow(r));
    for (const r of rows) {
      const trend = foldTrend(r.joins[0]?.tally.writes ?? []);
      const t = r.joins[0]?.tally;
      const line = `${r.branches} branches: ${t?.writes.length ?? 0} join states written, ${t?.received ?? 0} messages received by the join`;
      console.log(
        `${line}${trend === '' ? '' : `; ${trend}`}${r.joins[0]?.error ? `; error: ${r.joins[0].error}` : ''}`,
      );
    }
  }
  if (throughput !== undefined) printThroughput(throughput);
}

function printThroughput(r: Measured): void {
  const n = r.items * r.branches;
  const joinMessages = sum(
    r.joins.map((j) => j.tally),
    (t) => t.received,
  );
  // Messages handled by every stage: the split's inputs, work's, and the join's (values and reports).
  const messages = r.items + n + joinMessages;
  console.log(
    `\nThroughput: ${r.items} items × ${r.branches} branches, ${r.processes} join processes (${JOIN_WORKERS} workers each), split and work (${WORK_WORKERS} workers) in one process\n`,
  );
  console.log(
    '| Items joined | Wall s | Items/s | Messages/s, all stages | Join messages/s | Per branch: SQS send / receive / delete / visibility | S3 GET / PUT / other (PUTs refused) | Join processes: peak RSS (heap used) MiB, CPU s |',
  );
  console.log(`|${' --- |'.repeat(8)}`);
  const all = [r.parent, ...r.joins.map((j) => j.tally)];
  const cells = [
    `${r.joined} of ${r.items}`,
    r.seconds.toFixed(1),
    fixed(r.joined / r.seconds, 1),
    fixed(messages / r.seconds, 0),
    fixed(joinMessages / r.seconds, 0),
    perBranch(all, 'sqs', SQS_COLUMNS, n),
    [perBranch(all, 's3', ['GetObject', 'PutObject'], n), fixed(s3Other(all) / n)].join(' / ') +
      ` (${perBranch(all, 's3', ['PutObject conflict'], n)} PUT refused)`,
    r.joins
      .map((j) => `${mib(j.peakRssKiB * 1024)} (${mib(j.peakHeapUsed)}), ${(j.cpuMs / 1000).toFixed(1)}`)
      .join('; '),
  ];
  console.log(`| ${cells.join(' | ')} |`);
  for (const [i, j] of r.joins.entries()) {
    console.log(
      `join ${i + 1}: ${j.outputs} items joined, ${j.tally.received} messages received${j.error ? `, error: ${j.error}` : ''}`,
    );
  }
}

async function emptyBucket(s3: S3.S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new S3.ListObjectsV2Command({ Bucket: bucket }));
    const Objects = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (Objects.length === 0) return;
    await s3.send(new S3.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
  }
}

if (values.child) await joinProcess();
else await main();
