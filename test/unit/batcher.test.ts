import { getEventListeners } from 'node:events';
import { expect, it, vi } from 'vitest';
import { Batcher, OutcomeUnknownError } from '../../src/sqs/batcher.ts';

it('watches an abort signal with one listener for all its entries, and withdraws them all', async () => {
  // One listener per entry made every add walk thousands of listeners on a run's signal.
  const batcher = new Batcher<number, number>({
    lingerMs: 60_000,
    maxEntries: 1000,
    call: (entries) => Promise.resolve(entries.map((value) => ({ ok: true as const, value }))),
  });
  const giveUp = new AbortController();
  const entries = Array.from({ length: 100 }, (_, i) => batcher.add(i, giveUp.signal));
  expect(getEventListeners(giveUp.signal, 'abort')).toHaveLength(1);
  giveUp.abort(new Error('given up'));
  const outcomes = await Promise.allSettled(entries);
  expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
  expect(getEventListeners(giveUp.signal, 'abort')).toHaveLength(0);
});

it('stops watching a signal once its entries are sent', async () => {
  const batcher = new Batcher<number, number>({
    lingerMs: 0,
    call: (entries) => Promise.resolve(entries.map((value) => ({ ok: true as const, value }))),
  });
  const signal = new AbortController().signal;
  expect(await Promise.all([batcher.add(1, signal), batcher.add(2, signal)])).toEqual([1, 2]);
  expect(getEventListeners(signal, 'abort')).toHaveLength(0);
});

it('never sends an entry again once its caller gave up, and says so for one on the wire', async () => {
  let calls = 0;
  let answer: ((value: never) => void) | undefined;
  const batcher = new Batcher<number, number>({
    lingerMs: 0,
    retryCall: () => true,
    call: () => {
      calls++;
      // The first call fails as if SQS were unreachable; the second hangs on the wire.
      if (calls === 1) return Promise.reject(new Error('ECONNREFUSED'));
      return new Promise((_, reject) => (answer = reject));
    },
  });
  const caller = new AbortController();
  const entry = batcher.add(1, caller.signal);
  await vi.waitFor(() => expect(calls).toBe(2)); // retried after the failure, now on the wire
  caller.abort(new Error('deadline'));
  await expect(entry).rejects.toBeInstanceOf(OutcomeUnknownError);
  answer?.(new Error('ECONNRESET') as never); // the call fails after all: no retry of a given-up entry
  await batcher.flush();
  expect(calls).toBe(2);
});

it('withdraws an entry waiting for its retry, rejecting with the failure that made it wait', async () => {
  let calls = 0;
  const batcher = new Batcher<number, number>({
    lingerMs: 0,
    retryCall: () => true,
    call: () => {
      calls++;
      return Promise.reject(new Error('ECONNREFUSED'));
    },
  });
  const caller = new AbortController();
  const entry = batcher.add(1, caller.signal);
  await vi.waitFor(() => expect(calls).toBeGreaterThan(0));
  await Promise.resolve(); // the failed call has settled: the entry waits for its retry
  const made = calls;
  caller.abort(new Error('deadline'));
  await expect(entry).rejects.toThrow('ECONNREFUSED');
  await batcher.flush();
  expect(calls).toBe(made);
});

/** A batch call that answers when told to: `release()` answers the oldest call in flight. */
function heldCalls() {
  const held: (() => void)[] = [];
  let inFlight = 0;
  let most = 0;
  const batches: number[][] = [];
  return {
    batches,
    held,
    get most() {
      return most;
    },
    call: (entries: readonly number[]) => {
      batches.push([...entries]);
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise<{ ok: true; value: number }[]>((resolve) =>
        held.push(() => {
          inFlight--;
          resolve(entries.map((value) => ({ ok: true as const, value })));
        }),
      );
    },
    release: () => held.shift()?.(),
  };
}

it('keeps at most maxCalls calls in flight: batches made meanwhile wait, full, for one to end', async () => {
  const calls = heldCalls();
  const batcher = new Batcher<number, number>({ lingerMs: 0, maxEntries: 2, maxCalls: 2, call: calls.call });
  const entries = Array.from({ length: 7 }, (_, i) => batcher.add(i));
  await new Promise((resolve) => setImmediate(resolve)); // the lone last entry's linger is over
  expect(calls.batches).toEqual([
    [0, 1],
    [2, 3],
  ]);
  expect(batcher.size).toBe(3);
  while (calls.batches.length < 4 || calls.held.length > 0) {
    calls.release();
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(await Promise.all(entries)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(calls.batches).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
  expect(calls.most).toBe(2);
});

it('withdraws an entry from a batch waiting for a call, and rejects waiting batches on abort', async () => {
  const calls = heldCalls();
  const batcher = new Batcher<number, number>({ lingerMs: 0, maxEntries: 1, maxCalls: 1, call: calls.call });
  const first = batcher.add(1);
  const caller = new AbortController();
  const withdrawn = batcher.add(2, caller.signal);
  const third = batcher.add(3);
  expect(batcher.size).toBe(2);
  caller.abort(new Error('deadline'));
  await expect(withdrawn).rejects.toThrow('deadline');
  expect(batcher.size).toBe(1);
  calls.release();
  expect(await first).toBe(1);
  await vi.waitFor(() => expect(calls.batches).toEqual([[1], [3]]));
  const fourth = batcher.add(4); // waits behind the call of 3
  expect(batcher.abort(new Error('closing'))).toBe(1);
  await expect(fourth).rejects.toThrow('closing');
  calls.release();
  expect(await third).toBe(3);
  expect(calls.batches).toEqual([[1], [3]]);
});
