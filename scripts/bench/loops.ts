/**
 * Hand-written @aws-sdk/client-sqs loops, one role per OS process, for the two reference points:
 *   node scripts/bench/loops.ts <raw|naive> <producer|relay|consumer> --concurrency C \
 *     --limit N --endpoint URL [--in QUEUE_URL] [--out QUEUE_URL] --tag T --report FILE
 *
 * raw (the ceiling): the fastest hand-written loop we could write for these hops. One SQSClient with
 * a keep-alive agent; producers send batches of 10 (SendMessageBatch), relays and consumers
 * long-poll 10 at a time (ReceiveMessage, no message system attributes), relays send the batch on
 * (SendMessageBatch), both delete it (DeleteMessageBatch). A unique MessageGroupId (and dedup id)
 * per message. C concurrent loops per process. The variants measured to pick it (issue 27;
 * scripts/bench/raw-variants.ts) are flags: --wait S (long-poll seconds), --attrs none|sqspipes
 * (the system attributes sqspipes asks for), --md5 on|off (the SDK's MD5 checks of bodies),
 * --sockets N (the agent's sockets), --cache on|off (the SDK's `cacheMiddleware`: each command's
 * middleware stack built once, not per call; the receive then passes no abort signal, since any
 * per-call option empties that cache), --logger on|off (the SDK's logger middleware, which copies
 * every request and response for a logger that does nothing); the defaults are the winner.
 * --bytes B pads a producer's bodies with B bytes (the fan-out benchmark's reference sends).
 * --work sqspipes: each message also gets the work sqspipes does for it by contract, written by
 * hand (the same-work loop): a producer's value goes out as sqspipes' envelope under a content id
 * (SHA-256 of the call's random id, the stage and the value's JSON, as `src/ids.ts` makes it),
 * used as group and deduplication id; a relay parses each envelope, re-encodes its value under the
 * output's id derived the same way from the input's; a consumer parses each envelope; receives ask
 * for sqspipes' three system attributes. No retries, ordering, leases or backpressure.
 *
 * naive (the Python original's call pattern, sqspipes/task.py): one receive loop per process
 * (MaxNumberOfMessages = min(C, 10)), one DeleteMessage per input right after the receive, one
 * SendMessage per output from a pool of C workers, MessageGroupId "-" for everything. The
 * original short-polls in a busy loop; here it is given long polling, which only helps it.
 *
 * Bounded: --limit messages, --idle-timeout without input, --deadline in all; SIGTERM stops it.
 */
import { hash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type Message,
  MessageSystemAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import {
  announceReady,
  childArgs,
  cpuMs,
  countRequests,
  errorText,
  intFlag,
  peakRssKiB,
  RssSampler,
  rawClient,
  required,
  writeReport,
} from './child.ts';

const { values, positionals } = childArgs({
  concurrency: { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' },
  tag: { type: 'string' },
  'idle-timeout': { type: 'string' },
  wait: { type: 'string' },
  attrs: { type: 'string' },
  md5: { type: 'string' },
  sockets: { type: 'string' },
  cache: { type: 'string' },
  logger: { type: 'string' },
  bytes: { type: 'string' },
  work: { type: 'string' },
});
/** The raw loop's settings by default: the fastest of scripts/bench/raw-variants.ts. */
const RAW_DEFAULTS = {
  wait: 1,
  attrs: 'none',
  md5: 'off',
  sockets: 256,
  cache: 'on',
  logger: 'off',
} as const;
/** The system attributes sqspipes asks for (the naive loop and `--attrs sqspipes`). */
const SQSPIPES_ATTRIBUTES = [
  MessageSystemAttributeName.ApproximateReceiveCount,
  MessageSystemAttributeName.MessageGroupId,
  MessageSystemAttributeName.SentTimestamp,
];
const [mode = '', role = ''] = positionals;
if (mode !== 'raw' && mode !== 'naive') throw new Error('mode must be raw or naive');
if (!['producer', 'relay', 'consumer'].includes(role))
  throw new Error('role must be producer, relay or consumer');
const concurrency = Math.max(1, intFlag(values.concurrency, 'concurrency', 1));
const limit = intFlag(values.limit, 'limit');
const deadline = intFlag(values.deadline, 'deadline', 600_000);
const idleTimeout = intFlag(values['idle-timeout'], 'idle-timeout', 30_000);
const reportFile = required(values.report, 'report');
const tag = required(values.tag, 'tag');
const inUrl = role === 'producer' ? '' : required(values.in, 'in');
const outUrl = role === 'consumer' ? '' : required(values.out, 'out');

// The raw loop's settings (the winners of scripts/bench/raw-variants.ts unless given).
const waitSeconds = intFlag(values.wait, 'wait', RAW_DEFAULTS.wait);
const work = values.work ?? 'none';
if (work !== 'none' && work !== 'sqspipes') throw new Error('--work must be none or sqspipes');
if (work !== 'none' && (mode !== 'raw' || values.bytes !== undefined))
  throw new Error('--work sqspipes is for the raw loop, without --bytes');
const attrs = values.attrs ?? (work === 'sqspipes' ? 'sqspipes' : RAW_DEFAULTS.attrs);
if (attrs !== 'none' && attrs !== 'sqspipes') throw new Error('--attrs must be none or sqspipes');
const md5 = (values.md5 ?? RAW_DEFAULTS.md5) === 'on';
const sockets = intFlag(values.sockets, 'sockets', RAW_DEFAULTS.sockets);
const cacheMiddleware = (values.cache ?? RAW_DEFAULTS.cache) === 'on';
const loggerMiddleware = (values.logger ?? RAW_DEFAULTS.logger) === 'on';
const sqs = rawClient(required(values.endpoint, 'endpoint'), {
  maxSockets: sockets,
  md5,
  cacheMiddleware,
  loggerMiddleware,
});
const counts = new Map<string, number>();
countRequests(sqs, counts);

/** Aborted when this process must stop: done, deadline, idle timeout or a signal. */
const controller = new AbortController();
const stop = controller.signal;
const hardStop = setTimeout(() => controller.abort(), deadline);
let signals = 0;
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort();
  });
}
let idleTimer: NodeJS.Timeout | undefined;
function touch(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => controller.abort(), idleTimeout);
}

let firstAt: number | null = null;
let lastAt: number | null = null;
let firstOutputAt: number | null = null;
let count = 0;
let seq = 0;
const latencies = role === 'consumer' ? new Float64Array(limit) : undefined;
const sampler = new RssSampler(() => count);

/** --bytes B: a producer's bodies carry B more bytes (the fan-out benchmark's reference). */
const padding = 'x'.repeat(intFlag(values.bytes, 'bytes', 0));

function stamp(): string {
  const now = Date.now();
  firstAt ??= now;
  return padding === '' ? JSON.stringify({ t: now, n: seq }) : JSON.stringify({ t: now, n: seq, padding });
}

/** --work sqspipes: an output's id, from its input's (or source call's) id, stage and JSON, as sqspipes makes it. */
function contentId(inputId: string, stage: string, json: string): string {
  return hash('sha256', `out\0${inputId}\0${stage}\0${json}`, 'base64url');
}

/** --work sqspipes: sqspipes' envelope of a value's JSON (version, id, priority level, value). */
function envelope(id: string, json: string): string {
  return `{"v":1,"id":${JSON.stringify(id)},"p":0,"d":${json}}`;
}

/** --work sqspipes: a body's envelope, parsed and checked as sqspipes checks it before a call. */
function unwrap(body: string | undefined): { id: string; d: unknown } {
  const parsed = JSON.parse(body ?? '') as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('not an envelope');
  const { v, id, d } = parsed as { v?: unknown; id?: unknown; d?: unknown };
  if (v !== 1 || typeof id !== 'string') throw new Error('not an envelope');
  return { id, d };
}

/** A producer's message: its body and its group and deduplication id. */
function produced(): { body: string; id: string } {
  if (work === 'none') return { body: stamp(), id: nextId() };
  const now = Date.now();
  firstAt ??= now;
  const json = JSON.stringify(now);
  const id = contentId(randomUUID(), 'src', json);
  return { body: envelope(id, json), id };
}

/** A relay's output for message `m`: its body and its group and deduplication id. */
function relayed(m: Message): { body: string; id: string } {
  if (work === 'none') return { body: m.Body ?? '', id: nextId() };
  const input = unwrap(m.Body);
  const json = JSON.stringify(input.d); // the relay's function returns its input
  const id = contentId(input.id, 'relay', json);
  return { body: envelope(id, json), id };
}

function handled(messages: readonly Message[]): void {
  const now = Date.now();
  firstAt ??= now;
  firstOutputAt ??= now;
  for (const m of messages) {
    const sent =
      role === 'consumer' && work === 'sqspipes'
        ? Number(unwrap(m.Body).d)
        : latencies !== undefined && count < latencies.length
          ? Number((JSON.parse(m.Body ?? '{}') as { t?: number }).t)
          : 0;
    if (latencies !== undefined && count < latencies.length) latencies[count] = now - sent;
    count++;
  }
  lastAt = now;
  touch();
  if (count >= limit) controller.abort();
}

function nextId(): string {
  seq++;
  return `${tag}-${seq}`;
}

async function receive(max: number): Promise<Message[]> {
  try {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: inUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: mode === 'raw' ? waitSeconds : 20,
        VisibilityTimeout: 30,
        ...(mode === 'raw' && attrs === 'none' ? {} : { MessageSystemAttributeNames: SQSPIPES_ATTRIBUTES }),
      }),
      // With the handler cache on, no options: any options turn the cache off (and empty it).
      ...(cacheMiddleware ? [] : [{ abortSignal: stop }]),
    );
    return out.Messages ?? [];
  } catch (error) {
    if (stop.aborted) return [];
    throw error;
  }
}

function failIfFailed(action: string, out: { Failed?: readonly unknown[] | undefined }): void {
  const failed = out.Failed ?? [];
  if (failed.length > 0) throw new Error(`${action}: ${failed.length} entries failed`);
}

// ---- raw: batches of 10, C loops ----

async function rawProducer(): Promise<void> {
  let issued = 0;
  const loop = async () => {
    while (issued < limit && !stop.aborted) {
      const k = Math.min(10, limit - issued);
      issued += k;
      const entries = Array.from({ length: k }, (_, i) => {
        const { body, id } = produced();
        return { Id: String(i), MessageBody: body, MessageGroupId: id, MessageDeduplicationId: id };
      });
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: outUrl, Entries: entries }));
      failIfFailed('SendMessageBatch', out);
      count += k;
      lastAt = Date.now();
      firstOutputAt ??= lastAt;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

async function rawPoller(): Promise<void> {
  const loop = async () => {
    while (!stop.aborted) {
      const messages = await receive(10);
      if (messages.length === 0) continue;
      if (role === 'relay') {
        const entries = messages.map((m, i) => {
          const { body, id } = relayed(m);
          return { Id: String(i), MessageBody: body, MessageGroupId: id, MessageDeduplicationId: id };
        });
        failIfFailed(
          'SendMessageBatch',
          await sqs.send(new SendMessageBatchCommand({ QueueUrl: outUrl, Entries: entries })),
        );
        firstOutputAt ??= Date.now();
      }
      const handles = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
      failIfFailed(
        'DeleteMessageBatch',
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: inUrl, Entries: handles })),
      );
      handled(messages);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

// ---- naive: one call per message, one group ----

async function naiveProducer(): Promise<void> {
  let issued = 0;
  const loop = async () => {
    while (issued < limit && !stop.aborted) {
      issued++;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: outUrl,
          MessageBody: stamp(),
          MessageGroupId: '-',
          MessageDeduplicationId: randomUUID(),
        }),
      );
      count++;
      lastAt = Date.now();
      firstOutputAt ??= lastAt;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

async function naivePoller(): Promise<void> {
  const pool = new Set<Promise<void>>();
  let received = 0;
  while (!stop.aborted && received < limit) {
    const messages = await receive(Math.min(concurrency, 10));
    received += messages.length;
    for (const m of messages) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: inUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    for (const m of messages) {
      while (pool.size >= concurrency) await Promise.race(pool);
      const task = (async () => {
        if (role === 'relay') {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: outUrl,
              MessageBody: m.Body ?? '',
              MessageGroupId: '-',
              MessageDeduplicationId: randomUUID(),
            }),
          );
        }
        handled([m]);
      })().finally(() => pool.delete(task));
      pool.add(task);
    }
  }
  await Promise.all(pool);
}

let error: string | undefined;
if (role !== 'producer') touch();
if (role !== 'producer') {
  // Ready once polling: the first receive is on its way.
  setImmediate(announceReady);
} else announceReady();
try {
  if (mode === 'raw') await (role === 'producer' ? rawProducer() : rawPoller());
  else await (role === 'producer' ? naiveProducer() : naivePoller());
} catch (caught) {
  error = errorText(caught);
}
clearTimeout(hardStop);
clearTimeout(idleTimer);
sampler.stop();
await sleep(0);
sqs.destroy();
writeReport(reportFile, {
  role: `${mode} ${role}`,
  count,
  firstAt,
  lastAt,
  firstOutputAt,
  requests: Object.fromEntries(counts),
  maxRssKiB: peakRssKiB(),
  cpuMs: cpuMs(),
  samples: sampler.samples,
  ...(latencies === undefined ? {} : { latencies: Array.from(latencies.subarray(0, count)) }),
  ...(error === undefined ? {} : { error }),
});
process.exitCode = error === undefined && count >= limit ? 0 : 1;
