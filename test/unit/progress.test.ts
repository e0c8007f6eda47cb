import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientStats } from '../../src/client-stats.ts';
import { Progress, type ProgressClient } from '../../src/cli/progress.ts';
import type { PendingJoins } from '../../src/payloads/join-listing.ts';

function progressOf(
  stats: Partial<ClientStats>,
  joinsWaiting: ProgressClient['joinsWaiting'] = () => Promise.resolve(undefined),
  logInterval = 10_000,
): Progress {
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
    joinsWaiting,
  };
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  return new Progress(client, { stage: 'reduce', stream, logInterval });
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

describe('progress line of a join stage', () => {
  const NOW = Date.parse('2026-01-01T00:00:00Z');
  /** The listings asked for, each settled by the test. */
  let asked: {
    stage: string;
    signal: AbortSignal | undefined;
    resolve: (j: PendingJoins | undefined) => void;
    reject: (e: Error) => void;
  }[];
  const joinsWaiting: ProgressClient['joinsWaiting'] = (stage, signal) =>
    new Promise((resolve, reject) => asked.push({ stage, signal, resolve, reject }));
  /** Lets the settled listing's callbacks run (promise callbacks only, no timer). */
  const settled = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    asked = [];
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('adds the items waiting and how long ago the oldest was last folded, as listed', async () => {
    const progress = progressOf({}, joinsWaiting);
    progress.start();
    expect(asked.map((a) => a.stage)).toEqual(['reduce']);
    expect(progress.line()).toMatch(/backlog \S+$/); // nothing said before the first listing
    asked[0]?.resolve({ waiting: 3, capped: false, oldest: new Date(NOW - 42_000) });
    await settled();
    expect(progress.line()).toMatch(/, backlog \S+, joins waiting 3 \(oldest 42s\)$/);
    // The age grows between listings.
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(progress.line()).toMatch(/, joins waiting 3 \(oldest 3m\)$/);
    progress.stop();
  });

  it('says 10000+ when the listing was capped, no age when none waits, ? when it failed', async () => {
    const progress = progressOf({}, joinsWaiting);
    progress.start();
    asked[0]?.resolve({ waiting: 10_000, capped: true, oldest: new Date(NOW - 7_200_000) });
    await settled();
    expect(progress.line()).toMatch(/, joins waiting 10000\+ \(oldest 2h\)$/);
    await vi.advanceTimersByTimeAsync(10_000);
    asked[1]?.resolve({ waiting: 0, capped: false, oldest: undefined });
    await settled();
    expect(progress.line()).toMatch(/, joins waiting 0$/);
    await vi.advanceTimersByTimeAsync(10_000);
    asked[2]?.reject(new Error('AccessDenied'));
    await settled();
    expect(progress.line()).toMatch(/, joins waiting \?$/);
    progress.stop();
  });

  it('lists every progress interval (10 s at least), one listing at a time, and stops with the line', async () => {
    const progress = progressOf({}, joinsWaiting, 30_000);
    progress.start();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(asked).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(asked).toHaveLength(1); // the first is still running: not asked twice
    asked[0]?.resolve({ waiting: 1, capped: false, oldest: new Date(NOW) });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(asked).toHaveLength(2);
    const { signal } = asked[1] ?? {};
    expect(signal?.aborted).toBe(false);
    progress.stop();
    expect(signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(asked).toHaveLength(2);
  });

  it('a stage that is no join is listed once and says nothing of joins', async () => {
    let calls = 0;
    const progress = progressOf({}, () => {
      calls++;
      return Promise.resolve(undefined);
    });
    progress.start();
    await settled();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(1);
    expect(progress.line()).not.toContain('joins');
    progress.stop();
  });
});
