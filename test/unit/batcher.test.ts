import { getEventListeners } from 'node:events';
import { expect, it } from 'vitest';
import { Batcher } from '../../src/sqs/batcher.ts';

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
