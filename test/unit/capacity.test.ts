import { describe, expect, it } from 'vitest';
import { Capacity } from '../../src/worker/capacity.ts';

const never = new AbortController().signal;

describe('Capacity', () => {
  it('grants up to max at once when room is free', async () => {
    const c = new Capacity(12);
    expect(await c.reserve(0, 1, 10, never)).toBe(10);
    expect(await c.reserve(0, 1, 10, never)).toBe(2);
    expect(c.used).toBe(12);
  });

  it('lets the highest waiting level in first when room frees', async () => {
    const c = new Capacity(2);
    await c.reserve(0, 1, 2, never);
    const order: number[] = [];
    const low = c.reserve(0, 1, 1, never).then(() => order.push(0));
    const high = c.reserve(3, 1, 1, never).then(() => order.push(3));
    c.release(1);
    c.release(1);
    await Promise.all([low, high]);
    expect(order).toEqual([3, 0]);
  });

  it('holds a receiver that needs a full batch until that much is free, letting small ones pass', async () => {
    const c = new Capacity(12);
    await c.reserve(0, 1, 12, never);
    let full = 0;
    const big = c.reserve(2, 10, 10, never).then((n) => (full = n));
    const small = c.reserve(1, 1, 1, never);
    c.release(1);
    expect(await small).toBe(1);
    expect(full).toBe(0);
    c.release(10);
    await big;
    expect(full).toBe(10);
  });

  it('resolves 0 when aborted while waiting', async () => {
    const c = new Capacity(1);
    await c.reserve(0, 1, 1, never);
    const stop = new AbortController();
    const waiting = c.reserve(0, 1, 1, stop.signal);
    stop.abort();
    expect(await waiting).toBe(0);
  });

  it('never grants more than the quota (a run near its limit prefetches no more than it will start)', async () => {
    let quota = 3;
    const c = new Capacity(20, () => quota);
    expect(await c.reserve(0, 10, 10, never)).toBe(3);
    quota = 0; // the receive brought 3: they wait for a worker
    c.received(3, 3);
    const stop = new AbortController();
    let granted: number | undefined;
    const waiting = c.reserve(0, 1, 10, stop.signal).then((n) => (granted = n));
    c.release(3);
    await Promise.resolve();
    expect(granted).toBeUndefined(); // room, but no quota
    quota = 2;
    c.release(0);
    expect(await waiting).toBe(2);
  });

  // Regression: each receive lane was granted up to the whole quota, so a run with `limit` 15 and
  // 8 lanes asked SQS for 80 messages and handed 65 back, each one more receive toward the DLQ.
  it('asks for no more than the quota leaves after the receives in flight (but one)', async () => {
    let quota = 15; // limit 15: nothing started or waiting yet
    const c = new Capacity(100, () => quota);
    expect(await c.reserve(0, 1, 10, never)).toBe(10);
    expect(await c.reserve(0, 1, 10, never)).toBe(5); // 10 may still come from the first
    expect(await c.reserve(1, 1, 10, never)).toBe(1); // never held up: one, handed back if extra
    quota = 11; // the first receive brought 4, which wait for a worker
    c.received(10, 4);
    expect(await c.reserve(0, 1, 10, never)).toBe(5); // 11 - the 6 still on their way
  });
});
