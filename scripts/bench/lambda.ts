/**
 * Stages on AWS Lambda (issue 26): a container's cold start, and a stage behind the event source
 * mapping beside the same stage run as a process:
 *   npm run bench:lambda -- [--endpoint URL] [--backend-name NAME] [--rtt MS] [--only cold,warm]
 *     [--processes 7] [--items 5000] [--concurrency 4,16] [--workers 16] [--profile DIR]
 * (`npx node --conditions=sqspipes-source scripts/bench/lambda.ts …` runs src/ unbuilt, but for the
 * cold starts, which import dist/ as a deployed function would.)
 *
 * The pipeline gen → relay → sink; `relay` (x => x) is the stage measured. Its queues, and the
 * next stage's, exist before anything is measured (made by this process, as a deployment does).
 * - cold: --processes fresh OS processes of each handler, in turns (lambda-cold.mjs, Node's default
 *   flags): `sqspipes` (`client.lambda('relay')`) and `sdk` (the fastest handler written on the SDK
 *   alone). Each is handed two events of 10 records received from relay's queue (built as the event
 *   source mapping builds them) and answers them one after the other; measured from the spawn:
 *   import done, handler made, 1st invocation answered (the stage's queues looked up and checked,
 *   the next stage's found and checked), 2nd (warm) answered, and every SQS request of the process, timed
 *   (Node's diagnostics channels). Reported: medians, and min–max, over the processes.
 *   --profile DIR: each cold process writes a CPU profile there (profile-summary.ts reads it).
 * - warm: --items items enqueued into relay, then one fresh process moves them to sink: on the test
 *   kit's localEventSource (batchSize 10, MaximumConcurrency each of --concurrency; one mapping on
 *   relay's queue and one on its queue of timers, as `sqspipes lambda` prints them), or as a process
 *   (`client.run('relay', { workers })`). Reported: items per second from the first record received
 *   to the last output SQS accepted, and SQS requests per item of the stage and of the mapping.
 *
 * Set-up (queues, enqueueing, checking sink's outputs) goes straight to the endpoint; the measured
 * processes go through the delay proxy when --rtt is set (delay-proxy.ts). On fauxqs in its own
 * process, or --endpoint (SQSPIPES_BENCH_ENDPOINT). Writes bench-results/lambda-<backend>[-rttN].json
 * and prints Markdown tables.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Logger, type StageEntry, TaskClient } from 'sqspipes';
import { localEventSource } from 'sqspipes/testing';
import { queueArn, toRecord } from '../../src/testing/lambda-event.ts';
import { errorText, rawClient, REGION } from './child.ts';
import { createDelayProxy } from './delay-proxy.ts';
import { startEndpoint } from './emulator.ts';
import { installCleanup, killAll, startChild } from './procs.ts';
import { machineBusyMs } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    'backend-name': { type: 'string' },
    rtt: { type: 'string', default: '0' },
    only: { type: 'string', default: 'cold,warm' },
    processes: { type: 'string', default: '7' },
    items: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '4,16' },
    workers: { type: 'string', default: '16' },
    out: { type: 'string' },
    /** Cold processes write CPU profiles here (node --cpu-prof: not Node's default flags then). */
    profile: { type: 'string' },
    // A warm run's process (this file run by the benchmark): `lambda` or `run`.
    child: { type: 'string' },
    domain: { type: 'string' },
    'relay-url': { type: 'string' },
    'later-url': { type: 'string' },
    'sink-url': { type: 'string' },
    report: { type: 'string' },
  },
});
const SCRIPT = fileURLToPath(import.meta.url);
const COLD = fileURLToPath(new URL('./lambda-cold.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The same pipeline as lambda-cold.mjs'. */
const STAGES: StageEntry[] = [
  { name: 'gen', method: () => null },
  { name: 'relay', method: (x: unknown) => x },
  { name: 'sink', method: (x: unknown) => x },
];
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

type Counts = Record<string, number>;

function addTo(counts: Counts, action: string, n = 1): void {
  counts[action] = (counts[action] ?? 0) + n;
}

/** A domain with the pipeline's queues made, straight on the endpoint. */
interface Domain {
  readonly name: string;
  readonly client: TaskClient;
  readonly sqs: SQSClient;
  readonly relayUrl: string;
  readonly laterUrl: string;
  readonly sinkUrl: string;
}

async function makeDomain(direct: string, prefix: string): Promise<Domain> {
  const name = `${prefix}${Date.now().toString(36)}`;
  const sqs = rawClient(direct);
  const client = new TaskClient({ domain: name, sqs, [Symbol.for('sqspipes.queueSettleMs')]: 0 });
  client.registerTasks(STAGES);
  await client.createQueues();
  const queues = await client.queues();
  const url = (stage: string) => queues.find((q) => q.stage === stage && q.level === 0)?.url ?? '';
  const later = await sqs.send(new GetQueueUrlCommand({ QueueName: `${name}-relay-later` }));
  return {
    name,
    client,
    sqs,
    relayUrl: url('relay'),
    laterUrl: later.QueueUrl ?? '',
    sinkUrl: url('sink'),
  };
}

/**
 * `url` on `endpoint`: fauxqs bound to 127.0.0.1 names its queues `http://sqs.<region>.127.0.0.1:<port>/…`,
 * which WHATWG URL rejects (a host ending in a number must be an IPv4 address), and the event
 * source mapping's ARNs parse the URL. SQS reads the queue from the path.
 */
const parsable = (url: string, endpoint: string) => url.replace(/^https?:\/\/[^/]+/, endpoint);

/** The queue's name, the last segment of its URL. */
const nameOf = (url: unknown) => (typeof url === 'string' ? (url.split('/').pop() ?? '') : '');

async function dropDomain(d: Domain): Promise<void> {
  await d.client.destroy().catch((e: unknown) => log(`  could not delete the queues: ${errorText(e)}`));
  await d.client.close().catch(() => {});
  d.sqs.destroy();
}

async function enqueue(d: Domain, from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000)
    await Promise.all(
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => d.client.enqueue('relay', from + i + k)),
    );
}

/** Receives `n` messages of `url` (kept invisible for 5 minutes), or throws after 30 s. */
async function receive(sqs: SQSClient, url: string, n: number, visibility = 300): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + 30_000;
  while (got.length < n) {
    if (Date.now() > deadline) throw new Error(`received ${got.length} of ${n} messages of ${url}`);
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, n - got.length),
        WaitTimeSeconds: 1,
        VisibilityTimeout: visibility,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    got.push(...(out.Messages ?? []));
  }
  return got;
}

async function deleteAll(sqs: SQSClient, url: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const entries = messages
      .slice(i, i + 10)
      .map((m, k) => ({ Id: String(k), ReceiptHandle: m.ReceiptHandle ?? '' }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  }
}

// ---------------------------------------------------------------- cold starts

type ColdMode = 'sqspipes' | 'sdk';

/** What lambda-cold.mjs prints (ms after its time origin). */
interface ColdOutput {
  readonly mode: ColdMode;
  readonly startMs: number;
  readonly importedMs: number;
  readonly handlerMadeMs: number;
  readonly invocations: {
    startMs: number;
    endMs: number;
    records: number;
    failed: number;
    clientRequests: Counts;
  }[];
  readonly requests: { action: string; start: number; end?: number; failed?: boolean }[];
  readonly epochOfOrigin: number;
}

/** One invocation as measured. */
interface InvocationFigures {
  readonly answeredMs: number;
  readonly ms: number;
  readonly requests: Counts;
  /** From the invocation's start to its first SendMessageBatch. */
  readonly beforeFirstSendMs: number;
  /** The longest chain of requests each started after the one before it answered. */
  readonly inSequence: number;
}

/** One cold process as measured, ms from its spawn. */
interface ColdFigures {
  readonly mode: ColdMode;
  readonly scriptRunsMs: number;
  readonly importedMs: number;
  readonly handlerMadeMs: number;
  readonly first: InvocationFigures;
  readonly second: InvocationFigures;
  readonly outputs: number;
  readonly timeline: { action: string; start: number; end: number | null }[];
}

/** The longest chain of `spans` each starting at or after the end of the one before. */
function longestChain(spans: readonly { start: number; end: number }[]): number {
  const sorted = [...spans].sort((a, b) => a.end - b.end);
  const best: number[] = [];
  for (const [i, s] of sorted.entries()) {
    let b = 1;
    for (let j = 0; j < i; j++) {
      const before = sorted[j];
      if (before !== undefined && before.end <= s.start) b = Math.max(b, (best[j] ?? 0) + 1);
    }
    best.push(b);
  }
  return Math.max(0, ...best);
}

function invocationFigures(out: ColdOutput, i: number, fromSpawn: (ms: number) => number): InvocationFigures {
  const inv = out.invocations[i];
  if (inv === undefined) throw new Error(`the cold process answered ${out.invocations.length} invocations`);
  const inside = out.requests.filter((r) => r.start >= inv.startMs && r.start <= inv.endMs);
  const requests: Counts = {};
  for (const r of inside) addTo(requests, r.action);
  const send = inside.find((r) => r.action === 'SendMessageBatch');
  const spans = inside.map((r) => ({ start: r.start, end: r.end ?? inv.endMs }));
  if (inv.failed > 0) log(`  ${out.mode}: invocation ${i + 1} answered ${inv.failed} records failed`);
  return {
    answeredMs: fromSpawn(inv.endMs),
    ms: inv.endMs - inv.startMs,
    requests,
    beforeFirstSendMs: send === undefined ? Number.NaN : send.start - inv.startMs,
    inSequence: longestChain(spans),
  };
}

async function coldOne(
  mode: ColdMode,
  d: Domain,
  direct: string,
  url: string,
  at: number,
): Promise<ColdFigures> {
  await enqueue(d, at, 20);
  const records = await receive(d.sqs, d.relayUrl, 20);
  const arn = queueArn(parsable(d.relayUrl, direct), REGION);
  const events = [records.slice(0, 10), records.slice(10)].map((batch) => ({
    Records: batch.map((m) => toRecord(m, arn, REGION)),
  }));
  const file = join(tmpdir(), `lambda-events-${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(events));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    AWS_ENDPOINT_URL_SQS: url,
    AWS_REGION: REGION,
    ...CREDENTIALS,
    BENCH_DOMAIN: d.name,
    BENCH_NEXT_URL: d.sinkUrl,
  };
  const spawnedAt = performance.timeOrigin + performance.now();
  const nodeArgs =
    values.profile === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', values.profile];
  const child = startChild(`cold ${mode}`, COLD, [mode, file], { env, nodeArgs });
  child.ready.catch(() => {}); // it announces nothing: its exit is awaited
  let stdout = '';
  child.process.stdout?.on('data', (chunk: string) => (stdout += chunk));
  const code = await child.exited;
  rmSync(file, { force: true });
  const line = stdout.split('\n').find((l) => l.startsWith('{"mode"'));
  if (code !== 0 || line === undefined)
    throw new Error(`the cold ${mode} process exited (${code}):\n${child.stderr()}`);
  const out = JSON.parse(line) as ColdOutput;
  const fromSpawn = (ms: number) => out.epochOfOrigin + ms - spawnedAt;
  // What the event source mapping does after the answers; then sink's outputs, counted.
  await deleteAll(d.sqs, d.relayUrl, records);
  const outputs = await receive(d.sqs, d.sinkUrl, 20, 30);
  await deleteAll(d.sqs, d.sinkUrl, outputs);
  return {
    mode,
    scriptRunsMs: fromSpawn(out.startMs),
    importedMs: fromSpawn(out.importedMs),
    handlerMadeMs: fromSpawn(out.handlerMadeMs),
    first: invocationFigures(out, 0, fromSpawn),
    second: invocationFigures(out, 1, fromSpawn),
    outputs: outputs.length,
    timeline: out.requests.map((r) => ({
      action: r.action,
      start: Math.round(fromSpawn(r.start) * 10) / 10,
      end: r.end === undefined ? null : Math.round(fromSpawn(r.end) * 10) / 10,
    })),
  };
}

async function cold(direct: string, url: string, processes: number): Promise<ColdFigures[]> {
  const d = await makeDomain(direct, 'lamc');
  const results: ColdFigures[] = [];
  try {
    for (let i = 0; i < processes; i++)
      for (const mode of ['sqspipes', 'sdk'] as const) {
        const r = await coldOne(mode, d, direct, url, results.length * 20);
        log(
          `  cold ${mode} ${i + 1}: import ${f0(r.importedMs)} ms, 1st answered ${f0(r.first.answeredMs)} ms, 2nd ${f0(r.second.answeredMs)} ms`,
        );
        results.push(r);
      }
  } finally {
    await dropDomain(d);
  }
  return results;
}

// ---------------------------------------------------------------- warm throughput

type WarmKind = { mode: 'lambda'; concurrency: number } | { mode: 'run'; workers: number };

const kindName = (k: WarmKind) =>
  k.mode === 'lambda' ? `Lambda, MaximumConcurrency ${k.concurrency}` : `process, ${k.workers} workers`;

/** What a warm run's process writes to its report. */
interface WarmReport {
  readonly firstRecordAt: number;
  readonly lastOutputAt: number;
  readonly lastDeleteAt: number;
  readonly outputs: number;
  /** SQS requests of the stage (handler or run) and of the event source mapping, by action. */
  readonly stage: Counts;
  readonly mapping: Counts;
  readonly invocations?: number;
  readonly maxInFlight?: number;
  readonly recordsFailed?: number;
  readonly cpuMs: number;
  readonly warnings: Counts;
  readonly error?: string;
}

interface WarmFigures extends WarmReport {
  readonly kind: WarmKind;
  readonly items: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly machineCores: number | undefined;
}

/** Notes, on `sqs`, requests by action and the times the warm figures need. */
function watch(
  sqs: SQSClient,
  names: { relay: string; sink: string },
  counts: Counts,
  seen: { firstRecordAt: number; lastOutputAt: number; lastDeleteAt: number; outputs: number },
  onOutputs: () => void,
): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const action = String(context.commandName).replace(/Command$/, '');
      const queue = nameOf((args.input as { QueueUrl?: unknown }).QueueUrl);
      let empty = false;
      try {
        const result = await next(args);
        const output = result.output as { Messages?: unknown[]; Successful?: unknown[] };
        const now = Date.now();
        if (action === 'ReceiveMessage') {
          empty = (output.Messages ?? []).length === 0;
          if (!empty && queue === names.relay && seen.firstRecordAt === 0) seen.firstRecordAt = now;
        } else if (action === 'SendMessageBatch' && queue === names.sink) {
          seen.outputs += (output.Successful ?? []).length;
          seen.lastOutputAt = now;
          onOutputs();
        } else if (action === 'DeleteMessageBatch' && queue === names.relay) seen.lastDeleteAt = now;
        return result;
      } finally {
        addTo(counts, empty ? 'ReceiveMessage (empty)' : action);
      }
    },
    { step: 'deserialize', name: 'benchLambdaCount', priority: 'high' },
  );
}

/** A warm run's process: moves --items items from relay's queue to sink's, then reports. */
async function warmChild(): Promise<void> {
  const { endpoint, domain, report } = values;
  const [relay, later, sink] = [values['relay-url'], values['later-url'], values['sink-url']];
  if (!endpoint || !domain || !report || !relay || !later || !sink)
    throw new Error('--child needs --endpoint, --domain, --relay-url, --later-url, --sink-url, --report');
  const items = Number(values.items);
  const warnings: Counts = {};
  const warn = (level: string) => (_fields: object, message?: string) =>
    addTo(warnings, `${level}: ${message ?? ''}`);
  const logger: Logger = { debug() {}, info() {}, warn: warn('warn'), error: warn('error') };
  const seen = { firstRecordAt: 0, lastOutputAt: 0, lastDeleteAt: 0, outputs: 0 };
  const stage: Counts = {};
  const mapping: Counts = {};
  let allOut: () => void = () => {};
  const out = new Promise<void>((resolve) => (allOut = resolve));
  const check = () => {
    if (seen.outputs >= items) allOut();
  };
  const sqs = rawClient(endpoint);
  const names = { relay: nameOf(relay), sink: nameOf(sink) };
  watch(sqs, names, stage, seen, check);
  const client = new TaskClient({ domain, sqs, logger }).registerTasks(STAGES);
  const deadline = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${seen.outputs} of ${items} outputs in 240 s`)), 240_000).unref(),
  );
  const extra: Partial<WarmReport> = {};
  let error: string | undefined;
  try {
    if (values.child === 'lambda') {
      const esm = rawClient(endpoint);
      watch(esm, names, mapping, seen, check);
      const source = localEventSource({
        sqs: esm,
        queueUrls: [parsable(relay, endpoint), parsable(later, endpoint)],
        handler: client.lambda('relay'),
        batchSize: 10,
        maximumConcurrency: Number(values.concurrency),
        waitSeconds: 1,
        onError: (e) => addTo(warnings, `event source: ${errorText(e)}`),
      });
      await source.start();
      try {
        await Promise.race([out, deadline]);
        await Promise.race([source.until((s) => s.recordsDeleted >= items), deadline]);
      } finally {
        await source.stop();
        esm.destroy();
      }
      Object.assign(extra, {
        invocations: source.stats.invocations,
        maxInFlight: source.stats.maxInFlight,
        recordsFailed: source.stats.recordsFailed,
      });
    } else {
      const stop = new AbortController();
      const run = client.run('relay', { workers: Number(values.workers), signal: stop.signal });
      const drained = (async () => {
        for (let next = await run.next(); next.done !== true; next = await run.next());
      })();
      try {
        await Promise.race([out, deadline, drained]);
      } finally {
        stop.abort();
        await drained;
      }
    }
  } catch (e) {
    error = errorText(e);
  } finally {
    await client.close().catch(() => {});
    sqs.destroy();
  }
  const usage = process.resourceUsage();
  const result: WarmReport = {
    ...seen,
    stage,
    mapping,
    ...extra,
    cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
    warnings,
    ...(error === undefined ? {} : { error }),
  };
  writeFileSync(report, JSON.stringify(result));
}

async function warmOne(kind: WarmKind, direct: string, url: string, items: number): Promise<WarmFigures> {
  const d = await makeDomain(direct, kind.mode === 'lambda' ? `laml${kind.concurrency}` : 'lamr');
  try {
    log(`${kindName(kind)}: enqueueing ${items} items…`);
    await enqueue(d, 0, items);
    const report = join(tmpdir(), `lambda-warm-${randomUUID()}.json`);
    const args = [
      ...['--child', kind.mode, '--endpoint', url, '--domain', d.name, '--items', String(items)],
      ...['--relay-url', d.relayUrl, '--later-url', d.laterUrl, '--sink-url', d.sinkUrl],
      ...(kind.mode === 'lambda'
        ? ['--concurrency', String(kind.concurrency)]
        : ['--workers', String(kind.workers)]),
      ...['--report', report],
    ];
    const busyBefore = machineBusyMs();
    const wallBefore = performance.now();
    const child = startChild(kindName(kind), SCRIPT, args, { nodeArgs: process.execArgv });
    child.ready.catch(() => {}); // it announces nothing: its exit is awaited
    const code = await child.exited;
    const machineCores =
      busyBefore === undefined
        ? undefined
        : ((machineBusyMs() ?? busyBefore) - busyBefore) / (performance.now() - wallBefore);
    let r: WarmReport;
    try {
      r = JSON.parse(readFileSync(report, 'utf8')) as WarmReport;
    } catch {
      throw new Error(`${child.name} wrote no report (exit ${code}):\n${child.stderr()}`);
    } finally {
      rmSync(report, { force: true });
    }
    if (r.error !== undefined) log(`  ${kindName(kind)} failed: ${r.error}`);
    const seconds = (r.lastOutputAt - r.firstRecordAt) / 1000;
    const figures = { ...r, kind, items, seconds, perSecond: r.outputs / seconds, machineCores };
    log(`  ${f1(seconds)} s, ${f0(figures.perSecond)} items/s`);
    return figures;
  } finally {
    await dropDomain(d);
  }
}

// ---------------------------------------------------------------- tables

const range = (xs: readonly number[]) => `${f0(median(xs))} (${f0(Math.min(...xs))}–${f0(Math.max(...xs))})`;

function countsText(all: readonly Counts[]): string {
  const actions = [...new Set(all.flatMap((c) => Object.keys(c)))].sort();
  return actions
    .map((a) => {
      const ns = all.map((c) => c[a] ?? 0);
      const lo = Math.min(...ns);
      const hi = Math.max(...ns);
      return `${a} ${lo === hi ? lo : `${lo}–${hi}`}`;
    })
    .join(', ');
}

function coldTable(results: readonly ColdFigures[]): string {
  const head = [
    '| Handler | Processes | Script runs | import done | Handler made | 1st invocation answered | 2nd (warm) answered | 1st invocation alone | 2nd alone | 1st: until its first SendMessageBatch | 1st: requests in sequence | SQS requests in the 1st | in the 2nd |',
    `|${' --- |'.repeat(13)}`,
  ];
  const lines = (['sqspipes', 'sdk'] as const).flatMap((mode) => {
    const rs = results.filter((r) => r.mode === mode);
    if (rs.length === 0) return [];
    const name = mode === 'sqspipes' ? "`client.lambda('relay')`" : 'SDK only, by hand';
    const col = (f: (r: ColdFigures) => number) => range(rs.map(f));
    return [
      `| ${name} | ${rs.length} | ${col((r) => r.scriptRunsMs)} | ${col((r) => r.importedMs)} | ${col((r) => r.handlerMadeMs)} | ${col((r) => r.first.answeredMs)} | ${col((r) => r.second.answeredMs)} | ${col((r) => r.first.ms)} | ${col((r) => r.second.ms)} | ${col((r) => r.first.beforeFirstSendMs)} | ${col((r) => r.first.inSequence)} | ${countsText(rs.map((r) => r.first.requests))} | ${countsText(rs.map((r) => r.second.requests))} |`,
    ];
  });
  return [...head, ...lines].join('\n');
}

const perItem = (c: Counts, items: number) =>
  Object.entries(c)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([a, n]) => `${a} ${(n / items).toFixed(3)}`)
    .join(', ');

function warmTable(results: readonly WarmFigures[]): string {
  const head = [
    '| Stage run as | Items | First record → last output accepted, s | Items/s | → last input deleted, s | Invocations (records each) | SQS requests per item: the stage | the mapping | Process CPU, s | Machine busy, cores |',
    `|${' --- |'.repeat(10)}`,
  ];
  const lines = results.map((r) => {
    const inv = r.invocations === undefined ? '–' : `${r.invocations} (${f1(r.items / r.invocations)})`;
    const mapping = Object.keys(r.mapping).length === 0 ? '–' : perItem(r.mapping, r.items);
    const toDelete = (r.lastDeleteAt - r.firstRecordAt) / 1000;
    return `| ${kindName(r.kind)} | ${r.outputs} of ${r.items} | ${f2(r.seconds)} | ${f0(r.perSecond)} | ${f2(toDelete)} | ${inv} | ${perItem(r.stage, r.items)} | ${mapping} | ${f1(r.cpuMs / 1000)} | ${r.machineCores === undefined ? '–' : f2(r.machineCores)} |`;
  });
  return [...head, ...lines].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const [processes, items, rtt, workers] = [values.processes, values.items, values.rtt, values.workers].map(
    Number,
  ) as [number, number, number, number];
  const only = new Set(values.only.split(','));
  for (const name of only)
    if (!['cold', 'warm'].includes(name)) throw new TypeError(`--only: unknown ${name}`);
  const concurrencies = values.concurrency.split(',').map(Number);
  const given = values.endpoint ?? process.env['SQSPIPES_BENCH_ENDPOINT'];
  const endpoint =
    given === undefined || given === ''
      ? await startEndpoint()
      : { url: given, name: given, pid: undefined, stop: async () => {} };
  let url = endpoint.url;
  let proxy: ReturnType<typeof createDelayProxy> | undefined;
  if (rtt > 0) {
    proxy = createDelayProxy(endpoint.url, rtt);
    const server = proxy.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the delay proxy has no port');
    url = `http://127.0.0.1:${address.port}`;
  }
  const backend = values['backend-name'] ?? endpoint.name;
  installCleanup(async () => {
    await killAll();
    proxy?.server.close();
    await endpoint.stop();
  });
  const started = Date.now();
  let colds: ColdFigures[] = [];
  const warms: WarmFigures[] = [];
  try {
    if (only.has('cold')) {
      log(`cold starts: ${processes} processes of each handler…`);
      colds = await cold(endpoint.url, url, processes);
    }
    if (only.has('warm')) {
      const kinds: WarmKind[] = [
        ...concurrencies.map((concurrency) => ({ mode: 'lambda' as const, concurrency })),
        { mode: 'run', workers },
      ];
      for (const kind of kinds) warms.push(await warmOne(kind, endpoint.url, url, items));
    }
  } finally {
    proxy?.server.close();
    await endpoint.stop();
  }
  const network = rtt > 0 ? `${rtt} ms RTT (delay proxy)` : 'loopback';
  if (colds.length > 0) {
    console.log(
      `\nCold start of a stage's Lambda handler on ${backend}, ${network}: ms from the process's spawn (Node ${process.version}, default flags), median (min–max); two events of 10 records, queues made beforehand\n`,
    );
    console.log(coldTable(colds));
    const wrong = colds.filter((c) => c.outputs !== 20);
    if (wrong.length > 0) console.log(`\n${wrong.length} processes left other than 20 outputs in sink`);
  }
  if (warms.length > 0) {
    console.log(
      `\nThe stage relay moving ${items} items to the next queue on ${backend}, ${network}: on localEventSource (batchSize 10) or as a process, each a fresh process\n`,
    );
    console.log(warmTable(warms));
    for (const w of warms) {
      const logged = Object.entries(w.warnings).map(([k, n]) => `${k} ×${n}`);
      if (logged.length > 0) console.log(`${kindName(w.kind)} logged: ${logged.join('; ')}`);
    }
  }
  const outDir = values.out ?? join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const slug = backend
    .replace(/\s*\(.*\)$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  const file = join(outDir, `lambda-${slug}${rtt > 0 ? `-rtt${rtt}` : ''}.json`);
  const summary = (rs: ColdFigures[]) => ({
    processes: rs.length,
    medianMs: {
      scriptRuns: median(rs.map((r) => r.scriptRunsMs)),
      imported: median(rs.map((r) => r.importedMs)),
      handlerMade: median(rs.map((r) => r.handlerMadeMs)),
      firstAnswered: median(rs.map((r) => r.first.answeredMs)),
      secondAnswered: median(rs.map((r) => r.second.answeredMs)),
      firstAlone: median(rs.map((r) => r.first.ms)),
      secondAlone: median(rs.map((r) => r.second.ms)),
      firstUntilSend: median(rs.map((r) => r.first.beforeFirstSendMs)),
    },
  });
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        wallSeconds: Math.round((Date.now() - started) / 1000),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
        backend,
        params: { processes, items, concurrencies, workers, rttMs: rtt },
        cold: {
          sqspipes: summary(colds.filter((c) => c.mode === 'sqspipes')),
          sdk: summary(colds.filter((c) => c.mode === 'sdk')),
          processes: colds,
        },
        warm: warms,
        proxy: proxy?.counts(),
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${file} (${Math.round((Date.now() - started) / 1000)} s)`);
}

if (values.child !== undefined) await warmChild();
else await main();
