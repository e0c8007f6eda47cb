// Durations Node cannot hold in one timer (Infinity, more than 2^31-1 ms) used to fire after
// 1 ms: `idleTimeout: Infinity` re-armed a 1 ms timer forever, a 30-day call timeout failed
// every call at once, `shutdownTimeout: Infinity` aborted running calls after 1 s.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { PendingItem } from '../../src/replies/submission.ts';
import { callStage } from '../../src/worker/call.ts';
import { RunControl } from '../../src/worker/run-control.ts';

const THIRTY_DAYS = 30 * 86_400_000;
const context = {
  stage: 's',
  priority: 0,
  messageId: 'm',
  receiveCount: 1,
  attempt: 1,
  inputs: [],
  state: undefined,
};

/** A promise and its resolve function. */
function deferred(): { promise: Promise<string>; resolve: (value: string) => void } {
  let resolve!: (value: string) => void;
  const promise = new Promise<string>((res) => (resolve = res));
  return { promise, resolve };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

it('idleTimeout: Infinity never stops the run and arms no timer', () => {
  const control = new RunControl({ idleTimeout: Infinity });
  const stopped = vi.fn();
  control.begin(stopped);
  control.touch();
  expect(vi.getTimerCount()).toBe(0);
  vi.advanceTimersByTime(60_000);
  expect(stopped).not.toHaveBeenCalled();
  expect(control.idleRemainingMs).toBe(Infinity);
  control.requestStop();
});

it('a 30-day call timeout does not time the call out at once', async () => {
  const work = deferred();
  const call = callStage(context, [new AbortController().signal], THIRTY_DAYS, () => work.promise);
  const outcome = vi.fn();
  call.result.then(outcome, outcome);
  await vi.advanceTimersByTimeAsync(10_000);
  expect(outcome).not.toHaveBeenCalled();
  work.resolve('done');
  expect(await call.result).toBe('done');
});

it('shutdownTimeout: Infinity lets running calls finish, however long they take', async () => {
  const control = new RunControl({});
  control.begin(() => {});
  const work = deferred();
  control.track(work.promise).catch(() => {});
  control.requestStop();
  const drained = vi.fn();
  control.drain(Infinity).then(drained, () => {});
  await vi.advanceTimersByTimeAsync(60_000);
  expect(control.callSignal.aborted).toBe(false);
  expect(drained).not.toHaveBeenCalled();
  work.resolve('finished');
  await vi.advanceTimersByTimeAsync(0);
  expect(drained).toHaveBeenCalledWith(0);
});

it('a submission with timeout: Infinity waits for its result, with no timer', async () => {
  const item = new PendingItem('i', 'a', { timeoutMs: Infinity, statuses: false }, () => {});
  const outcome = vi.fn();
  item.submission.result().then(outcome, outcome);
  expect(vi.getTimerCount()).toBe(0);
  await vi.advanceTimersByTimeAsync(60_000);
  expect(outcome).not.toHaveBeenCalled();
  item.abandon();
});
