import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fanOut, itemError, type StageOptions, taskContext } from '../../src/index.ts';
import { fanoutClient } from '../fixtures/fanout-pipeline.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv, uniquePrefix } from '../support/sqs.ts';
import { startStage } from '../support/spawn.ts';

const source = { method: () => null, name: 'source' };
const jitter = () => sleep(Math.random() * 3);

interface Item {
  key: string;
  seq: number;
}

describe('per-key ordering', () => {
  const keyed: StageOptions[] = [
    source,
    { method: async (x: Item) => (await jitter(), x), name: 'a', workers: 16, group: (x: Item) => x.key },
    { method: async (x: Item) => (await jitter(), x), name: 'b', workers: 16 },
    { method: async (x: Item) => (await jitter(), `${x.key}:${x.seq}`), name: 'c', workers: 16 },
  ];
  const client = testClient('order', keyed);

  it(
    'keeps each of 20 keys × 50 inputs in order through 3 stages of 16 workers',
    { timeout: 90_000 },
    async () => {
      const keys = Array.from({ length: 20 }, (_, k) => `key-${k}`);
      await Promise.all(
        keys.map(async (key) => {
          for (let seq = 0; seq < 50; seq++) await client.enqueue('a', { key, seq });
        }),
      );
      const options = { limit: 1000, idleTimeout: 20_000 };
      const [, , last] = await Promise.all([
        collect(client.run('a', options)),
        collect(client.run('b', options)),
        collect<string>(client.run('c', options)),
      ]);
      expect(last).toHaveLength(1000);
      for (const key of keys) {
        const seqs = last.filter((s) => s.startsWith(`${key}:`)).map((s) => Number(s.split(':')[1]));
        expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }
    },
  );
});

describe('fan-out', () => {
  const client = testClient('fan', [
    source,
    { method: (n: number) => fanOut(Array.from({ length: 100 }, (_, i) => n * 1000 + i)), name: 'spread' },
    { method: (n: number) => n, name: 'sink', workers: 8 },
  ]);

  it('turns one input into 100 messages, each processed once', async () => {
    await client.enqueue('spread', 7);
    const spread = await collect<number>(client.run('spread', { limit: 1, idleTimeout: 5000 }));
    expect(spread).toHaveLength(100);
    const sunk = await collect<number>(client.run('sink', { limit: 100, idleTimeout: 5000 }));
    expect(sunk.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => 7000 + i));
  });

  it(
    'sends each output once even when the fan-out stage is killed mid-way and restarted',
    { timeout: 60_000 },
    async () => {
      const domain = uniquePrefix('fankill');
      const { endpoint, region, credentials } = backendEnv();
      const fan = fanoutClient({ domain, endpoint, region, credentials });
      await fan.enqueue('spread', 3);
      const script = fileURLToPath(new URL('../fixtures/fanout-pipeline.ts', import.meta.url));
      let spreader = startStage(script, ['spread'], { SQSPIPES_DOMAIN: domain });
      const seen: string[] = [];
      let killed = false;
      for await (const value of fan.run('sink', { idleTimeout: 10_000 })) {
        seen.push(value as string);
        if (!killed && seen.length >= 30) {
          killed = true;
          spreader.child.kill('SIGKILL');
          await spreader.exited;
          spreader = startStage(script, ['spread', '--limit', '1'], { SQSPIPES_DOMAIN: domain });
        }
        if (seen.length === 100) break;
      }
      expect(await spreader.exited).toBe(0);
      const late = await collect(fan.run('sink', { idleTimeout: 1500 }));
      await fan.destroy();
      await fan.close();
      expect(killed).toBe(true);
      expect(late).toEqual([]);
      expect(new Set(seen).size).toBe(100);
      expect(seen.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `3.${i}`).sort());
    },
  );
});

describe('lifecycle hooks', () => {
  const calls = { setup: 0, teardown: 0, states: new Set<unknown>() };
  const client = testClient('hooks', [
    source,
    {
      method: (n: number) => {
        calls.states.add(taskContext().state);
        return n;
      },
      name: 'work',
      workers: 4,
      setup: () => {
        calls.setup++;
        return { connection: 'db' };
      },
      teardown: (state: unknown) => {
        calls.teardown++;
        calls.states.add(state);
      },
    },
  ]);

  it('runs setup once per process before the first call and teardown on stop', async () => {
    for (let n = 0; n < 10; n++) await client.enqueue('work', n);
    expect(await collect(client.run('work', { limit: 10, idleTimeout: 5000 }))).toHaveLength(10);
    expect(calls.setup).toBe(1);
    expect(calls.teardown).toBe(1);
    expect([...calls.states]).toEqual([{ connection: 'db' }]);
  });
});

describe('batch handlers', () => {
  const batches: number[][] = [];
  const client = testClient('batch', [
    source,
    {
      method: (inputs: number[]) => {
        batches.push(inputs);
        return inputs.map((n) => (n % 2 === 1 ? itemError(new Error(`odd ${n}`)) : n * 10));
      },
      name: 'tens',
      batch: 5,
      retries: 0,
    },
  ]);

  it('hands the method several inputs and fails only the items it marks', async () => {
    for (let n = 0; n < 10; n++) await client.enqueue('tens', n);
    const dead: string[] = [];
    client.on('deadLettered', (info) => dead.push(info.reason));
    const out: number[] = [];
    for await (const value of client.run('tens', { idleTimeout: 3000 })) out.push(value as number);
    while (dead.length < 5) await new Promise((resolve) => client.once('deadLettered', resolve));
    expect(out.sort((a, b) => a - b)).toEqual([0, 20, 40, 60, 80]);
    expect(batches.some((b) => b.length > 1)).toBe(true);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(5);
    expect(dead.every((reason) => reason.includes('odd'))).toBe(true);
    expect((await client.queues()).find((q) => q.level === 'dlq')?.visible).toBe(5);
  });
});
