import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/operator/errors.ts';
import {
  computeQueueArns,
  iamPolicy,
  parseStages,
  QUEUE_ACTIONS,
  REPLY_QUEUE_ACTIONS,
  replyQueuesArn,
  schemeOfArn,
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

  it("adds a statement for the domain's reply queues when given their ARN pattern, after ListQueues", () => {
    const arns = ['arn:aws:sqs:eu-west-1:123456789012:shop-a-p0.fifo'];
    const replies = 'arn:aws:sqs:eu-west-1:123456789012:shop-reply-*';
    const policy = iamPolicy(arns, replies);
    expect(policy.Statement.map((s) => s.Sid)).toEqual([
      'SqspipesDomainQueues',
      'SqspipesListQueues',
      'SqspipesReplyQueues',
    ]);
    expect(JSON.parse(JSON.stringify(policy.Statement[2]))).toEqual({
      Sid: 'SqspipesReplyQueues',
      Effect: 'Allow',
      Action: [...REPLY_QUEUE_ACTIONS],
      Resource: replies,
    });
  });

  it('grants on reply queues what stage workers (reply) and senders (create, heartbeat, receive, clean up) do, each once', () => {
    expect(new Set(REPLY_QUEUE_ACTIONS).size).toBe(REPLY_QUEUE_ACTIONS.length);
    expect([...REPLY_QUEUE_ACTIONS].sort()).toEqual(
      [
        'sqs:SendMessage',
        'sqs:GetQueueUrl',
        'sqs:CreateQueue',
        'sqs:TagQueue',
        'sqs:ListQueueTags',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:DeleteQueue',
        'sqs:GetQueueAttributes',
      ].sort(),
    );
    expect(REPLY_QUEUE_ACTIONS).not.toContain('sqs:PurgeQueue');
    expect(REPLY_QUEUE_ACTIONS).not.toContain('sqs:ChangeMessageVisibility');
  });

  it("computes the reply queues' ARN pattern from the scheme, or from an existing queue's ARN", () => {
    expect(replyQueuesArn(scheme)).toBe('arn:aws:sqs:eu-west-1:123456789012:shop-reply-*');
    expect(replyQueuesArn(schemeOfArn('arn:aws-cn:sqs:cn-north-1:123456789012:shop-a-p0.fifo', 'shop'))).toBe(
      'arn:aws-cn:sqs:cn-north-1:123456789012:shop-reply-*',
    );
    // An emulator's ARN (ElasticMQ names its region `elasticmq`) is taken as it is.
    expect(replyQueuesArn(schemeOfArn('arn:aws:sqs:elasticmq:000000000000:shop-a-p0.fifo', 'shop'))).toBe(
      'arn:aws:sqs:elasticmq:000000000000:shop-reply-*',
    );
    expect(() => schemeOfArn('https://sqs.example/1/shop-a-p0.fifo', 'shop')).toThrow(UsageError);
  });

  it('refuses an empty resource list', () => {
    expect(() => iamPolicy([])).toThrow(UsageError);
  });
});

describe('parseStages', () => {
  it("reads the pipeline's stages in order, name[:priorities], leaving out the first (the source, which has no queues)", () => {
    expect(parseStages('gen, parse:4, fetch ,store', 2)).toEqual([
      { name: 'parse', priorities: 4, deadLetter: true },
      { name: 'fetch', priorities: 2, deadLetter: true },
      { name: 'store', priorities: 2, deadLetter: true },
    ]);
  });

  it('gives a dead-letter queue to the stages of --dlq-stages only, when given', () => {
    expect(parseStages('gen,parse,store', 1, 'store')).toEqual([
      { name: 'parse', priorities: 1, deadLetter: false },
      { name: 'store', priorities: 1, deadLetter: true },
    ]);
  });

  it.each([
    ['', '--stages must list the pipeline\'s stages in order, got ""'],
    ['gen', '(the source, which has no queues) included: got only "gen"'],
    ['gen:2,a', '--stages: the first stage "gen" is the source, which has no queues'],
    ['gen,a:0', '--stages: the priorities of "a" must be an integer from 1 to 16, got "0"'],
    ['gen,a:17', 'from 1 to 16'],
    ['gen,a:x', 'from 1 to 16'],
    ['gen,a:1:2', '--stages must list stage names'],
    ['gen,a.b', '--stages must list stage names'],
    ['gen,a,a', '--stages names "a" twice'],
    ['gen,gen', '--stages names "gen" twice'],
  ])('rejects --stages %j', (stages, message) => {
    expect(() => parseStages(stages, 1)).toThrow(message);
  });

  it('rejects a dead-letter stage that is not in --stages, or is the first', () => {
    expect(() => parseStages('gen,a', 1, 'b')).toThrow('--dlq-stages names "b", which is not in --stages');
    expect(() => parseStages('gen,a', 1, 'gen')).toThrow(
      '--dlq-stages names "gen", the first stage (the source), which has no dead-letter queue',
    );
  });
});

describe('computeQueueArns', () => {
  it('computes the ARNs of the naming scheme: every level, and the DLQ of stages with one', () => {
    expect(computeQueueArns(scheme, parseStages('gen,parse:2,store', 1, 'store'))).toEqual([
      'arn:aws:sqs:eu-west-1:123456789012:shop-parse-p0.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:shop-parse-p1.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:shop-store-p0.fifo',
      'arn:aws:sqs:eu-west-1:123456789012:shop-store-dlq.fifo',
    ]);
  });

  it('uses the partition', () => {
    const arns = computeQueueArns(
      { ...scheme, partition: 'aws-cn', region: 'cn-north-1' },
      parseStages('gen,a', 1),
    );
    expect(arns).toEqual([
      'arn:aws-cn:sqs:cn-north-1:123456789012:shop-a-p0.fifo',
      'arn:aws-cn:sqs:cn-north-1:123456789012:shop-a-dlq.fifo',
    ]);
  });

  it.each([
    [{ account: '1234' }, '--account must be a 12-digit AWS account id, got "1234"'],
    [{ account: '12345678901x' }, '12-digit'],
    [{ partition: 'gcp' }, '--partition must be an AWS partition'],
    [{ region: 'Mars' }, '--region must be an AWS region such as us-east-1, got "Mars"'],
  ])('rejects %j', (override, message) => {
    expect(() => computeQueueArns({ ...scheme, ...override }, parseStages('gen,a', 1))).toThrow(message);
  });

  it("refuses a queue name over SQS's 80 characters", () => {
    expect(() => computeQueueArns(scheme, parseStages(`gen,${'s'.repeat(80)}`, 1))).toThrow(ConfigError);
  });
});
