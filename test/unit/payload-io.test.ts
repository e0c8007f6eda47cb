import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  lifecycleFix,
  markUnreadable,
  PayloadIo,
  payloadErrorOf,
  unreadPointerAttributes,
} from '../../src/payloads/payload-io.ts';
import { encodePointer } from '../../src/payloads/pointer.ts';
import type { PayloadStore } from '../../src/payloads/store.ts';

// offloads() and the helpers never touch the store.
const io = new PayloadIo({} as PayloadStore, { prefix: 'p/', domain: 'd' }, 1024);

describe('PayloadIo.offloads: by UTF-8 bytes, attributes included', () => {
  it('keeps a body of the threshold, stores one byte more', () => {
    expect(io.offloads('x'.repeat(1024))).toBe(false);
    expect(io.offloads('x'.repeat(1025))).toBe(true);
  });

  it('counts multi-byte characters as their bytes', () => {
    expect(io.offloads('é'.repeat(512))).toBe(false); // 1024 bytes
    expect(io.offloads('é'.repeat(513))).toBe(true);
  });

  it('leaves room for the message attributes', () => {
    expect(io.offloads('x'.repeat(1000), 24)).toBe(false);
    expect(io.offloads('x'.repeat(1000), 25)).toBe(true);
  });
});

describe('a pointer that could not be read', () => {
  it('keeps its pointer attributes for a copy; a message read normally has none to keep', () => {
    const pointer = encodePointer('b', 'k', 10);
    const message: Message = {
      Body: pointer.body,
      MessageAttributes: { ...pointer.attributes, other: { DataType: 'String', StringValue: 'x' } },
    };
    expect(unreadPointerAttributes(message)).toBeUndefined();
    markUnreadable(message);
    expect(payloadErrorOf(message)).toBeInstanceOf(Error);
    expect((payloadErrorOf(message) as Error).message).toMatch(/no `payloads` option/);
    expect(unreadPointerAttributes(message)).toEqual(pointer.attributes);
  });
});

describe('lifecycleFix', () => {
  it('names the prefix in use, which --install-lifecycle needs; without one, says to give one', () => {
    expect(lifecycleFix('b', 'sqspipes/')).toBe(
      '`sqspipes payloads --bucket b --prefix sqspipes/ --install-lifecycle` installs one',
    );
    expect(lifecycleFix('b', '')).toMatch(/^give `payloads` a `prefix`/);
  });
});
