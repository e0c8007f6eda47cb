import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { StageError, taskContext } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { rawClient } from '../support/sqs.ts';

// A source has no input to keep or dead-letter: a call that throws is retried up to the stage's
// `retries` (0 for a source by default), then reported and skipped; the run goes on. `failFast`
// ends the run with the error instead.

const boom = new Error('boom');

/** A promise and its resolver, to await an event instead of sleeping. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Rejections nobody handled while a test ran: a process under the CLI would have crashed. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
afterEach(() => {
  expect(unhandled).toEqual([]);
  unhandled.length = 0;
});

describe('a source call that throws', () => {
  let calls = 0;
  function flaky(): number {
    calls++;
    if (calls === 2) throw boom;
    return calls;
  }
  const client = testClient('srcskip', [flaky]);

  it('is reported and skipped; the run goes on', async () => {
    const failures: { error: Error; attempt: number; stage: string }[] = [];
    client.on('failed', (error, info) => failures.push({ error, attempt: info.attempt, stage: info.stage }));
    const out = await collect(client.run('flaky', { limit: 4 }));
    expect(out.sort()).toEqual([1, 3, 4]); // yielded as SQS accepts them
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ attempt: 1, stage: 'flaky' });
    expect(failures[0]?.error).toBeInstanceOf(StageError);
    expect(failures[0]?.error).toMatchObject({ stage: 'flaky', cause: boom });
  });
});

describe('a source with retries', () => {
  /** Attempts seen per call (by its first argument), from the context. */
  const attempts: number[] = [];
  let call = 0;
  let pending = 0;
  function retrying(): string {
    const { attempt } = taskContext();
    attempts.push(attempt);
    if (attempt === 1) pending = ++call;
    // Call 1 fails twice then succeeds; call 2 fails every attempt; call 3 succeeds at once.
    if (pending === 1 && attempt < 3) throw boom;
    if (pending === 2) throw boom;
    return `call ${pending}, attempt ${attempt}`;
  }
  const client = testClient('srcretry', [{ method: retrying, retries: 2, retryDelay: 0 }]);

  it('tries a failed call again up to `retries`, then skips it; `limit` counts calls', async () => {
    const failed: number[] = [];
    const retried: number[] = [];
    client.on('failed', (_error, info) => failed.push(info.attempt));
    client.on('retried', (info) => retried.push(info.attempt));
    const out = await collect(client.run('retrying', { limit: 3 }));
    expect(out.sort()).toEqual(['call 1, attempt 3', 'call 3, attempt 1']);
    expect(attempts).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(failed).toEqual([1, 2, 1, 2, 3]);
    expect(retried).toEqual([1, 2, 1, 2]);
  });
});

describe('a source with failFast', () => {
  let calls = 0;
  function once(): number {
    calls++;
    if (calls === 2) throw boom;
    return calls;
  }
  const client = testClient('srcfast', [once]);

  it('ends the run with the StageError of its first failure', async () => {
    const yielded: unknown[] = [];
    const run = (async () => {
      for await (const value of client.run('once', { limit: 4, failFast: true })) yielded.push(value);
    })();
    await expect(run).rejects.toBeInstanceOf(StageError);
    await expect(run).rejects.toMatchObject({ stage: 'once', cause: boom });
    expect(yielded).toEqual([1]);
    expect(calls).toBe(2);
  });
});

describe('a source whose `interval` throws', () => {
  function ticking(): string {
    return 'tick';
  }
  const badInterval = () => {
    throw boom;
  };
  const client = testClient('srcintv', [{ method: ticking, interval: badInterval }]);

  it('ends the run with that error instead of crashing the process', async () => {
    const crashed = deferred<unknown>();
    const listener = (reason: unknown) => crashed.resolve(reason);
    process.on('unhandledRejection', listener);
    try {
      const run = collect(client.run('ticking', { limit: 3 }));
      const outcome = await Promise.race([
        run.then(
          () => 'resolved',
          (error: unknown) => error,
        ),
        crashed.promise.then((reason) => ({ unhandled: reason })),
      ]);
      expect(outcome).toBeInstanceOf(StageError);
      expect(outcome).toMatchObject({ stage: 'ticking', cause: boom });
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});

describe('a source whose outputs cannot be sent', () => {
  const gate = deferred();
  let calls = 0;
  async function gen(): Promise<string> {
    calls++;
    if (calls === 2) await gate.promise;
    return `out ${calls}`;
  }
  function sink(x: unknown): unknown {
    return x;
  }
  const client = testClient('srcsend', [gen, sink]);

  it('reports the call as failed and goes on', async () => {
    const failures: Error[] = [];
    client.on('failed', (error, info) => {
      if (info.stage === 'gen') failures.push(error);
    });
    const out: unknown[] = [];
    const raw = rawClient();
    try {
      for await (const value of client.run('gen', { limit: 3 })) {
        out.push(value);
        if (out.length === 1) {
          // The next stage's queue goes away while the second call runs: its output cannot be sent.
          const sinkQueue = (await client.queues()).find((q) => q.stage === 'sink' && q.level === 0);
          await raw.send(new DeleteQueueCommand({ QueueUrl: sinkQueue?.url }));
          gate.resolve();
        }
      }
    } finally {
      raw.destroy();
    }
    expect(out).toEqual(['out 1']);
    expect(calls).toBe(3);
    expect(failures).toHaveLength(2);
  });
});
