/**
 * A stop is bounded by one clock, `shutdownTimeout`: the receives in flight, the calls and the
 * flush share it. An idle stage stops at once when asked (its 20 s long poll is abandoned), and a
 * message sent right after still reaches the next run at once. Bounds asserted here are far from
 * what is expected (seconds against a 20 s long poll or a 60 s visibility), never close to it.
 */
import { describe, expect, it, vi } from 'vitest';
import { type Logger, taskContext, TaskClient } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv } from '../support/sqs.ts';

const source = { method: () => null, name: 'source' };

/** A logger that keeps the messages of `info` lines. */
function recordingLogger(): Logger & { said: string[] } {
  const said: string[] = [];
  return { said, debug() {}, info: (_fields, msg) => said.push(msg ?? ''), warn() {}, error() {} };
}

describe('a stop has one clock', () => {
  // A long visibility: a message hidden by a poll of a stopped run would not come back in time.
  const stages = [source, { method: (x: unknown) => x, name: 'step', visibilityTimeout: 60 }];
  const client = testClient('stopclock', stages, { pollWaitSeconds: 20 });
  const twoLevels = testClient('stopclock2', [
    source,
    { method: (x: unknown) => x, name: 'step', priorities: 2 },
  ]);

  it('an idle stage asked to stop ends before its long poll would, and the next run gets what comes next', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const before = new TaskClient({
      domain: client.domain,
      endpoint,
      region,
      credentials,
      pollWaitSeconds: 20,
    });
    before.registerTasks(stages);
    const stop = new AbortController();
    const run = collect(before.run('step', { signal: stop.signal }));
    // Its long poll is in flight.
    await vi.waitFor(() => expect(before.stats().requests['ReceiveMessage'] ?? 0).toBeGreaterThan(0), {
      timeout: 30_000,
    });
    const asked = Date.now();
    stop.abort();
    expect(await run).toEqual([]);
    expect(Date.now() - asked).toBeLessThan(10_000); // not the 20 s long poll
    await before.close();
    await client.enqueue('step', 'right after the stop');
    const after = new TaskClient({ domain: client.domain, endpoint, region, credentials });
    after.registerTasks(stages);
    const received = Date.now();
    expect(await collect(after.run('step', { limit: 1 }))).toEqual(['right after the stop']);
    expect(Date.now() - received).toBeLessThan(30_000); // not the 60 s visibility
    await after.close();
  });

  it('shutdownTimeout bounds the whole stop: a running call is aborted within it, and the stop says what it waits for', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const logger = recordingLogger();
    const slow = {
      name: 'step',
      priorities: 2,
      method: async () => {
        const { signal } = taskContext();
        markStarted();
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        aborted = true;
        return 'aborted'; // too late: the input goes back for the next run
      },
    };
    let markStarted = () => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    let aborted = false;
    const worker = new TaskClient({
      domain: twoLevels.domain,
      endpoint,
      region,
      credentials,
      pollWaitSeconds: 20,
      logger,
    });
    worker.registerTasks([source, slow]);
    await twoLevels.enqueue('step', 'slow');
    const stop = new AbortController();
    // Two levels would make two idle long polls of 20 s: the clock is 8 s for all of it (the busy
    // level's receive of up to 2 s, then the call, whose signal aborts when 2.6 s are left).
    const run = collect(worker.run('step', { signal: stop.signal, shutdownTimeout: 8000 }));
    await started;
    const asked = Date.now();
    stop.abort();
    expect(await run).toEqual([]);
    expect(aborted).toBe(true);
    expect(Date.now() - asked).toBeLessThan(15_000); // 8 s by the clock; never 20 s + 8 s
    expect(logger.said).toContain('stopping: waiting for running calls (then their signal aborts)');
    await worker.close();
  });
});
