/**
 * How long a stop takes, against fauxqs started as a separate process:
 *   node scripts/bench/stop-time.ts
 * (a) An idle stage (4 workers, 1 and 4 priority levels, default options: 20 s long polls):
 *     from `signal` aborted to the `for await` loop ended. A stop waits out the long polls in
 *     flight, so each repeat stops at another point of the first poll (1 s … 19 s into it) and
 *     the remaining wait is printed beside it. The repeats run side by side (they are idle).
 * (c) After each idle stop, a message enqueued at once is received by a new run (a new client,
 *     as a new process would be): from the enqueue's reply to the new run yielding it (no leftover
 *     long poll of the stopped run hides it).
 * (b) A busy stage at 16 workers (10 ms calls, messages flowing): from leaving the loop (`break`,
 *     i.e. the iterator's `return()`) to the loop's end; one after another.
 * Each case 5 times; min / median / max.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunOptions, TaskClient } from '../../src/index.ts';
import { CREDENTIALS, REGION } from './child.ts';
import { startEndpoint } from './emulator.ts';
import { fmt, percentile, table } from './stats.ts';

const REPEATS = 5;
/** When each idle repeat stops, ms after the stage's first long poll started. */
const PHASES = [1_000, 5_000, 10_000, 15_000, 19_000];
const POLL_WAIT_MS = 20_000;
const BUSY_WORKERS = 16;
const BUSY_CALL_MS = 10;
/** Busy case: messages queued before the run, and outputs after which the loop is left. */
const BUSY_QUEUED = 1_500;
const BUSY_STOP_AFTER = 400;

const endpoint = await startEndpoint();
let domains = 0;

function gen(): number {
  return Date.now();
}
async function work(n: number): Promise<number> {
  await sleep(BUSY_CALL_MS);
  return n;
}
function sink(n: number): number {
  return n;
}

function newClient(domain: string, priorities: number): TaskClient {
  const client = new TaskClient({ domain, endpoint: endpoint.url, region: REGION, credentials: CREDENTIALS });
  return client.registerTasks([gen, { method: work, priorities }, sink]);
}

async function pipelineFor(priorities: number): Promise<{ domain: string; client: TaskClient }> {
  domains++;
  const domain = `stoptime${domains}-p${priorities}`;
  const client = newClient(domain, priorities);
  await client.createQueues();
  return { domain, client };
}

/** Runs `work` until the signal aborts; resolves with when the loop ended. */
async function consume(client: TaskClient, options: RunOptions, each?: () => boolean): Promise<number> {
  for await (const _ of client.run('work', options)) {
    if (each?.() === true) break;
  }
  return performance.now();
}

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await sleep(2);
}

interface IdleResult {
  readonly priorities: number;
  readonly phaseMs: number;
  readonly stopMs: number;
  /** What was left of the first long poll when the stop was asked for. */
  readonly remainingMs: number;
  /** (c): from the enqueue after the stop (its reply) to the new run yielding it. */
  readonly receiveMs: number;
}

async function idleRepeat(priorities: number, phaseMs: number): Promise<IdleResult> {
  const { domain, client } = await pipelineFor(priorities);
  const controller = new AbortController();
  const ended = consume(client, { workers: 4, signal: controller.signal });
  await waitFor(() => (client.stats().requests['ReceiveMessage'] ?? 0) >= priorities);
  const polledAt = performance.now();
  await sleep(phaseMs);
  const stopAt = performance.now();
  controller.abort();
  const stopMs = (await ended) - stopAt;
  await client.close();

  // (c) At once: one message, then a new run (a new client, as a new process) must get it now.
  const level = priorities - 1;
  const next = newClient(domain, priorities);
  await next.enqueue('work', -1, { priority: level });
  const sentAt = performance.now();
  const again = new AbortController();
  let receivedAt = 0;
  const run = consume(next, { workers: 4, signal: again.signal }, () => {
    receivedAt = performance.now();
    again.abort();
    return false;
  });
  const timeout = setTimeout(() => again.abort(), 30_000);
  await run;
  clearTimeout(timeout);
  await next.close();
  return {
    priorities,
    phaseMs,
    stopMs,
    remainingMs: POLL_WAIT_MS - (stopAt - polledAt),
    receiveMs: receivedAt === 0 ? Number.NaN : receivedAt - sentAt,
  };
}

interface BusyResult {
  readonly stopMs: number;
  readonly inHand: number;
  readonly outputs: number;
}

async function busyRepeat(): Promise<BusyResult> {
  const { client } = await pipelineFor(1);
  await Promise.all(Array.from({ length: BUSY_QUEUED }, (_, i) => client.enqueue('work', i)));
  let outputs = 0;
  let stopAt = 0;
  let inHand = 0;
  const endedAt = await consume(client, { workers: BUSY_WORKERS }, () => {
    outputs++;
    if (outputs < BUSY_STOP_AFTER) return false;
    inHand = client.stats().inHand;
    stopAt = performance.now();
    return true;
  });
  await client.close();
  return { stopMs: endedAt - stopAt, inHand, outputs };
}

function summary(values: readonly number[]): string[] {
  return [fmt(Math.min(...values)), fmt(percentile(values, 50)), fmt(Math.max(...values))];
}

try {
  console.log(`endpoint: ${endpoint.name}`);
  const started = performance.now();
  // (a) and (c): every idle repeat at once (the 4-level ones half a second later).
  const idle = await Promise.all(
    [1, 4].flatMap((priorities) =>
      PHASES.slice(0, REPEATS).map(async (phase) => {
        if (priorities > 1) await sleep(500);
        return idleRepeat(priorities, phase);
      }),
    ),
  );
  console.log(
    '\n(a) idle stage, 4 workers: abort → loop ended; (c) enqueue after the stop → a new run has it',
  );
  console.log(
    table(
      ['levels', 'stop at (ms into poll)', 'poll left (ms)', 'stop (ms)', 'stop − poll left', 'receive (ms)'],
      idle.map((r) => [
        String(r.priorities),
        fmt(r.phaseMs),
        fmt(r.remainingMs),
        fmt(r.stopMs),
        fmt(r.stopMs - r.remainingMs),
        fmt(r.receiveMs),
      ]),
    ),
  );
  const rows: string[][] = [];
  for (const priorities of [1, 4]) {
    const mine = idle.filter((r) => r.priorities === priorities);
    rows.push([`(a) idle, ${priorities} level(s): stop`, ...summary(mine.map((r) => r.stopMs))]);
    rows.push([`    stop − poll left`, ...summary(mine.map((r) => r.stopMs - r.remainingMs))]);
    rows.push([`(c) idle, ${priorities} level(s): receive`, ...summary(mine.map((r) => r.receiveMs))]);
  }

  // (b) one after another.
  const busy: BusyResult[] = [];
  for (let i = 0; i < REPEATS; i++) busy.push(await busyRepeat());
  console.log(`\n(b) busy stage, ${BUSY_WORKERS} workers, ${BUSY_CALL_MS} ms calls: break → loop ended`);
  console.log(
    table(
      ['repeat', 'stop (ms)', 'in hand at stop'],
      busy.map((r, i) => [String(i + 1), fmt(r.stopMs), String(r.inHand)]),
    ),
  );
  rows.push([`(b) busy, ${BUSY_WORKERS} workers: stop`, ...summary(busy.map((r) => r.stopMs))]);

  console.log(`\nms, ${REPEATS} repeats each`);
  console.log(table(['case', 'min', 'median', 'max'], rows));
  console.log(`\ntotal ${fmt((performance.now() - started) / 1000, 1)} s`);
} finally {
  await endpoint.stop();
}
