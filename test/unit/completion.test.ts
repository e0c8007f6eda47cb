import { describe, expect, it } from 'vitest';
import { Completion } from '../../src/replies/completion.ts';
import { decodeReport, encodeEnd, type EndReport, MAX_PART_BYTES } from '../../src/replies/report.ts';

function end(token: string, children: string[], results: unknown[], nonce = 'n', stage = 's'): EndReport[] {
  const bodies = encodeEnd({
    item: 'item',
    token,
    stage,
    nonce,
    children,
    results: results.map((r) => JSON.stringify(r)),
    attempt: 1,
    at: 0,
  });
  return bodies.map((b) => decodeReport(b) as EndReport);
}

function addAll(c: Completion, reports: EndReport[]): void {
  for (const r of reports) c.add(r);
}

describe('Completion', () => {
  it('a single branch ends with its results', () => {
    const c = new Completion('root');
    expect(c.complete).toBe(false);
    addAll(c, end('root', [], [1, 2]));
    expect(c.complete).toBe(true);
    expect(c.outcome()).toEqual({ results: [1, 2], filteredAt: [], errors: [] });
  });

  it('a fan-out completes when its last branch ends, filtered branches included, in fan-out order', () => {
    const c = new Completion('root');
    addAll(c, end('root', ['a', 'b', 'c'], [], 'n', 'mid'));
    addAll(c, end('c', [], ['C'], 'n', 'last'));
    addAll(c, end('a', [], ['A'], 'n', 'last'));
    expect(c.complete).toBe(false);
    addAll(c, end('b', [], [], 'n', 'last'));
    expect(c.complete).toBe(true);
    expect(c.outcome()).toEqual({ results: ['A', 'C'], filteredAt: ['last'], errors: [] });
  });

  it('a branch that reports before its parent names it waits for the parent', () => {
    const c = new Completion('root');
    addAll(c, end('a', ['a1'], [], 'n', 'mid'));
    addAll(c, end('a1', [], ['x'], 'n', 'last'));
    expect(c.complete).toBe(false);
    addAll(c, end('root', ['a'], [], 'n', 'first'));
    expect(c.complete).toBe(true);
    expect(c.outcome().results).toEqual(['x']);
  });

  it('the first complete report of a token decides it: a second attempt and duplicates are ignored', () => {
    const c = new Completion('root');
    addAll(c, end('root', ['a'], [], 'attempt1'));
    addAll(c, end('root', ['b'], [], 'attempt2'));
    addAll(c, end('root', ['a'], [], 'attempt1'));
    addAll(c, end('b', [], ['orphan']));
    expect(c.complete).toBe(false);
    addAll(c, end('a', [], ['kept']));
    expect(c.complete).toBe(true);
    expect(c.outcome().results).toEqual(['kept']);
  });

  it('a report in parts counts once all its parts arrived; parts of another attempt never mix in', () => {
    const children = Array.from({ length: 20_000 }, (_, i) => `child-${String(i).padStart(30, '0')}`);
    const parts = end('root', children, [], 'n1');
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(JSON.stringify(p).length).toBeLessThan(MAX_PART_BYTES + 1000);
    const other = end('root', ['z'], [], 'n2');
    const c = new Completion('root');
    for (const p of parts.slice(0, -1)) c.add(p);
    addAll(c, end('z', [], ['never']));
    for (const child of children) addAll(c, end(child, [], []));
    expect(c.complete).toBe(false);
    c.add(parts.at(-1) as EndReport);
    addAll(c, other);
    expect(c.complete).toBe(true);
    expect(c.outcome().results).toEqual([]);
  });

  it('a result too large for a reply becomes an error of the item', () => {
    const [body] = encodeEnd({
      item: 'i',
      token: 't',
      stage: 'last',
      nonce: 'n',
      children: [],
      results: [JSON.stringify('x'.repeat(1_100_000))],
      attempt: 1,
      at: 0,
    });
    const report = decodeReport(body) as EndReport;
    expect(report.results).toEqual([]);
    expect(report.error).toMatch(/stage `last`.*over what a reply can carry/);
  });
});
