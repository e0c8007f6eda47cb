/**
 * examples/vowels.ts tested in-process with the testing kit, as a user tests a pipeline: its
 * stages imported, run on the kit's SQS (see testing-kit.test.ts).
 */
import { describe, expect, it, vi } from 'vitest';
import { startSqs, testPipeline } from '../../src/testing/index.ts';

// The example imports 'sqspipes': here, the code under test rather than a stale dist/.
vi.mock('sqspipes', () => import('../../src/index.ts'));
const { stages } = await import('../../examples/vowels.ts');

const vowelsOf = (word: string): string => [...word].filter((c) => 'aeiou'.includes(c)).join('');

describe('examples/vowels.ts with sqspipes/testing', () => {
  it('reduces and counts the words the source generates, each once', async () => {
    await using sqs = await startSqs();
    await using harness = await testPipeline(stages, { sqs, label: 'vowels' });
    const run = await harness.run({ source: { limit: 20, args: [10] } });
    const words = run.byStage['generate'] as string[];
    expect(words).toHaveLength(20);
    const counted = run.outputs as [string, number][];
    expect(counted.map(([word]) => word).toSorted()).toEqual(words.toSorted());
    for (const [word, n] of counted) expect(n).toBe(vowelsOf(word).length);
    expect(run.deadLetters).toEqual([]);
  });

  it('reduces and counts words fed to reduce by hand', async () => {
    await using harness = await testPipeline(stages, { label: 'vowels' });
    const run = await harness.run({ stage: 'reduce', inputs: ['banana', 'sky'] });
    expect(run.byStage['reduce']?.toSorted()).toEqual([
      ['banana', 'aaa'],
      ['sky', ''],
    ]);
    expect(run.outputs.toSorted()).toEqual([
      ['banana', 3],
      ['sky', 0],
    ]);
  });
});
