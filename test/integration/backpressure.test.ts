/**
 * Backpressure from SQS and the consumer to a stage's method: a fan-out or generator that produces
 * faster than its outputs are sent and read is paused, not buffered without limit.
 */
import { describe, expect, it } from 'vitest';
import { OUTPUT_WINDOW } from '../../src/worker/output-window.ts';
import { testClient } from '../support/pipeline.ts';

describe('a generator stage faster than its consumer', () => {
  const total = 3 * OUTPUT_WINDOW;
  let produced = 0;
  let consumed = 0;
  let ahead = 0;
  function* many(seed: number) {
    for (let i = 0; i < total; i++) {
      ahead = Math.max(ahead, produced - consumed);
      produced++;
      yield { seed, i };
    }
  }
  const client = testClient('backpressure', [
    { method: () => null, name: 'source' },
    { method: many, name: 'many' },
    { method: (x: unknown) => x, name: 'sink' },
  ]);

  it('is paused while a window of outputs is on its way, and loses none', async () => {
    await client.enqueue('many', 1);
    const seen = new Set<number>();
    for await (const value of client.run('many', { limit: 1, idleTimeout: 5000 })) {
      seen.add((value as { i: number }).i);
      consumed++;
      if (consumed % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1)); // a slow reader
    }
    expect(seen.size).toBe(total);
    expect(ahead).toBeLessThanOrEqual(OUTPUT_WINDOW + 1);
  });
});
