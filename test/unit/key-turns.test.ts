import { describe, expect, it } from 'vitest';
import { KeyTurns } from '../../src/key-turns.ts';

/** A promise and its resolve. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('KeyTurns', () => {
  it('hands each call of a slot what the calls before it settle with, and none to other slots', async () => {
    const turns = new KeyTurns();
    const first = gate();
    const order: string[] = [];
    const a1 = turns.inTurn('a', async (earlier) => {
      expect(earlier).toBeUndefined();
      await first.promise;
      order.push('a1');
    });
    const a2 = turns.inTurn('a', async (earlier) => {
      await earlier;
      order.push('a2');
    });
    const b1 = turns.inTurn('b', async (earlier) => {
      expect(earlier).toBeUndefined();
      order.push('b1');
    });
    await b1;
    first.open();
    await Promise.all([a1, a2]);
    expect(order).toEqual(['b1', 'a1', 'a2']);
    expect(turns.size).toBe(0);
  });

  it('a call that gave up (rejected) still holds back the later ones until the earlier ones settled', async () => {
    const turns = new KeyTurns();
    const first = gate();
    const order: string[] = [];
    const a1 = turns.inTurn('a', async () => {
      await first.promise;
      order.push('a1');
    });
    const a2 = turns.inTurn('a', () => Promise.reject(new Error('caller gave up')));
    const a3 = turns.inTurn('a', async (earlier) => {
      await earlier;
      order.push('a3');
    });
    await expect(a2).rejects.toThrow('caller gave up');
    first.open();
    await Promise.all([a1, a3]);
    expect(order).toEqual(['a1', 'a3']);
  });

  it('runs calls without a slot at once', async () => {
    const turns = new KeyTurns();
    expect(await turns.inTurn(undefined, (earlier) => Promise.resolve(earlier))).toBeUndefined();
    expect(turns.size).toBe(0);
  });
});
