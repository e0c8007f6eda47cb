import { describe, expectTypeOf, it } from 'vitest';
import { EmptyTaskOutput, fanOut, pipeline, type Submission } from '../../src/index.ts';

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

  it("types submit(): the first consuming stage's input (or the named stage's), the last stage's output", () => {
    expectTypeOf(words.submit('word')).toEqualTypeOf<Promise<Submission<string>>>();
    expectTypeOf(words.submit(3, { stage: 'count' })).toEqualTypeOf<Promise<Submission<string>>>();
    expectTypeOf<Awaited<ReturnType<Submission<string>['result']>>>().toEqualTypeOf<string[]>();
    // @ts-expect-error `reduce` (the first stage with an input) takes a string
    void words.submit(42);
    // @ts-expect-error `count` takes a number
    void words.submit('x', { stage: 'count' });
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

  it('rejects a stage whose output type holds what JSON cannot carry', () => {
    const base = pipeline({ domain: 'types' }).stage('generate', () => 'word');
    // @ts-expect-error a Map is sent as {}
    base.stage('map', (s: string) => new Map([[s, 1]]));
    // @ts-expect-error a Set, nested, is sent as {}
    base.stage('set', (s: string) => ({ items: [{ tags: new Set([s]) }] }));
    // @ts-expect-error a Set, yielded
    base.stage('yields', function* (s: string) {
      yield new Set([s]);
    });
    // @ts-expect-error a Set inside fanOut, from an async method
    base.stage('fans', async (s: string) => fanOut([new Set([s])]));
    // @ts-expect-error a function is dropped
    base.stage('fn', (s: string) => ({ s, f: () => s }));
    // @ts-expect-error a bigint cannot be sent
    base.stage('big', (s: string) => BigInt(s.length));
    // @ts-expect-error a symbol cannot be sent
    base.stage('sym', (s: string) => [Symbol(s)]);
    // @ts-expect-error a typed array is not sent as bytes
    base.stage('bytes', (s: string) => ({ bytes: new TextEncoder().encode(s) }));
    // @ts-expect-error a Map in one member of a union
    base.stage('maybe', (s: string) => (s === '' ? 'empty' : new Map<string, number>()));
    // @ts-expect-error a batch handler's outputs too
    base.batchStage('batch', (inputs: string[]) => inputs.map((s) => new Set([s])), { batch: 10 });
    // @ts-expect-error the first stage too
    pipeline({ domain: 'types' }).stage('source', () => new Map<string, number>());
  });

  it('accepts JSON, what toJSON() makes JSON (a Date is its string), and unknown', () => {
    interface Tree {
      name: string;
      children: Tree[];
      note?: string | undefined;
    }
    const base = pipeline({ domain: 'types' }).stage('generate', () => 'word');
    base
      .stage('dated', (s: string) => ({ s, at: new Date(), bytes: Buffer.from(s) }))
      .stage('tree', (d: { s: string }): Tree => ({ name: d.s, children: [] }))
      .stage('record', (t: Tree): Record<string, number[] | null> => ({ [t.name]: null }))
      .stage('anything', (r: Record<string, unknown>): unknown => r)
      .stage('loose', (u: unknown) => JSON.parse(String(u)) as object)
      .batchStage('batch', (inputs: object[]) => inputs.map((o) => ({ o })), { batch: 10 });
    expectTypeOf(
      base.stage('tree', (s: string): Tree => ({ name: s, children: [] })).run('tree'),
    ).toEqualTypeOf<AsyncGenerator<Tree, void, undefined>>();
  });
});
