/**
 * The peer reference: a relay or sink built on bbc/sqs-consumer 15, one role per OS process:
 *   node scripts/bench/peer-consumer.ts <relay|consumer> --concurrency C --limit N \
 *     --endpoint URL --in QUEUE_URL [--out QUEUE_URL] --tag T --report FILE
 *
 * C `Consumer`s on the input queue (one receive → handle → delete loop each, as the library runs
 * them), sharing one SQSClient set up like the raw loop's. The fastest documented way for this
 * work: `batchSize: 10` with `handleMessageBatch`, which sqs-consumer acknowledges with one
 * DeleteMessageBatch; the relay's handler sends the batch on with one SendMessageBatch (a unique
 * group and dedup id per message, as the raw loop). No message system attributes asked for;
 * `waitTimeSeconds` as the raw loop's long poll. The source is the raw loop's producer.
 * Bounded: --limit messages, --idle-timeout without input, --deadline in all; SIGTERM stops it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
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
});
const [role = ''] = positionals;
if (role !== 'relay' && role !== 'consumer') throw new Error('role must be relay or consumer');
const concurrency = Math.max(1, intFlag(values.concurrency, 'concurrency', 1));
const limit = intFlag(values.limit, 'limit');
const deadline = intFlag(values.deadline, 'deadline', 600_000);
const idleTimeout = intFlag(values['idle-timeout'], 'idle-timeout', 30_000);
const waitSeconds = intFlag(values.wait, 'wait', 1);
const reportFile = required(values.report, 'report');
const tag = required(values.tag, 'tag');
const inUrl = required(values.in, 'in');
const outUrl = role === 'relay' ? required(values.out, 'out') : '';

// As the raw loop's client: keep-alive, 256 sockets, no MD5 checks of bodies.
const sqs = rawClient(required(values.endpoint, 'endpoint'), {
  maxSockets: 256,
  md5: false,
  loggerMiddleware: false,
});
const counts = new Map<string, number>();
countRequests(sqs, counts);

let firstAt: number | null = null;
let lastAt: number | null = null;
let firstOutputAt: number | null = null;
let count = 0;
let seq = 0;
let error: string | undefined;
const latencies = role === 'consumer' ? new Float64Array(limit) : undefined;
const sampler = new RssSampler(() => count);

/** Set once this process stops: the receives it aborts then are no errors. */
let stopping = false;
let resolveDone: () => void = () => {};
const done = new Promise<void>((resolve) => {
  resolveDone = resolve;
});
function finish(): void {
  stopping = true;
  resolveDone();
}
const hardStop = setTimeout(finish, deadline);
let idleTimer: NodeJS.Timeout | undefined;
function touch(): void {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(finish, idleTimeout);
}
let signals = 0;
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    signals++;
    if (signals > 1) process.exit(130);
    finish();
  });
}

async function handleMessageBatch(messages: Message[]): Promise<Message[]> {
  if (role === 'relay') {
    const entries = messages.map((m, i) => {
      seq++;
      const id = `${tag}-${seq}`;
      return { Id: String(i), MessageBody: m.Body ?? '', MessageGroupId: id, MessageDeduplicationId: id };
    });
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: outUrl, Entries: entries }));
    if ((out.Failed ?? []).length > 0) throw new Error(`SendMessageBatch: ${out.Failed?.length} failed`);
    firstOutputAt ??= Date.now();
  }
  return messages;
}

/** After sqs-consumer deleted the batch (its `response_processed` comes later, per receive). */
function acknowledged(messages: readonly Message[]): void {
  const now = Date.now();
  firstAt ??= now;
  if (role === 'consumer') firstOutputAt ??= now;
  for (const m of messages) {
    if (latencies !== undefined && count < latencies.length) {
      const body = JSON.parse(m.Body ?? '{}') as { t?: number };
      latencies[count] = now - Number(body.t);
    }
    count++;
  }
  lastAt = now;
  touch();
  if (count >= limit) finish();
}

const consumers = Array.from({ length: concurrency }, () => {
  const consumer = Consumer.create({
    queueUrl: inUrl,
    sqs,
    useQueueUrlAsEndpoint: false,
    batchSize: 10,
    waitTimeSeconds: waitSeconds,
    visibilityTimeout: 30,
    suppressFifoWarning: true,
    handleMessageBatch,
  });
  consumer.on('message_processed', (message) => acknowledged([message]));
  const failed = (caught: Error) => {
    if (!stopping) error ??= errorText(caught);
  };
  consumer.on('error', failed);
  consumer.on('processing_error', failed);
  return consumer;
});

touch();
for (const consumer of consumers) consumer.start();
setImmediate(announceReady);
await done;
for (const consumer of consumers) consumer.stop({ abort: true });
clearTimeout(hardStop);
clearTimeout(idleTimer);
sampler.stop();
await sleep(0);
sqs.destroy();
writeReport(reportFile, {
  role: `sqs-consumer ${role}`,
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
