import { describe, expect, it } from 'vitest';
import { attributeDrift, attributeUpdate, isMutable } from '../../src/queues/attribute-drift.ts';

const policy = (count: number | string) =>
  JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:1:d-s-dlq.fifo', maxReceiveCount: count });

describe('attributeDrift', () => {
  it('finds nothing when the queue has what is wanted, a redrive policy compared as JSON', () => {
    const wanted = { FifoQueue: 'true', RedrivePolicy: policy(12), SqsManagedSseEnabled: 'true' };
    const actual = { FifoQueue: 'true', RedrivePolicy: policy('12'), SqsManagedSseEnabled: 'TRUE' };
    expect(attributeDrift(wanted, actual)).toEqual({ mutable: [], immutable: [] });
  });

  it('sorts differences into those SetQueueAttributes can change and those it cannot', () => {
    const wanted = { FifoQueue: 'true', RedrivePolicy: policy(15), MessageRetentionPeriod: '1209600' };
    const actual = { FifoQueue: 'false', RedrivePolicy: policy(12), MessageRetentionPeriod: '345600' };
    expect(attributeDrift(wanted, actual)).toEqual({
      mutable: [
        { name: 'RedrivePolicy', wanted: policy(15), actual: policy(12) },
        { name: 'MessageRetentionPeriod', wanted: '1209600', actual: '345600' },
      ],
      immutable: [{ name: 'FifoQueue', wanted: 'true', actual: 'false' }],
    });
  });

  it('takes an attribute the server does not report for no difference', () => {
    expect(attributeDrift({ DeduplicationScope: 'messageGroup' }, {})).toEqual({
      mutable: [],
      immutable: [],
    });
  });

  it('sees a KMS key wanted on a queue with SQS-managed encryption', () => {
    expect(attributeDrift({ KmsMasterKeyId: 'alias/k' }, { SqsManagedSseEnabled: 'true' })).toEqual({
      mutable: [{ name: 'KmsMasterKeyId', wanted: 'alias/k', actual: undefined }],
      immutable: [],
    });
  });

  it('knows the mutable attributes', () => {
    for (const name of ['RedrivePolicy', 'VisibilityTimeout', 'KmsMasterKeyId', 'FifoThroughputLimit'])
      expect(isMutable(name)).toBe(true);
    expect(isMutable('FifoQueue')).toBe(false);
  });
});

describe('attributeUpdate', () => {
  it('sends the wanted values', () => {
    const changes = [{ name: 'RedrivePolicy', wanted: policy(15), actual: policy(12) }];
    expect(attributeUpdate(changes, {})).toEqual({ RedrivePolicy: policy(15) });
  });

  it('turns SQS-managed encryption off when the queue moves to a KMS key', () => {
    const changes = [{ name: 'KmsMasterKeyId', wanted: 'alias/k', actual: undefined }];
    expect(attributeUpdate(changes, { SqsManagedSseEnabled: 'true' })).toEqual({
      KmsMasterKeyId: 'alias/k',
      SqsManagedSseEnabled: 'false',
    });
  });
});
