import { describe, expectTypeOf, it } from 'vitest';
import { pipeline } from '../../src/index.ts';
import { failOn, testPipeline } from '../../src/testing/index.ts';

const build = (options: { domain: string }) =>
  pipeline(options)
    .stage('numbers', () => 1)
    .stage('words', (n: number) => String(n))
    .stage('lengths', (word: string) => ({ word, length: word.length, at: new Date() }));

describe('sqspipes/testing keeps the types of a typed pipeline()', () => {
  it('types inputs, outputs, byStage, enqueue and submit from the pipeline', async () => {
    const harness = await testPipeline(build);
    const run = await harness.run({ inputs: [1, 2] });
    expectTypeOf(run.outputs).toEqualTypeOf<{ word: string; length: number; at: string }[]>();
    expectTypeOf(run.byStage.words).toEqualTypeOf<string[]>();
    expectTypeOf(run.byStage.numbers).toEqualTypeOf<number[]>();
    await harness.run({ stage: 'lengths', inputs: ['a'] });
    // @ts-expect-error: `lengths` takes strings
    await harness.run({ stage: 'lengths', inputs: [1] });
    expectTypeOf(run.byStage.lengths).toEqualTypeOf<{ word: string; length: number; at: Date }[]>();
    // @ts-expect-error: the entry stage takes numbers
    await harness.run({ inputs: ['x'] });
    // @ts-expect-error: no such stage
    await harness.run({ stages: ['nope'] });
    await harness.enqueue('lengths', 'word');
    // @ts-expect-error: `lengths` takes strings
    await harness.enqueue('lengths', 3);
    const submission = await harness.submit(3);
    expectTypeOf(await submission.result()).toEqualTypeOf<{ word: string; length: number; at: string }[]>();
  });

  it('types the inputs of a first stage with `input: true` by its parameter', async () => {
    const harness = await testPipeline((options) =>
      pipeline(options)
        .stage('measure', (word: string) => word.length, { input: true })
        .stage('double', (n: number) => n * 2),
    );
    const run = await harness.run({ inputs: ['a', 'bb'] });
    expectTypeOf(run.outputs).toEqualTypeOf<number[]>();
    expectTypeOf(run.byStage.measure).toEqualTypeOf<number[]>();
    // @ts-expect-error: `measure` takes strings
    await harness.run({ inputs: [1] });
    expectTypeOf(await (await harness.submit('x')).result()).toEqualTypeOf<number[]>();
  });

  it('failOn keeps the method type', () => {
    const parse = (s: string, radix: number) => Number.parseInt(s, radix);
    expectTypeOf(failOn(parse, { attempt: 1, when: (s) => s === 'x' })).toEqualTypeOf(parse);
  });
});
