import { describe, expect, it } from 'vitest';
import { EmptyTaskOutput } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';

describe('a three-stage pipeline in one process', () => {
  let n = 0;
  const generate = () => (n < 30 ? ++n : null);
  const double = (x: number) => (x % 10 === 0 ? new EmptyTaskOutput() : x * 2);
  const square = (x: number) => x * x;
  const client = testClient('pipe', [
    generate,
    { method: double, workers: 4 },
    { method: square, workers: 4 },
  ]);

  it('pipes every output of each stage into the next, exactly once', async () => {
    const generated = await collect<number>(client.run('generate', { limit: 30 }));
    expect(generated.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const doubled = await collect<number>(client.run('double', { limit: 30, idleTimeout: 1500 }));
    expect(doubled).toHaveLength(27);
    const squared = await collect<number>(client.run('square', { limit: 27, idleTimeout: 1500 }));
    const expected = Array.from({ length: 30 }, (_, i) => i + 1)
      .filter((x) => x % 10 !== 0)
      .map((x) => 4 * x * x);
    expect(squared.sort((a, b) => a - b)).toEqual(expected);
    const depths = await client.queues();
    expect(depths.every((q) => q.visible === 0 && q.inFlight === 0)).toBe(true);
  });
});
