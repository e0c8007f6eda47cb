import { describe, expect, it } from 'vitest';
import {
  decodeJoinState,
  encodeJoinState,
  type FoldEvent,
  foldEvents,
  isComplete,
  joinOutcome,
  type JoinOutcome,
  JoinStateError,
  markDone,
  newJoinState,
} from '../../src/join/fold.ts';

const value = (token: string, v: unknown): FoldEvent => ({ kind: 'value', token, value: JSON.stringify(v) });
const dead = (token: string, reason: string, stage = 'work'): FoldEvent => ({
  kind: 'dead',
  token,
  stage,
  reason,
});

/** An end report in `parts` parts (children spread over them in order). */
function end(token: string, children: string[], nonce = 'n1', parts = 1, stage = 'split'): FoldEvent[] {
  const per = Math.ceil(children.length / parts);
  return Array.from({ length: parts }, (_, part) => ({
    kind: 'end' as const,
    token,
    stage,
    nonce,
    part,
    parts,
    children: children.slice(part * per, (part + 1) * per),
  }));
}

function fold(root: string, ...batches: FoldEvent[][]) {
  const state = newJoinState(root);
  for (const batch of batches) foldEvents(state, batch);
  return state;
}

const values = (state: ReturnType<typeof newJoinState>) =>
  joinOutcome(state).values.map((v) => JSON.parse(v) as unknown);

describe('join fold', () => {
  it('one branch: the split kept its token, its value completes the item', () => {
    const state = newJoinState('X');
    expect(isComplete(state)).toBe(false);
    foldEvents(state, [value('X', { n: 1 })]);
    expect(isComplete(state)).toBe(true);
    expect(joinOutcome(state)).toEqual({ values: ['{"n":1}'], dead: [], filtered: 0, open: [] });
  });

  it("a fan-out of N completes with values arriving before and after the split's end, in fan-out order", () => {
    const children = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const state = fold('X', [value('c7', 7), value('c2', 2)]);
    expect(isComplete(state)).toBe(false);
    foldEvents(state, end('X', children));
    expect(joinOutcome(state).open).toEqual(children.filter((c) => c !== 'c2' && c !== 'c7'));
    foldEvents(
      state,
      [9, 0, 5, 1, 3, 8, 4].map((i) => value(`c${i}`, i)),
    );
    expect(isComplete(state)).toBe(false);
    foldEvents(state, [value('c6', 6)]);
    expect(isComplete(state)).toBe(true);
    expect(values(state)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('filtered branches end without a value and are counted', () => {
    const state = fold('X', end('X', ['a', 'b', 'c']), [value('a', 'A')], end('b', [], 'n1', 1, 'keep'));
    expect(isComplete(state)).toBe(false);
    foldEvents(state, end('c', [], 'n1', 1, 'keep'));
    expect(isComplete(state)).toBe(true);
    expect(joinOutcome(state)).toEqual({ values: ['"A"'], dead: [], filtered: 2, open: [] });
    const none = fold('Y', end('Y', []));
    expect(isComplete(none)).toBe(true);
    expect(joinOutcome(none)).toEqual({ values: [], dead: [], filtered: 1, open: [] });
  });

  it('a nested fan-out is complete when its sub-branches are, values depth first', () => {
    const state = fold(
      'X',
      [value('b.2', 'b2')],
      end('b', ['b.1', 'b.2'], 'm', 1, 'again'),
      end('X', ['a', 'b', 'c']),
    );
    foldEvents(state, [value('c', 'c'), value('a', 'a')]);
    expect(isComplete(state)).toBe(false);
    expect(joinOutcome(state).open).toEqual(['b.1']);
    foldEvents(state, [value('b.1', 'b1')]);
    expect(isComplete(state)).toBe(true);
    expect(values(state)).toEqual(['a', 'b1', 'b2', 'c']);
  });

  it('duplicates of values and reports are ignored', () => {
    const state = fold('X', end('X', ['a', 'b']), [value('a', 1), value('a', 1)], end('X', ['a', 'b']));
    foldEvents(state, [value('b', 2), value('b', 2), value('a', 1)]);
    expect(isComplete(state)).toBe(true);
    expect(values(state)).toEqual([1, 2]);
  });

  it('of two attempts with different children only the deciding one counts', () => {
    // Attempt 1 sent a1, a2 and crashed before its report; attempt 2 sent b1 and reported first.
    const state = fold(
      'X',
      [value('a1', 'orphan')],
      end('X', ['b1'], 'attempt2'),
      end('X', ['a1', 'a2'], 'attempt1'),
    );
    foldEvents(state, [value('a2', 'orphan')]);
    expect(isComplete(state)).toBe(false);
    expect(joinOutcome(state).open).toEqual(['b1']);
    foldEvents(state, [value('b1', 'kept')]);
    expect(isComplete(state)).toBe(true);
    expect(values(state)).toEqual(['kept']);
    // A value that reached the join decides its token: a later filtering attempt does not count.
    const kept = fold('Y', [value('Y', 'first')], end('Y', [], 'later'));
    expect(joinOutcome(kept)).toEqual({ values: ['"first"'], dead: [], filtered: 0, open: [] });
  });

  it('a report in parts counts once all its parts are in; parts of two attempts never mix', () => {
    const children = Array.from({ length: 9 }, (_, i) => `c${i}`);
    const [p0, p1, p2] = end('X', children, 'n1', 3) as [FoldEvent, FoldEvent, FoldEvent];
    const other = end('X', ['z0', 'z1', 'z2'], 'n2', 3);
    const state = fold(
      'X',
      [p2, p0],
      [other[1] as FoldEvent],
      children.map((c, i) => value(c, i)),
    );
    expect(isComplete(state)).toBe(false);
    foldEvents(state, [other[0] as FoldEvent, p0, p2]);
    expect(isComplete(state)).toBe(false);
    foldEvents(state, [p1, other[2] as FoldEvent]);
    expect(isComplete(state)).toBe(true);
    expect(values(state)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // The other attempt's parts completing first decide instead.
    const second = fold(
      'X',
      [p0, p2, ...other, p1],
      [value('z0', 'z0'), value('z1', 'z1'), value('z2', 'z2')],
    );
    expect(isComplete(second)).toBe(true);
    expect(values(second)).toEqual(['z0', 'z1', 'z2']);
    expect(encodeJoinState(second)).not.toContain('n1'); // the losing attempt's parts are dropped
  });

  it('dead branches end their token as failed, with where it was in fan-out order', () => {
    const state = fold('X', [dead('b', 'boom')], end('X', ['a', 'b', 'c']), [value('a', 'A')]);
    foldEvents(state, [value('b', 'late copy'), dead('c', 'bang', 'other'), value('c', 'C')]);
    expect(isComplete(state)).toBe(true);
    expect(joinOutcome(state)).toEqual({
      values: ['"A"'],
      dead: [
        { token: 'b', stage: 'work', reason: 'boom', position: 1 },
        { token: 'c', stage: 'other', reason: 'bang', position: 1 },
      ],
      filtered: 0,
      open: [],
    });
    const long = fold('Y', [dead('Y', 'x'.repeat(5000))]);
    expect(joinOutcome(long).dead[0]?.reason).toHaveLength(1000);
  });

  it('a tombstone ignores every later event', () => {
    const state = fold('X', end('X', ['a']), [value('a', 1)]);
    expect(isComplete(state)).toBe(true);
    expect(markDone(state)).toBe(state);
    foldEvents(state, [value('b', 'orphan'), ...end('X', ['b'], 'n2'), dead('a', 'late')]);
    expect(isComplete(state)).toBe(false);
    expect(joinOutcome(state)).toEqual({ values: [], dead: [], filtered: 0, open: [] });
    const decoded = decodeJoinState(encodeJoinState(state));
    expect(decoded.done).toBe(true);
    expect(encodeJoinState(decoded)).toBe(''); // stored empty: a listing tells it by its size
  });

  it('encodes and decodes any state, which then folds on the same', () => {
    const events = [
      ...end('X', ['a', 'b', 'c', '__proto__', 'constructor']),
      value('b.1', 'early'),
      ...end('b', ['b.1', 'b.2'], 'nb', 2).slice(0, 1),
      dead('a', 'boom'),
      value('__proto__', 'p'),
      value('constructor', 'k'),
    ];
    const state = fold('X', events);
    const text = encodeJoinState(state);
    const decoded = decodeJoinState(text);
    expect(decoded).toEqual(state);
    expect(encodeJoinState(decoded)).toBe(text);
    const rest = [...end('b', ['b.1', 'b.2'], 'nb', 2).slice(1), value('b.2', 2), value('c', 'c')];
    foldEvents(state, rest);
    foldEvents(decoded, rest);
    expect(isComplete(decoded)).toBe(true);
    expect(joinOutcome(decoded)).toEqual(joinOutcome(state));
    expect(values(decoded)).toEqual(['early', 2, 'c', 'p', 'k']);
  });

  it('refuses a body that is not a state of this version, saying why', () => {
    const good = JSON.parse(encodeJoinState(newJoinState('X'))) as Record<string, unknown>;
    const bad = (body: string, why: RegExp) => {
      expect(() => decodeJoinState(body)).toThrow(JoinStateError);
      expect(() => decodeJoinState(body)).toThrow(why);
    };
    bad('not json', /not JSON/);
    bad('[]', /not an object/);
    bad(JSON.stringify({ ...good, v: 2 }), /version is 2/);
    bad(JSON.stringify({ ...good, root: 1 }), /`root`/);
    bad(JSON.stringify({ ...good, done: 'no' }), /`done`/);
    bad(JSON.stringify({ ...good, open: { a: true } }), /`open`/);
    bad(JSON.stringify({ ...good, openCount: 0 }), /`openCount`/);
    bad(JSON.stringify({ ...good, decided: { a: 1 } }), /`decided`/);
    bad(JSON.stringify({ ...good, early: { a: { stage: 's' } } }), /`early`/);
    bad(JSON.stringify({ ...good, parts: { a: { n: [['x'], 1] } } }), /`parts`/);
    bad(JSON.stringify({ ...good, parts: undefined }), /`parts`/);
  });

  it('folds a join over 10,000 branches into a compact state', () => {
    const n = 10_000;
    const tokens = Array.from({ length: n }, (_, i) => `${i}`.padStart(43, 'T')); // ids are 43 characters
    const report = end('X', tokens, 'n1', 2);
    const state = fold(
      'X',
      report.slice(0, 1),
      tokens.slice(0, n / 2).map((t, i) => value(t, { i })),
    );
    const mid = encodeJoinState(state);
    foldEvents(state, report.slice(1));
    foldEvents(decodeJoinState(encodeJoinState(state)), []);
    foldEvents(
      state,
      tokens.slice(n / 2).map((t, i) => value(t, { i: i + n / 2 })),
    );
    expect(isComplete(state)).toBe(true);
    const outcome: JoinOutcome = joinOutcome(state);
    expect(outcome.values).toHaveLength(n);
    expect(outcome.values[n - 1]).toBe(`{"i":${n - 1}}`);
    const text = encodeJoinState(state);
    expect(text.length).toBeLessThan(n * 130); // each token twice (named, decided) and its value
    expect(mid.length).toBeLessThan(text.length);
  });
});

// --- Random arrival orders, checked against a model: a token's decision is its first complete report.

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The events an item's branches may send: several attempts, crashes, duplicates, parts. */
function randomItem(random: () => number, consistent: boolean): FoldEvent[] {
  const events: FoldEvent[] = [];
  const pick = (n: number) => Math.floor(random() * n);
  const branch = (token: string, depth: number): void => {
    const kind = depth >= 3 ? pick(3) : pick(5);
    const leaf = (k: number, attempt: number) => {
      if (k === 0) events.push(value(token, `${token}!${attempt}`));
      else if (k === 1) events.push(...end(token, [], `f${attempt}`, 1, 'filter'));
      else events.push(dead(token, `no ${token}`));
    };
    if (kind < 3) {
      leaf(kind, 0);
      if (!consistent && pick(3) === 0) leaf(pick(3), 1); // another attempt ended it otherwise
    } else {
      const attempts = consistent ? 1 : 1 + pick(2);
      for (let a = 0; a < attempts; a++) {
        const children = Array.from({ length: pick(5) }, (_, i) => `${token}.${a}${i}`);
        if (consistent || pick(4) > 0) events.push(...end(token, children, `n${a}`, 1 + pick(3)));
        for (const child of children) branch(child, depth + 1);
      }
      // A crashed attempt: its outputs went on, its report never came.
      if (pick(3) === 0) for (const child of [`${token}.x0`, `${token}.x1`]) branch(child, depth + 1);
    }
  };
  branch('X', 0);
  for (let i = events.length > 0 ? pick(5) : 0; i > 0; i--)
    events.push(events[pick(events.length)] as FoldEvent); // duplicates
  return events;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** What the outcome must be after `events`: decisions by first complete report, read from the root. */
function model(root: string, events: readonly FoldEvent[]): { complete: boolean; outcome: JoinOutcome } {
  const decided = new Map<string, FoldEvent | string[]>();
  const parts = new Map<string, (readonly string[] | undefined)[]>();
  for (const e of events) {
    if (decided.has(e.token)) continue;
    if (e.kind !== 'end') {
      decided.set(e.token, e);
      continue;
    }
    const key = `${e.token} ${e.nonce}`;
    const slots = parts.get(key) ?? new Array<undefined>(e.parts).fill(undefined);
    parts.set(key, slots);
    slots[e.part] = e.children;
    if (slots.every((s) => s !== undefined)) decided.set(e.token, slots.flat<(readonly string[])[]>());
  }
  const outcome: JoinOutcome = { values: [], dead: [], filtered: 0, open: [] };
  let filtered = 0;
  const visit = (token: string): void => {
    const d = decided.get(token);
    if (d === undefined) outcome.open.push(token);
    else if (Array.isArray(d)) {
      if (d.length === 0) filtered++;
      d.forEach(visit);
    } else if (d.kind === 'value') outcome.values.push(d.value);
    else if (d.kind === 'dead')
      outcome.dead.push({ token, stage: d.stage, reason: d.reason, position: outcome.values.length });
  };
  visit(root);
  return { complete: outcome.open.length === 0, outcome: { ...outcome, filtered } };
}

describe('join fold, random arrival orders', () => {
  it('gives the outcome of the first complete reports, whatever the order and the batches', () => {
    const random = mulberry32(24);
    for (let round = 0; round < 300; round++) {
      const events = shuffle(randomItem(random, false), random);
      let state = newJoinState('X');
      for (let i = 0; i < events.length;) {
        const batch = events.slice(i, (i += 1 + Math.floor(random() * 4)));
        state = decodeJoinState(encodeJoinState(foldEvents(state, batch))); // stored between batches
        const expected = model('X', events.slice(0, i));
        expect(isComplete(state)).toBe(expected.complete);
        if (i === events.length) expect(joinOutcome(state)).toEqual(expected.outcome);
      }
    }
  });

  it('gives one outcome for every order when attempts agree', () => {
    const random = mulberry32(7);
    for (let item = 0; item < 30; item++) {
      const events = randomItem(random, true);
      const first = joinOutcome(fold('X', events));
      expect(isComplete(fold('X', events))).toBe(true);
      for (let round = 0; round < 30; round++) {
        const state = fold('X', shuffle(events, random));
        expect(isComplete(state)).toBe(true);
        expect(joinOutcome(state)).toEqual(first);
      }
    }
  });
});
