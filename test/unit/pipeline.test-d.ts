import { describe, expectTypeOf, it } from 'vitest';
import { EmptyTaskOutput, fanOut, pipeline } from '../../src/index.ts';

const words = pipeline({ domain: 'types' })
  .stage('generate', (max: number) => 'x'.repeat(max))
  .stage('reduce', async (word: string) => ({ word, vowels: word.length }))
  .stage('spread', (r: { word: string; vowels: number }) => fanOut([r.vowels, r.vowels * 2]))
  .stage('count', function* (n: number) {
    yield String(n);
    yield new EmptyTaskOutput();
  });

describe('typed pipelines', () => {
  it('types run() by stage name with the awaited, unwrapped output', () => {
    expectTypeOf(words.run('generate')).toEqualTypeOf<AsyncGenerator<string, void, undefined>>();
    expectTypeOf(words.run('reduce')).toEqualTypeOf<
      AsyncGenerator<{ word: string; vowels: number }, void, undefined>
    >();
    expectTypeOf(words.run('spread')).toEqualTypeOf<AsyncGenerator<number, void, undefined>>();
    expectTypeOf(words.run('count')).toEqualTypeOf<AsyncGenerator<string, void, undefined>>();
  });

  it('types enqueue() by the stage input', () => {
    expectTypeOf<Parameters<typeof words.enqueue<'reduce'>>[1]>().toEqualTypeOf<string>();
    expectTypeOf<Parameters<typeof words.enqueue<'count'>>[1]>().toEqualTypeOf<number>();
  });

  it('rejects a stage whose input is not the previous output', () => {
    const base = pipeline({ domain: 'types' }).stage('generate', () => 'word');
    // @ts-expect-error number is not what `generate` outputs (string)
    base.stage('double', (n: number) => n * 2);
    // @ts-expect-error an unknown stage name
    base.run('nope');
    // @ts-expect-error the first stage has no input queue
    void base.enqueue('generate', 'x');
    // @ts-expect-error wrong input type for enqueue
    void words.enqueue('reduce', 42);
    base.stage('upper', (s: string) => s.toUpperCase(), { group: (s) => s.slice(0, 1) });
    // @ts-expect-error group takes the stage's input type
    base.stage('upper', (s: string) => s, { group: (s: number) => String(s) });
  });
});
