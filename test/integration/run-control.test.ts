import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, EmptyTaskOutput, StageError, TaskClient, taskContext } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv, deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';

/** A promise and its resolver, to await an event instead of sleeping. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const sortNumbers = (xs: readonly unknown[]) => [...xs].sort((a, b) => Number(a) - Number(b));

/** A source that is never run in these tests: they feed the second stage with `enqueue`. */
function source() {
  return null;
}

/** Depth (visible + in flight + delayed) of `stage`'s input queues, by level. */
async function depths(client: TaskClient, stage: string): Promise<number[]> {
  const levels = (await client.queues()).flatMap((q) =>
    q.stage === stage && typeof q.level === 'number' ? [{ ...q, level: q.level }] : [],
  );
  return levels.sort((a, b) => a.level - b.level).map((q) => q.visible + q.inFlight + q.delayed);
}

/** Idle timeout of runs that drain a queue: a safety net, not a timing the tests rely on. */
const DRAIN_IDLE = 1500;

describe('priorities', () => {
  /** A client with `source → work` where `work` has 3 levels and runs `behaviour`. */
  const prioClient = (label: string, behaviour: (x: unknown) => unknown = (x) => x, priorities = 3) =>
    testClient(label, [source, { method: behaviour, name: 'work', priorities }]);

  // Each test has its own queues: a stopped run's abandoned long polls could take their messages.
  const queuedFirst = prioClient('prioq');
  it('a level-2 input queued after a level-0 backlog comes out among the first 12 (in hand: workers + 10)', async () => {
    const client = queuedFirst;
    await Promise.all(range(40).map((i) => client.enqueue('work', i)));
    await client.enqueue('work', 'high', { priority: 2 });
    const out = await collect(client.run('work', { workers: 1, limit: 41, idleTimeout: 5000 }));
    expect(out).toHaveLength(41);
    expect(out.indexOf('high')).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('high')).toBeLessThan(12);
    expect(sortNumbers(out.filter((x) => x !== 'high'))).toEqual(range(40));
    expect(await depths(client, 'work')).toEqual([0, 0, 0]);
  });

  // Regression: idle higher levels used to hold room in hand for their whole 20 s long poll, so
  // a level-0 backlog waited. An idle level now long-polls for one message (worker/poller.ts).
  const backlogOnly = prioClient('priob');
  it('a level-0 backlog is processed at once while the higher levels are empty', async () => {
    const client = backlogOnly;
    await Promise.all(range(5).map((i) => client.enqueue('work', i)));
    // With the old bug the run idled out (4 s) before the 20 s polls ended: nothing came out.
    const out = await collect(client.run('work', { workers: 1, limit: 5, idleTimeout: 4000 }));
    expect(sortNumbers(out)).toEqual(range(5));
  });

  const firstStarted = deferred();
  const gate = deferred();
  let calls = 0;
  const arriving = prioClient(
    'prioa',
    async (x) => {
      calls++;
      if (calls === 1) {
        firstStarted.resolve();
        await gate.promise;
      }
      return x;
    },
    2,
  );
  it('a level-1 input arriving during a level-0 backlog is processed next', async () => {
    const client = arriving;
    await Promise.all(range(20).map((i) => client.enqueue('work', i)));
    const run = collect(client.run('work', { workers: 1, limit: 21, idleTimeout: 5000 }));
    await firstStarted.promise;
    try {
      await client.enqueue('work', 'high', { priority: 1 });
      // Wait until the runner holds it (received, not run yet), then let the first call finish.
      await vi.waitFor(
        async () => {
          const level1 = (await client.queues()).find((q) => q.stage === 'work' && q.level === 1);
          expect(level1?.inFlight).toBe(1);
        },
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      gate.resolve();
    }
    const out = await run;
    expect(out).toHaveLength(21);
    expect(out.indexOf('high')).toBe(1);
  });

  const band = prioClient('priom');
  it('consumes only the levels from minPriority to maxPriority', async () => {
    const client = band;
    await Promise.all([0, 1, 2].map((level) => client.enqueue('work', `L${level}`, { priority: level })));
    const middle = await collect(
      client.run('work', { minPriority: 1, maxPriority: 1, idleTimeout: DRAIN_IDLE }),
    );
    expect(middle).toEqual(['L1']);
    const upper = await collect(client.run('work', { minPriority: 1, idleTimeout: DRAIN_IDLE }));
    expect(upper).toEqual(['L2']);
    expect(await depths(client, 'work')).toEqual([1, 0, 0]);
    const lowest = await collect(client.run('work', { maxPriority: 0, idleTimeout: DRAIN_IDLE }));
    expect(lowest).toEqual(['L0']);
  });
});

describe('source priority', () => {
  let n = 0;
  function emit() {
    return n++;
  }
  /** Records the level each input came at, as the stage sees it. */
  const levelOf = new Map<unknown, number>();
  const sink = (x: unknown) => {
    levelOf.set(x, taskContext().priority);
    return x;
  };
  const client = testClient('srcprio', [emit, { method: sink, name: 'sink', priorities: 3 }]);

  it('sends each output to the level the priority option gives', async () => {
    n = 0;
    const out = await collect(client.run('emit', { limit: 6, priority: (x) => Number(x) % 3 }));
    expect(sortNumbers(out)).toEqual(range(6));
    expect(await depths(client, 'sink')).toEqual([2, 2, 2]);
    const sunk = await collect(client.run('sink', { limit: 6, workers: 1, idleTimeout: 5000 }));
    expect(sortNumbers(sunk)).toEqual(range(6));
    expect(range(6).map((x) => levelOf.get(x))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('a priority function returning a level the next stage lacks fails the run with ConfigError', async () => {
    n = 0;
    const run = collect(client.run('emit', { limit: 1, priority: () => 3 }));
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    await expect(run).rejects.toThrow(/`priority` of run\('emit'\).*`3`/);
    expect(await depths(client, 'sink')).toEqual([0, 0, 0]);
  });
});

describe('ignoreNone and EmptyTaskOutput', () => {
  const received: Record<'on' | 'off', unknown[]> = { on: [], off: [] };
  /** Returns what its input names: null, undefined, an EmptyTaskOutput, or the input itself. */
  function maybe(x: string): unknown {
    if (x === 'null') return null;
    if (x === 'undefined') return undefined;
    if (x === 'empty') return new EmptyTaskOutput();
    return x;
  }
  const sinkOf = (mode: 'on' | 'off') => (x: unknown) => {
    received[mode].push(x);
    return 'sunk';
  };
  const inputs = ['a', 'null', 'undefined', 'empty', 'b'];
  const ignoring = testClient('nonedef', [source, maybe, { method: sinkOf('on'), name: 'sink' }]);
  const keeping = testClient('nonekeep', [source, maybe, { method: sinkOf('off'), name: 'sink' }], {
    ignoreNone: false,
  });

  it('by default, null, undefined and EmptyTaskOutput are neither yielded nor forwarded', async () => {
    await Promise.all(inputs.map((x) => ignoring.enqueue('maybe', x)));
    const out = await collect(ignoring.run('maybe', { limit: 5, idleTimeout: 5000 }));
    expect(out.sort()).toEqual(['a', 'b']);
    expect(await depths(ignoring, 'maybe')).toEqual([0]);
    expect(await depths(ignoring, 'sink')).toEqual([2]);
    const sunk = await collect(ignoring.run('sink', { idleTimeout: DRAIN_IDLE }));
    expect(sunk).toEqual(['sunk', 'sunk']);
    expect(received.on.sort()).toEqual(['a', 'b']);
  });

  it('with ignoreNone: false, null is yielded and forwarded; EmptyTaskOutput still is not', async () => {
    await Promise.all(inputs.map((x) => keeping.enqueue('maybe', x)));
    const out = await collect(keeping.run('maybe', { limit: 5, idleTimeout: 5000 }));
    // undefined cannot travel as JSON: it is carried as null.
    expect(out.filter((x) => x === null)).toHaveLength(2);
    expect(out.filter((x) => x !== null).sort()).toEqual(['a', 'b']);
    expect(out.some((x) => x instanceof EmptyTaskOutput)).toBe(false);
    expect(await depths(keeping, 'sink')).toEqual([4]);
    const sunk = await collect(keeping.run('sink', { idleTimeout: DRAIN_IDLE }));
    expect(sunk).toHaveLength(4);
    expect(received.off.filter((x) => x === null)).toHaveLength(2);
    expect(received.off.filter((x) => x !== null).sort()).toEqual(['a', 'b']);
  });
});

describe('interval', () => {
  const calls: number[] = [];
  let intervalCalls = 0;
  function tick() {
    calls.push(performance.now());
    return calls.length;
  }
  const fixed = testClient('intfix', [{ method: tick, interval: 200 }]);
  const computed = testClient('intfn', [
    {
      method: tick,
      name: 'tock',
      interval: () => {
        intervalCalls++;
        return 150;
      },
    },
  ]);
  let slowIntervals = 0;
  const slow = testClient('intslow', [
    {
      method: tick,
      interval: () => {
        slowIntervals++;
        return 3000;
      },
    },
  ]);

  it('waits interval ms between calls of the source', async () => {
    calls.length = 0;
    const started = performance.now();
    const out = await collect(fixed.run('tick', { workers: 1, limit: 3 }));
    const elapsed = performance.now() - started;
    expect(out.sort()).toEqual([1, 2, 3]); // yielded as SQS accepts them
    expect(elapsed).toBeGreaterThanOrEqual(350);
    const [a = 0, b = 0, c = 0] = calls;
    expect(b - a).toBeGreaterThanOrEqual(190);
    expect(c - b).toBeGreaterThanOrEqual(190);
  });

  it('takes the interval from a function, called after each call', async () => {
    calls.length = 0;
    intervalCalls = 0;
    const started = performance.now();
    const out = await collect(computed.run('tock', { workers: 1, limit: 3 }));
    expect(out.sort()).toEqual([1, 2, 3]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(intervalCalls).toBeGreaterThanOrEqual(2);
    const [a = 0, b = 0, c = 0] = calls;
    expect(b - a).toBeGreaterThanOrEqual(140);
    expect(c - b).toBeGreaterThanOrEqual(140);
  });

  // Regression: the loop used to sleep `interval` after the last call the limit allows.
  it('ends the run once the limit is reached, without waiting out the interval', async () => {
    calls.length = 0;
    slowIntervals = 0;
    const out = await collect(slow.run('tick', { workers: 1, limit: 1 }));
    expect(out).toEqual([1]);
    expect(slowIntervals).toBe(0); // the interval is asked for just before it is waited out
  });
});

/** A client with `source → step`; `step` runs `behaviour` (identity by default). */
function stepClient(
  label: string,
  stage: { workers?: number; visibilityTimeout?: number; retries?: number } = {},
  behaviour: (x: unknown) => unknown = (x) => x,
): TaskClient {
  return testClient(label, [source, { method: (x: unknown) => behaviour(x), name: 'step', ...stage }]);
}

/** Enqueues 0 … n-1 into `step`. */
async function feed(client: TaskClient, n: number): Promise<void> {
  await Promise.all(range(n).map((i) => client.enqueue('step', i)));
}

/** Inputs of `step` in flight (received and neither deleted nor released). */
async function inFlight(client: TaskClient): Promise<number> {
  return (await client.queues()).find((q) => q.stage === 'step' && q.level === 0)?.inFlight ?? -1;
}

/**
 * Checks that two runs together yielded each of 0 … n-1 exactly once, and that nothing is left.
 */
async function expectEachOnce(client: TaskClient, first: unknown[], second: unknown[], n: number) {
  expect(sortNumbers([...first, ...second])).toEqual(range(n));
  expect(await depths(client, 'step')).toEqual([0]);
}

// Stage option for the tests that check that nothing is lost, however late: an input hidden
// by a receive the server still holds for the stopped run is back within 1 s.
const QUICK = { visibilityTimeout: 1 };

describe('stopping a run: break', () => {
  // Regression: stopping aborts long polls on the client side only; the server keeps an aborted
  // ReceiveMessage waiting (AWS and LocalStack: aws/aws-sdk-net#1680, aws/aws-sdk-js#2350;
  // fauxqs likewise) and hands it what becomes visible, into a response nobody reads. A stop now
  // lets short (busy) receives finish and hands messages back only after they did
  // (worker/poller.ts, StageRunner #handBack).
  const strict = stepClient('brk', { workers: 1 });
  it('after break, every input not yielded is at once available to a new run', async () => {
    await feed(strict, 10);
    const first: unknown[] = [];
    for await (const x of strict.run('step', { workers: 1, idleTimeout: 5000 })) {
      first.push(x);
      if (first.length === 3) break;
    }
    expect(first).toHaveLength(3);
    expect(await inFlight(strict)).toBe(0);
    const second = await collect(strict.run('step', { limit: 7, idleTimeout: DRAIN_IDLE }));
    await expectEachOnce(strict, first, second, 10);
  });

  const one = stepClient('brk1', QUICK);
  it('after break (workers 1), the inputs not yielded are neither lost nor yielded twice', async () => {
    await feed(one, 10);
    const first: unknown[] = [];
    for await (const x of one.run('step', { workers: 1, idleTimeout: 5000 })) {
      first.push(x);
      if (first.length === 3) break;
    }
    expect(first).toHaveLength(3);
    const second = await collect(one.run('step', { limit: 7, idleTimeout: 5000 }));
    expect(second).toHaveLength(7);
    await expectEachOnce(one, first, second, 10);
  });

  const four = stepClient('brk4', QUICK);
  it('after break (workers 4), the calls still running are not yielded and come again', async () => {
    await feed(four, 10);
    const first: unknown[] = [];
    for await (const x of four.run('step', { workers: 4, idleTimeout: 5000 })) {
      first.push(x);
      if (first.length === 3) break;
    }
    expect(first).toHaveLength(3);
    const second = await collect(four.run('step', { limit: 7, idleTimeout: 5000 }));
    await expectEachOnce(four, first, second, 10);
  });
});

describe('stopping a run: limit', () => {
  const one = stepClient('lim1', QUICK);
  it('limit stops after that many inputs (workers 1); the rest stay queued', async () => {
    await feed(one, 10);
    const first = await collect(one.run('step', { workers: 1, limit: 4, idleTimeout: 5000 }));
    expect(first).toHaveLength(4);
    const second = await collect(one.run('step', { limit: 6, idleTimeout: 5000 }));
    await expectEachOnce(one, first, second, 10);
  });

  const three = stepClient('lim3', QUICK);
  it('limit stops after that many inputs with workers 3 too', async () => {
    await feed(three, 10);
    const first = await collect(three.run('step', { workers: 3, limit: 4, idleTimeout: 5000 }));
    expect(first).toHaveLength(4);
    const second = await collect(three.run('step', { limit: 6, idleTimeout: 5000 }));
    await expectEachOnce(three, first, second, 10);
  });
});

describe('stopping a run: idleTimeout', () => {
  const idle = stepClient('idle');
  it('a run with nothing to do ends after about idleTimeout', async () => {
    await collect(idle.run('step', { idleTimeout: 50 })); // creates the queue (1 s settle)
    const started = performance.now();
    const out = await collect(idle.run('step', { idleTimeout: 400 }));
    const elapsed = performance.now() - started;
    expect(out).toEqual([]);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(15_000); // its long poll was sized to the idle timeout, never 20 s
  });

  let slowCalls = 0;
  const busy = stepClient('idlebusy', {}, async (x) => {
    slowCalls++;
    await new Promise((resolve) => setTimeout(resolve, 600)); // work longer than idleTimeout
    return x;
  });
  it('a call still running when idleTimeout fires finishes; its output is yielded and acked', async () => {
    await feed(busy, 1);
    const out = await collect(busy.run('step', { workers: 1, idleTimeout: 200 }));
    expect(out).toEqual([0]);
    expect(slowCalls).toBe(1);
    expect(await depths(busy, 'step')).toEqual([0]);
  });
});

describe('stopping a run: AbortSignal', () => {
  const aborted = stepClient('abort', QUICK);
  it('aborting after the first output ends the run; the other inputs stay queued', async () => {
    await feed(aborted, 10);
    const controller = new AbortController();
    const first: unknown[] = [];
    const run = aborted.run('step', { workers: 1, signal: controller.signal, idleTimeout: 5000 });
    for await (const x of run) {
      first.push(x);
      controller.abort();
    }
    expect(first).toHaveLength(1);
    const second = await collect(aborted.run('step', { limit: 9, idleTimeout: 5000 }));
    await expectEachOnce(aborted, first, second, 10);
  });

  const early = stepClient('abort0');
  it('a signal aborted before the run starts yields nothing and receives nothing', async () => {
    await feed(early, 3);
    const out = await collect(early.run('step', { signal: AbortSignal.abort(), idleTimeout: 5000 }));
    expect(out).toEqual([]);
    expect(await depths(early, 'step')).toEqual([3]);
    const visible = (await early.queues()).find((q) => q.stage === 'step' && q.level === 0);
    expect(visible?.visible).toBe(3);
  });
});

describe('a throwing stage with failFast', () => {
  const boom = new Error('boom on 5');
  let failing = true;
  const throwOn5 = (x: unknown) => {
    if (failing && x === 5) throw boom;
    return x;
  };

  /** Runs `step` with failFast until it fails; returns what it yielded and the error. */
  async function runUntilFailure(client: TaskClient, workers: number) {
    const yielded: unknown[] = [];
    let error: unknown;
    try {
      for await (const x of client.run('step', { workers, idleTimeout: 5000, failFast: true }))
        yielded.push(x);
    } catch (caught) {
      error = caught;
    }
    return { yielded, error };
  }

  function expectStageError(error: unknown): void {
    expect(error).toBeInstanceOf(StageError);
    expect((error as StageError).stage).toBe('step');
    expect((error as StageError).cause).toBe(boom);
    expect((error as StageError).messageId).toEqual(expect.any(String));
    expect((error as Error).message).toContain('`step`');
    expect((error as Error).message).toContain('boom on 5');
  }

  // The failing input waits in the dead-letter queue (the next process does not fail on it
  // again); the rest are at once available; a redrive brings it back.
  const strict = stepClient('throw', { workers: 1, retries: 0 }, throwOn5);
  it('rejects with StageError; the failing input is in the DLQ and the rest at once available', async () => {
    failing = true;
    await feed(strict, 10);
    const { yielded, error } = await runUntilFailure(strict, 1);
    expectStageError(error);
    expect(yielded).not.toContain(5);
    expect(await inFlight(strict)).toBe(0);
    const dlq = (await strict.queues()).find((q) => q.stage === 'step' && q.level === 'dlq');
    expect(dlq?.visible).toBe(1);
    failing = false;
    expect(await strict.redrive('step')).toBe(1);
    const second = await collect(strict.run('step', { limit: 10 - yielded.length, idleTimeout: DRAIN_IDLE }));
    expect(second).toContain(5);
    await expectEachOnce(strict, yielded, second, 10);
  });

  const quick = stepClient('throwq', { workers: 2, retries: 1, ...QUICK }, throwOn5);
  it('rejects with StageError naming the stage with the cause after its retries; no input is lost', async () => {
    failing = true;
    const failures: number[] = [];
    quick.on('failed', (_e, info) => failures.push(info.attempt));
    await feed(quick, 10);
    const { yielded, error } = await runUntilFailure(quick, 2);
    expectStageError(error);
    expect(failures).toEqual([1, 2]);
    expect(yielded).not.toContain(5);
    failing = false;
    expect(await quick.redrive('step')).toBe(1);
    const second = await collect(quick.run('step', { limit: 10 - yielded.length, idleTimeout: 5000 }));
    expect(second).toContain(5);
    await expectEachOnce(quick, yielded, second, 10);
  });

  // A throwing source call is reported and skipped (test/integration/source-errors.test.ts);
  // with failFast it stops its run.
  function explode(): never {
    throw boom;
  }
  const sourceOnly = testClient('throwsrc', [explode]);
  it('a throwing source with failFast rejects with StageError naming it', async () => {
    const run = collect(sourceOnly.run('explode', { limit: 3, failFast: true }));
    await expect(run).rejects.toBeInstanceOf(StageError);
    await expect(run).rejects.toMatchObject({ stage: 'explode', cause: boom });
  });
});

describe('enqueue with id', () => {
  const received: unknown[] = [];
  const client = testClient('enqid', [
    source,
    {
      method: (x: unknown) => {
        received.push(x);
        return x;
      },
      name: 'echo',
    },
  ]);

  it('drops a second enqueue with the same id; different or no ids are kept', async () => {
    await client.enqueue('echo', 'same', { id: 'k1' });
    await client.enqueue('echo', 'same', { id: 'k1' });
    await client.enqueue('echo', 'diff', { id: 'k2' });
    await client.enqueue('echo', 'diff', { id: 'k3' });
    await client.enqueue('echo', 'none');
    await client.enqueue('echo', 'none');
    const out = await collect(client.run('echo', { workers: 1, idleTimeout: DRAIN_IDLE }));
    expect(out.sort()).toEqual(['diff', 'diff', 'none', 'none', 'same']);
    expect(received.sort()).toEqual(['diff', 'diff', 'none', 'none', 'same']);
  });
});

describe('purge and destroy act on exact names', () => {
  const prefix = uniquePrefix('pd');
  const { endpoint, region, credentials } = backendEnv();
  const stages = [source, { method: (x: unknown) => x, name: 'mid', priorities: 2 }];
  const app = new TaskClient({ domain: `${prefix}app`, endpoint, region, credentials });
  const app2 = new TaskClient({ domain: `${prefix}app2`, endpoint, region, credentials });
  app.registerTasks(stages);
  app2.registerTasks(stages);
  const raw = rawClient();
  afterAll(async () => {
    await Promise.all([app.close(), app2.close()]);
    await deleteQueuesWithPrefix(raw, prefix);
    raw.destroy();
  });

  const listed = async () => {
    const out = await raw.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000 }));
    return (out.QueueUrls ?? []).map((url) => url.slice(url.lastIndexOf('/') + 1)).sort();
  };

  it('purge empties only its own queues; destroy deletes only its own queues', async () => {
    for (const client of [app, app2]) {
      await Promise.all([
        client.enqueue('mid', 'a'),
        client.enqueue('mid', 'b', { priority: 1 }),
        client.enqueue('mid', 'c', { priority: 1 }),
      ]);
    }
    expect(await depths(app, 'mid')).toEqual([1, 2]);
    expect(await depths(app2, 'mid')).toEqual([1, 2]);

    await app.purge();
    expect(await depths(app, 'mid')).toEqual([0, 0]);
    expect(await depths(app2, 'mid')).toEqual([1, 2]);

    const names = (domain: string) =>
      [`${domain}-mid-dlq.fifo`, `${domain}-mid-p0.fifo`, `${domain}-mid-p1.fifo`].sort();
    expect(await listed()).toEqual([...names(`${prefix}app`), ...names(`${prefix}app2`)].sort());
    await app.destroy();
    expect(await listed()).toEqual(names(`${prefix}app2`));
    expect((await app.queues()).map((q) => q.exists)).toEqual([false, false, false]);
    expect(await depths(app2, 'mid')).toEqual([1, 2]);
  });
});
