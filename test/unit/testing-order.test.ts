import { describe, expect, it } from 'vitest';
import { expectOrderPerKey, orderViolations } from '../../src/testing/order.ts';

type Item = { key: string; seq: number };
const key = (i: Item) => i.key;
const seq = (i: Item) => i.seq;

describe('orderViolations()', () => {
  it('finds nothing when each key keeps its order, whatever the interleaving of keys', () => {
    const items = [
      { key: 'a', seq: 1 },
      { key: 'b', seq: 0 },
      { key: 'a', seq: 2 },
      { key: 'b', seq: 5 },
    ];
    expect(orderViolations(items, key, seq)).toEqual([]);
    expect(() => expectOrderPerKey(items, key, seq)).not.toThrow();
  });

  it('names each value that came after a later one of its key, and compares with the latest in order', () => {
    const items = [
      { key: 'a', seq: 1 },
      { key: 'a', seq: 3 },
      { key: 'a', seq: 2 },
      { key: 'b', seq: 1 },
      { key: 'a', seq: 4 },
    ];
    expect(orderViolations(items, key, seq)).toEqual([
      { key: 'a', index: 2, value: { key: 'a', seq: 2 }, after: { key: 'a', seq: 3 } },
    ]);
    expect(() => expectOrderPerKey(items, key, seq)).toThrow(
      'Order per key broken 1 time(s): key "a": {"key":"a","seq":2} (index 2) came after {"key":"a","seq":3}',
    );
  });
});
