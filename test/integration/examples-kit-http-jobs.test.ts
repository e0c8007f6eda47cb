/**
 * examples/http-jobs.ts tested in-process with the testing kit: its pipeline, fed by `submit()` as
 * the service does (http-jobs.test.ts runs the stages and the HTTP service as processes).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ItemError } from '../../src/index.ts';
import { testPipeline } from '../../src/testing/index.ts';

// The example imports 'sqspipes': here, the code under test rather than a stale dist/.
vi.mock('sqspipes', () => import('../../src/index.ts'));
const { textJobsPipeline } = await import('../../examples/http-jobs.ts');

// One harness for the file, its stages started once (the source `jobs` never runs: jobs are submitted).
const startHarness = () => testPipeline(textJobsPipeline, { label: 'http-jobs' });
let harness: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  harness = await startHarness();
  await harness.start();
});
afterAll(() => harness.close());

/** `n` sentences, the i-th of i words of `word`. */
const text = (n: number, word: string) =>
  Array.from(
    { length: n },
    (_, i) =>
      `${Array(i + 1)
        .fill(word)
        .join(' ')}.`,
  ).join(' ');

describe('examples/http-jobs.ts with sqspipes/testing', () => {
  it('gives each submitted job its graded sentences, in order', async () => {
    const words = ['ab', 'abc', 'abcd'];
    const submissions = await Promise.all(words.map((word) => harness.submit({ text: text(12, word) })));
    const results = await Promise.all(submissions.map((s) => s.result()));
    // Counted by 8 workers in any order, a job's results come back in sentence order.
    results.forEach((result, job) => {
      expect(result).toEqual(
        Array.from({ length: 12 }, (_, i) => ({
          sentence: i + 1,
          words: i + 1,
          letters: (i + 1) * (words[job] ?? '').length,
          grade: i + 1 <= 8 ? 'easy' : 'fair',
        })),
      );
    });
    const run = await harness.settle();
    expect(run.byStage.split).toHaveLength(3 * 12);
    expect(run.outputs).toHaveLength(3 * 12);
    expect(run.deadLetters).toEqual([]);
  });

  it('fails a job whose sentence count refuses twice, with the stage and the reason', async () => {
    const submission = await harness.submit({ text: `Fine. Then ${'a'.repeat(40)} came.` }, { status: true });
    const reason = /sentence 2: "a{20}…" is not a word \(40 letters\)/;
    const failed = submission.result();
    await expect(failed).rejects.toBeInstanceOf(ItemError);
    await expect(failed).rejects.toMatchObject({ end: 'dead-lettered', stage: 'count', reason });
    const statuses = [];
    for await (const { stage, status } of submission.statuses()) statuses.push(`${stage}:${status}`);
    expect(statuses).toContain('count:retrying'); // retries: 1
    expect(statuses.at(-1)).toBe('count:dead-lettered');

    const run = await harness.settle();
    expect(run.outputs).toEqual([{ sentence: 1, words: 1, letters: 4, grade: 'easy' }]);
    expect(run.retried).toBe(1);
    expect(run.deadLetters).toMatchObject([
      { stage: 'count', value: { sentence: 2, text: `Then ${'a'.repeat(40)} came.` } },
    ]);
    expect(run.deadLetters[0]?.reason).toMatch(reason);
  });

  it('ends a job without a sentence as filtered at split', async () => {
    const submission = await harness.submit({ text: ' ' });
    await expect(submission.result()).rejects.toMatchObject({ end: 'filtered', stage: 'split' });
    const run = await harness.settle();
    expect([run.byStage.split, run.outputs, run.deadLetters]).toEqual([[], [], []]);
  });
});
