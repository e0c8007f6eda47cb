import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../../src/worker/dispatcher.ts';

const item = (id: string, level: number, group = id) => ({ id, level, group });

describe('Dispatcher', () => {
  it('takes the highest level first, in receive order within a level', () => {
    const d = new Dispatcher<ReturnType<typeof item>>();
    d.push(item('a', 0), item('b', 0), item('c', 2), item('d', 1), item('e', 2));
    const order = [];
    for (let next = d.take(); next; next = d.take()) order.push(next.id);
    expect(order).toEqual(['c', 'e', 'd', 'a', 'b']);
  });

  it('runs several messages of one group (as real SQS returns them) one at a time, in order', () => {
    const d = new Dispatcher<ReturnType<typeof item>>();
    d.push(item('g1', 0, 'g'), item('x', 0), item('g2', 0, 'g'), item('g3', 0, 'g'));
    const first = d.take();
    expect(first?.id).toBe('g1');
    expect(d.take()?.id).toBe('x');
    expect(d.take()).toBeUndefined(); // g2 waits for g1
    d.done(first as ReturnType<typeof item>);
    const second = d.take();
    expect(second?.id).toBe('g2');
    expect(d.take()).toBeUndefined();
    d.done(second as ReturnType<typeof item>);
    expect(d.take()?.id).toBe('g3');
    expect(d.waiting).toBe(0);
  });

  it('drains what waits, leaving nothing', () => {
    const d = new Dispatcher<ReturnType<typeof item>>();
    d.push(item('a', 0), item('b', 1));
    expect(
      d
        .drain()
        .map((i) => i.id)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(d.take()).toBeUndefined();
    expect(d.waiting).toBe(0);
  });

  it('runs a resumed item (its retry is due) before the rest of its group', () => {
    const d = new Dispatcher<ReturnType<typeof item>>();
    d.push(item('g1', 0, 'g'), item('g2', 0, 'g'), item('x', 0));
    const failed = d.take() as ReturnType<typeof item>;
    expect(d.take()?.id).toBe('x');
    expect(d.take()).toBeUndefined(); // g2 waits while g1 waits for its retry
    d.resume(failed);
    expect(d.take()?.id).toBe('g1');
    expect(d.take()).toBeUndefined();
  });

  it('takes, with an item, those of its group behind it (a join folds them at once); the group is free once all are done', () => {
    type Item = ReturnType<typeof item>;
    const d = new Dispatcher<Item>();
    d.push(item('g1', 0, 'g'), item('a', 0), item('g2', 0, 'g'), item('g3', 0, 'g'), item('g4', 0, 'g'));
    const first = d.take() as Item;
    expect(d.takeFollowing(first, 2).map((i) => i.id)).toEqual(['g2', 'g3']);
    expect(d.waiting).toBe(2);
    expect(d.take()?.id).toBe('a');
    d.done(first);
    expect(d.take()).toBeUndefined(); // g2 and g3 still run
    d.done(item('g2', 0, 'g'));
    d.done(item('g3', 0, 'g'));
    const last = d.take() as Item;
    expect(last.id).toBe('g4');
    expect(d.takeFollowing(last, 10)).toEqual([]);
    // One refused stops the following (as take() holds back the rest of a group).
    d.done(last);
    d.push(item('h1', 0, 'h'), item('h2', 0, 'h'), item('h3', 0, 'h'));
    const h1 = d.take() as Item;
    expect(d.takeFollowing(h1, 10, (i) => i.id !== 'h2')).toEqual([]);
    expect(d.waiting).toBe(2);
  });

  it('takes the waiting items of one group, in order, leaving the others', () => {
    const d = new Dispatcher<ReturnType<typeof item>>();
    d.push(item('g1', 0, 'g'), item('a', 0), item('g2', 0, 'g'), item('g3', 1, 'g'), item('b', 1));
    expect(d.takeGroup('g').map((i) => i.id)).toEqual(['g1', 'g2', 'g3']);
    expect(d.waiting).toBe(2);
    expect([d.take()?.id, d.take()?.id, d.take()]).toEqual(['b', 'a', undefined]);
  });

  describe('at the start of a run', () => {
    it('holds back the levels below one not looked at yet, until it is seen', () => {
      const d = new Dispatcher<ReturnType<typeof item>>();
      d.expect([1, 2]);
      d.push(item('low', 0));
      expect(d.take()).toBeUndefined(); // levels 1 and 2 have not been looked at
      expect(d.seen(2)).toBe(true);
      expect(d.take()).toBeUndefined(); // level 1 still may bring something
      d.push(item('mid', 1)); // level 1's own items are not held back by level 1
      expect(d.take()?.id).toBe('mid');
      expect(d.seen(1)).toBe(true);
      expect(d.holding).toBe(false);
      expect(d.take()?.id).toBe('low');
      expect(d.seen(1)).toBe(false); // said once
    });

    it('takes a high backlog that came after a low one first', () => {
      const d = new Dispatcher<ReturnType<typeof item>>();
      d.expect([1]);
      d.push(item('l1', 0), item('l2', 0));
      d.push(item('h1', 1), item('h2', 1));
      d.seen(1);
      const order = [];
      for (let next = d.take(); next; next = d.take()) order.push(next.id);
      expect(order).toEqual(['h1', 'h2', 'l1', 'l2']);
    });

    it('stops holding back every level at once when the bound is over', () => {
      const d = new Dispatcher<ReturnType<typeof item>>();
      d.expect([1, 2]);
      d.push(item('low', 0));
      d.seeAll();
      expect(d.take()?.id).toBe('low');
    });
  });

  it('counts the items waiting at a level or above', () => {
    const d = new Dispatcher<ReturnType<typeof item>>();
    d.push(item('a', 0), item('b', 0), item('c', 1), item('d', 2));
    expect([d.waitingFrom(0), d.waitingFrom(1), d.waitingFrom(2), d.waitingFrom(3)]).toEqual([4, 2, 1, 0]);
  });
});
