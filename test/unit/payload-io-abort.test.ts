/**
 * PayloadIo under a caller's signal: an aborted read marks nothing unreadable, and the bucket check
 * of several runs is abandoned only once every one of them gave up.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { PayloadIo, payloadErrorOf, storedBytesOf } from '../../src/payloads/payload-io.ts';
import { encodePointer } from '../../src/payloads/pointer.ts';
import type { PayloadStore } from '../../src/payloads/store.ts';
import type { Logger } from '../../src/types.ts';

const noop = () => {};
const logger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Rejects with the signal's reason once it aborts; never resolves otherwise. */
function hang(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

function pointerMessage(key: string, size: number): Message {
  const pointer = encodePointer('b', key, size);
  return { Body: pointer.body, MessageAttributes: pointer.attributes };
}

describe('PayloadIo.resolve with a signal', () => {
  it('rejects when aborted, and marks no message unreadable', async () => {
    const gets: AbortSignal[] = [];
    const store = {
      get: (_bucket: string, key: string, signal?: AbortSignal) => {
        if (key === 'quick') return Promise.resolve('quick body');
        if (signal !== undefined) gets.push(signal);
        return hang(signal);
      },
    } as unknown as PayloadStore;
    const io = new PayloadIo(store, { prefix: 'p/', domain: 'd' }, 1024);
    const quick = pointerMessage('quick', 10);
    const slow = pointerMessage('slow', 3000);
    const stop = new AbortController();
    const resolving = io.resolve([quick, slow], stop.signal);
    await Promise.resolve();
    expect(gets).toHaveLength(1);
    stop.abort();
    await expect(resolving).rejects.toThrow(/abort/i);
    expect(payloadErrorOf(slow)).toBeUndefined();
    expect(payloadErrorOf(quick)).toBeUndefined();
    expect(storedBytesOf(quick)).toBe(10); // the pointer's size attribute
    expect(storedBytesOf(slow)).toBe(0);
  });

  it('still records a read that failed by itself', async () => {
    const store = { get: () => Promise.reject(new Error('gone')) } as unknown as PayloadStore;
    const io = new PayloadIo(store, { prefix: 'p/', domain: 'd' }, 1024);
    const message = pointerMessage('k', 10);
    await io.resolve([message], new AbortController().signal);
    expect(payloadErrorOf(message)).toEqual(new Error('gone'));
  });
});

describe('PayloadIo.ready with a signal', () => {
  function checkingStore() {
    const checks: AbortSignal[] = [];
    let pass: (() => void) | undefined;
    const store = {
      bucket: 'b',
      prefix: 'p/',
      check: (_access: unknown, signal: AbortSignal) => {
        checks.push(signal);
        return new Promise<void>((resolve, reject) => {
          pass = resolve;
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        });
      },
      lifecycle: () => Promise.resolve({ state: 'ok', description: '' }),
    } as unknown as PayloadStore;
    return { store, checks, pass: () => pass?.() };
  }

  it('abandons the check once every run waiting for it gave up, and checks again for the next', async () => {
    const { store, checks } = checkingStore();
    const io = new PayloadIo(store, { prefix: 'p/', domain: 'd' }, 1024);
    const first = new AbortController();
    const second = new AbortController();
    const a = io.ready(logger, first.signal);
    const b = io.ready(logger, second.signal);
    expect(checks).toHaveLength(1);
    first.abort();
    await expect(a).rejects.toThrow(/abort/i);
    expect(checks[0]?.aborted).toBe(false); // the second run still waits for it
    second.abort();
    await expect(b).rejects.toThrow(/abort/i);
    expect(checks[0]?.aborted).toBe(true);
    await Promise.resolve();
    const again = io.ready(logger, new AbortController().signal);
    expect(checks).toHaveLength(2);
    again.catch(noop);
  });

  it('resolves every run once the check passes', async () => {
    const { store, checks, pass } = checkingStore();
    const io = new PayloadIo(store, { prefix: 'p/', domain: 'd' }, 1024);
    const a = io.ready(logger, new AbortController().signal);
    const b = io.ready(logger);
    pass();
    await Promise.all([a, b]);
    await io.ready(logger, new AbortController().signal); // checked once
    expect(checks).toHaveLength(1);
  });
});
