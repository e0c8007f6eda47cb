import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/operator/errors.ts';
import {
  checkScheme,
  parsePipeline,
  parseStages,
  replyQueuesArn,
  schemeOfArn,
  stageQueueArns,
} from '../../src/cli/operator/iam-policy.ts';
import { type IamPolicy, type RoleRequest, rolePolicy } from '../../src/cli/operator/iam-roles.ts';
import { ConfigError } from '../../src/errors.ts';

const scheme = { partition: 'aws', region: 'eu-west-1', account: '123456789012', domain: 'shop' };
const arn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:shop-${name}`;
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** gen (the source) → parse (2 levels) → store. */
const pipeline = parsePipeline('gen,parse:2,store', 1);

const PROVISION = ['sqs:CreateQueue', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:TagQueue'];
/** The owner of a queue updates a changed option in place. */
const UPDATE = 'sqs:SetQueueAttributes';
/** A stage consumes its inputs, and sweeps its own dead-letter queue. */
const CONSUME = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'];

/** The policy as resource → sorted actions (each resource once), to compare exactly. */
function grants(policy: IamPolicy): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const statement of policy.Statement) {
    expect(statement.Effect).toBe('Allow');
    const resources = typeof statement.Resource === 'string' ? [statement.Resource] : statement.Resource;
    for (const resource of resources) {
      expect(out[resource], `${resource} in two statements`).toBeUndefined();
      out[resource] = [...statement.Action].sort();
    }
  }
  return out;
}

function policyOf(request: Partial<RoleRequest> & Pick<RoleRequest, 'role'>): Record<string, string[]> {
  return grants(rolePolicy(scheme, pipeline, { stage: undefined, kmsKey: undefined, ...request }));
}

const sorted = (...actions: string[]) => [...actions].sort();
/** A stage's own inputs: consumed, updated, and sent its own timers when they are due. */
const OWN = sorted(...PROVISION, UPDATE, ...CONSUME, 'sqs:SendMessage');
/**
 * A stage's own queue of timers (`<domain>-<stage>-later`): its runs sweep it and re-send what is
 * not due; on Lambda, an event source mapping consumes it.
 */
const TIMERS = sorted(...PROVISION, UPDATE, ...CONSUME, 'sqs:SendMessage');
/** A stage's own queues of permits (`rateLimit`, `maxConcurrency`): taken, held, handed back, refilled. */
const PERMITS = sorted(...PROVISION, UPDATE, ...CONSUME, 'sqs:SendMessage');

describe('rolePolicy', () => {
  it("stage: consumes and updates its inputs, sends to its DLQ and the next stage's inputs, creates the next DLQ, replies; sweeps its timers, takes its permits", () => {
    expect(policyOf({ role: 'stage', stage: 'parse' })).toEqual({
      // It sends its timers on to its own inputs.
      [arn('parse-p0.fifo')]: OWN,
      [arn('parse-p1.fifo')]: OWN,
      [arn('parse-dlq.fifo')]: sorted(...PROVISION, UPDATE, 'sqs:SendMessage', ...CONSUME),
      [arn('parse-later')]: TIMERS,
      [arn('parse-rate.fifo')]: PERMITS,
      [arn('parse-slots.fifo')]: PERMITS,
      [arn('store-p0.fifo')]: sorted(...PROVISION, 'sqs:SendMessage'),
      // Outputs for later go to the next stage's queue of timers.
      [arn('store-later')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('store-dlq.fifo')]: sorted(...PROVISION),
      [arn('reply-*')]: sorted('sqs:GetQueueUrl', 'sqs:SendMessage'),
    });
  });

  it("stage: the last stage sends to no other stage's queues: only its own and the reply queues", () => {
    expect(policyOf({ role: 'stage', stage: 'store' })).toEqual({
      [arn('store-p0.fifo')]: OWN,
      [arn('store-dlq.fifo')]: sorted(...PROVISION, UPDATE, 'sqs:SendMessage', ...CONSUME),
      [arn('store-later')]: TIMERS,
      [arn('store-rate.fifo')]: PERMITS,
      [arn('store-slots.fifo')]: PERMITS,
      [arn('reply-*')]: sorted('sqs:GetQueueUrl', 'sqs:SendMessage'),
    });
  });

  it("stage: the source has only the next stage's queues", () => {
    expect(policyOf({ role: 'stage', stage: 'gen' })).toEqual({
      [arn('parse-p0.fifo')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('parse-p1.fifo')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('parse-later')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('parse-dlq.fifo')]: sorted(...PROVISION),
    });
  });

  it('producer: feeds the first stage with queues by default, or --stage; owns its reply queue', () => {
    const own = sorted(...PROVISION, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:DeleteQueue');
    expect(policyOf({ role: 'producer' })).toEqual({
      [arn('parse-p0.fifo')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('parse-p1.fifo')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('parse-later')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('parse-dlq.fifo')]: sorted(...PROVISION),
      [arn('reply-*')]: own,
    });
    expect(policyOf({ role: 'producer', stage: 'store' })).toEqual({
      [arn('store-p0.fifo')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('store-later')]: sorted(...PROVISION, 'sqs:SendMessage'),
      [arn('store-dlq.fifo')]: sorted(...PROVISION),
      [arn('reply-*')]: own,
    });
  });

  it('operator: the only role that lists, purges and deletes queues', () => {
    const operate = [...PROVISION, UPDATE, 'sqs:ListQueueTags', 'sqs:PurgeQueue', 'sqs:DeleteQueue'];
    const input = sorted(...operate, 'sqs:SendMessage', 'sqs:ReceiveMessage');
    const dlq = sorted(...operate, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility');
    // Each stage's timers and permits: found by their tags, deleted with the domain's queues;
    // createQueues() creates the queues of timers (a Lambda mapping reads them).
    const helper = sorted(
      'sqs:GetQueueUrl',
      'sqs:GetQueueAttributes',
      'sqs:ListQueueTags',
      'sqs:DeleteQueue',
    );
    const timers = sorted(...helper, 'sqs:CreateQueue', 'sqs:TagQueue');
    expect(policyOf({ role: 'operator' })).toEqual({
      [arn('parse-p0.fifo')]: input,
      [arn('parse-p1.fifo')]: input,
      [arn('store-p0.fifo')]: input,
      [arn('parse-dlq.fifo')]: dlq,
      [arn('store-dlq.fifo')]: dlq,
      [arn('parse-later')]: timers,
      [arn('parse-rate.fifo')]: helper,
      [arn('parse-slots.fifo')]: helper,
      [arn('store-later')]: timers,
      [arn('store-rate.fifo')]: helper,
      [arn('store-slots.fifo')]: helper,
      [arn('reply-*')]: sorted('sqs:ListQueueTags', 'sqs:DeleteQueue'),
      '*': ['sqs:ListQueues'],
    });
    for (const role of ['stage', 'producer'] as const) {
      const actions = Object.values(policyOf({ role, stage: 'parse' })).flat();
      for (const only of ['sqs:PurgeQueue', 'sqs:ListQueues', 'sqs:ListQueueTags']) {
        expect(actions).not.toContain(only);
      }
    }
  });

  it.each(['stage', 'producer', 'operator'] as const)(
    '%s: with --kms-key, GenerateDataKey and Decrypt on exactly that key',
    (role) => {
      const policy = policyOf({ role, stage: role === 'operator' ? undefined : 'parse', kmsKey: KEY });
      expect(policy[KEY]).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      const without = policyOf({ role, stage: role === 'operator' ? undefined : 'parse' });
      expect(
        Object.values(without)
          .flat()
          .filter((a) => a.startsWith('kms:')),
      ).toEqual([]);
    },
  );

  it('writes one statement per set of actions, ListQueues on the string *', () => {
    const policy = rolePolicy(scheme, pipeline, { role: 'operator', stage: undefined, kmsKey: undefined });
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.map((s) => s.Sid)).toEqual([
      'SqspipesInputQueues',
      'SqspipesDeadLetterQueues',
      'SqspipesReplyQueues',
      'SqspipesListQueues',
      'SqspipesTimers',
      'SqspipesPermits',
    ]);
    expect(policy.Statement[3]?.Resource).toBe('*');
  });

  it('leaves out the DLQ of a stage without one (--dlq-stages)', () => {
    const old = parsePipeline('gen,parse,store', 1, 'store');
    const policy = grants(rolePolicy(scheme, old, { role: 'stage', stage: 'gen', kmsKey: undefined }));
    expect(Object.keys(policy)).toEqual([arn('parse-p0.fifo'), arn('parse-later')]);
  });

  it('refuses a stage role without --stage, or an unknown stage, naming the stages', () => {
    const request = { role: 'stage', stage: undefined, kmsKey: undefined } as const;
    expect(() => rolePolicy(scheme, pipeline, request)).toThrow('--role stage needs --stage');
    expect(() => rolePolicy(scheme, pipeline, { ...request, stage: 'nope' })).toThrow(
      '--stage "nope" is not in --stages: the stages are "gen", "parse" and "store"',
    );
    const discovered = { source: undefined, stages: pipeline.stages };
    expect(() => rolePolicy(scheme, discovered, { ...request, stage: 'gen' })).toThrow(
      '--stage "gen" has no queues in this domain: its stages with queues are "parse" and "store"; for the first stage (the source, which has none) give the pipeline with --stages',
    );
    expect(() => rolePolicy(scheme, pipeline, { ...request, role: 'producer', stage: 'gen' })).toThrow(
      '--stage "gen" is the first stage (the source): it has no input queue to feed',
    );
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

  it('reads a first stage given with :<priorities> as one that consumes (`input: true`): no source', () => {
    const consuming = parsePipeline('parse:2,store', 1);
    expect(consuming).toEqual({
      source: undefined,
      stages: [
        { name: 'parse', priorities: 2, deadLetter: true },
        { name: 'store', priorities: 1, deadLetter: true },
      ],
    });
    expect(parsePipeline('parse:1', 1).stages).toEqual([{ name: 'parse', priorities: 1, deadLetter: true }]);
    const request = { kmsKey: undefined };
    const stage = grants(rolePolicy(scheme, consuming, { ...request, role: 'stage', stage: 'parse' }));
    expect(stage[arn('parse-p1.fifo')]).toContain('sqs:ReceiveMessage');
    expect(stage[arn('parse-dlq.fifo')]).toContain('sqs:SendMessage');
    const producer = grants(
      rolePolicy(scheme, consuming, { ...request, role: 'producer', stage: undefined }),
    );
    expect(producer[arn('parse-p0.fifo')]).toContain('sqs:SendMessage');
  });

  it('rejects a dead-letter stage that is not in --stages, or is the first', () => {
    expect(() => parseStages('gen,a', 1, 'b')).toThrow('--dlq-stages names "b", which is not in --stages');
    expect(() => parseStages('gen,a', 1, 'gen')).toThrow(
      '--dlq-stages names "gen", the first stage (the source), which has no dead-letter queue',
    );
  });
});

describe('stageQueueArns', () => {
  it('computes the ARNs of the naming scheme: every level, and the DLQ of stages with one', () => {
    const [parse, store] = parseStages('gen,parse:2,store', 1, 'store');
    expect(parse && stageQueueArns(scheme, parse)).toEqual({
      inputs: [arn('parse-p0.fifo'), arn('parse-p1.fifo')],
      deadLetter: undefined,
    });
    expect(store && stageQueueArns(scheme, store)).toEqual({
      inputs: [arn('store-p0.fifo')],
      deadLetter: arn('store-dlq.fifo'),
    });
  });

  it('uses the partition', () => {
    const [a] = parseStages('gen,a', 1);
    expect(a && stageQueueArns({ ...scheme, partition: 'aws-cn', region: 'cn-north-1' }, a)).toEqual({
      inputs: ['arn:aws-cn:sqs:cn-north-1:123456789012:shop-a-p0.fifo'],
      deadLetter: 'arn:aws-cn:sqs:cn-north-1:123456789012:shop-a-dlq.fifo',
    });
  });
});

describe('checkScheme', () => {
  it.each([
    [{ account: '1234' }, '--account must be a 12-digit AWS account id, got "1234"'],
    [{ account: '12345678901x' }, '12-digit'],
    [{ partition: 'gcp' }, '--partition must be an AWS partition'],
    [{ region: 'Mars' }, '--region must be an AWS region such as us-east-1, got "Mars"'],
  ])('rejects %j', (override, message) => {
    expect(() => checkScheme({ ...scheme, ...override }, parseStages('gen,a', 1))).toThrow(message);
  });

  it("refuses a queue name over SQS's 80 characters", () => {
    expect(() => checkScheme(scheme, parseStages(`gen,${'s'.repeat(80)}`, 1))).toThrow(ConfigError);
  });
});
