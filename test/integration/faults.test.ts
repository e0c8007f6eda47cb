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
});

async function collect(run: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const value of run) out.push(value);
  return out;
}
