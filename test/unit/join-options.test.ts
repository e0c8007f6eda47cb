import { describe, expect, it } from 'vitest';
import { ConfigError, type StageEntry, TaskClient } from '../../src/index.ts';
import { resolveStages } from '../../src/stage.ts';

// Registration only: nothing here connects (the endpoint is a closed port).
const offline = { domain: 'joins', endpoint: 'http://127.0.0.1:9', region: 'us-east-1' } as const;

const m = (x: unknown) => x;
/** A stage named `name` with the options given. */
const s = (name: string, options: Partial<Exclude<StageEntry, (...args: never[]) => unknown>> = {}) => ({
  method: m,
  name,
  ...options,
});

/** `join` and `closedBy` of each resolved stage, by name. */
function links(entries: StageEntry[]): Record<string, { join?: string; closedBy?: string }> {
  return Object.fromEntries(
    resolveStages('joins', entries).map(({ name, join, closedBy }) => [
      name,
      { ...(join === undefined ? {} : { join }), ...(closedBy === undefined ? {} : { closedBy }) },
    ]),
  );
}

/** The message of the ConfigError `registerTasks(entries)` throws. */
function refused(entries: StageEntry[]): string {
  const client = new TaskClient(offline);
  let caught: unknown;
  try {
    client.registerTasks(entries);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect(client.stageNames).toEqual([]);
  return (caught as Error).message;
}

describe('the `join` stage option', () => {
  it('links a join to its split: `join` on the join, `closedBy` on the split', () => {
    expect(links([s('gen'), s('split'), s('count'), s('sum', { join: 'split' }), s('out')])).toEqual({
      gen: {},
      split: { closedBy: 'sum' },
      count: {},
      sum: { join: 'split' },
      out: {},
    });
  });

  it('takes any earlier stage as the split: the source, a first stage with an input, the stage before', () => {
    expect(links([s('gen'), s('sum', { join: 'gen' })])).toEqual({
      gen: { closedBy: 'sum' },
      sum: { join: 'gen' },
    });
    expect(links([s('fed', { input: true }), s('count'), s('sum', { join: 'fed' })])['fed']).toEqual({
      closedBy: 'sum',
    });
  });

  it('takes nested, chained and successive joins', () => {
    // a [ b [ c ] d ] e: d gathers a's branches, c b's.
    expect(links([s('a'), s('b'), s('c', { join: 'b' }), s('d', { join: 'a' }), s('e')])).toMatchObject({
      a: { closedBy: 'd' },
      b: { closedBy: 'c' },
      c: { join: 'b' },
      d: { join: 'a' },
    });
    // A join is the split of the next one.
    expect(links([s('a'), s('b', { join: 'a' }), s('c', { join: 'b' })])).toEqual({
      a: { closedBy: 'b' },
      b: { join: 'a', closedBy: 'c' },
      c: { join: 'b' },
    });
    // One scope after another, with stages between them.
    expect(links([s('a'), s('b', { join: 'a' }), s('c'), s('d'), s('e', { join: 'c' })])).toMatchObject({
      a: { closedBy: 'b' },
      c: { closedBy: 'e' },
    });
  });

  it('refuses a split that is not a stage, naming the stages', () => {
    expect(refused([s('gen'), s('split'), s('sum', { join: 'splt' })])).toBe(
      'Stage `sum` joins `splt`, which is not a stage of this pipeline (`gen`, `split`, `sum`): a join names an earlier stage whose calls fan out',
    );
  });

  it('refuses a join of itself or of a later stage', () => {
    expect(refused([s('gen'), s('sum', { join: 'sum' })])).toBe(
      'Stage `sum` joins itself: a join names an earlier stage whose calls fan out',
    );
    expect(refused([s('gen'), s('sum', { join: 'split' }), s('split')])).toBe(
      'Stage `sum` joins `split`, which comes after it: a join names an earlier stage whose calls fan out',
    );
  });

  it('refuses `join` on the first stage, a source or not', () => {
    const expected =
      '`join` of stage `first` cannot be set on the first stage: a join gathers the branches opened by the calls of an earlier stage';
    expect(refused([s('first', { join: 'other' }), s('other')])).toBe(expected);
    expect(refused([s('first', { input: true, join: 'first' })])).toBe(expected);
  });

  it('refuses `group` and `batch` on a join', () => {
    expect(refused([s('gen'), s('sum', { join: 'gen', group: () => 'k' })])).toBe(
      "`group` of stage `sum` cannot be set with `join`: sqspipes orders a join's inputs by joined item itself (the item is their message group); remove `group`",
    );
    expect(refused([s('gen'), s('sum', { join: 'gen', batch: 10 })])).toBe(
      "`batch` of stage `sum` cannot be set with `join`: a join is called once per joined item, with that item's branch outputs as its array; remove `batch`",
    );
  });

  it('refuses two joins of one split', () => {
    expect(refused([s('a'), s('b', { join: 'a' }), s('c', { join: 'a' })])).toBe(
      "Stages `b` and `c` both join `a`: a stage's branches are joined by one stage at most (a later join can name `b` or a stage after it instead)",
    );
  });

  it('refuses join scopes that cross', () => {
    // a [ b { c ] d }: c closes a's scope while b's, opened inside it, is still open.
    expect(refused([s('a'), s('b'), s('c', { join: 'a' }), s('d', { join: 'b' })])).toBe(
      'Stage `d` joins `b`, which lies between `a` and its join `c`, but `d` comes after `c`: join scopes nest or follow one another, never cross. Move `d` before `c`, or have it join `c` or a stage after it',
    );
    // Nested deeper, the innermost crossing the outermost.
    expect(
      refused([s('a'), s('b'), s('c'), s('d', { join: 'b' }), s('e', { join: 'a' }), s('f', { join: 'c' })]),
    ).toContain('Stage `f` joins `c`');
  });

  it('refuses a `join` that is no stage name, naming the field', () => {
    expect(refused([s('gen'), s('sum', { join: 42 as unknown as string })])).toBe(
      'Expected `join` of stage `sum` (the name of an earlier stage) to be a non-empty string of letters, digits, `_` and `-`, got `42` (number)',
    );
    expect(refused([s('gen'), s('sum', { join: '' })])).toContain('`join` of stage `sum`');
  });

  it('takes a join’s time limit and failure policy, with their defaults, on a join only', () => {
    const [, plain, tuned] = resolveStages('joins', [
      s('gen'),
      s('sum', { join: 'gen' }),
      s('all', { join: 'sum', joinTimeout: 60_000, joinFailures: 'call' }),
    ]);
    expect([plain?.joinTimeout, plain?.joinFailures]).toEqual([86_400_000, 'fail']);
    expect([tuned?.joinTimeout, tuned?.joinFailures]).toEqual([60_000, 'call']);
    expect(refused([s('gen'), s('sum', { joinTimeout: 1000 })])).toBe(
      '`joinTimeout` of stage `sum` applies to a join stage only: give it `join` too',
    );
    expect(refused([s('gen'), s('sum', { join: 'gen', joinTimeout: 10 })])).toContain(
      'Expected `joinTimeout` of stage `sum` to be a duration in ms from 1000',
    );
    expect(refused([s('gen'), s('sum', { join: 'gen', joinFailures: 'skip' as 'call' })])).toBe(
      "Expected `joinFailures` of stage `sum` to be `'fail'` or `'call'`, got `\"skip\"` (string)",
    );
  });
});
