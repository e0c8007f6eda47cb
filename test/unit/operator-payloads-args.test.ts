/**
 * The operator CLI's S3 flags: `sqspipes payloads` (checked before S3 is called, no --domain
 * needed) and `iam-policy --payload-bucket/--payload-prefix/--payload-kms-key`, whose statements
 * are added to each role's policy.
 */
import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import { parsePipeline } from '../../src/cli/operator/iam-policy.ts';
import { type RoleRequest, rolePolicy } from '../../src/cli/operator/iam-roles.ts';
import { payloadStatements } from '../../src/payloads/iam.ts';

async function refusal(argv: readonly string[]): Promise<string> {
  const error: unknown = await parseOperatorArgs(argv).then(
    (parsed) => new Error(`accepted: ${JSON.stringify(parsed)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as Error).message;
}

const d = ['--domain', 'shop'];
const B = ['--bucket', 'my-bucket'];
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BUCKET_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/9999abcd-12ab-34cd-56ef-1234567890ab';
const connection = { region: undefined, endpoint: undefined, json: false, verbose: false };

describe('sqspipes payloads: what it accepts', () => {
  it('needs only --bucket: no --domain, an empty prefix, no install, a 30s bound', async () => {
    expect(await parseOperatorArgs(['payloads', ...B])).toEqual({
      kind: 'payloads',
      global: connection,
      request: { bucket: 'my-bucket', prefix: '', installLifecycle: false, timeoutMs: 30_000 },
    });
  });

  it('reads --prefix, --install-lifecycle, --timeout and the global options; a --domain given is checked, not used', async () => {
    const argv = [
      'payloads',
      ...B,
      '--prefix',
      'sqspipes/shop.v2/',
      '--install-lifecycle',
      '--timeout',
      '2m',
      '--region',
      'eu-west-1',
      '--endpoint',
      'http://127.0.0.1:4566',
      '--json',
      ...d,
    ];
    expect(await parseOperatorArgs(argv)).toEqual({
      kind: 'payloads',
      global: { ...connection, region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566', json: true },
      request: {
        bucket: 'my-bucket',
        prefix: 'sqspipes/shop.v2/',
        installLifecycle: true,
        timeoutMs: 120_000,
      },
    });
  });

  it('is listed in the help, with its own help', async () => {
    const help = await parseOperatorArgs(['--help']);
    expect(help.kind === 'print' ? help.text : '').toMatch(/sqspipes payloads +check the S3 bucket/);
    const own = await parseOperatorArgs(['payloads', '--help']);
    expect(own.kind === 'print' ? own.text : '').toMatch(/--install-lifecycle/);
  });
});

describe('sqspipes payloads: usage errors, before any request', () => {
  const see = ' (see sqspipes payloads --help)';
  it.each([
    [['payloads'], '--bucket is required: the S3 bucket of the `payloads` option'],
    [['payloads', '--bucket'], '--bucket needs a value'],
    [
      ['payloads', '--bucket', 'My_Bucket'],
      `--bucket must be an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit), got "My_Bucket"`,
    ],
    [
      ['payloads', '--bucket', 'a..b'],
      '--bucket must be an S3 bucket name without two adjacent periods, got "a..b"',
    ],
    [
      ['payloads', ...B, '--prefix', 'sqspipes'],
      `--prefix must be empty or segments of letters, digits, '.', '_' and '-' each ending with '/' (e.g. "sqspipes/"), at most 512 characters, got "sqspipes"`,
    ],
    [
      ['payloads', ...B, '--prefix', 'a/*/'],
      `--prefix must be empty or segments of letters, digits, '.', '_' and '-' each ending with '/' (e.g. "sqspipes/"), at most 512 characters, got "a/*/"`,
    ],
    [['payloads', ...B, '--prefix'], '--prefix needs a value'],
    [['payloads', ...B, '--prefix', 'a/', '--prefix', 'b/'], '--prefix is given twice: give it once'],
    [
      ['payloads', ...B, '--install-lifecycle'],
      '--install-lifecycle needs --prefix: a rule for the whole bucket would expire every object of `my-bucket` after 15 days (give sqspipes\' objects a prefix, the `payloads.prefix` option, e.g. "sqspipes/")',
    ],
    [
      ['payloads', ...B, '--prefix', 'p/', '--install-lifecycle=yes'],
      '--install-lifecycle takes no value, got "--install-lifecycle=yes"',
    ],
    [
      ['payloads', ...B, '--timeout', '10'],
      '--timeout must be a duration from 1s to 1d: an integer and a unit (ms, s, m, h or d) such as 30s, 5m, 2h or 1500ms, got "10"',
    ],
    [['payloads', ...B, '--domain', 'a.b'], '--domain must be letters, digits, _ and -, got "a.b"'],
    [['payloads', ...B, '--stage', 'x'], 'Unknown option --stage'],
    [['payloads', ...B, 'extra'], 'Unexpected argument "extra": sqspipes payloads takes no arguments'],
  ])('refuses %j', async (argv, message) => {
    expect(await refusal(argv)).toBe(`${message}${see}`);
  });

  it('--install-lifecycle applies to payloads only', async () => {
    expect(await refusal(['status', ...d, '--install-lifecycle'])).toBe(
      'Unknown option --install-lifecycle (see sqspipes status --help)',
    );
  });
});

describe('iam-policy --payload-bucket', () => {
  const computed = ['--stages', 'gen,parse:2,store', '--account', '123456789012'];

  it('reads the bucket, prefix and key into the role request', async () => {
    const argv = ['iam-policy', ...d, ...computed, '--role', 'producer', '--payload-bucket', 'my-bucket'];
    expect(await parseOperatorArgs(argv)).toMatchObject({
      command: { role: 'producer', payloads: { bucket: 'my-bucket', prefix: '', kmsKey: undefined } },
    });
    const full = [...argv, '--payload-prefix', 'p/', '--payload-kms-key', BUCKET_KEY];
    expect(await parseOperatorArgs(full)).toMatchObject({
      command: { payloads: { bucket: 'my-bucket', prefix: 'p/', kmsKey: BUCKET_KEY } },
    });
    expect(await parseOperatorArgs(['iam-policy', ...d, '--role', 'operator'])).toMatchObject({
      command: { payloads: undefined },
    });
  });

  const see = ' (see sqspipes iam-policy --help)';
  it.each([
    [['--payload-prefix', 'p/'], '--payload-prefix applies only with --payload-bucket'],
    [['--payload-kms-key', BUCKET_KEY], '--payload-kms-key applies only with --payload-bucket'],
    [
      ['--payload-bucket', 'B'],
      `--payload-bucket must be an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit), got "B"`,
    ],
    [
      ['--payload-bucket', 'b-1', '--payload-prefix', '/p/'],
      `--payload-prefix must be empty or segments of letters, digits, '.', '_' and '-' each ending with '/' (e.g. "sqspipes/"), at most 512 characters, got "/p/"`,
    ],
    [
      ['--payload-bucket', 'b-1', '--payload-kms-key', 'alias/s3'],
      '--payload-kms-key must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (IAM grants a key\'s use on its key ARN, not on an alias or a bare id), got "alias/s3"',
    ],
  ])('refuses %j', async (flags, message) => {
    expect(await refusal(['iam-policy', ...d, '--role', 'operator', ...flags])).toBe(`${message}${see}`);
  });
});

describe('rolePolicy with payloads', () => {
  const scheme = { partition: 'aws-cn', region: 'cn-north-1', account: '123456789012', domain: 'shop' };
  const pipeline = parsePipeline('gen,parse:2,store', 1);
  const payloads = { bucket: 'my-bucket', prefix: 'p/', kmsKey: undefined };

  function policy(request: Omit<RoleRequest, 'kmsKey'> & { kmsKey?: string }) {
    return rolePolicy(scheme, pipeline, { kmsKey: undefined, ...request });
  }

  it.each([
    ['stage', 'parse'],
    ['producer', undefined],
    ['operator', undefined],
  ] as const)('%s: its SQS statements, then its S3 ones in the scheme partition', (role, stage) => {
    const without = policy({ role, stage }).Statement;
    const withS3 = policy({ role, stage, payloads }).Statement;
    const s3 = payloadStatements(role, {
      ...payloads,
      partition: 'aws-cn',
      readsReplies: role === 'producer', // its policy covers submit(): results may come back stored
    });
    // Every statement of the policy lists its resources, as the SQS ones do. The queue of pending
    // deletes comes in between (in a statement of its own, or merged into one with its actions).
    const deletesArn = 'arn:aws-cn:sqs:cn-north-1:123456789012:shop-timers';
    const sqsPart = withS3.slice(0, withS3.length - s3.length);
    expect(withS3.slice(sqsPart.length)).toEqual(s3.map((s) => ({ ...s, Resource: [s.Resource] })));
    const onDeletes = sqsPart.filter((s) => s.Resource.includes(deletesArn)).flatMap((s) => s.Action);
    const provision = ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:CreateQueue', 'sqs:TagQueue'];
    const expected = {
      stage: [
        ...provision,
        'sqs:SetQueueAttributes',
        'sqs:SendMessage',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
      ],
      producer: [...provision, 'sqs:SendMessage'],
      operator: [],
    }[role];
    expect(onDeletes.toSorted()).toEqual(expected.toSorted());
    const withoutDeletes = sqsPart
      .map((s) =>
        s.Resource.includes(deletesArn)
          ? { ...s, Resource: [s.Resource].flat().filter((r) => r !== deletesArn) }
          : s,
      )
      .filter((s) => s.Resource.length > 0);
    expect(withoutDeletes).toEqual(without);
    expect(s3[0]?.Resource).toBe('arn:aws-cn:s3:::my-bucket/p/*');
  });

  it('a producer reads stored replies and leaves their delete to stages; only the operator installs the lifecycle rule', () => {
    // The statements on the bucket, or on the queue of pending deletes (merged with a stage's own
    // queue of timers, whose actions are the same).
    const deletesArn = 'arn:aws-cn:sqs:cn-north-1:123456789012:shop-timers';
    const actions = (role: 'stage' | 'producer' | 'operator') =>
      policy({ role, stage: role === 'stage' ? 'store' : undefined, payloads })
        .Statement.filter((s) => s.Sid.startsWith('SqspipesPayload') || s.Resource.includes(deletesArn))
        .flatMap((s) => s.Action);
    expect(actions('producer')).toContain('s3:GetObject');
    expect(actions('producer')).not.toContain('s3:DeleteObject');
    expect(actions('stage')).toEqual(expect.arrayContaining(['s3:DeleteObject', 'sqs:ReceiveMessage']));
    expect(actions('producer')).not.toContain('s3:PutLifecycleConfiguration');
    expect(actions('stage')).not.toContain('s3:PutLifecycleConfiguration');
    expect(actions('operator')).toContain('s3:PutLifecycleConfiguration');
  });

  it("grants the bucket's KMS key beside the queues' one, in one statement when it is the same key", () => {
    const kms = (queues: string, bucket: string) =>
      policy({ role: 'stage', stage: 'parse', kmsKey: queues, payloads: { ...payloads, kmsKey: bucket } })
        .Statement.filter((s) => s.Action.includes('kms:Decrypt'))
        .map((s) => s.Resource);
    expect(kms(KEY, BUCKET_KEY)).toEqual([[KEY, BUCKET_KEY]]);
    expect(kms(KEY, KEY)).toEqual([[KEY]]);
  });
});
