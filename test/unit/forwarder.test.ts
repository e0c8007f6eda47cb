import { expect, it } from 'vitest';
import type { PipelineQueues } from '../../src/queues/topology.ts';
import type { Stage } from '../../src/stage.ts';
import { Forwarder } from '../../src/worker/forwarder.ts';

// The last stage: no next queue, so prepare() only names the output.
const stage = { name: 'fan' } as Stage;
const queues = { topology: { next: () => undefined } } as unknown as PipelineQueues;
const io = { send: () => Promise.resolve() };

it("counts a call's outputs by a short hash of their content, not by their JSON", () => {
  // A call fanning out 100 000 outputs of 10 KB kept each one's JSON here: 1 GB.
  const forwarder = new Forwarder(stage, queues, io);
  const seen = new Map<string, number>();
  const big = 'x'.repeat(10_240);
  const first = forwarder.prepare({ big, i: 1 }, { inputId: 'in' }, 0, seen);
  const again = forwarder.prepare({ big, i: 1 }, { inputId: 'in' }, 0, seen);
  forwarder.prepare({ big, i: 2 }, { inputId: 'in' }, 0, seen);
  expect([...seen.values()]).toEqual([2, 1]);
  expect(Math.max(...[...seen.keys()].map((k) => k.length))).toBeLessThan(100);
  expect(again.id).not.toBe(first.id); // the second occurrence of the same content is another output
});
