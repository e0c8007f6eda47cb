/**
 * `iam-policy --stages …,gather:join=split`: joins in the pipeline's description, checked as
 * registration checks them, and the grants they add: the stages in a join's scope send reports to
 * the join's queues, and the join stage needs the payloads bucket.
 */
import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import { reportedJoins } from '../../src/cli/operator/iam-joins.ts';
import { parsePipeline } from '../../src/cli/operator/iam-policy.ts';
import { type IamPolicy, rolePolicy } from '../../src/cli/operator/iam-roles.ts';
import { payloadStatements } from '../../src/payloads/iam.ts';

const scheme = { partition: 'aws', region: 'eu-west-1', account: '123456789012', domain: 'shop' };
const arn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:shop-${name}`;
const payloads = { bucket: 'my-bucket', prefix: 'p/', kmsKey: undefined };
const PROVISION = ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:CreateQueue', 'sqs:TagQueue'];

/** The queues the policy lets a role send to, and those it lets it only create. */
function sendsAndCreates(policy: IamPolicy): { sends: string[]; creates: string[] } {
  const resources = (sid: string) => {
    const found = policy.Statement.find((s) => s.Sid === sid);
    return typeof found?.Resource === 'string' ? [found.Resource] : [...(found?.Resource ?? [])];
  };
  return { sends: resources('SqspipesSend'), creates: resources('SqspipesCreate') };
}

function stagePolicy(stages: string, stage: string): IamPolicy {
  return rolePolicy(scheme, parsePipeline(stages, 1), { role: 'stage', stage, kmsKey: undefined, payloads });
}

describe('parsePipeline: joins', () => {
  it('reads name[:priorities][:join=<split>], in either order', () => {
    expect(parsePipeline('gen,split,work,gather:join=split', 1).stages).toEqual([
      { name: 'split', priorities: 1, deadLetter: true },
      { name: 'work', priorities: 1, deadLetter: true },
      { name: 'gather', priorities: 1, deadLetter: true, join: 'split' },
    ]);
    const [a, b] = parsePipeline('gen,a:2:join=gen,b:join=a:3', 1).stages;
    expect(a).toEqual({ name: 'a', priorities: 2, deadLetter: true, join: 'gen' });
    expect(b).toEqual({ name: 'b', priorities: 3, deadLetter: true, join: 'a' });
    // A join does not make the first stage one with queues: only :<priorities> does.
    expect(parsePipeline('gen,gather:join=gen', 1).source).toBe('gen');
    expect(parsePipeline('split:1,gather:join=split', 1).source).toBeUndefined();
  });

  it('takes nested and chained joins, as registration does', () => {
    const nested = parsePipeline('gen,split,words,count:join=words,total:join=split', 1);
    expect(nested.stages.map((s) => s.join)).toEqual([undefined, undefined, 'words', 'split']);
    const chained = parsePipeline('gen,a:join=gen,b:join=a', 1);
    expect(chained.stages.map((s) => s.join)).toEqual(['gen', 'a']);
  });

  it.each([
    [
      'gen:join=x,a',
      '--stages: "gen" cannot join "x": it is the first stage, and a join gathers the branches opened by the calls of an earlier stage',
    ],
    [
      'gen,a:join=b,b',
      '--stages: Stage `a` joins `b`, which comes after it: a join names an earlier stage whose calls fan out',
    ],
    ['gen,a:join=a', '--stages: Stage `a` joins itself: a join names an earlier stage whose calls fan out'],
    [
      'gen,a:join=zz',
      '--stages: Stage `a` joins `zz`, which is not a stage of this pipeline (`gen`, `a`): a join names an earlier stage whose calls fan out',
    ],
    [
      'gen,a,b:join=gen,c:join=gen',
      "--stages: Stages `b` and `c` both join `gen`: a stage's branches are joined by one stage at most (a later join can name `b` or a stage after it instead)",
    ],
    [
      'gen,a,b,c:join=a,d:join=b',
      '--stages: Stage `d` joins `b`, which lies between `a` and its join `c`, but `d` comes after `c`: join scopes nest or follow one another, never cross. Move `d` before `c`, or have it join `c` or a stage after it',
    ],
    [
      'gen,a:join=b c',
      '--stages: "a" must join the name of an earlier stage (letters, digits, _ and -), got "a:join=b c"',
    ],
    [
      'gen,a:join=gen:join=gen',
      '--stages must list stage names (letters, digits, _ and -), each optionally with :<priorities> and, for a join stage, :join=<split>, got "a:join=gen:join=gen"',
    ],
    [
      'gen,a:jion=gen',
      '--stages: the priorities of "a" must be an integer from 1 to 16, got "jion=gen" (a join stage is given as :join=<split>)',
    ],
  ])('refuses %j', (stages, message) => {
    expect(() => parsePipeline(stages, 1)).toThrow(new UsageError(message));
  });

  it('comes from the command line as --stages gives it', async () => {
    const argv = ['iam-policy', '--domain', 'shop', '--role', 'stage', '--stage', 'gather'];
    const parsed = await parseOperatorArgs([
      ...argv,
      ...['--stages', 'gen,split,gather:2:join=split', '--account', '123456789012'],
    ]);
    expect(parsed).toMatchObject({
      command: {
        computed: { source: 'gen', stages: [{ name: 'split' }, { name: 'gather', join: 'split' }] },
      },
    });
  });
});

describe('reportedJoins: the join stages a stage reports to', () => {
  const order = (stages: string) => {
    const { source, stages: specs } = parsePipeline(stages, 1);
    return [...(source === undefined ? [] : [{ name: source }]), ...specs];
  };

  it('the split, by its calls, and the stages before the join; not the join, nor outside the scope', () => {
    const pipeline = order('gen,split,work,gather:join=split,after');
    const joins = (name: string) => reportedJoins(pipeline, name, name !== 'gen');
    expect(['gen', 'split', 'work', 'gather', 'after'].map(joins)).toEqual([
      [],
      ['gather'],
      ['gather'],
      [],
      [],
    ]);
  });

  it('a source split reports (it has no input to dead-letter)', () => {
    const pipeline = order('gen,work,gather:join=gen');
    expect(reportedJoins(pipeline, 'gen', false)).toEqual(['gather']);
  });

  it('nested: a stage reports to its innermost scope; an inner split dead-letters into the outer one', () => {
    // split opens total's scope, words opens count's inside it; count's calls are in total's.
    const pipeline = order('gen,split,words,w2,count:join=words,total:join=split');
    const joins = (name: string) => reportedJoins(pipeline, name, true);
    expect(joins('split')).toEqual(['total']);
    expect(joins('words')).toEqual(['count', 'total']); // its calls open count's; its inputs are total's
    expect(joins('w2')).toEqual(['count']);
    expect(joins('count')).toEqual(['total']);
    expect(joins('total')).toEqual([]);
  });

  it('chained: a join that is the next split reports its calls to the next join, its dead letters nowhere', () => {
    const pipeline = order('gen,a,b:join=a,c,d:join=b');
    expect(reportedJoins(pipeline, 'b', true)).toEqual(['d']);
    expect(reportedJoins(pipeline, 'c', true)).toEqual(['d']);
    expect(reportedJoins(pipeline, 'a', true)).toEqual(['b']);
  });
});

describe('rolePolicy with joins', () => {
  const stages = 'gen,split,work:2,gather:3:join=split,after';

  it("the split and the stages in its scope send (and create) the join's queues, every level", () => {
    const gather = [arn('gather-p0.fifo'), arn('gather-p1.fifo'), arn('gather-p2.fifo')];
    // Besides, each sends outputs for later to the next stage's queue of timers.
    expect(sendsAndCreates(stagePolicy(stages, 'split'))).toEqual({
      sends: [arn('work-p0.fifo'), arn('work-p1.fifo'), ...gather, arn('work-later')],
      creates: [arn('work-dlq.fifo'), arn('gather-dlq.fifo')],
    });
    expect(sendsAndCreates(stagePolicy(stages, 'work'))).toEqual({
      sends: [...gather, arn('gather-later')],
      creates: [arn('gather-dlq.fifo')],
    });
  });

  it("the source, the join and the stage after it are granted as without a join: the join's timers go through its own queue", () => {
    const without = 'gen,split,work:2,gather:3,after';
    expect(stagePolicy(stages, 'gen')).toEqual(stagePolicy(without, 'gen'));
    // The join's time limits are timers in its own queue, swept by its own runs and sent on to its inputs.
    const gather = stagePolicy(stages, 'gather');
    expect(gather).toEqual(stagePolicy(without, 'gather'));
    expect(sendsAndCreates(gather)).toEqual({
      sends: [arn('after-p0.fifo'), arn('after-later')],
      creates: [arn('after-dlq.fifo')],
    });
    // Its queue of timers takes what its inputs take (a Lambda mapping consumes it): one statement.
    const consume = gather.Statement.find((s) => s.Sid === 'SqspipesConsume');
    expect(consume?.Resource).toContain(arn('gather-later'));
    expect(consume?.Action).toContain('sqs:SendMessage');
    expect(consume?.Resource).toEqual(
      expect.arrayContaining(['p0', 'p1', 'p2'].map((l) => arn(`gather-${l}.fifo`))),
    );
    // A stage after the join no longer sends to the join's queues.
    const after = stagePolicy(stages, 'after');
    expect(after.Statement.find((s) => s.Sid === 'SqspipesJoinReports')).toBeUndefined();
    expect(after).toEqual(stagePolicy(without, 'after'));
  });

  it('a source split sends to the join', () => {
    expect(sendsAndCreates(stagePolicy('gen,work,gather:join=gen', 'gen'))).toEqual({
      sends: [arn('work-p0.fifo'), arn('gather-p0.fifo'), arn('work-later')],
      creates: [arn('work-dlq.fifo'), arn('gather-dlq.fifo')],
    });
  });

  it("an inner split sends to both joins, in its outputs' statement: its calls report to the inner, its dead letters to the outer", () => {
    const policy = stagePolicy('gen,split,words,count:join=words,total:join=split', 'words');
    expect(policy.Statement.find((s) => s.Sid === 'SqspipesSend')).toEqual({
      Sid: 'SqspipesSend',
      Effect: 'Allow',
      Action: [...PROVISION, 'sqs:SendMessage'],
      Resource: [arn('count-p0.fifo'), arn('total-p0.fifo'), arn('count-later')],
    });
  });

  it("the join stage needs --payload-bucket; with it, the stage's S3 grants cover its state", () => {
    const pipeline = parsePipeline(stages, 1);
    expect(() => rolePolicy(scheme, pipeline, { role: 'stage', stage: 'gather', kmsKey: undefined })).toThrow(
      new UsageError(
        '--stage "gather" joins the branches of "split" and keeps each item\'s partial state in S3: give --payload-bucket (the client\'s payloads.bucket) and --payload-prefix if it has one',
      ),
    );
    // Only the join: the stages around it, the producer and the operator need no bucket.
    for (const stage of ['gen', 'split', 'work', 'after']) {
      expect(() => rolePolicy(scheme, pipeline, { role: 'stage', stage, kmsKey: undefined })).not.toThrow();
    }
    expect(() =>
      rolePolicy(scheme, pipeline, { role: 'operator', stage: undefined, kmsKey: undefined }),
    ).not.toThrow();
    // Its state is at p/shop/join/<join>/<hash>: read, created, updated (and deleted, with If-Match) under p/*.
    const s3 = payloadStatements('stage', { ...payloads, partition: 'aws' });
    const objects = s3.find((s) => s.Sid === 'SqspipesPayloadObjects');
    expect(objects?.Resource).toBe('arn:aws:s3:::my-bucket/p/*');
    expect(objects?.Action).toEqual(['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    // A missing state must answer 404, not 403: s3:ListBucket on the bucket.
    expect(s3.find((s) => s.Sid === 'SqspipesPayloadBucket')?.Action).toContain('s3:ListBucket');
    const statements = stagePolicy(stages, 'gather').Statement;
    expect(statements.slice(-s3.length)).toEqual(s3.map((s) => ({ ...s, Resource: [s.Resource] })));
  });
});
