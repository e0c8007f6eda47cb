import { expect, it } from 'vitest';
import { RecentIds } from '../../src/worker/recent-ids.ts';

it('remembers the last ids added, forgetting the oldest first', () => {
  const ids = new RecentIds(2);
  ids.add('a');
  ids.add('b');
  ids.add('a'); // refreshed: now the newest
  ids.add('c');
  expect(['a', 'b', 'c'].map((id) => ids.has(id))).toEqual([true, false, true]);
});

it('keeps an id added again for as long as its newest addition', () => {
  const ids = new RecentIds(3);
  ids.add('a');
  ids.add('b');
  ids.add('a'); // 'a' twice among the last 3
  ids.add('c'); // forgets the first 'a': the second remains
  expect(['a', 'b', 'c'].map((id) => ids.has(id))).toEqual([true, true, true]);
  ids.add('d'); // forgets 'b'
  ids.add('e'); // forgets the second 'a'
  expect(['a', 'b', 'c', 'd', 'e'].map((id) => ids.has(id))).toEqual([false, false, true, true, true]);
});

it('remembers exactly the last `capacity` distinct additions through many turns', () => {
  const ids = new RecentIds(100);
  for (let i = 0; i < 10_000; i++) ids.add(`m${i}`);
  expect(ids.has('m9899')).toBe(false);
  expect(ids.has('m9900')).toBe(true);
  expect(ids.has('m9999')).toBe(true);
});
