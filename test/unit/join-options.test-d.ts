import { describe, expectTypeOf, it } from 'vitest';
import { fanOut, pipeline, type Submission } from '../../src/index.ts';

const counted = pipeline({ domain: 'types' })
  .stage('lines', () => 'a bb ccc')
  .stage('split', (line: string) => fanOut(line.split(' ')))
  .stage('count', (word: string) => ({ word, length: word.length, at: new Date() }));

describe('typed join stages', () => {
  it("gives a join an array of the previous stage's output, as it arrives after JSON", () => {
    const summed = counted.stage(
      'sum',
      (counts) => {
        expectTypeOf(counts).toEqualTypeOf<{ word: string; length: number; at: string }[]>();
        return counts.reduce((total, c) => total + c.length, 0);
      },
      { join: 'split' },
    );
    expectTypeOf(summed.run('sum')).toEqualTypeOf<AsyncGenerator<number, void, undefined>>();
    expectTypeOf(summed.submit('x', { stage: 'split' })).toEqualTypeOf<Promise<Submission<number>>>();
    // The stage after a join takes the join's output, one at a time.
    summed.stage('half', (total: number) => total / 2);
    // @ts-expect-error the stage after a join takes its output, not an array
    summed.stage('half', (totals: number[]) => totals.length);
  });

  it('rejects a join whose method takes one output instead of an array', () => {
    // @ts-expect-error a join gets every output of the item's branches at once
    counted.stage('sum', (c: { word: string }) => c.word, { join: 'split' });
    counted.stage('sum', (cs: { word: string }[]) => cs.length, { join: 'split' });
    counted.stage('sum', (cs: unknown) => String(cs), { join: 'split' });
  });

  it('names a stage already added, the source included', () => {
    counted.stage('sum', (cs: unknown[]) => cs.length, { join: 'lines' });
    // @ts-expect-error no stage `nope` before it
    counted.stage('sum', (cs: unknown[]) => cs.length, { join: 'nope' });
    // @ts-expect-error a stage added later is not known yet
    counted.stage('sum', (cs: unknown[]) => cs.length, { join: 'later' }).stage('later', (n: number) => n);
    // @ts-expect-error the first stage has nothing to join
    pipeline({ domain: 'types' }).stage('first', (xs: string[]) => xs.length, { input: true, join: 'first' });
  });

  it('refuses `group` and `batch` on a join, and `join` on a batch stage', () => {
    // @ts-expect-error sqspipes orders a join per joined item
    counted.stage('sum', (cs: unknown[]) => cs.length, { join: 'split', group: () => 'k' });
    // @ts-expect-error a join is called once per joined item
    counted.stage('sum', (cs: unknown[]) => cs.length, { join: 'split', batch: 10 });
    // @ts-expect-error a batch stage is no join
    counted.batchStage('sum', (cs: unknown[]) => cs, { batch: 10, join: 'split' });
  });

  it('takes no value fed straight to a join: it belongs to no item of the split', () => {
    const _summed = counted.stage('sum', (cs: unknown[]) => cs.length, { join: 'split' });
    expectTypeOf<Parameters<typeof _summed.enqueue<'sum'>>[1]>().toEqualTypeOf<never>();
    expectTypeOf<Parameters<typeof _summed.enqueue<'count'>>[1]>().toEqualTypeOf<string>();
  });

  it('chains and nests joins', () => {
    const nested = counted
      .stage('perLine', (cs: { length: number }[]) => fanOut(cs.map((c) => c.length)), { join: 'split' })
      .stage('total', (ns: number[]) => ns.reduce((a, b) => a + b, 0), { join: 'perLine' });
    expectTypeOf(nested.run('total')).toEqualTypeOf<AsyncGenerator<number, void, undefined>>();
  });
});
