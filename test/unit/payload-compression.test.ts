/**
 * Compressed bodies (`payloads.compress`, src/payloads/compression.ts): what is compressed, what
 * is not, decoding and its errors, and how PayloadIo chooses between compressing, storing in S3
 * and sending as it is.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  BROTLI_BASE64,
  compressBody,
  decodeBody,
  ENCODING_ATTRIBUTE,
  EncodedBodyError,
  worthCompressing,
} from '../../src/payloads/compression.ts';
import { resolvePayloadOptions } from '../../src/payloads/options.ts';
import {
  decodeReceived,
  PayloadIo,
  payloadErrorOf,
  type PayloadMessage,
} from '../../src/payloads/payload-io.ts';
import type { PayloadStore } from '../../src/payloads/store.ts';

const KiB = 1024;
/** JSON records, as an order batch: about a fifth once compressed and base64'd. */
const records = (count: number) =>
  JSON.stringify(Array.from({ length: count }, (_, i) => ({ id: `order-${i}`, total: (i * 7.31) % 500 })));
/** Base64 of random bytes (an image): no smaller compressed. */
const image = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');

const received = (body: string, encoding: string): Message => ({
  Body: body,
  MessageAttributes: { [ENCODING_ATTRIBUTE]: { DataType: 'String', StringValue: encoding } },
});

describe('compressed bodies', () => {
  it('compresses what shrinks by a tenth, and decodes it back', async () => {
    const body = records(5000);
    const bytes = Buffer.byteLength(body);
    const packed = await compressBody(body, bytes);
    expect(packed?.attributes).toEqual({
      [ENCODING_ATTRIBUTE]: { DataType: 'String', StringValue: BROTLI_BASE64 },
    });
    expect(packed?.body.length).toBeLessThan(bytes * 0.35);
    expect(await decodeBody(received(packed?.body ?? '', BROTLI_BASE64))).toBe(body);
    expect(await compressBody(image(200 * KiB), 200 * KiB)).toBeUndefined();
  });

  it('tries only bodies big enough to save a chunk and small enough to fit once compressed', () => {
    expect(worthCompressing(8 * KiB - 1, 384 * KiB)).toBe(false);
    expect(worthCompressing(8 * KiB, 384 * KiB)).toBe(true);
    expect(worthCompressing(2 * 1024 * KiB, 384 * KiB)).toBe(true);
    expect(worthCompressing(3 * 1024 * KiB, 384 * KiB)).toBe(false); // S3 anyway
  });

  it('refuses an encoding it does not know, and a body that is not what it says', async () => {
    await expect(decodeBody(received('abc', 'zstd-base64'))).rejects.toThrow(
      new EncodedBodyError(
        `its body is encoded as "zstd-base64" (attribute ${ENCODING_ATTRIBUTE}), which this version of sqspipes cannot decode`,
      ),
    );
    await expect(decodeBody(received('bm90IGJyb3RsaQ==', BROTLI_BASE64))).rejects.toThrow(
      /its compressed body \(sqspipes-encoding: br-base64\) could not be decoded/,
    );
    // In place on receive: a body that cannot be decoded keeps its body and says why.
    const bad = received('bm90IGJyb3RsaQ==', BROTLI_BASE64);
    const plain: Message = { Body: 'as sent' };
    await decodeReceived([bad, plain]);
    expect(bad.Body).toBe('bm90IGJyb3RsaQ==');
    expect(payloadErrorOf(bad)).toBeInstanceOf(EncodedBodyError);
    expect(plain.Body).toBe('as sent');
  });

  describe('PayloadIo.prepare', () => {
    const puts: string[] = [];
    const store = {
      bucket: 'bkt',
      put: async (key: string) => void puts.push(key),
    } as unknown as PayloadStore;
    const layout = { prefix: 'p/', domain: 'd' };
    const message = (body: string): PayloadMessage => ({ body, deduplicationId: `dedup-${body.length}` });

    it('compresses under the threshold, else stores the body as it is in S3', async () => {
      const io = new PayloadIo(store, layout, 384 * KiB, true);
      const json = records(20_000); // about 600 KiB: compressed well under 384 KiB
      expect(io.transforms(json)).toBe(true);
      const small = await io.prepare('q.fifo', message(json), 0);
      expect(small.messageAttributes?.[ENCODING_ATTRIBUTE]?.StringValue).toBe(BROTLI_BASE64);
      expect(puts).toEqual([]);
      const noise = image(600 * KiB); // does not compress: to S3, not compressed
      const stored = await io.prepare('q.fifo', message(noise), 0);
      expect(stored.messageAttributes?.['ExtendedPayloadSize']?.StringValue).toBe(String(noise.length));
      expect(stored.messageAttributes?.[ENCODING_ATTRIBUTE]).toBeUndefined();
      expect(puts).toHaveLength(1);
      // Small bodies, and every body without `compress`, go as they are.
      expect(io.transforms('x'.repeat(4 * KiB))).toBe(false);
      expect(new PayloadIo(store, layout, 384 * KiB).transforms(json)).toBe(true); // over: to S3
      expect(new PayloadIo(store, layout, 384 * KiB).transforms(records(1000))).toBe(false);
    });
  });

  it('is an option of payloads, off by default, checked', () => {
    expect(resolvePayloadOptions({ bucket: 'my-bucket' })?.compress).toBe(false);
    expect(resolvePayloadOptions({ bucket: 'my-bucket', compress: true })?.compress).toBe(true);
    expect(() => resolvePayloadOptions({ bucket: 'my-bucket', compress: 'br' })).toThrow(
      /`payloads.compress`/,
    );
  });
});
