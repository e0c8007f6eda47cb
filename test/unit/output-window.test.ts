import { expect, it } from 'vitest';
import { OutputWindow } from '../../src/worker/output-window.ts';

it('admits outputs up to its count, then one for each done, in order', async () => {
  const window = new OutputWindow(2, 1000);
  expect(window.admit(1)).toBeUndefined();
  expect(window.admit(1)).toBeUndefined();
  const order: string[] = [];
  const third = window.admit(1)?.then(() => order.push('third'));
  const fourth = window.admit(1)?.then(() => order.push('fourth'));
  window.done(1);
  await third;
  expect(order).toEqual(['third']);
  window.done(1);
  await fourth;
  expect(order).toEqual(['third', 'fourth']);
});

it('bounds the bytes in flight: large outputs wait for room, one larger than the window passes alone', async () => {
  // 100 000 outputs of 10 KB: 1000 of them in flight held 10 MB of bodies plus their SDK copies.
  const window = new OutputWindow(1000, 25);
  expect(window.admit(10)).toBeUndefined();
  expect(window.admit(10)).toBeUndefined();
  let third = false;
  const waiting = window.admit(10)?.then(() => (third = true));
  expect(waiting).toBeDefined();
  expect(window.open).toBe(2);
  window.done(10);
  await waiting;
  expect(third).toBe(true);
  window.done(10);
  window.done(10);
  expect(window.open).toBe(0);
  expect(window.admit(100)).toBeUndefined(); // alone: larger than the window, still passes
  let next = false;
  const after = window.admit(1)?.then(() => (next = true));
  expect(next).toBe(false);
  window.done(100);
  await after;
  expect(next).toBe(true);
});
