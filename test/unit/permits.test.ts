import { type Message, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { Provisioner } from '../../src/queues/provisioner.ts';
import {
  checkPermitQueueNameFits,
  parsePermit,
  permitBody,
  permitQueueName,
  permitQueueSpec,
  RENEW_AFTER_MS,
  sortReceived,
} from '../../src/time/permit-queue.ts';
import { PermitPool, type PermitPoolInit } from '../../src/time/permits.ts';

const now = 1_800_000_000_000;

function message(id: string, body: string, sentAt = now - 1000): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: body,
    Attributes: { SentTimestamp: String(sentAt) },
  };
}

describe('the permit queue', () => {
  it('is named after the stage and kind, and refused past 80 characters', () => {
    expect(permitQueueName('shop', 'charge', 'rate')).toBe('shop-charge-rate.fifo');
    expect(permitQueueName('shop', 'charge', 'slots')).toBe('shop-charge-slots.fifo');
    expect(() => checkPermitQueueNameFits('d'.repeat(40), 's'.repeat(29), 'slots')).toThrow(
      /`maxConcurrency` permits\) is 81 characters, over SQS's limit of 80/,
    );
    expect(checkPermitQueueNameFits('d'.repeat(40), 's'.repeat(28), 'slots')).toHaveLength(80);
  });

  it('is a tagged FIFO queue kept 14 days, encrypted', () => {
    const spec = permitQueueSpec({ domain: 'shop', stage: 'charge', kind: 'slots', kmsKeyId: undefined });
    expect(spec.attributes).toMatchObject({
      FifoQueue: 'true',
      MessageRetentionPeriod: '1209600',
      SqsManagedSseEnabled: 'true',
    });
    expect(spec.tags).toEqual({
      'sqspipes:domain': 'shop',
      'sqspipes:stage': 'charge',
      'sqspipes:role': 'slots',
    });
    const kms = permitQueueSpec({ domain: 'shop', stage: 'charge', kind: 'rate', kmsKeyId: 'alias/k' });
    expect(kms.attributes).toMatchObject({ KmsMasterKeyId: 'alias/k' });
    expect(kms.attributes).not.toHaveProperty('SqsManagedSseEnabled');
  });

  it('carries `{"v":1,"permit":i}` and nothing else parses as a permit', () => {
    expect(permitBody(7)).toBe('{"v":1,"permit":7}');
    expect(parsePermit(permitBody(7))).toBe(7);
    for (const body of [
      undefined,
      '',
      'x',
      '{"v":2,"permit":1}',
      '{"v":1,"permit":-1}',
      '{"v":1,"permit":1.5}',
      '3',
    ])
      expect(parsePermit(body)).toBeUndefined();
  });
});

describe('sorting a receive', () => {
  it('uses one copy per permit (the newest), and deletes the others, strangers and permits past the limit', () => {
    const sorted = sortReceived(
      [
        message('a', permitBody(0), now - 5000),
        message('b', permitBody(0), now - 2000),
        message('c', permitBody(1)),
        message('d', permitBody(3)), // the limit was lowered to 3
        message('e', 'not a permit'),
        message('f', permitBody(0), now - 9000),
      ],
      3,
      now,
    );
    expect(sorted.use.map((p) => [p.index, p.message.MessageId])).toEqual([
      [0, 'b'],
      [1, 'c'],
    ]);
    expect(sorted.remove.map((m) => m.MessageId).toSorted()).toEqual(['a', 'd', 'e', 'f']);
    expect(sorted.renew).toEqual([]);
  });

  it('renews a permit older than 7 days instead of using it', () => {
    const sorted = sortReceived([message('old', permitBody(2), now - RENEW_AFTER_MS - 1)], 5, now);
    expect(sorted.use).toEqual([]);
    expect(sorted.renew.map((p) => [p.index, p.sentAt])).toEqual([[2, now - RENEW_AFTER_MS - 1]]);
  });
});

describe('PermitPool options', () => {
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
  const base = {
    sqs,
    provisioner: new Provisioner(sqs),
    domain: 'shop',
    stage: 'charge',
    kmsKeyId: undefined,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
  const make = (init: Partial<PermitPoolInit>) => () =>
    new PermitPool({ ...base, kind: 'rate', limit: 1, ...init });

  it('are checked at construction, naming the option and the value', () => {
    expect(make({ limit: 0, perMs: 1000 })).toThrow(
      'Expected `limit` of the rateLimit of stage `charge` to be an integer from 1 to 10000, got `0` (number)',
    );
    expect(make({ perMs: 1500 })).toThrow(ConfigError);
    expect(make({ perMs: 1500 })).toThrow(/`per` of the rateLimit of stage `charge` to be whole seconds/);
    expect(make({ perMs: 500 })).toThrow(ConfigError);
    expect(make({})).toThrow(ConfigError); // a rate needs its period
    expect(make({ kind: 'slots', leaseSeconds: 2 })).toThrow(/`leaseSeconds` of the maxConcurrency/);
    expect(make({ perMs: 43_200_000 })()).toBeInstanceOf(PermitPool);
    expect(make({ kind: 'slots', limit: 10 })().name).toBe('shop-charge-slots.fifo');
  });

  it('refuses acquire after close, and a pause of a negative duration', async () => {
    const pool = make({ perMs: 1000 })();
    expect(() => pool.pause(-1)).toThrow(ConfigError);
    await pool.close();
    await expect(pool.acquire(new AbortController().signal)).rejects.toThrow('is closed');
    expect(pool.stats()).toEqual({ limit: 1, held: 0, waiting: 0, acquired: 0 });
  });
});
