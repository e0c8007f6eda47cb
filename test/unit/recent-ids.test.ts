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
