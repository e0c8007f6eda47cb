import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ClientStats } from '../../src/client-stats.ts';
import { Progress, type ProgressClient } from '../../src/cli/progress.ts';

function progressOf(stats: Partial<ClientStats>): Progress {
  const client: ProgressClient = {
    stats: () => ({
      requests: {},
      processed: 0,
      outputs: 0,
      failed: 0,
      retried: 0,
      deadLettered: 0,
      inHand: 0,
      awaiting: 0,
      ...stats,
    }),
    queues: () => Promise.resolve([]),
  };
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  return new Progress(client, { stage: 'reduce', stream, logInterval: 10_000 });
}

describe('progress line', () => {
  it('counts in "in" every input taken: done, dead-lettered, or in hand (running, retrying, waiting)', () => {
    // 10 done, 2 set aside in the DLQ (after 6 failed attempts), 3 in hand: 15 inputs came in.
    const line = progressOf({ processed: 10, outputs: 20, failed: 6, deadLettered: 2, inHand: 3 }).line();
    expect(line).toMatch(/^reduce: 15 in, 20 out, 6 failed, [\d.]+\/s, 3 in hand, backlog \?$/);
  });

  it('says 0 in before anything arrived', () => {
    expect(progressOf({}).line()).toMatch(/^reduce: 0 in, 0 out, 0 failed, /);
  });
});
