import { describe, expectTypeOf, it } from 'vitest';
import { EmptyTaskOutput, fanOut, type Jsonified, pipeline, type Submission } from '../../src/index.ts';

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

  it('types a first stage with `input: true` by its parameter: enqueue(), submit(), group', () => {
    const fed = pipeline({ domain: 'types' })
      .stage('measure', (word: string) => word.length, { input: true, group: (word) => word[0] ?? '' })
      .stage('double', (n: number) => n * 2);
    expectTypeOf<Parameters<typeof fed.enqueue<'measure'>>[1]>().toEqualTypeOf<string>();
    expectTypeOf(fed.submit('word')).toEqualTypeOf<Promise<Submission<number>>>();
    // @ts-expect-error `measure` (the first stage, with an input) takes a string
    void fed.submit(3);
    const byNumber = { input: true, group: (n: number) => String(n) } as const;
    // @ts-expect-error its group key function gets the input, a string
    pipeline({ domain: 'types' }).stage('m', (w: string) => w.length, byNumber);
    const _source = pipeline({ domain: 'types' }).stage('gen', () => 'w', { group: (word) => word });
    expectTypeOf<Parameters<typeof _source.enqueue<'gen'>>[1]>().toEqualTypeOf<never>();
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

  it('types the next stage with what arrives after JSON: a Date output is a string input', () => {
    const dated = pipeline({ domain: 'types' }).stage('now', () => new Date());
    // @ts-expect-error a Date travels as its ISO string: the next stage receives a string
    dated.stage('next', (d: Date) => d.getTime());
    const next = dated.stage('next', (iso: string) => ({ iso, at: new Date(iso) }));
    // What run() yields is what the method returned, in this process: still a Date.
    expectTypeOf(dated.run('now')).toEqualTypeOf<AsyncGenerator<Date, void, undefined>>();
    expectTypeOf<Parameters<typeof next.enqueue<'next'>>[1]>().toEqualTypeOf<string>();
    // @ts-expect-error enqueue takes what the stage receives
    void next.enqueue('next', new Date());
    // A submission's results come back as JSON too.
    expectTypeOf(next.submit('2026-01-01')).toEqualTypeOf<Promise<Submission<{ iso: string; at: string }>>>();
    next.stage('last', (r: { iso: string; at: string }) => r.at.length);
    // @ts-expect-error `at` arrives as a string
    next.stage('last', (r: { iso: string; at: Date }) => r.at.getTime());
  });

  it('maps a type to its JSON: toJSON() results, dropped properties, Map and Set as {}, arrays and tuples', () => {
    class Money {
      readonly cents = 100;
      toJSON(): { cents: number; currency: 'EUR' } {
        return { cents: this.cents, currency: 'EUR' };
      }
    }
    expectTypeOf<Jsonified<Date>>().toEqualTypeOf<string>();
    expectTypeOf<Jsonified<Money>>().toEqualTypeOf<{ cents: number; currency: 'EUR' }>();
    expectTypeOf<Jsonified<{ at: Date; nested: { when: Date[] } }>>().toEqualTypeOf<{
      at: string;
      nested: { when: string[] };
    }>();
    // Properties JSON drops: undefined, functions, symbols; one that may be undefined may be missing.
    expectTypeOf<
      Jsonified<{ a: number; u: undefined; f: () => void; s: symbol; maybe: string | undefined; o?: Date }>
    >().toEqualTypeOf<{ a: number; maybe?: string; o?: string }>();
    // A class instance: its data, not its methods.
    expectTypeOf<Jsonified<{ n: number; twice(): number }>>().toEqualTypeOf<{ n: number }>();
    expectTypeOf<Jsonified<Map<string, number>>>().toEqualTypeOf<Record<string, never>>();
    expectTypeOf<Jsonified<Set<string>>>().toEqualTypeOf<Record<string, never>>();
    expectTypeOf<Jsonified<bigint>>().toEqualTypeOf<never>();
    expectTypeOf<Jsonified<Date[]>>().toEqualTypeOf<string[]>();
    expectTypeOf<Jsonified<[Date, number, { d: Date }]>>().toEqualTypeOf<[string, number, { d: string }]>();
    expectTypeOf<Jsonified<readonly [Date, string]>>().toEqualTypeOf<readonly [string, string]>();
    // In an array, what JSON drops becomes null.
    expectTypeOf<Jsonified<(number | undefined)[]>>().toEqualTypeOf<(number | null)[]>();
    expectTypeOf<Jsonified<string | Date | null>>().toEqualTypeOf<string | null>();
    expectTypeOf<Jsonified<unknown>>().toEqualTypeOf<unknown>();
    expectTypeOf<Jsonified<{ data: unknown }>>().toEqualTypeOf<{ data: unknown }>();
    expectTypeOf<Jsonified<Record<string, number[] | null>>>().toEqualTypeOf<
      Record<string, number[] | null>
    >();
    expectTypeOf<Jsonified<object>>().toEqualTypeOf<object>();
  });
});
