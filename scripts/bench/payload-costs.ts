/**
 * What one message costs with `payloads` (bodies over the threshold through S3) and without:
 *   node scripts/bench/payload-costs.ts [--messages 50,50,20,4] [--workers 4]
 *
 * For bodies of 100 KiB, 500 KiB, 3 MiB and 50 MiB (N of each: --messages), all enqueued at
 * once: `enqueue()` → relay (passes the value on) → sink, both stages run in this process, with
 * `payloads` at the default threshold, and without it where SQS can carry the body. On fauxqs
 * (SQS and S3) in this process, loopback, or SQSPIPES_BENCH_ENDPOINT. Middleware on the SQS and
 * S3 clients given to sqspipes counts each HTTP attempt: message requests by action, the 64 KiB
 * chunks SQS bills (per request: its request or response body, the larger, at least 1), S3 calls
 * by action. Left out: set-up (queues, the bucket check at start, the lifecycle read) and receives
 * that return nothing (idle polls cost per idle minute, not per message). Prices: us-east-1,
 * first tier: FIFO $0.50 per million billed requests, S3 PUT $5 and GET $0.40 per million,
 * DELETE free. Prints a Markdown table; ms per message is from the first enqueue to the sink's
 * last output, divided by N.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as S3 from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { TaskClient } from 'sqspipes';
import { CREDENTIALS, REGION } from './child.ts';
import { fauxqsVersion } from './emulator.ts';
import { CHUNK, PRICE } from './payload-prices.ts';
import { MESSAGE_ACTIONS } from './scenarios.ts';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '50,50,20,4' }, workers: { type: 'string', default: '4' } },
});
const KiB = 1024;
const SIZES = [100 * KiB, 500 * KiB, 3 * KiB * KiB, 50 * KiB * KiB];
const counts = values.messages.split(',').map(Number);
const workers = Number(values.workers);
if (counts.length !== SIZES.length || !counts.every((n) => Number.isInteger(n) && n > 0)) {
  throw new TypeError(`--messages: ${SIZES.length} positive integers, got ${values.messages}`);
}
const PREFIX = 'bench/';

/** What one row's clients did: requests by action, SQS's billed chunks, empty receives. */
interface Tally {
  readonly sqs: Map<string, number>;
  readonly s3: Map<string, number>;
  chunks: number;
  emptyReceives: number;
  /** Requests on the queue of pending deletes (included in `sqs` and `chunks`). */
  deleteQueue: number;
}
const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const contentLength = (message: unknown) =>
  Number((message as { headers?: Record<string, string> }).headers?.['content-length'] ?? 0);

/** An SQS client counting each attempt of a message request, and its billed chunks. */
function countedSqs(endpoint: string, tally: Tally): SQSClient {
  const sqs = new SQSClient({ region: REGION, endpoint, credentials: CREDENTIALS });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const action = String(context.commandName).replace(/Command$/, '');
      const messages = (result.output as { Messages?: unknown[] }).Messages ?? [];
      if (action === 'ReceiveMessage' && messages.length === 0) tally.emptyReceives++;
      else if (MESSAGE_ACTIONS.has(action)) {
        add(tally.sqs, action);
        const queue = (args.input as { QueueUrl?: string }).QueueUrl ?? '';
        if (queue.endsWith('-timers')) tally.deleteQueue++;
        // A response without Content-Length (chunked): its JSON, as parsed, measures it.
        const answer = contentLength(result.response) || Buffer.byteLength(JSON.stringify(result.output));
        const bytes = Math.max(contentLength(args.request), answer);
        tally.chunks += Math.max(1, Math.ceil(bytes / CHUNK));
      }
      return result;
    },
    { step: 'deserialize', name: 'benchCountSqs', priority: 'high' },
  );
  return sqs;
}

/** An S3 client counting each attempt by action into `tally`, if any, the set-up left out. */
function countedS3(endpoint: string, tally?: Tally): S3.S3Client {
  const s3 = new S3.S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: CREDENTIALS });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const action = String(context.commandName).replace(/Command$/, '');
      const key = String((args.input as { Key?: unknown }).Key);
      if (tally !== undefined && !key.endsWith('sqspipes.check') && !action.includes('Lifecycle'))
        add(tally.s3, action);
      return next(args);
    },
    { step: 'deserialize', name: 'benchCountS3' },
  );
  return s3;
}

/** The keys under `prefix` (one page of up to 1000: the benchmark leaves far fewer). */
async function listKeys(s3: S3.S3Client, bucket: string, prefix: string): Promise<string[]> {
  const page = await s3.send(new S3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key]));
}

/**
 * SQSPIPES_BENCH_ENDPOINT if set, else fauxqs in this process on 127.0.0.1, taking S3 bodies of
 * up to 128 MiB: fauxqs refuses requests over 11 MiB (it expects multipart uploads above), while
 * S3 takes one PUT of up to 5 GiB, which is what sqspipes sends.
 */
async function startEndpoint() {
  const given = process.env['SQSPIPES_BENCH_ENDPOINT'];
  if (given !== undefined && given !== '')
    return { url: given, name: given, embedded: false, stop: async () => {} };
  const app = buildApp({ logger: false, defaultRegion: REGION });
  const limit = { parseAs: 'buffer', bodyLimit: 128 * KiB * KiB } as const;
  app.addContentTypeParser('text/plain', limit, (_request, body, done) => done(null, body));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, name: `fauxqs ${fauxqsVersion()} in this process`, embedded: true, stop: () => app.close() };
}

const endpoint = await startEndpoint();
const admin = countedS3(endpoint.url);
const bucket = `sqspipes-bench-${Date.now().toString(36)}`;

/** `messages` bodies of `size` bytes through the pipeline, with `payloads` or without. */
interface Row {
  readonly size: number;
  readonly messages: number;
  readonly payloads: boolean;
}

/** One row's run: its counts, seconds, and the objects left under its domain after close. */
async function measure(row: Row, index: number) {
  const tally: Tally = { sqs: new Map(), s3: new Map(), chunks: 0, emptyReceives: 0, deleteQueue: 0 };
  const sqs = countedSqs(endpoint.url, tally);
  const s3 = countedS3(endpoint.url, tally);
  const domain = `paycost${Date.now().toString(36)}r${index}`;
  const client = new TaskClient({
    domain,
    sqs,
    ...(row.payloads ? { payloads: { bucket, prefix: PREFIX, s3Client: s3 } } : {}),
    // No wait after creating a queue on the emulator (as sqspipes/testing does).
    ...(endpoint.embedded ? { [Symbol.for('sqspipes.queueSettleMs')]: 0 } : {}),
    // Stored bodies deleted as soon as a run sweeps, not 6 minutes later: their requests counted.
    [Symbol.for('sqspipes.payloadDeleteTiming')]: { holdSeconds: 0, everyMs: 100 },
  });
  const pass = (value: string) => value;
  client.registerTasks([
    { name: 'relay', method: pass, input: true, workers },
    { name: 'sink', method: pass, workers },
  ]);
  const seen = new Set<string>();
  let seconds: number;
  try {
    await client.createQueues();
    const filler = 'x'.repeat(row.size - 8);
    const options = { limit: row.messages, idleTimeout: 60_000, failFast: true };
    const started = performance.now();
    let last = started;
    const drain = async (stage: string, check: boolean) => {
      for await (const value of client.run(stage, options)) {
        if (!check) continue;
        if (typeof value !== 'string' || value.length !== row.size) throw new Error('a wrong output');
        seen.add(value.slice(0, 8));
        last = performance.now();
      }
    };
    const sends = Array.from({ length: row.messages }, (_, i) =>
      client.enqueue('relay', String(i).padStart(8, '0') + filler),
    );
    await Promise.all([drain('relay', false), drain('sink', true), ...sends]);
    seconds = (last - started) / 1000;
    if (row.payloads) {
      // A run sweeps the queue of pending deletes: an idle one, until every object is gone.
      const stop = new AbortController();
      const swept = (async () => {
        for await (const _ of client.run('relay', { signal: stop.signal })); // nothing comes: it sweeps
      })();
      const deadline = Date.now() + 30_000;
      while ((await listKeys(admin, bucket, `${PREFIX}${domain}/`)).length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stop.abort();
      await swept;
    }
  } finally {
    await client.destroy().catch(() => {});
    await client.close().catch(() => {}); // flushes the deletes of the stored bodies
    sqs.destroy();
    s3.destroy();
  }
  if (seen.size !== row.messages) throw new Error(`sink: ${seen.size} of ${row.messages} messages`);
  const left = (await listKeys(admin, bucket, `${PREFIX}${domain}/`)).length;
  return { ...row, tally, seconds, left };
}

const size = (bytes: number) => (bytes >= KiB * KiB ? `${bytes / KiB / KiB} MiB` : `${bytes / KiB} KiB`);
const fixed = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const SQS_COLUMNS = [
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibilityBatch',
];

function tableRow(r: Awaited<ReturnType<typeof measure>>): string {
  const per = (map: Map<string, number>, key: string) => (map.get(key) ?? 0) / r.messages;
  const chunks = r.tally.chunks / r.messages;
  const [put, get] = [per(r.tally.s3, 'PutObject'), per(r.tally.s3, 'GetObject')];
  const deletes = per(r.tally.s3, 'DeleteObjects') + per(r.tally.s3, 'DeleteObject');
  const [sqsCost, s3Cost] = [chunks * PRICE.chunk, put * PRICE.put + get * PRICE.get];
  const cells = [
    size(r.size),
    r.payloads ? (put > 0 ? 'S3' : 'SQS (under the threshold)') : 'SQS (no `payloads`)',
    SQS_COLUMNS.map((a) => fixed(per(r.tally.sqs, a))).join(' / '),
    fixed(chunks),
    [put, get, deletes].map(fixed).join(' / '),
    `$${(sqsCost + s3Cost).toFixed(2)} (${sqsCost.toFixed(2)} + ${s3Cost.toFixed(2)})`,
    ((r.seconds * 1000) / r.messages).toFixed(1),
  ];
  return `| ${cells.join(' | ')} |`;
}

// Without `payloads` too where SQS can carry the body (up to 1 MiB).
const rows: Row[] = SIZES.flatMap((s, i) => {
  const messages = counts[i] ?? 1;
  const inline = s < KiB * KiB ? [{ size: s, messages, payloads: false }] : [];
  return [...inline, { size: s, messages, payloads: true }];
});
const results = [];
try {
  await admin.send(new S3.CreateBucketCommand({ Bucket: bucket }));
  for (const [i, row] of rows.entries()) {
    process.stderr.write(`${size(row.size)} × ${row.messages}, payloads ${row.payloads ? 'on' : 'off'}…\n`);
    results.push(await measure(row, i));
  }
} finally {
  const Objects = (await listKeys(admin, bucket, '').catch(() => [])).map((Key) => ({ Key }));
  if (Objects.length > 0)
    await admin.send(new S3.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
  await admin.send(new S3.DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
  admin.destroy();
  await endpoint.stop();
}

console.log(
  `Per message: enqueue → relay → sink, ${workers} workers per stage, default threshold (384 KiB); ${endpoint.name}, loopback\n`,
);
console.log(
  '| Body | Carried by | SQS requests: send / receive / delete / visibility | SQS billed requests (64 KiB chunks) | S3 requests: PUT / GET / DeleteObjects | $ per million messages (SQS + S3) | ms per message (loopback) |',
);
console.log(`|${' --- |'.repeat(7)}`);
for (const r of results) console.log(tableRow(r));
for (const r of results) {
  const what = `${size(r.size)}${r.payloads ? ' with payloads' : ''}`;
  console.log(
    `${what}: ${r.messages} in ${r.seconds.toFixed(2)} s; ${r.tally.emptyReceives} empty receives left out; ` +
      `${(r.tally.deleteQueue / r.messages).toFixed(2)} requests per message on the queue of pending deletes; ${r.left} objects left`,
  );
}
