// A user's own tests of a pipeline with sqspipes/testing, written from the README alone
// ("Testing your pipeline"). One SQS and one harness for the file, as the README advises.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { TaskClient } from 'sqspipes';
import { dockerAvailable, failOn, startSqs, testPipeline } from 'sqspipes/testing';

const reduce = (word) => [word, [...word].filter((c) => 'aeiou'.includes(c)).join('')];
const count = ([word, vowels]) => [word, vowels.length];
const byWord = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

let sqs;
let harness;
beforeAll(async () => {
  sqs = await startSqs();
  // "Share one harness across the tests of a file (beforeAll, then run() in each test)".
  harness = await testPipeline(
    [
      // 'bad…' always fails in reduce: 2 attempts (retries: 1), then the DLQ.
      {
        method: failOn(reduce, { when: (word) => word.startsWith('bad') }),
        input: true,
        retries: 1,
        retryDelay: 0,
      },
      // 'flaky…' fails its first attempt in count, then succeeds.
      { method: failOn(count, { attempt: 1, when: ([word]) => word.startsWith('flaky') }), retryDelay: 0 },
    ],
    { sqs },
  );
});
afterAll(async () => {
  await harness?.close();
  await sqs?.close();
});

test("runs every stage and gives the last stage's outputs and each stage's", async () => {
  const run = await harness.run({ inputs: ['banana', 'sky'] });
  expect(run.outputs.toSorted(byWord)).toEqual([
    ['banana', 3],
    ['sky', 0],
  ]);
  // failOn "keeps the method's name": the stages are still `reduce` and `count`.
  expect(run.byStage.reduce.toSorted(byWord)).toEqual([
    ['banana', 'aaa'],
    ['sky', ''],
  ]);
  expect(run.byStage.count.toSorted(byWord)).toEqual(run.outputs.toSorted(byWord));
  expect(run.deadLetters).toEqual([]);
  expect(run.failures).toEqual([]);
  expect(run.retried).toBe(0);
});

test('runs the same harness several times, each run reporting its own outputs', async () => {
  // "The stages keep running after run() for the next run() of the same harness".
  const first = await harness.run({ inputs: ['kiwi'] });
  const second = await harness.run({ inputs: ['plum'] });
  expect(first.outputs).toEqual([['kiwi', 2]]);
  expect(second.outputs).toEqual([['plum', 1]]);
  expect(harness.client).toBeInstanceOf(TaskClient); // "`harness.client` is the `TaskClient`"
});

test('retries the attempts failOn fails, and counts them', async () => {
  const run = await harness.run({ inputs: ['flaky-one', 'flaky-two', 'pear'] });
  expect(run.outputs.toSorted(byWord)).toEqual([
    ['flaky-one', 3],
    ['flaky-two', 2],
    ['pear', 2],
  ]);
  expect(run.retried).toBe(2);
  // "`failures` (each failed attempt and its error)": the first attempt of each flaky word.
  expect(run.failures).toHaveLength(2);
  for (const failure of run.failures) expect(failure).toHaveProperty('error');
  expect(run.deadLetters).toEqual([]);
});

test('dead-letters an input after its last attempt, with the reason, and takes it out of the DLQ', async () => {
  const run = await harness.run({ inputs: ['bad-apple', 'fig'] });
  expect(run.outputs).toEqual([['fig', 1]]);
  expect(run.deadLetters).toMatchObject([{ stage: 'reduce', value: 'bad-apple' }]);
  // retries: 1 means 2 attempts; the README's own example matches /fails attempt 2/.
  expect(run.deadLetters[0].reason).toMatch(/fails attempt 2/);
  expect(run.retried).toBe(1);
  expect(run.failures).toHaveLength(2);
  // `deadLetters` are "taken out of the dead-letter queues": the next run does not see it again.
  const next = await harness.run({ inputs: ['date'] });
  expect(next.outputs).toEqual([['date', 2]]);
  expect(next.deadLetters).toEqual([]);
});

test('feeds the inputs into a named stage with `stage`', async () => {
  const run = await harness.run({ inputs: [['rhythm', '']], stage: 'count' });
  expect(run.outputs).toEqual([['rhythm', 0]]);
  expect(run.byStage.reduce ?? []).toEqual([]);
});

test('runs with a fake Date (only the clock faked, as "Fake timers" says)', async () => {
  const stamp = (word) => ({ word, at: new Date() }); // a Date "arrives as its ISO string"
  const dated = await testPipeline([{ method: stamp, input: true }], { sqs });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2030-01-02T03:04:05Z'));
  try {
    const run = await dated.run({ inputs: ['now'] });
    expect(run.outputs).toEqual([{ word: 'now', at: '2030-01-02T03:04:05.000Z' }]);
  } finally {
    vi.useRealTimers();
    await dated.close();
  }
});

// "without Docker `startSqs()` refuses in one sentence; `dockerAvailable()` is there for `test.skipIf`".
test.skipIf(await dockerAvailable())(
  'without Docker, startSqs refuses LocalStack in one sentence',
  async () => {
    const error = await startSqs({ backend: 'localstack' }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/Docker/);
    expect(error.message).not.toMatch(/\n/);
  },
);

// README: `failOn(method, { attempt, when, error })`, `error` an Error (or a function of the attempt).
test('failOn throws the error it is given', async () => {
  const same = (word) => word;
  const h = await testPipeline(
    [{ method: failOn(same, { error: new Error('disk full') }), input: true, retries: 0, retryDelay: 0 }],
    { sqs },
  );
  try {
    const run = await h.run({ inputs: ['x'] });
    expect(run.deadLetters[0].reason).toMatch(/disk full/);
  } finally {
    await h.close();
  }
});
