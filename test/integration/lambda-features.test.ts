/**
 * What a stage run as a process has, on Lambda too: `submit()` results back to the sender,
 * `setup()` once per container and its state in `taskContext()`, items for later through the
 * stage's queue of timers (its second kind of event source mapping), and bodies stored in S3.
 */
import { describe, expect, it } from 'vitest';
import { fanOut, type TaskClient, taskContext } from '../../src/index.ts';
import { type LocalEventSource, localEventSource } from '../../src/testing/index.ts';
import { mappedQueues, stoppedAfterEach } from '../support/lambda.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { startActionProxy } from '../support/action-proxy.ts';
import { backendEnv } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`lambda-features.test.ts: ${skipped}`);

const keep = stoppedAfterEach();

async function onLambda(client: TaskClient, stage: string): Promise<LocalEventSource> {
  const source = localEventSource({
    sqs: backendEnv(),
    queueUrls: await mappedQueues(client, stage),
    handler: client.lambda(stage),
    waitSeconds: 1,
  });
  keep(source);
  await source.start();
  return source;
}

describe('submit(), setup and items for later, through a stage on Lambda', () => {
  let setups = 0;
  const client = testClient('lfeat', [
    { name: 'source', method: () => null },
    {
      name: 'tag',
      setup: () => ({ setup: ++setups }),
      method: (n: number) => ({ n, ...(taskContext().state as { setup: number }) }),
    },
    { name: 'sink', method: (x: unknown) => x },
  ]);

  it('answers submit() with the last stage’s result, with setup run once', async () => {
    await onLambda(client, 'tag');
    const sink = new AbortController();
    const sinking = collect(client.run('sink', { signal: sink.signal }));
    const submissions = await Promise.all([1, 2, 3].map((n) => client.submit(n, { stage: 'tag' })));
    const results = await Promise.all(submissions.map((s) => s.result()));
    expect(results).toEqual([[{ n: 1, setup: 1 }], [{ n: 2, setup: 1 }], [{ n: 3, setup: 1 }]]);
    expect(setups).toBe(1);
    sink.abort();
    await sinking;
  });

  it('runs an item enqueued for later once it is due, through the queue of timers', async () => {
    await onLambda(client, 'tag');
    const at = Date.now() + 2000;
    await client.enqueue('tag', 42, { at: new Date(at) });
    const [out] = await collect<{ n: number }>(client.run('sink', { limit: 1, idleTimeout: 20_000 }));
    expect(out?.n).toBe(42);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
  });
});

describe.skipIf(skipped !== undefined)('bodies stored in S3, through a stage on Lambda', () => {
  const bucket = testBucket('lambdapay');
  const client = testClient(
    'lpay',
    [
      { name: 'source', method: () => null },
      { name: 'grow', method: (s: string) => `${s}${s}` },
      { name: 'sink', method: (s: string) => s.length },
    ],
    { payloads: { bucket, threshold: 64 * 1024 } },
  );

  it('reads a stored input and stores an output too large for SQS', async () => {
    await onLambda(client, 'grow');
    const big = 'x'.repeat(600 * 1024);
    await client.enqueue('grow', big);
    const out = await collect<number>(client.run('sink', { limit: 1, idleTimeout: 20_000 }));
    expect(out).toEqual([1200 * 1024]);
  });
});

describe.skipIf(skipped !== undefined)('a join stage on Lambda', () => {
  const bucket = testBucket('lambdajoin');
  const client = testClient(
    'ljoin',
    [
      { name: 'split', method: (line: string) => fanOut(line.split(' ')), input: true },
      { name: 'measure', method: (word: string) => `${word}:${word.length}` },
      { name: 'gather', method: (words: string[]) => words.join(' '), join: 'split' },
      { name: 'sink', method: (line: string) => line },
    ],
    { payloads: { bucket }, pollWaitSeconds: 1 },
  );

  it('gathers each item once, its branches in fan-out order', async () => {
    await onLambda(client, 'gather');
    const lines = ['the quick brown fox', 'jumps over it', 'lazy dogs sleep all day long'];
    for (const line of lines) await client.enqueue('split', line);
    const stop = new AbortController();
    const upstream = ['split', 'measure'].map((stage) => collect(client.run(stage, { signal: stop.signal })));
    const out = await collect<string>(client.run('sink', { limit: lines.length, idleTimeout: 30_000 }));
    stop.abort();
    await Promise.all(upstream);
    expect(out.toSorted()).toEqual(
      [
        'the:3 quick:5 brown:5 fox:3',
        'jumps:5 over:4 it:2',
        'lazy:4 dogs:4 sleep:5 all:3 day:3 long:4',
      ].toSorted(),
    );
  });
});

describe.skipIf(skipped !== undefined)('a stage on Lambda whose S3 does not answer', () => {
  const bucket = testBucket('lambdahang');

  it('answers within the invocation’s time: the batch fails whole, its start goes on', async () => {
    // SQS answers through the proxy; S3 (no SQS action) never does.
    const sqsActions = new Set([
      'GetQueueUrl',
      'GetQueueAttributes',
      'CreateQueue',
      'TagQueue',
      'SetQueueAttributes',
      'SendMessageBatch',
      'ReceiveMessage',
    ]);
    const proxy = await startActionProxy(backendEnv().endpoint, sqsActions, 'hang');
    const client = testClient(
      'lhang',
      [
        { name: 'source', method: () => null },
        { name: 'pass', method: (x: unknown) => x },
      ],
      { endpoint: proxy.url, payloads: { bucket } },
    );
    try {
      const started = Date.now();
      const context = { getRemainingTimeInMillis: () => started + 3000 - Date.now() };
      await expect(client.lambda('pass')({ Records: [] }, context)).rejects.toThrow(
        /did not end within the invocation's time/,
      );
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await proxy.stop();
    }
  });
});
