// Results back to the sender through the harness, and a typed pipeline (README: "Results back
// to the sender", "Typed pipelines", "Testing your pipeline").
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fanOut, ItemError, pipeline } from 'sqspipes';
import { failOn, startSqs, testPipeline } from 'sqspipes/testing';

const split = (text) => (text === '' ? null : fanOut(text.split(' '))); // '' is filtered out
const shout = (word) => word.toUpperCase();

let sqs;
let harness;
beforeAll(async () => {
  sqs = await startSqs();
  harness = await testPipeline(
    [
      { method: failOn(split, { when: (text) => text === 'boom' }), input: true, retries: 0, retryDelay: 0 },
      { method: shout, retryDelay: 0 },
    ],
    { sqs },
  );
  await harness.start(); // "For `submit()`: `await harness.start()`"
});
afterAll(async () => {
  await harness?.close();
  await sqs?.close();
});

test('submit() resolves with every final output of the item, in fan-out order', async () => {
  const job = await harness.submit('a quick fox');
  expect(typeof job.id).toBe('string'); // "the item's id"
  expect(await job.result()).toEqual(['A', 'QUICK', 'FOX']);
  await harness.settle();
});

test('submit() rejects with an ItemError naming the end, the stage and the reason', async () => {
  const lost = await harness.submit('boom');
  const error = await lost.result().catch((e) => e);
  expect(error).toBeInstanceOf(ItemError);
  // "A dead-lettered branch rejects at once with the stage and its reason."
  expect(error).toMatchObject({ end: 'dead-lettered', stage: 'split' });
  expect(error.reason).toMatch(/fails attempt 1/);

  // "if all of them were [filtered out], it rejects with `end: 'filtered'` and the stage".
  const empty = await harness.submit('');
  await expect(empty.result()).rejects.toMatchObject({ end: 'filtered', stage: 'split' });
  await harness.settle();
});

test('a typed pipeline from pipeline(): inputs feed the first consuming stage; the source runs only with `source`', async () => {
  let calls = 0;
  const generate = () => calls++;
  await using typed = await testPipeline(
    (options) =>
      pipeline(options)
        .stage('generate', generate)
        .stage('square', (n) => n * n)
        .stage('label', (n) => ({ n, even: n % 2 === 0 })),
    { sqs },
  );
  const fed = await typed.run({ inputs: [5] });
  expect(fed.outputs).toEqual([{ n: 25, even: false }]);
  expect(fed.byStage.square).toEqual([25]);
  expect(calls).toBe(0); // "the source runs only with `source`"

  const sourced = await typed.run({ source: { limit: 3 } });
  expect(calls).toBe(3); // `limit`: "source: calls"
  expect(sourced.outputs.toSorted((a, b) => a.n - b.n)).toEqual([
    { n: 0, even: true },
    { n: 1, even: false },
    { n: 4, even: true },
  ]);
  // `await using` closes the harness (and deletes its queues) at the end of this block.
});
