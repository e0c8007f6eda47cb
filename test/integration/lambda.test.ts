/**
 * A stage on Lambda (issue 26), through the test kit's local event source, which does what
 * Lambda's SQS event source mapping does (batches of up to 10, FIFO in group order, deletes what
 * the answer does not list), beside stages run as processes: exactly once, order per key across
 * failures, an invocation out of time, a poison record.
 */
import { SendMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type InputInfo, type TaskClient, taskContext } from '../../src/index.ts';
import { expectOrderPerKey, localEventSource } from '../../src/testing/index.ts';
import { mappedQueues, stoppedAfterEach } from '../support/lambda.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv, rawClient } from '../support/sqs.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const keep = stoppedAfterEach();

function start(client: TaskClient, stage: string, queueUrls: string[], more: { timeoutMs?: number } = {}) {
  const source = localEventSource({
    sqs: backendEnv(),
    queueUrls,
    handler: client.lambda(stage),
    batchSize: 10,
    maximumConcurrency: 4,
    waitSeconds: 1,
    ...more,
  });
  keep(source);
  return source;
}

describe('a middle stage on Lambda between stage processes', () => {
  let made = 0;
  const client = testClient('lmid', [
    {
      name: 'numbers',
      method: function* () {
        const from = made;
        made += 100;
        for (const n of range(100)) yield from + n;
      },
    },
    { name: 'double', method: (n: number) => ({ n, twice: n * 2 }) },
    { name: 'sink', method: (x: { n: number; twice: number }) => x, workers: 8 },
  ]);

  it('moves 2,000 items exactly once', async () => {
    const source = start(client, 'double', await mappedQueues(client, 'double'));
    await source.start();
    await collect(client.run('numbers', { limit: 20 }));
    const out = await collect<{ n: number; twice: number }>(
      client.run('sink', { limit: 2000, idleTimeout: 20_000 }),
    );
    expect(out).toHaveLength(2000);
    expect(new Set(out.map((x) => x.n)).size).toBe(2000);
    expect(out.every((x) => x.twice === x.n * 2)).toBe(true);
    await source.stop();
    expect(source.stats.recordsDeleted).toBe(2000);
    expect(source.stats.recordsFailed).toBe(0);
  });
});

describe('a keyed stage on Lambda with failures injected in the handler', () => {
  const tried = new Set<string>();
  const client = testClient('lkey', [
    { name: 'source', method: () => null },
    {
      name: 'step',
      method: (item: { key: string; n: number }) => {
        const id = `${item.key}:${item.n}`;
        if (item.n % 5 === 4 && !tried.has(id)) {
          tried.add(id);
          throw new Error(`first delivery of ${id} fails`);
        }
        return item;
      },
      group: (x: { key: string }) => x.key,
      // Each receive is an attempt on Lambda, and a record that went back behind a failure of its
      // group spends one: room for every failure of its key.
      retries: 20,
      retryDelay: 0,
    },
    { name: 'sink', method: (x: unknown) => x },
  ]);

  it('keeps the order of each key and loses nothing', async () => {
    const keys = ['a', 'b', 'c', 'd'];
    for (const n of range(40)) await Promise.all(keys.map((key) => client.enqueue('step', { key, n })));
    const source = start(client, 'step', await mappedQueues(client, 'step'));
    const failed: InputInfo[] = [];
    client.on('failed', (_error, info) => failed.push(info));
    await source.start();
    const out = await collect<{ key: string; n: number }>(
      client.run('sink', { limit: 160, idleTimeout: 20_000 }),
    );
    expect(out).toHaveLength(160);
    expectOrderPerKey(
      out,
      (x) => x.key,
      (x) => x.n,
    );
    for (const key of keys) expect(out.filter((x) => x.key === key).map((x) => x.n)).toEqual(range(40));
    expect(failed).toHaveLength(32);
    await source.stop();
    // Each failure left its record; where SQS returns several of a group at once (not fauxqs),
    // the later records of its group in the batch went back with it.
    expect(source.stats.recordsFailed).toBeGreaterThanOrEqual(32);
  });
});

describe('an invocation that runs out of time', () => {
  let slow = true;
  const client = testClient('ltime', [
    { name: 'source', method: () => null },
    {
      name: 'wait',
      method: async (n: number) => {
        if (slow && n % 4 === 0) {
          // Runs until its signal aborts: the invocation's time is about to end.
          const { signal } = taskContext();
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          slow = false;
          signal.throwIfAborted();
        }
        return n;
      },
      retries: 5,
      retryDelay: 0,
    },
    { name: 'sink', method: (x: unknown) => x },
  ]);

  it('aborts the calls before the end, reports them failed, and loses nothing', async () => {
    for (const n of range(20)) await client.enqueue('wait', n);
    const source = start(client, 'wait', await mappedQueues(client, 'wait'), { timeoutMs: 3000 });
    await source.start();
    const out = await collect<number>(client.run('sink', { limit: 20, idleTimeout: 20_000 }));
    expect(out.sort((a, b) => a - b)).toEqual(range(20));
    await source.stop();
    expect(source.stats.timedOut).toBe(0); // it answered within the function's timeout
    expect(source.invocations.some((i) => i.outcome === 'partial')).toBe(true);
  });

  it('loses nothing when the function is cut off before it answers', async () => {
    const sqs = rawClient();
    const [input = ''] = await mappedQueues(client, 'wait');
    // The records of an invocation Lambda ended come back after the queue's visibility timeout.
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: input, Attributes: { VisibilityTimeout: '2' } }),
    );
    sqs.destroy();
    let cut = true;
    const source = localEventSource({
      sqs: backendEnv(),
      queueUrls: [input],
      handler: async (event, context) => {
        if (cut) {
          cut = false;
          await new Promise(() => {}); // never answers: Lambda ends it at its timeout
        }
        return client.lambda('wait')(event, context);
      },
      timeoutMs: 1000,
      waitSeconds: 1,
      maximumConcurrency: 1,
    });
    keep(source);
    for (const n of range(5)) await client.enqueue('wait', 100 + n);
    await source.start();
    const out = await collect<number>(client.run('sink', { limit: 5, idleTimeout: 20_000 }));
    expect(out.sort((a, b) => a - b)).toEqual(range(5).map((n) => 100 + n));
    expect(source.stats.timedOut).toBe(1);
  });
});

describe('a poison record on Lambda', () => {
  const client = testClient('lpoison', [
    { name: 'source', method: () => null },
    { name: 'echo', method: (x: unknown) => x },
    { name: 'sink', method: (x: unknown) => x },
  ]);

  it('is dead-lettered with its reason, and the batch’s other records succeed', async () => {
    const queues = await mappedQueues(client, 'echo');
    const dead: (InputInfo & { reason: string })[] = [];
    client.on('deadLettered', (info) => dead.push(info));
    for (const n of range(4)) await client.enqueue('echo', n);
    const sqs = rawClient();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues[0],
        MessageBody: 'not json at all',
        MessageGroupId: 'poison',
        MessageDeduplicationId: 'poison-1',
      }),
    );
    sqs.destroy();
    for (const n of range(4)) await client.enqueue('echo', 10 + n);
    const source = start(client, 'echo', queues);
    await source.start();
    const out = await collect<number>(client.run('sink', { limit: 8, idleTimeout: 20_000 }));
    expect(out.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
    await source.until((stats) => stats.recordsDeleted === 9);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.reason).toMatch(/^not a sqspipes envelope/);
    expect(source.stats.recordsFailed).toBe(0);
    const dlq = (await client.queues()).find((q) => q.stage === 'echo' && q.level === 'dlq');
    expect(dlq?.visible).toBe(1);
  });
});
