import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { backendEnv, testDomain } from '../support/sqs.ts';

describe('faults: ~10% of SQS requests throttled, failed or reset', () => {
  const domain = testDomain('faults');

  it('completes a three-stage pipeline with every output exactly once', { timeout: 120_000 }, async () => {
    const { endpoint, region, credentials } = backendEnv();
    const proxy = await startFaultProxy(endpoint, 0.1);
    const total = 300;
    let next = 0;
    const client = new TaskClient({ domain, endpoint: proxy.url, region, credentials }).registerTasks([
      { method: () => (next < total ? ++next : null), name: 'numbers' },
      { method: (n: number) => n * 2, name: 'double', workers: 8, visibilityTimeout: 3 },
      { method: (n: number) => `v${n}`, name: 'label', workers: 8, visibilityTimeout: 3 },
    ]);
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    const [, doubled, labels] = await Promise.all([
      collect(client.run('numbers', { limit: total })),
      collect(client.run('double', { limit: total, idleTimeout: 15_000 })),
      collect(client.run('label', { limit: total, idleTimeout: 15_000 })),
    ]);
    await client.close();
    await proxy.stop();
    console.log(`faults: ${JSON.stringify(proxy.counts)}; handled errors: ${errors.length}`);
    expect(doubled).toHaveLength(total);
    expect([...labels].sort()).toEqual(Array.from({ length: total }, (_, i) => `v${2 * (i + 1)}`).sort());
    expect(
      proxy.counts.throttled + proxy.counts.serverError + proxy.counts.resetBefore + proxy.counts.resetAfter,
    ).toBeGreaterThan(10);
  });

  it(
    'pauses through a 3 s outage (every request failing) and resumes, losing and doubling nothing',
    { timeout: 120_000 },
    async () => {
      const { endpoint, region, credentials } = backendEnv();
      const proxy = await startFaultProxy(endpoint, 0);
      const total = 200;
      let next = 0;
      const client = new TaskClient({
        domain: `${domain}o`,
        endpoint: proxy.url,
        region,
        credentials,
      }).registerTasks([
        { method: () => (next < total ? ++next : null), name: 'numbers', interval: 5 },
        { method: (n: number) => n * 2, name: 'double', workers: 8, visibilityTimeout: 3 },
      ]);
      const doubled: number[] = [];
      const consume = async () => {
        for await (const n of client.run('double', { limit: total, idleTimeout: 20_000 })) {
          doubled.push(n as number);
          if (doubled.length === 50) {
            proxy.setRate(1); // SQS unreachable for 3 s
            setTimeout(() => proxy.setRate(0), 3000);
          }
        }
      };
      await Promise.all([collect(client.run('numbers', { limit: total })), consume()]);
      await client.close();
      await proxy.stop();
      const failed =
        proxy.counts.throttled +
        proxy.counts.serverError +
        proxy.counts.resetBefore +
        proxy.counts.resetAfter;
      console.log(`outage: ${failed} requests failed while SQS was unreachable`);
      expect(failed).toBeGreaterThan(5);
      expect([...doubled].sort((a, b) => a - b)).toEqual(
        Array.from({ length: total }, (_, i) => 2 * (i + 1)),
      );
    },
  );

  // Regression: during an outage the heartbeat cannot extend a running call's input; when SQS is
  // back it delivers that input again to the same process, which used to run it a second time.
  it(
    'does not run an input twice when SQS delivers it again while its call still runs',
    { timeout: 60_000 },
    async () => {
      const { endpoint, region, credentials } = backendEnv();
      const proxy = await startFaultProxy(endpoint, 0);
      let calls = 0;
      let release = () => {};
      let markStarted = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const started = new Promise<void>((resolve) => (markStarted = resolve));
      const client = new TaskClient({
        domain: `${domain}r`,
        endpoint: proxy.url,
        region,
        credentials,
      }).registerTasks([
        { method: () => null, name: 'source' },
        {
          method: async (n: number) => {
            calls++;
            markStarted();
            await gate;
            return n;
          },
          name: 'slow',
          visibilityTimeout: 1,
          workers: 2,
        },
      ]);
      await client.enqueue('slow', 7);
      // No `limit`: a run that reached it receives no more, and SQS could not give it the input again.
      const run = (async () => {
        for await (const value of client.run('slow', { idleTimeout: 15_000 })) return [value];
        return [];
      })();
      await started;
      proxy.setRate(1); // the heartbeat fails: the input's visibility (1 s) expires
      await sleep(2500);
      proxy.setRate(0);
      const receives = () => proxy.counts.byAction['ReceiveMessage'] ?? 0;
      const before = receives();
      while (receives() < before + 2) await sleep(50); // SQS has delivered it again by now
      release();
      expect(await run).toEqual([7]);
      expect(calls).toBe(1);
      const depth = (await client.queues()).find((q) => q.stage === 'slow');
      expect((depth?.visible ?? 0) + (depth?.inFlight ?? 0)).toBe(0);
      await client.close();
      await proxy.stop();
    },
  );
});

async function collect(run: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const value of run) out.push(value);
  return out;
}
