/**
 * Edges of identity and order: outputs named with `withId` (through the next stage, and through a
 * retry that yields them in another order), a keyed batch handler whose items fail one by one, and
 * a run stopped while an input of a key waits for its retry, followed by a new run. The per-key
 * assertions are meant for an SQS that returns several messages of one group per receive
 * (LocalStack, ElasticMQ, AWS) as well as for the embedded emulator, which returns one.
 */
import { describe, expect, it } from 'vitest';
import { fanOut, type InputInfo, itemError, TaskClient, withId } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { backendEnv } from '../support/sqs.ts';

const source = { method: () => null, name: 'source' };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
// Short long polls: a stop waits out the receive in flight on an idle level.
const quick = { pollWaitSeconds: 1 };

interface Item {
  key: string;
  n: number;
}

/** Counts of each value's JSON: every value exactly once means every count is 1. */
function counts(values: readonly unknown[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const value of values) {
    const json = JSON.stringify(value);
    seen.set(json, (seen.get(json) ?? 0) + 1);
  }
  return seen;
}

/** The `n`s of `key`, in the order they were seen. */
const seqOf = (items: readonly Item[], key: string) => items.filter((x) => x.key === key).map((x) => x.n);

describe('outputs named with withId', () => {
  interface File {
    file: string;
    from: string;
  }
  // Input n names two files of its own and one shared by every input (same id, same value).
  const files = (n: number) =>
    fanOut([
      withId(`file-${n}-a`, { file: `file-${n}-a`, from: 'split' }),
      withId('shared', { file: 'shared', from: 'split' }),
      withId(`file-${n}-b`, { file: `file-${n}-b`, from: 'split' }),
    ]);
  const stages = [
    source,
    { method: files, name: 'split', workers: 4 },
    { method: (x: File) => x, name: 'sink', workers: 4 },
  ];
  // Two pipelines with the same stages: an id derived from the given one does not depend on the
  // input (nor on the domain), so both name the same file alike.
  const client = testClient('wid', stages, quick);
  const twin = testClient('widtwin', stages, quick);

  /** Feeds `inputs` to `split`, runs it, then runs `sink`: what each run yielded, with ids. */
  async function flow(c: typeof client, inputs: number[]) {
    await Promise.all(inputs.map((n) => c.enqueue('split', n)));
    const split = await collect<{ id: string; value: File }>(
      c.run('split', { limit: inputs.length, idleTimeout: 5000, withIds: true }),
    );
    const sunk = await collect<{ id: string; value: File }>(
      c.run('sink', { idleTimeout: 2000, withIds: true }),
    );
    return { split, sunk };
  }

  it('reach the next stage once per given id, and the last stage yields ids derived from the given ones', async () => {
    // The twin gets other inputs (other enqueue ids) that name some of the same files.
    const [{ split, sunk }, other] = await Promise.all([flow(client, range(5)), flow(twin, [1, 3])]);
    expect(split).toHaveLength(15);
    // Same given id → same id; distinct given ids → distinct ids.
    const idOf = new Map<string, Set<string>>();
    for (const { id, value } of split) idOf.set(value.file, (idOf.get(value.file) ?? new Set()).add(id));
    expect(idOf.size).toBe(11);
    for (const [file, ids] of idOf) expect(ids.size, file).toBe(1);
    expect(new Set(split.map((s) => s.id)).size).toBe(11);

    // SQS dropped the copies of `shared`: the next stage receives each file once.
    const expected = ['shared', ...range(5).flatMap((n) => [`file-${n}-a`, `file-${n}-b`])].sort();
    expect(sunk.map((s) => s.value.file).sort()).toEqual(expected);
    expect(new Set(sunk.map((s) => s.id)).size).toBe(11);

    // The last stage's ids derive from the given ones, not from the inputs: the twin's are the same.
    expect(other.split).toHaveLength(6);
    expect(other.sunk.map((s) => s.value.file).sort()).toEqual(
      ['shared', 'file-1-a', 'file-1-b', 'file-3-a', 'file-3-b'].sort(),
    );
    const sinkId = new Map(sunk.map((s) => [s.value.file, s.id]));
    for (const { id, value } of other.sunk) expect(id, value.file).toBe(sinkId.get(value.file));
  });
});

describe('a retry that yields withId outputs in another order, plus a new one', () => {
  const attempts = new Map<number, number>();
  async function* named(n: number): AsyncGenerator<unknown> {
    const attempt = (attempts.get(n) ?? 0) + 1;
    attempts.set(n, attempt);
    if (attempt === 1) {
      yield withId(`${n}-a`, `${n}-a`);
      yield withId(`${n}-b`, `${n}-b`);
      throw new Error(`attempt 1 on ${n} fails after a and b`);
    }
    yield withId(`${n}-c`, `${n}-c`);
    yield withId(`${n}-b`, `${n}-b`);
    yield withId(`${n}-a`, `${n}-a`);
  }
  const client = testClient(
    'widretry',
    [
      source,
      { method: named, name: 'named', retries: 1, retryDelay: 0, workers: 4 },
      { method: (x: string) => x, name: 'sink', workers: 4 },
    ],
    quick,
  );

  it('loses none and doubles none at the next stage', async () => {
    const failed: InputInfo[] = [];
    client.on('failed', (_error, info) => failed.push(info));
    await Promise.all(range(10).map((n) => client.enqueue('named', n)));
    const yielded = await collect<{ id: string; value: string }>(
      client.run('named', { limit: 10, idleTimeout: 5000, withIds: true }),
    );
    expect(failed).toHaveLength(10);
    // The consumer may see a and b twice (attempt 1, then 2), always with one id per value.
    const idOf = new Map<string, Set<string>>();
    for (const { id, value } of yielded) idOf.set(value, (idOf.get(value) ?? new Set()).add(id));
    expect(idOf.size).toBe(30);
    for (const [value, ids] of idOf) expect(ids.size, value).toBe(1);

    const expected = range(10).flatMap((n) => [`${n}-a`, `${n}-b`, `${n}-c`]);
    const sunk = await collect<string>(client.run('sink', { idleTimeout: 3000 }));
    expect(new Set(sunk).size).toBe(30);
    expect([...counts(sunk).values()].every((c) => c === 1)).toBe(true);
    expect(sunk.sort()).toEqual(expected.sort());
  });
});

describe('a keyed batch handler whose items fail one by one', () => {
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  const perKey = 15;
  const tried = new Set<string>();
  const batches: Item[][] = [];
  const step = (inputs: Item[]) => {
    batches.push(inputs);
    return inputs.map((item) => {
      const id = `${item.key}:${item.n}`;
      // Every 4th input of a key fails its first attempt, the others of its batch go on.
      if (item.n % 4 === 1 && !tried.has(id)) {
        tried.add(id);
        return itemError(new Error(`first attempt on ${id} fails`));
      }
      return item;
    });
  };
  const client = testClient(
    'batchkey',
    [
      source,
      {
        method: step,
        name: 'step',
        batch: 4,
        group: (x: Item) => x.key,
        retries: 2,
        retryDelay: 50,
        workers: 4,
      },
      { method: (x: Item) => x, name: 'sink', workers: 8 },
    ],
    quick,
  );

  it(`keeps ${keys.length} keys × ${perKey} inputs in order, each exactly once`, async () => {
    const dead: InputInfo[] = [];
    client.on('deadLettered', (info) => dead.push(info));
    const retried: InputInfo[] = [];
    client.on('retried', (info) => retried.push(info));
    for (const n of range(perKey)) {
      await Promise.all(keys.map((key) => client.enqueue('step', { key, n })));
    }
    const total = keys.length * perKey;
    const out = await collect<Item>(client.run('step', { limit: total, idleTimeout: 5000 }));
    expect(dead).toEqual([]);
    expect(retried).toHaveLength(keys.length * range(perKey).filter((n) => n % 4 === 1).length);
    expect(batches.some((b) => b.length > 1)).toBe(true);
    for (const b of batches) expect(new Set(b.map((x) => x.key)).size, 'one key per batch').toBe(b.length);
    expect(out).toHaveLength(total);
    for (const key of keys) expect(seqOf(out, key), `run outputs of ${key}`).toEqual(range(perKey));

    const sunk = await collect<Item>(client.run('sink', { limit: total, idleTimeout: 5000 }));
    expect(sunk).toHaveLength(total);
    for (const key of keys) expect(seqOf(sunk, key), `next stage, ${key}`).toEqual(range(perKey));
    expect(await collect(client.run('sink', { idleTimeout: 1500 }))).toEqual([]);
  });
});

describe.each([
  { runner: 'the same client', fresh: false },
  { runner: 'a new client (another process)', fresh: true },
])('a run stopped while an input of a key waits for its retry, then a new run on $runner', ({ fresh }) => {
  const keys = ['a', 'b', 'c'];
  const perKey = 12;
  const failing = { on: true };
  const tried = new Set<string>();
  const step = async (item: Item) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Input 5 of key `a`, in the middle of its sequence, fails its first attempt.
    if (failing.on && item.key === 'a' && item.n === 5 && !tried.has('a:5')) {
      tried.add('a:5');
      throw new Error('first attempt on a:5 fails');
    }
    return item;
  };
  const stages = [
    source,
    {
      method: step,
      name: 'step',
      group: (x: Item) => x.key,
      retries: 2,
      retryDelay: 3000,
      workers: 4,
    },
    { method: (x: Item) => x, name: 'sink', workers: 4 },
  ];
  const client = testClient(fresh ? 'stopnew' : 'stopsame', stages, quick);

  it(
    'gives every key its outputs over both runs in order, each exactly once',
    { timeout: 45_000 },
    async () => {
      for (const n of range(perKey)) {
        await Promise.all(keys.map((key) => client.enqueue('step', { key, n })));
      }
      const total = keys.length * perKey;
      const retried: InputInfo[] = [];
      const dead: InputInfo[] = [];
      client.on('deadLettered', (info) => dead.push(info));
      const controller = new AbortController();
      const onRetried = (info: InputInfo) => {
        retried.push(info);
        controller.abort(); // stop the run once a:5 waits for its retry
      };
      client.on('retried', onRetried);
      const first: Item[] = [];
      for await (const item of client.run('step', { signal: controller.signal, idleTimeout: 10_000 })) {
        first.push(item as Item);
      }
      client.off('retried', onRetried);
      expect(retried).toHaveLength(1);
      expect(controller.signal.aborted).toBe(true);
      // Nothing of `a` from 5 on came out of the first run.
      expect(seqOf(first, 'a')).toEqual(range(5));

      // The new run gets a:5 back once its delay is over (no failure this time), then the rest.
      failing.on = false;
      const { endpoint, region, credentials } = backendEnv();
      const second = fresh
        ? new TaskClient({ domain: client.domain, endpoint, region, credentials, ...quick }).registerTasks(
            stages,
          )
        : client;
      second.on('deadLettered', (info) => dead.push(info));
      try {
        const later = await collect<Item>(
          second.run('step', { limit: total - first.length, idleTimeout: 10_000 }),
        );
        const both = [...first, ...later];
        expect(both).toHaveLength(total);
        for (const key of keys) expect(seqOf(both, key), `outputs of ${key}`).toEqual(range(perKey));
        expect(await collect(second.run('step', { idleTimeout: 1500 }))).toEqual([]);
        expect(dead).toEqual([]);

        const sunk = await collect<Item>(second.run('sink', { limit: total, idleTimeout: 5000 }));
        expect(sunk).toHaveLength(total);
        for (const key of keys) expect(seqOf(sunk, key), `next stage, ${key}`).toEqual(range(perKey));
        expect(await collect(second.run('sink', { idleTimeout: 1500 }))).toEqual([]);
      } finally {
        if (fresh) await second.close();
      }
    },
  );
});

describe('enqueue() calls of one key made without awaiting each other', () => {
  it('reach the stage in the order they were made, through failing and retried sends', async () => {
    const proxy = await startFaultProxy(backendEnv().endpoint, 0.3); // throttling, 500s, resets: sends retried
    const stages = [{ method: (x: Item) => x, name: 'step', input: true, group: (x: Item) => x.key }];
    const client = testClient('keyturns', stages, { endpoint: proxy.url, ...quick });
    try {
      const keys = ['a', 'b', 'c'];
      const items = range(30).flatMap((n) => keys.map((key) => ({ key, n })));
      await Promise.all(items.map((item) => client.enqueue('step', item)));
      proxy.setRate(0);
      const seen = await collect<Item>(client.run('step', { limit: items.length, workers: 4 }));
      for (const key of keys) expect(seqOf(seen, key)).toEqual(range(30));
    } finally {
      await client.close();
      await proxy.stop();
    }
  });
});
