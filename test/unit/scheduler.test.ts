import { expect, it } from 'vitest';
import type { Delivery } from '../../src/worker/delivery.ts';
import type { Processor } from '../../src/worker/processor.ts';
import { RunControl } from '../../src/worker/run-control.ts';
import { Scheduler } from '../../src/worker/scheduler.ts';

const delivery = (group: string) => ({ level: 0, group, begun: false }) as unknown as Delivery;

/** A processor that records what it was given and finishes at once. */
function recorder() {
  const runs: Delivery[][] = [];
  const processor = { run: (taken: readonly Delivery[]) => (runs.push([...taken]), Promise.resolve()) };
  return { runs, processor: processor as unknown as Processor };
}

const options = { workers: 2, batch: 1, limit: 10, drained: () => {}, levels: [0] };

// The run receives beside its queues' checks and the stage's setup: what comes meanwhile waits.
it('holds what is pushed before start(), then gives it to the workers in receive order', async () => {
  const scheduler = new Scheduler(options, new RunControl({}));
  const { runs, processor } = recorder();
  const [a, b, c] = [delivery('a'), delivery('b'), delivery('c')];
  scheduler.push([a, b, c]);
  await Promise.resolve();
  await Promise.resolve();
  expect(runs).toEqual([]);
  expect(scheduler.waiting).toBe(3);
  expect(scheduler.quota).toBe(7); // held inputs count against `limit` already
  scheduler.start(processor);
  await new Promise((resolve) => setImmediate(resolve));
  expect(runs).toEqual([[a], [b], [c]]);
  expect(scheduler.waiting).toBe(0);
});

it('hands back what it held when the run stops before start()', () => {
  const scheduler = new Scheduler(options, new RunControl({}));
  const [a, b] = [delivery('a'), delivery('b')];
  scheduler.push([a, b]);
  expect(scheduler.drain()).toEqual([a, b]);
  expect(scheduler.waiting).toBe(0);
});
