import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/operator/errors.ts';
import {
  computeQueueArns,
  iamPolicy,
  parseStages,
  QUEUE_ACTIONS,
} from '../../src/cli/operator/iam-policy.ts';
import { ConfigError } from '../../src/errors.ts';

const scheme = { partition: 'aws', region: 'eu-west-1', account: '123456789012', domain: 'shop' };

describe('iamPolicy', () => {
  it('grants the queue actions on exactly the given ARNs, and ListQueues on *', () => {
    const arns = ['arn:aws:sqs:eu-west-1:123456789012:shop-a-p0.fifo'];
    const policy = iamPolicy(arns);
    expect(JSON.parse(JSON.stringify(policy))).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'SqspipesDomainQueues', Effect: 'Allow', Action: [...QUEUE_ACTIONS], Resource: arns },
        { Sid: 'SqspipesListQueues', Effect: 'Allow', Action: ['sqs:ListQueues'], Resource: '*' },
      ],
    });
  });

  it('names every action sqspipes uses, each once, and no wildcard', () => {
    expect(new Set(QUEUE_ACTIONS).size).toBe(QUEUE_ACTIONS.length);
    expect([...QUEUE_ACTIONS].sort()).toEqual(
      [
        'sqs:ChangeMessageVisibility',
        'sqs:CreateQueue',
        'sqs:DeleteMessage',
        'sqs:DeleteQueue',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ListQueueTags',
        'sqs:PurgeQueue',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'sqs:TagQueue',
      ].sort(),
    );
  });

  it('refuses an empty resource list', () => {
    expect(() => iamPolicy([])).toThrow(UsageError);
  });
});

describe('parseStages', () => {
  it('reads name[:priorities] with a default, and the stages with a dead-letter queue', () => {
    expect(parseStages('parse:4, fetch ,store', 2, 'store')).toEqual([
      { name: 'parse', priorities: 4, deadLetter: false },
      { name: 'fetch', priorities: 2, deadLetter: false },
      { name: 'store', priorities: 2, deadLetter: true },
    ]);
  });

  it.each([
    ['', 'at least one stage'],
    ['a:0', 'from 1 to 16'],
    ['a:17', 'from 1 to 16'],
    ['a:x', 'from 1 to 16'],
    ['a:1:2', 'stage name'],
    ['a.b', 'stage name'],
    ['a,a', 'named twice'],
  ])('rejects --stages %j', (stages, message) => {
    expect(() => parseStages(stages, 1)).toThrow(message);
  });

  it('rejects a dead-letter stage that is not in --stages', () => {
    expect(() => parseStages('a', 1, 'b')).toThrow('`b`, which is not in --stages');
  });
});

describe('computeQueueArns', () => {
  it('computes the ARNs of the naming scheme: every level, and the DLQ of stages with one', () => {
    expect(computeQueueArns(scheme, parseStages('parse:2,store', 1, 'store'))).toEqual([
      'arn:aws:sqs:eu-west-1:123456789012:shop-parse-p0.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:shop-parse-p1.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:shop-store-p0.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:shop-store-dlq.fifo',
    ]);
  });

  it('uses the partition', () => {
    const arns = computeQueueArns(
      { ...scheme, partition: 'aws-cn', region: 'cn-north-1' },
      parseStages('a', 1),
    );
    expect(arns).toEqual(['arn:aws-cn:sqs:cn-north-1:123456789012:shop-a-p0.fifo']);
  });

  it.each([
    [{ account: '1234' }, '12-digit'],
    [{ account: '12345678901x' }, '12-digit'],
    [{ partition: 'gcp' }, 'partition'],
    [{ region: 'Mars' }, 'region'],
  ])('rejects %j', (override, message) => {
    expect(() => computeQueueArns({ ...scheme, ...override }, parseStages('a', 1))).toThrow(message);
  });

  it("refuses a queue name over SQS's 80 characters", () => {
    expect(() => computeQueueArns(scheme, parseStages('s'.repeat(80), 1))).toThrow(ConfigError);
  });
});
