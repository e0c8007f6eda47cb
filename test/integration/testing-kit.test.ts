/**
 * The testing kit (`sqspipes/testing`) on the SQS it starts itself: fauxqs in this process, or
 * the endpoint SQSPIPES_TEST_ENDPOINT names (CI runs this file on LocalStack and ElasticMQ too).
 */
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pipeline } from '../../src/index.ts';
import {
  dockerAvailable,
  expectOrderPerKey,
  failOn,
  LOCALSTACK_IMAGE,
  startSqs,
  testPipeline,
  type TestSqs,
} from '../../src/testing/index.ts';

let sqs: TestSqs;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(() => sqs.close());

const words = ['apple', 'kiwi', 'banana', 'fig'];
const vowels = (w: string) => [...w].filter((c) => 'aeiou'.includes(c)).join('');

describe('testPipeline()', () => {
  it('runs every stage in-process, feeds the inputs and resolves when idle with the last stage outputs', async () => {
    await using harness = await testPipeline(
      (options) =>
        pipeline({ ...options, pollWaitSeconds: 1 })
          .stage('words', (n: number) => words.slice(0, n), { input: true })
          .stage('reduce', (w: string[]) => w.map(vowels))
          .stage('count', (v: string[]) => v.map((s) => s.length)),
      { sqs },
    );
    const run = await harness.run({ stage: 'words', inputs: [4, 2] });
    expect(run.outputs.toSorted()).toEqual(
      [
        [2, 2, 3, 1],
        [2, 2],
      ].toSorted(),
    );
    expect(run.byStage.reduce).toHaveLength(2);
    expect(run.deadLetters).toEqual([]);
    expect(await harness.client.queues()).not.toHaveLength(0);
  });

  it('retries a stage that fails once, and dead-letters with its reason what fails every time', async () => {
    await using harness = await testPipeline(
      [
        {
          name: 'parse',
          method: failOn((s: string) => Number(s), { attempt: 1 }),
          input: true,
          retryDelay: 0,
        },
        {
          name: 'check',
          method: failOn((n: number) => n * 10, { when: (n) => n === 3 }),
          retries: 1,
          retryDelay: 0,
        },
      ],
      { sqs },
    );
    const run = await harness.run({ inputs: ['1', '2', '3'] });
    expect(run.outputs.toSorted()).toEqual([10, 20]);
    expect(run.retried).toBe(3 + 1);
    expect(run.failures.filter((f) => f.stage === 'parse').map((f) => f.attempt)).toEqual([1, 1, 1]);
    expect(run.deadLetters.map((d) => [d.stage, d.value])).toEqual([['check', 3]]);
    expect(run.deadLetters[0]?.reason).toContain('fails attempt 2, as the test asked');
  });

  it('keeps the order per key, which expectOrderPerKey checks', async () => {
    type Item = { key: string; seq: number };
    await using harness = await testPipeline(
      (options) =>
        pipeline(options)
          .stage('first', (item: Item) => item, { input: true, group: (item) => item.key, workers: 4 })
          .stage('second', (item: Item) => item, { workers: 4 }),
      { sqs },
    );
    const inputs = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, seq: i }));
    const run = await harness.run({ inputs });
    expect(run.outputs).toHaveLength(30);
    expectOrderPerKey(
      run.outputs,
      (item) => item.key,
      (item) => item.seq,
    );
    expect(() =>
      expectOrderPerKey(
        inputs.toReversed(),
        (i) => i.key,
        (i) => i.seq,
      ),
    ).toThrow(/Order per key broken 27 time\(s\): key "k2"/);
  });

  it('runs the source with a limit, and follows a submit() to its result', async () => {
    let n = 0;
    await using harness = await testPipeline(
      (options) =>
        pipeline(options)
          .stage('numbers', () => ++n)
          .stage('square', (x: number) => x * x),
      { sqs },
    );
    const run = await harness.run({ source: { limit: 5 } });
    expect(run.byStage.numbers).toHaveLength(5);
    expect(run.outputs.toSorted((a, b) => a - b)).toEqual([1, 4, 9, 16, 25]);

    await harness.start();
    const submission = await harness.submit(7);
    expect(await submission.result()).toEqual([49]);
    expect((await harness.settle()).outputs).toEqual([49]);
  });

  it('serves several runs with the same stages, each reporting only its own', async () => {
    await using harness = await testPipeline(
      [
        {
          name: 'inc',
          method: failOn((x: number) => x + 1, { when: (x) => x < 0 }),
          input: true,
          retries: 0,
        },
      ],
      { sqs },
    );
    const first = await harness.run({ inputs: [1, -1] });
    const second = await harness.run({ inputs: [2] });
    expect([first.outputs, first.deadLetters.map((d) => d.value)]).toEqual([[2], [-1]]);
    expect([second.outputs, second.deadLetters, second.failures]).toEqual([[3], [], []]);
  });

  it('close() deletes the queues of the test, and is idempotent', async () => {
    const harness = await testPipeline([{ name: 'only', method: (x: number) => x, input: true }], {
      sqs,
    });
    await harness.run({ inputs: [1] });
    const names = (await harness.client.queues()).filter((q) => q.exists).map((q) => q.name);
    expect(names.length).toBeGreaterThan(0);
    await harness.close();
    await harness.close();
    const raw = new SQSClient({ endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
    const left = await raw.send(new ListQueuesCommand({ QueueNamePrefix: harness.domain }));
    raw.destroy();
    expect(left.QueueUrls ?? []).toEqual([]);
  });

  it('works while the test fakes Date', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    try {
      await using harness = await testPipeline(
        [{ name: 'stamp', method: (x: number) => ({ x, at: new Date().toISOString() }), input: true }],
        { sqs },
      );
      const run = await harness.run({ inputs: [1] });
      expect(run.outputs).toEqual([{ x: 1, at: '2030-01-01T00:00:00.000Z' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects with the error of a stage run instead of waiting, and dead-letters with retries: 0', async () => {
    await using harness = await testPipeline(
      [{ name: 'boom', method: failOn((x: number) => x), input: true, retries: 0 }],
      { sqs },
    );
    await expect(harness.run({ stages: ['nope'] })).rejects.toThrow(/nope/);
    const run = await harness.run({ inputs: [1] });
    expect(run.deadLetters.map((d) => [d.stage, d.value])).toEqual([['boom', 1]]);
    expect(run.failures.map((f) => [f.stage, f.attempt])).toEqual([['boom', 1]]);
  });
});

const docker = await dockerAvailable();

describe('startSqs()', () => {
  it.skipIf(docker)('refuses LocalStack in one sentence where no Docker engine answers', async () => {
    await expect(startSqs({ backend: 'localstack' })).rejects.toThrow(
      /^startSqs\(\{ backend: 'localstack' \}\) starts LocalStack in Docker, and no Docker engine answers here: start Docker, or run LocalStack yourself and set SQSPIPES_TEST_ENDPOINT=http:\/\/localhost:4566$/,
    );
  });

  it(
    'starts LocalStack (the pinned image) through testcontainers where Docker is',
    { timeout: 300_000 },
    async ({ skip }) => {
      skip(!docker, 'no Docker engine answers here, so LocalStack through testcontainers is not tried');
      await using localstack = await startSqs({ backend: 'localstack' });
      expect(localstack.name).toBe(`LocalStack ${LOCALSTACK_IMAGE}`);
      await using harness = await testPipeline(
        [{ name: 'double', method: (x: number) => 2 * x, input: true }],
        {
          sqs: localstack,
        },
      );
      expect((await harness.run({ inputs: [21] })).outputs).toEqual([42]);
    },
  );

  it.skipIf(docker)('names the variable that asked for LocalStack when it refuses', async () => {
    await expect(startSqs({ env: { SQSPIPES_TEST_BACKEND: 'localstack' } })).rejects.toThrow(
      /^SQSPIPES_TEST_BACKEND=localstack starts LocalStack in Docker, and no Docker engine answers here/,
    );
  });

  it('refuses an unknown backend in one sentence', async () => {
    await expect(startSqs({ env: { SQSPIPES_TEST_BACKEND: 'redis' } })).rejects.toThrow(
      'SQSPIPES_TEST_BACKEND must be "fauxqs" or "localstack", got "redis" (or set SQSPIPES_TEST_ENDPOINT)',
    );
  });

  it('uses the endpoint SQSPIPES_TEST_ENDPOINT names', async () => {
    await using other = await startSqs({ env: { SQSPIPES_TEST_ENDPOINT: sqs.endpoint } });
    expect([other.backend, other.endpoint]).toEqual(['endpoint', sqs.endpoint]);
  });
});
