// A user's pipelines of time and flow control (README: "Items for later", "Schedules", "Fleet-wide
// limits"), run per stage as processes by time-and-limits.test.mjs:
//   TL_PIPELINE=delays|ticks|slots TL_DOMAIN=d node time-and-limits-pipeline.mjs <stage> [workers] [flags]
// - delays: `plan` → `wait` → `done`. An item is `{ n, due }` (due: epoch ms). `plan` sends it on
//   with `delayed(item, { at: due })`; the test also enqueues items into `wait` with `delay`/`at`.
// - ticks: `tick` (a scheduled source, every second) → `ticked`.
// - slots: `slot` (`maxConcurrency: 3`; each call takes SLOT_CALL_MS) → `slotted`.
// `wait`, `tick` and `slot` write what each call does as a JSON line on stdout (only the last stage's
// outputs are printed by the stage CLI, and these stages are never last): `{ stage, pid, at, … }`.
import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { delayed, TaskClient } from 'sqspipes';

export const SLOTS = 3;
export const SLOT_CALL_MS = 1500;
export const TICK_EVERY_MS = 1000;

/** One line on stdout, written before the call goes on (a SIGKILL right after loses nothing). */
function record(event) {
  writeSync(1, `${JSON.stringify({ ...event, pid: process.pid, at: Date.now() })}\n`);
}

// A short visibility timeout: what a killed process held is back within seconds.
const quick = { visibilityTimeout: 5, retryDelay: 100 };

export function delaysClient({ domain, ...options }) {
  const plan = (item) => delayed(item, { at: item.due });
  // Its output is its input: a call repeated after a SIGKILL (its output sent, its input not yet
  // deleted) sends the same content under the same id, and SQS drops the copy. When it was called
  // is in the record, not the output: an output that differs from call to call is a new output
  // (README, Delivery guarantees).
  const wait = (item) => {
    record({ stage: 'wait', n: item.n, due: item.due });
    return item;
  };
  return new TaskClient({ domain, ...options }).registerTasks([
    { method: plan, input: true, workers: 4, ...quick },
    { method: wait, workers: 8, ...quick },
    { name: 'done', method: (item) => item, workers: 4 },
  ]);
}

export function ticksClient({ domain, ...options }) {
  const tick = (instant) => {
    record({ stage: 'tick', instant });
    return instant;
  };
  return new TaskClient({ domain, ...options }).registerTasks([
    { method: tick, schedule: { every: TICK_EVERY_MS }, ...quick },
    { name: 'ticked', method: (instant) => instant, workers: 4 },
  ]);
}

export function slotsClient({ domain, ...options }) {
  let calls = 0;
  const slot = async (n) => {
    const call = calls++;
    record({ stage: 'slot', event: 'start', n, call });
    await sleep(SLOT_CALL_MS);
    record({ stage: 'slot', event: 'end', n, call });
    return n;
  };
  return new TaskClient({ domain, ...options }).registerTasks([
    { method: slot, input: true, maxConcurrency: SLOTS, workers: 8, ...quick },
    { name: 'slotted', method: (n) => n, workers: 4 },
  ]);
}

const CLIENTS = { delays: delaysClient, ticks: ticksClient, slots: slotsClient };

if (process.argv[1] === import.meta.filename) {
  const { TL_PIPELINE = '', TL_DOMAIN } = process.env;
  const make = CLIENTS[TL_PIPELINE];
  if (make === undefined)
    throw new Error(`TL_PIPELINE must be one of ${Object.keys(CLIENTS)}, got ${TL_PIPELINE}`);
  await make({ domain: TL_DOMAIN }).main();
}
