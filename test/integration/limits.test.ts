/**
 * Fleet-wide limits of a stage (issue 25) through the public API, two clients standing for two
 * processes: `rateLimit` (no window of a period holds more calls than the limit), `maxConcurrency`
 * (never more calls at once), and a call's `RetryAfterError` (tried again after it, not counting
 * an attempt; the stage pauses meanwhile). Speed is the benchmark's (`npm run bench:limits`).
 */
import { describe, expect, it } from 'vitest';
import { RetryAfterError, TaskClient, taskContext } from '../../src/index.ts';
import { enqueueId } from '../../src/ids.ts';
import { keyGroupId } from '../../src/worker/forwarder.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv } from '../support/sqs.ts';

/** A second client on the same domain and stages (another process, as far as SQS can tell). */
function twin(client: TaskClient, stages: Parameters<TaskClient['registerTasks']>[0]): TaskClient {
  const { endpoint, region, credentials } = backendEnv();
  const other = new TaskClient({ domain: client.domain, endpoint, region, credentials });
  other.registerTasks(stages);
  return other;
}

describe('fleet-wide limits', () => {
  it('rateLimit: over two processes, no period holds more calls than the limit', async () => {
    const starts: number[] = [];
    const stages = [
      {
        name: 'call',
        input: true,
        workers: 4,
        rateLimit: { limit: 5, per: 1000 },
        method: (n: number) => {
          starts.push(Date.now());
          return n;
        },
      },
    ];
    const a = testClient('rate', stages);
    const b = twin(a, stages);
    const items = 24;
    for (let n = 0; n < items; n++) await a.enqueue('call', n);
    const [x, y] = await Promise.all([
      collect(a.run('call', { idleTimeout: 3000 })),
      collect(b.run('call', { idleTimeout: 3000 })),
    ]);
    await b.close();
    expect([...x, ...y].sort((p, q) => (p as number) - (q as number))).toEqual(
      Array.from({ length: items }, (_, n) => n),
    );
    // A permit is taken by a receive and comes back a period after it: a call starts after its
    // receive, so two calls of one permit are at least a period apart less the receive's own time.
    starts.sort((p, q) => p - q);
    const window = 800;
    const most = Math.max(...starts.map((t, i) => starts.slice(i).filter((u) => u - t < window).length));
    expect(most).toBeLessThanOrEqual(5);
  }, 60_000);

  it('maxConcurrency: over two processes, never more calls at once; every item done', async () => {
    let running = 0;
    let peak = 0;
    const stages = [
      {
        name: 'slow',
        input: true,
        workers: 4,
        maxConcurrency: 2,
        method: async (n: number) => {
          peak = Math.max(peak, ++running);
          await new Promise((resolve) => setTimeout(resolve, 30 + (n % 5) * 20));
          running--;
          return n;
        },
      },
    ];
    const a = testClient('slots', stages);
    const b = twin(a, stages);
    const items = 20;
    for (let n = 0; n < items; n++) await a.enqueue('slow', n);
    const [x, y] = await Promise.all([
      collect(a.run('slow', { idleTimeout: 3000 })),
      collect(b.run('slow', { idleTimeout: 3000 })),
    ]);
    await b.close();
    expect(x.length + y.length).toBe(items);
    expect(peak).toBe(2);
  }, 60_000);

  it('RetryAfterError: tried again after retryAfter, not counting an attempt; the stage pauses', async () => {
    const calls: { n: number; attempt: number; at: number }[] = [];
    const retried: number[] = [];
    const client = testClient('retry-after', [
      {
        name: 'api',
        input: true,
        retries: 0, // one attempt: a RetryAfterError must not spend it
        method: (n: number) => {
          calls.push({ n, attempt: taskContext().attempt, at: Date.now() });
          if (n === 1 && calls.filter((c) => c.n === 1).length < 3)
            throw new RetryAfterError(700, '429 Too Many Requests');
          return n;
        },
      },
    ]);
    client.on('retried', (info) => retried.push(info.delaySeconds));
    client.on('failed', () => {
      throw new Error('a RetryAfterError is no failure');
    });
    await client.enqueue('api', 1);
    const out = await collect(client.run('api', { limit: 1, idleTimeout: 10_000 }));
    expect(out).toEqual([1]);
    const ones = calls.filter((c) => c.n === 1);
    expect(ones.map((c) => c.attempt)).toEqual([1, 1, 1]);
    expect(retried).toEqual([0.7, 0.7]);
    for (let i = 1; i < ones.length; i++) {
      expect((ones[i]?.at ?? 0) - (ones[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(700);
    }
    expect((await client.queues()).find((q) => q.level === 'dlq')?.visible).toBe(0);
  }, 60_000);

  it('keyConcurrency: up to k calls of one key at once, each of its k groups in order', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const client = testClient('per-key', [
      {
        name: 'keyed',
        input: true,
        workers: 6,
        group: (v: { key: string }) => v.key,
        keyConcurrency: 2,
        method: async (v: { key: string; n: number }) => {
          peak = Math.max(peak, ++running);
          started.push(v.n);
          await new Promise((resolve) => setTimeout(resolve, 40));
          running--;
          return v.n;
        },
      },
    ]);
    const items = 16;
    for (let n = 0; n < items; n++) await client.enqueue('keyed', { key: 'k', n }, { id: `item-${n}` });
    const out = await collect(client.run('keyed', { limit: items, idleTimeout: 5000 }));
    expect(out.length).toBe(items);
    // Six workers, one key: two calls at once, never more.
    expect(peak).toBe(2);
    // Within each of the key's two groups (chosen by the item's id), items start in order.
    const groupOf = (n: number) => keyGroupId('k', enqueueId(`item-${n}`), 2);
    const groups = [...new Set(started.map(groupOf))];
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      const order = started.filter((n) => groupOf(n) === g);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  }, 60_000);

  it('a stop hands back the inputs still waiting for a permit, as no attempt', async () => {
    const attempts: { n: number; attempt: number }[] = [];
    let release = () => {};
    const holding = new Promise<void>((resolve) => (release = resolve));
    let first = () => {};
    const started = new Promise<void>((resolve) => (first = resolve));
    const client = testClient('slots-stop', [
      {
        name: 'one',
        input: true,
        workers: 2,
        maxConcurrency: 1,
        method: async (n: number) => {
          attempts.push({ n, attempt: taskContext().attempt });
          first();
          if (attempts.length === 1) await holding; // holds the only slot until the stop
          return n;
        },
      },
    ]);
    await client.enqueue('one', 1);
    await client.enqueue('one', 2);
    const stop = new AbortController();
    const run = collect(client.run('one', { signal: stop.signal }));
    await started;
    stop.abort(); // the second input waits for the slot the first holds
    release();
    const firstRun = await run;
    const rest = await collect(client.run('one', { limit: 2 - firstRun.length, idleTimeout: 10_000 }));
    expect([...firstRun, ...rest].sort()).toEqual([1, 2]);
    // Each called once, at its first attempt: waiting for a permit was no attempt.
    expect(attempts.map((a) => a.attempt)).toEqual([1, 1]);
    expect((await client.queues()).find((q) => q.level === 'dlq')?.visible).toBe(0);
  }, 60_000);

  it('refuses bad limits at registration, naming the stage and the field', () => {
    const c = new TaskClient({ domain: 'limits-bad', region: 'us-east-1' });
    expect(() =>
      c.registerTasks([{ name: 'a', input: true, method: () => 1, rateLimit: { limit: 5, per: 1500 } }]),
    ).toThrow(
      'Expected `per` in `rateLimit` of stage `a` to be whole seconds in ms (1000, 60000, …), got `1500` (number)',
    );
    expect(() => c.registerTasks([{ name: 'a', method: () => 1, maxConcurrency: 2 }])).toThrow(
      '`maxConcurrency` of stage `a` applies to stages with an input queue',
    );
    expect(() => c.registerTasks([{ name: 'a', input: true, method: () => 1, maxConcurrency: 0 }])).toThrow(
      /Expected `maxConcurrency` of stage `a` to be an integer from 1 to 10000/,
    );
  });
});
