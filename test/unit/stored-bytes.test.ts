import { describe, expect, it } from 'vitest';
import { Capacity } from '../../src/worker/capacity.ts';
import { StoredBytes } from '../../src/worker/stored-bytes.ts';

const MiB = 1024 * 1024;
const never = new AbortController().signal;

describe('StoredBytes', () => {
  it('does not limit a receive before any stored body was seen', () => {
    const bytes = new StoredBytes(64 * MiB, 1);
    expect(bytes.room(10)).toBe(Number.POSITIVE_INFINITY);
    bytes.hold(0); // a body that came in the message
    expect(bytes.room(10)).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives a receive room for what the budget leaves, at the size of the bodies seen', () => {
    const bytes = new StoredBytes(30 * MiB, 1);
    for (let i = 0; i < 4; i++) bytes.hold(3 * MiB);
    expect(bytes.inHand).toBe(12 * MiB);
    expect(bytes.room(0)).toBe(6); // 18 MiB left: six bodies of 3 MiB
    expect(bytes.room(4)).toBe(2); // four more places in flight may bring 12 MiB of it
    expect(bytes.room(6)).toBe(0);
  });

  it('closes at the budget and opens again as deliveries end', () => {
    const bytes = new StoredBytes(9 * MiB, 1);
    for (let i = 0; i < 3; i++) bytes.hold(3 * MiB);
    expect(bytes.room(0)).toBe(0);
    bytes.release(3 * MiB);
    expect(bytes.room(0)).toBe(1);
    bytes.release(6 * MiB);
    expect(bytes.room(0)).toBe(3);
    expect(bytes.peak).toBe(9 * MiB);
  });

  it('lets bodies larger than the whole budget in, two per worker slot', () => {
    const bytes = new StoredBytes(8 * MiB, 1);
    bytes.hold(20 * MiB);
    expect(bytes.room(0)).toBe(1);
    expect(bytes.room(1)).toBe(0); // not while a receive of one is in flight
    bytes.hold(20 * MiB);
    expect(bytes.room(0)).toBe(0);
    bytes.release(40 * MiB);
    expect(bytes.room(0)).toBe(2);
  });

  it('never holds fewer than two bodies per worker slot', () => {
    const bytes = new StoredBytes(8 * MiB, 16);
    bytes.hold(10 * MiB);
    expect(bytes.budget).toBe(320 * MiB);
    expect(bytes.room(0)).toBe(31);
  });

  it('follows the size of what comes lately', () => {
    const bytes = new StoredBytes(64 * MiB, 1);
    bytes.hold(4 * MiB);
    expect(bytes.perMessage).toBe(4 * MiB);
    for (let i = 0; i < 20; i++) bytes.hold(0);
    expect(bytes.perMessage).toBeLessThan(0.1 * MiB);
    expect(bytes.inHand).toBe(4 * MiB);
  });
});

describe('Capacity with stored bytes', () => {
  it('grants no more places than the bytes leave room for', async () => {
    const bytes = new StoredBytes(30 * MiB, 1);
    const c = new Capacity(100, undefined, bytes);
    expect(await c.reserve(0, 1, 10, never)).toBe(10); // nothing seen yet
    for (let i = 0; i < 8; i++) c.hold(3 * MiB);
    c.received(10, 8); // 24 MiB held: room for two more
    expect(await c.reserve(0, 1, 10, never)).toBe(2);
  });

  it('holds a receiver while the budget is reached, and lets it in as bytes are released', async () => {
    const bytes = new StoredBytes(9 * MiB, 1);
    const c = new Capacity(100, undefined, bytes);
    await c.reserve(0, 1, 3, never);
    for (let i = 0; i < 3; i++) c.hold(3 * MiB);
    c.received(3, 3);
    let granted: number | undefined;
    const waiting = c.reserve(0, 1, 10, never).then((n) => (granted = n));
    await Promise.resolve();
    expect(granted).toBeUndefined();
    c.release(1, 0); // a place alone frees no bytes
    await Promise.resolve();
    expect(granted).toBeUndefined();
    c.release(1, 3 * MiB);
    await waiting;
    expect(granted).toBe(1);
  });

  it('counts places in flight against the bytes (lanes do not all start at once)', async () => {
    const bytes = new StoredBytes(30 * MiB, 1);
    const c = new Capacity(100, undefined, bytes);
    await c.reserve(0, 1, 1, never);
    c.hold(3 * MiB);
    c.received(1, 1);
    expect(await c.reserve(0, 1, 10, never)).toBe(9); // 27 MiB free
    let granted: number | undefined;
    const second = c.reserve(0, 1, 10, never).then((n) => (granted = n));
    await Promise.resolve();
    expect(granted).toBeUndefined(); // the first receive's nine places may bring the rest
    c.received(9, 0); // it found nothing
    await second;
    expect(granted).toBe(9);
  });
});
