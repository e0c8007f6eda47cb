/**
 * One stage of the benchmark's sqspipes pipeline, in its own OS process, as users run stages:
 *   node scripts/bench/pipeline.ts <src|relay|sink> <workers> --limit N --domain D \
 *     --endpoint URL --report FILE [--priorities P] [--interval MS] [--idle-timeout MS] \
 *     [--idle-window MS] [--deadline MS] [--call-ms MS]
 * src → relay → sink, trivial functions: the source returns Date.now(), the others pass it on, and
 * the sink's consumer records Date.now() minus it (end-to-end latency). Prints `{"event":"ready"}`
 * once the stage polls, and writes a ChildReport (client.stats() included) to --report at the end.
 * --call-ms MS: the relay waits MS ms in each call (an async sleep), a slow stage.
 * --fanout N --bytes B: the relay yields N outputs of about B bytes for each input (a generator).
 * Bounded: --limit inputs, --idle-timeout without input, --deadline in all; SIGTERM stops it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskClient } from 'sqspipes';
import {
  announceReady,
  CREDENTIALS,
  childArgs,
  cpuMs,
  errorText,
  intFlag,
  peakRssKiB,
  REGION,
  RssSampler,
  rawClient,
  required,
  type ChildReport,
  writeReport,
} from './child.ts';

const { values, positionals } = childArgs({
  domain: { type: 'string' },
  priorities: { type: 'string' },
  interval: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'idle-window': { type: 'string' },
  'trace-receives': { type: 'boolean' },
  'call-ms': { type: 'string' },
  fanout: { type: 'string' },
  bytes: { type: 'string' },
});
const [stage = '', workersText] = positionals;
if (!['src', 'relay', 'sink'].includes(stage)) throw new Error('stage must be src, relay or sink');
const workers = intFlag(workersText, 'workers', 1);
const limit = intFlag(values.limit, 'limit');
const idleWindow = intFlag(values['idle-window'], 'idle-window', 0);
const deadline = intFlag(values.deadline, 'deadline', 600_000);
const idleTimeout = intFlag(values['idle-timeout'], 'idle-timeout', 30_000);
const interval = intFlag(values.interval, 'interval', 0);
const priorities = intFlag(values.priorities, 'priorities', 1);
const callMs = intFlag(values['call-ms'], 'call-ms', 0);
const fanout = intFlag(values.fanout, 'fanout', 0);
const padding = 'x'.repeat(intFlag(values.bytes, 'bytes', 0));
const reportFile = required(values.report, 'report');

let firstAt: number | null = null;
/** performance.now() of the last output, for --trace-receives. */
let traceEnd = 0;
let lastAt: number | null = null;
/** The first output run() yielded: SQS accepted it (src, relay), or the sink handled its input. */
let firstOutputAt: number | null = null;
let count = 0;
const latencies = stage === 'sink' ? new Float64Array(limit) : undefined;

function src(): number {
  const now = Date.now();
  firstAt ??= now;
  return now;
}
function fastRelay(stamp: number): number {
  return stamp;
}
async function slowRelay(stamp: number): Promise<number> {
  await sleep(callMs);
  return stamp;
}
function* fanRelay(stamp: number): Generator<{ stamp: number; i: number; padding: string }> {
  for (let i = 0; i < fanout; i++) yield { stamp, i, padding };
}
const relay = fanout > 0 ? fanRelay : callMs > 0 ? slowRelay : fastRelay;
function sink(value: number | { stamp: number }): number {
  return typeof value === 'number' ? value : value.stamp;
}

const endpoint = required(values.endpoint, 'endpoint');
// Idle mode and --trace-receives: a client of our own (set up like the one sqspipes makes) that
// also watches receives: per queue (which priority levels were polled), how long each took, how
// many messages each brought, and for how much of the run one was in flight. Otherwise sqspipes
// makes its own client.
const traceReceives = values['trace-receives'] === true;
const receivesByQueue = new Map<string, number>();
/** Receive statistics from the first receive that brought messages on. */
const trace = {
  t0: 0,
  receives: 0,
  messages: 0,
  totalMs: 0,
  busyMs: 0,
  inFlight: 0,
  busySince: 0,
  maxInFlight: 0,
};
const ownClient = idleWindow > 0 || traceReceives ? rawClient(endpoint) : undefined;
ownClient?.middlewareStack.add(
  (next) => async (args) => {
    const input = args.input as { QueueUrl?: unknown; WaitTimeSeconds?: unknown };
    if (input.WaitTimeSeconds === undefined || typeof input.QueueUrl !== 'string') return next(args);
    const name = input.QueueUrl.slice(input.QueueUrl.lastIndexOf('/') + 1);
    receivesByQueue.set(name, (receivesByQueue.get(name) ?? 0) + 1);
    const started = performance.now();
    if (trace.inFlight === 0) trace.busySince = started;
    trace.inFlight++;
    trace.maxInFlight = Math.max(trace.maxInFlight, trace.inFlight);
    let got = 0;
    try {
      const out = await next(args);
      got = (out.output as { Messages?: unknown[] }).Messages?.length ?? 0;
      return out;
    } finally {
      const ended = performance.now();
      trace.inFlight--;
      if (trace.t0 === 0 && got > 0) {
        // The first messages: count from here.
        Object.assign(trace, { t0: ended, busySince: ended, busyMs: 0, maxInFlight: trace.inFlight + 1 });
      } else if (trace.t0 > 0) {
        trace.receives++;
        trace.messages += got;
        trace.totalMs += ended - started;
        if (trace.inFlight === 0) trace.busyMs += ended - trace.busySince;
      }
    }
  },
  { step: 'initialize', name: 'benchReceiveWatch' },
);
const client = new TaskClient({
  domain: required(values.domain, 'domain'),
  endpoint,
  region: REGION,
  credentials: CREDENTIALS,
  ...(ownClient === undefined ? {} : { sqs: ownClient }),
});
// SQSPIPES_BENCH_KEYS=K orders the messages by K keys (the `group` option) instead of none.
const keys = Number(process.env['SQSPIPES_BENCH_KEYS'] ?? 0);
let keyed = 0;
const group = keys > 0 ? { group: () => `k${keyed++ % keys}` } : {};
client.registerTasks([
  { method: src, name: 'src', interval, ...group },
  { method: relay, name: 'relay', priorities },
  { method: sink, name: 'sink' },
]);

const controller = new AbortController();
const hardStop = setTimeout(() => controller.abort(), deadline);
let signals = 0;
for (const name of ['SIGTERM', 'SIGINT'] as const) {
  process.on(name, () => {
    signals++;
    if (signals > 1) process.exit(130);
    controller.abort();
  });
}

const sampler = new RssSampler(() => count);
let finished = false;
let error: string | undefined;
const running = (async () => {
  try {
    const outputs = client.run(stage, {
      workers,
      limit,
      idleTimeout,
      signal: controller.signal,
      shutdownTimeout: 5_000,
    });
    for await (const value of outputs) {
      const now = Date.now();
      if (stage !== 'src') firstAt ??= now;
      firstOutputAt ??= now;
      if (latencies !== undefined && count < latencies.length) latencies[count] = now - Number(value);
      count++;
      lastAt = now;
      traceEnd = performance.now();
    }
  } catch (caught) {
    error = errorText(caught);
  } finally {
    finished = true;
  }
})();

// Ready once the stage polls its input (the source: at once).
if (stage !== 'src') {
  while (!finished && (client.stats().requests['ReceiveMessage'] ?? 0) < 1) await sleep(5);
}
announceReady();

let idle: ChildReport['idle'];
if (idleWindow > 0 && !finished) {
  // Let the first long polls settle, then count what an idle stage asks of SQS.
  await sleep(500);
  const before = { ...client.stats().requests };
  await Promise.race([sleep(idleWindow), running]);
  const after = client.stats().requests;
  const requests: Record<string, number> = {};
  for (const [action, n] of Object.entries(after)) {
    const diff = n - (before[action] ?? 0);
    if (diff > 0) requests[action] = diff;
  }
  idle = { windowMs: idleWindow, requests, receivesByQueue: Object.fromEntries(receivesByQueue) };
  controller.abort();
}

await running;
clearTimeout(hardStop);
sampler.stop();
await client.close();
ownClient?.destroy();
writeReport(reportFile, {
  role: `sqspipes ${stage}`,
  count,
  firstAt,
  lastAt,
  firstOutputAt,
  requests: { ...client.stats().requests },
  maxRssKiB: peakRssKiB(),
  cpuMs: cpuMs(),
  samples: sampler.samples,
  ...(latencies === undefined ? {} : { latencies: Array.from(latencies.subarray(0, count)) }),
  ...(idle === undefined ? {} : { idle }),
  ...(traceReceives && trace.t0 > 0
    ? {
        receiveTrace: {
          receives: trace.receives,
          messagesPerReceive: trace.messages / Math.max(1, trace.receives),
          meanMs: trace.totalMs / Math.max(1, trace.receives),
          maxInFlight: trace.maxInFlight,
          // Share of the time from the first messages to the end with a receive in flight.
          busyShare: trace.busyMs / Math.max(1, traceEnd - trace.t0),
        },
      }
    : {}),
  ...(error === undefined ? {} : { error }),
});
process.exitCode = error === undefined ? 0 : 1;
