import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ItemError, type ItemStatus, TaskClient, taskContext } from '../../src/index.ts';
import { DEFAULT_STALE_AFTER_MS } from '../../src/replies/reply-queue.ts';
import { listReplyQueues, removeStaleReplyQueues } from '../../src/replies/stale-replies.ts';
import { type StageProcess, startStage } from '../support/spawn.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const SCRIPT = fileURLToPath(new URL('../fixtures/submit-pipeline.ts', import.meta.url));

/** The fixture's pipeline, registered in this process (it only submits). */
function sender(domain: string): TaskClient {
  const { endpoint, region, credentials } = backendEnv();
  const client = new TaskClient({ domain, endpoint, region, credentials, pollWaitSeconds: 2 });
  const none = () => null;
  return client.registerTasks([
    { name: 'items', method: none },
    { name: 'explode', method: none },
    { name: 'check', method: none },
    { name: 'finish', method: none },
  ]);
}

describe('submit() and result() across processes', () => {
  const domain = testDomain('submit');
  const env = { SQSPIPES_DOMAIN: domain };
  let stages: StageProcess[] = [];
  const raw = rawClient();

  beforeAll(() => {
    stages = ['explode', 'check', 'finish'].map((stage) =>
      startStage(SCRIPT, [stage, '--idle-timeout', '600000'], env),
    );
  });

  afterAll(async () => {
    for (const stage of stages) stage.child.kill('SIGTERM');
    const codes = await Promise.all(stages.map((s) => s.exited));
    raw.destroy();
    expect(codes, stages.map((s) => s.stderr()).join('\n')).toEqual([0, 0, 0]);
  });

  it('a sender killed with SIGKILL leaves a reply queue that the clean-up removes; the pipeline carries on', async () => {
    const finish = stages[2] as StageProcess;
    const before = finish.lines.length;
    const killed = startStage(SCRIPT, ['submit', '20'], env);
    await killed.waitForLines(1);
    killed.child.kill('SIGKILL');
    await killed.exited;
    const left = await listReplyQueues(raw, domain);
    expect(left).toHaveLength(1);
    expect(left[0]?.stale).toBe(false);
    // Later, once its heartbeat is old: the clean-up removes it (and would leave a live one alone).
    const later = Date.now() + DEFAULT_STALE_AFTER_MS + 60_000;
    expect(await removeStaleReplyQueues(raw, domain, { now: later })).toEqual([left[0]?.name]);
    expect(await listReplyQueues(raw, domain)).toEqual([]);
    await finish.waitForLines(before + 20);
    const outputs = finish.lines.slice(before) as string[];
    expect(outputs.sort()).toEqual(Array.from({ length: 20 }, (_, n) => `${n}:0`).sort());
  });

  it('1000 items from one process: every result received and matched', async () => {
    const client = sender(domain);
    try {
      const total = 1000;
      const submissions = await Promise.all(Array.from({ length: total }, (_, n) => client.submit({ n })));
      const results = await Promise.all(submissions.map((s) => s.result()));
      expect(results).toEqual(Array.from({ length: total }, (_, n) => [`${n}:0`]));
      expect(new Set(submissions.map((s) => s.id)).size).toBe(total);
      expect(client.stats().awaiting).toBe(0);
    } finally {
      await client.close();
    }
    expect(await listReplyQueues(raw, domain)).toEqual([]); // close() deleted it
  });

  it('a fan-out completes when its last branch ends, branches filtered midway included', async () => {
    const client = sender(domain);
    try {
      const fanned = await client.submit({ n: 1, fan: 7, odd: 'drop' });
      const wide = await client.submit({ n: 2, fan: 30 });
      const none = await client.submit({ n: 3, fan: 4, odd: 'drop', fail: false, slow: false });
      const gone = await client.submit({ n: 4, fan: 0 });
      expect(await fanned.result()).toEqual(['1:0', '1:2', '1:4', '1:6']);
      expect(await wide.result()).toEqual(Array.from({ length: 30 }, (_, i) => `2:${i}`));
      expect(await none.result()).toEqual(['3:0', '3:2']);
      const error = await gone.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ItemError);
      expect(error).toMatchObject({ end: 'filtered', stage: 'explode' });
    } finally {
      await client.close();
    }
  });

  it('a dead-lettered item rejects with the stage and reason; statuses show its way', async () => {
    const client = sender(domain);
    try {
      const bad = await client.submit({ n: 5, fail: true }, { status: true });
      const statuses: ItemStatus[] = [];
      const seen = (async () => {
        for await (const s of bad.statuses()) statuses.push(s);
      })();
      const error = await bad.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ItemError);
      expect(error).toMatchObject({ end: 'dead-lettered', stage: 'check' });
      expect((error as ItemError).reason).toMatch(/check refuses item 5/);
      await seen;
      const steps = statuses.map((s) => `${s.stage}:${s.status}`);
      expect(steps).toContain('explode:received');
      expect(steps).toContain('explode:finished');
      expect(steps).toContain('check:retrying');
      expect(steps.at(-1)).toBe('check:dead-lettered');
    } finally {
      await client.close();
    }
  });

  it('statuses show each stage, received then finished, for every item (none is lost to the item ending first)', async () => {
    const client = sender(domain);
    try {
      const items = await Promise.all(
        Array.from({ length: 60 }, (_, i) => client.submit({ n: 200 + i }, { status: true })),
      );
      for (const [i, item] of items.entries()) {
        expect(await item.result()).toEqual([`${200 + i}:0`]);
        const steps: string[] = [];
        for await (const s of item.statuses()) steps.push(`${s.stage}:${s.status}`);
        const expected = ['explode', 'check', 'finish'].flatMap((s) => [`${s}:received`, `${s}:finished`]);
        expect(steps).toEqual(expected);
      }
    } finally {
      await client.close();
    }
  });

  it('a timeout rejects without leaking; the late result is no error', async () => {
    const client = sender(domain);
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    try {
      const slow = await client.submit({ n: 6, slow: true }, { timeout: 500 });
      const error = await slow.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ end: 'timeout' });
      expect(client.stats().awaiting).toBe(0);
      // The item went on: a later item submitted after it still gets its result.
      const next = await client.submit({ n: 7, slow: true });
      expect(await next.result()).toEqual(['7:0']);
      expect(errors).toEqual([]);
    } finally {
      await client.close();
    }
  });
  it('items of a sender that closed flow on: replies to its deleted queue do not fail or stall a stage', async () => {
    const finish = stages[2] as StageProcess;
    const before = finish.lines.length;
    const client = sender(domain);
    const submissions = await Promise.all(
      Array.from({ length: 5 }, (_, i) => client.submit({ n: 100 + i, slow: true })),
    );
    await client.close(); // deletes the reply queue while the items are in `check`
    for (const s of submissions) await expect(s.result()).rejects.toMatchObject({ end: 'closed' });
    await finish.waitForLines(before + 5);
    expect((finish.lines.slice(before) as string[]).sort()).toEqual([
      '100:0',
      '101:0',
      '102:0',
      '103:0',
      '104:0',
    ]);
    for (const stage of stages) expect(stage.stderr()).not.toMatch(/could not send a reply/);
    // The stage goes on as before: a new sender gets its result.
    const next = sender(domain);
    try {
      expect(await (await next.submit({ n: 8 })).result()).toEqual(['8:0']);
    } finally {
      await next.close();
    }
  });
});

describe('submit() of an item whose first attempt fanned out one value and failed', () => {
  it('resolves once the retry returns that value (the retry is not taken for a duplicate)', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const domain = testDomain('submitretry');
    const client = new TaskClient({ domain, endpoint, region, credentials, pollWaitSeconds: 1 });
    client.registerTasks([
      { name: 'source', method: () => null },
      {
        name: 'work',
        method: (word: string) => {
          if (taskContext().attempt > 1) return word;
          return (function* () {
            yield word; // a branch of its own, sent; then the attempt fails
            throw new Error('attempt 1 fails after its output');
          })();
        },
        input: true,
        retryDelay: 0,
      },
      { name: 'done', method: (word: string) => word.toUpperCase() },
    ]);
    const stop = new AbortController();
    const runs = ['work', 'done'].map(async (stage) => {
      for await (const _ of client.run(stage, { signal: stop.signal }));
    });
    try {
      expect(await (await client.submit('b')).result()).toEqual(['B']);
    } finally {
      stop.abort();
      await Promise.all(runs);
      await client.close();
    }
  });
});
