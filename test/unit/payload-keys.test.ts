import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeleteBatcher, MAX_KEYS_PER_DELETE } from '../../src/payloads/delete-batcher.ts';
import { payloadStatements } from '../../src/payloads/iam.ts';
import {
  domainPrefix,
  joinPrefix,
  joinStateKey,
  keyFor,
  kindPrefix,
  MAX_KEY_BYTES,
  payloadKey,
} from '../../src/payloads/keys.ts';

const layout = { prefix: 'sqspipes/', domain: 'shop' };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('payload keys', () => {
  it('is <prefix><domain>/payload/<sha256 of queue NUL deduplication id>', () => {
    const key = payloadKey(layout, 'shop-parse-0.fifo', 'abc123');
    expect(key).toBe(`sqspipes/shop/payload/${sha256('shop-parse-0.fifo\0abc123')}`);
    expect(key).toMatch(/^sqspipes\/shop\/payload\/[0-9a-f]{64}$/);
  });

  it('is deterministic per message and differs between messages and queues', () => {
    expect(payloadKey(layout, 'q.fifo', 'd1')).toBe(payloadKey(layout, 'q.fifo', 'd1'));
    expect(payloadKey(layout, 'q.fifo', 'd1')).not.toBe(payloadKey(layout, 'q.fifo', 'd2'));
    expect(payloadKey(layout, 'q.fifo', 'd1')).not.toBe(payloadKey(layout, 'r.fifo', 'd1'));
    // The separator keeps a shifted boundary from colliding.
    expect(payloadKey(layout, 'ab', 'c')).not.toBe(payloadKey(layout, 'a', 'bc'));
  });

  it('gives the join its own kind, and works with an empty prefix', () => {
    expect(keyFor(layout, 'join', 'x', 'y')).toBe(`sqspipes/shop/join/${sha256('x\0y')}`);
    expect(keyFor({ prefix: '', domain: 'd' }, 'payload', 'q', 'i')).toBe(`d/payload/${sha256('q\0i')}`);
    expect(kindPrefix(layout, 'join')).toBe('sqspipes/shop/join/');
    // A join stage's states under a prefix of their own: a listing counts its pending items.
    expect(joinPrefix(layout, 'total')).toBe('sqspipes/shop/join/total/');
    expect(joinStateKey(layout, 'total', 'total:X')).toBe(`sqspipes/shop/join/total/${sha256('total:X')}`);
    expect(domainPrefix(layout)).toBe('sqspipes/shop/');
  });

  it('refuses no parts, parts with NUL, and keys over 1024 bytes', () => {
    expect(() => keyFor(layout, 'join')).toThrow(TypeError);
    expect(() => keyFor(layout, 'join', 'a\0b')).toThrow(TypeError);
    const long = { prefix: `${'é'.repeat(480)}/`, domain: 'shop' };
    expect(() => keyFor(long, 'payload', 'q', 'd')).toThrow(RangeError);
    const longest = { prefix: `${'a'.repeat(511)}/`, domain: 'd'.repeat(80) };
    expect(Buffer.byteLength(keyFor(longest, 'payload', 'q', 'd'))).toBeLessThanOrEqual(MAX_KEY_BYTES);
  });
});

describe('payload deletes, batched', () => {
  it('sends 1000 keys of a bucket at once, the rest on flush, per bucket, each key once', async () => {
    const calls: { bucket: string; keys: readonly string[] }[] = [];
    const batcher = new DeleteBatcher(async (bucket, keys) => {
      calls.push({ bucket, keys });
    }, 3_600_000);
    for (let i = 0; i < MAX_KEYS_PER_DELETE + 5; i++) batcher.add('a', `k${i}`);
    batcher.add('a', 'k1001'); // again: one key
    batcher.add('b', 'x');
    expect(calls.map((c) => [c.bucket, c.keys.length])).toEqual([['a', 1000]]);
    expect(batcher.pending).toBe(6);
    await batcher.flush();
    expect(calls.map((c) => [c.bucket, c.keys.length])).toEqual([
      ['a', 1000],
      ['a', 5],
      ['b', 1],
    ]);
    expect(batcher.pending).toBe(0);
  });

  it('sends after the delay without a flush, and flush waits for calls in flight', async () => {
    let release: () => void = () => {};
    let delivered: (keys: readonly string[]) => void = () => {};
    const sent = new Promise<readonly string[]>((resolve) => (delivered = resolve));
    const batcher = new DeleteBatcher(async (_bucket, keys) => {
      delivered(keys);
      await new Promise<void>((resolve) => (release = resolve));
    }, 0);
    batcher.add('a', 'k');
    expect(await sent).toEqual(['k']);
    let flushed = false;
    const flush = batcher.flush().then(() => (flushed = true));
    await Promise.resolve();
    expect(flushed).toBe(false);
    release();
    await flush;
    expect(flushed).toBe(true);
  });

  it('keeps a rejecting send from escaping', async () => {
    const batcher = new DeleteBatcher(() => Promise.reject(new Error('boom')), 3_600_000);
    batcher.add('a', 'k');
    await expect(batcher.flush()).resolves.toBeUndefined();
  });
});

describe('payload IAM statements', () => {
  const request = { bucket: 'bkt', prefix: 'sqspipes/' };
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234';

  it('producer: writes only', () => {
    expect(payloadStatements('producer', request)).toEqual([
      {
        Sid: 'SqspipesPayloadObjects',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: 'arn:aws:s3:::bkt/sqspipes/*',
      },
    ]);
  });

  it('stage: read, write, delete, list, read the lifecycle; a producer reading replies: all but delete', () => {
    const expected = [
      {
        Sid: 'SqspipesPayloadObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: 'arn:aws:s3:::bkt/sqspipes/*',
      },
      {
        Sid: 'SqspipesPayloadBucket',
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetLifecycleConfiguration'],
        Resource: 'arn:aws:s3:::bkt',
      },
    ];
    expect(payloadStatements('stage', request)).toEqual(expected);
    // A producer deletes nothing itself: its deletes go through the queue of pending deletes.
    const producer = payloadStatements('producer', { ...request, readsReplies: true });
    expect(producer).toEqual([{ ...expected[0], Action: ['s3:GetObject', 's3:PutObject'] }, expected[1]]);
  });

  it('operator: also installs the lifecycle rule', () => {
    expect(payloadStatements('operator', request)[1]?.Action).toEqual([
      's3:ListBucket',
      's3:GetLifecycleConfiguration',
      's3:PutLifecycleConfiguration',
    ]);
  });

  it('KMS: GenerateDataKey to write, Decrypt to read; partition and empty prefix', () => {
    expect(payloadStatements('producer', { ...request, kmsKey: KEY }).at(-1)).toEqual({
      Sid: 'SqspipesPayloadKmsKey',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey'],
      Resource: KEY,
    });
    expect(payloadStatements('stage', { ...request, kmsKey: KEY }).at(-1)?.Action).toEqual([
      'kms:GenerateDataKey',
      'kms:Decrypt',
    ]);
    const cn = payloadStatements('stage', { bucket: 'bkt', prefix: '', partition: 'aws-cn' });
    expect(cn.map((s) => s.Resource)).toEqual(['arn:aws-cn:s3:::bkt/*', 'arn:aws-cn:s3:::bkt']);
  });
});
