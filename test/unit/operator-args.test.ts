import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import { packageVersion } from '../../src/cli/version.ts';

/** The usage error `argv` is refused with (it must be one). */
async function refusal(argv: readonly string[]): Promise<string> {
  const error: unknown = await parseOperatorArgs(argv).then(
    (parsed) => new Error(`accepted: ${JSON.stringify(parsed)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as Error).message;
}

const d = ['--domain', 'shop'];

describe('parseOperatorArgs: what it accepts', () => {
  it('reads each command with its defaults', async () => {
    expect(await parseOperatorArgs(['status', ...d])).toEqual({
      kind: 'run',
      global: { domain: 'shop', region: undefined, endpoint: undefined, json: false, verbose: false },
      command: { name: 'status', watch: false, interval: 2000, count: undefined },
    });
    expect(await parseOperatorArgs(['peek', 'work', ...d, '--max=3', '--level', '1'])).toMatchObject({
      command: { name: 'peek', stage: 'work', dlq: false, level: 1, max: 3 },
    });
    // A negative number is a JSON value, not an option.
    expect(await parseOperatorArgs(['enqueue', 'work', '-1', ...d, '--priority', '15'])).toMatchObject({
      command: { name: 'enqueue', stage: 'work', value: '-1', priority: 15 },
    });
    expect(await parseOperatorArgs(['enqueue', 'work', '-', ...d])).toMatchObject({
      command: { name: 'enqueue', value: undefined },
    });
    expect(await parseOperatorArgs(['peek', 'work', ...d, '--dlq=true', '--json'])).toMatchObject({
      global: { json: true },
      command: { dlq: true },
    });
  });

  it('reads iam-policy --stages as the pipeline in order: the first stage (the source) has no queues', async () => {
    const parsed = await parseOperatorArgs([
      'iam-policy',
      ...d,
      '--stages',
      'gen,work:2,sink',
      '--account',
      '123456789012',
      '--role',
      'stage',
      '--stage',
      'gen',
    ]);
    expect(parsed).toMatchObject({
      command: {
        name: 'iam-policy',
        role: 'stage',
        stage: 'gen',
        kmsKey: undefined,
        computed: {
          source: 'gen',
          stages: [
            { name: 'work', priorities: 2, deadLetter: true },
            { name: 'sink', priorities: 1, deadLetter: true },
          ],
          account: '123456789012',
          partition: 'aws',
        },
      },
    });
  });

  it('reads scaling --keda and --cloudwatch with their defaults', async () => {
    expect(await parseOperatorArgs(['scaling', ...d, '--keda'])).toMatchObject({
      command: {
        name: 'scaling',
        computed: undefined,
        scaling: {
          kind: 'keda',
          targetBacklog: 10,
          namespace: undefined,
          deployment: undefined,
          minReplicas: 1,
          maxReplicas: 10,
          authRef: undefined,
        },
      },
    });
    const cloudwatch = ['scaling', ...d, '--cloudwatch', '--stages', 'gen,a:3', '--account', '123456789012'];
    expect(await parseOperatorArgs([...cloudwatch, '--target-backlog', '50'])).toMatchObject({
      command: {
        computed: { source: 'gen', stages: [{ name: 'a', priorities: 3 }] },
        scaling: { kind: 'cloudwatch', targetBacklog: 50, group: undefined },
      },
    });
  });

  it('prints the version with --version, and help with --help or -h', async () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(packageVersion()).toBe(version);
    expect(await parseOperatorArgs(['--version'])).toEqual({ kind: 'print', text: version });
    const help = await parseOperatorArgs(['--help']);
    expect(help).toMatchObject({ kind: 'print' });
    const text = help?.kind === 'print' ? help.text : '';
    expect(text).toMatch(/--version/);
    expect(text).toMatch(/^Exit codes:\n {2}0 {2}done\n {2}1 {2}failure: .*\n {2}2 {2}usage error: /m);
    expect(await parseOperatorArgs(['peek', '-h'])).toMatchObject({
      kind: 'print',
      text: expect.stringMatching(/--dlq/) as unknown,
    });
  });
});

describe('parseOperatorArgs: usage errors name the flag, the expectation and the value', () => {
  it.each([
    [
      [],
      'Give a command: status, purge, destroy, enqueue, redrive, peek, iam-policy, scaling, lambda, replies, dashboard or payloads (see sqspipes --help)',
    ],
    [['stauts', ...d], 'Unknown command "stauts": did you mean status? (see sqspipes --help)'],
    [
      ['nope', ...d],
      'Unknown command "nope": the commands are status, purge, destroy, enqueue, redrive, peek, iam-policy, scaling, lambda, replies, dashboard and payloads (see sqspipes --help)',
    ],
    [['status'], "--domain is required: give the pipeline's domain (see sqspipes status --help)"],
    [['status', '--domain'], '--domain needs a value (see sqspipes status --help)'],
    [
      ['status', '--domain', 'a.b'],
      '--domain must be letters, digits, _ and -, got "a.b" (see sqspipes status --help)',
    ],
    [['status', ...d, '--foo'], 'Unknown option --foo (see sqspipes status --help)'],
    [['status', ...d, '--foo-bar=1', '-x'], 'Unknown options --foo-bar, -x (see sqspipes status --help)'],
    [['status', ...d, '--stage', 'a'], 'Unknown option --stage (see sqspipes status --help)'],
    [
      ['status', ...d, 'extra'],
      'Unexpected argument "extra": sqspipes status takes no arguments (see sqspipes status --help)',
    ],
    [
      ['peek', 'work', 'extra', ...d],
      'Unexpected argument "extra": sqspipes peek takes <stage> (see sqspipes peek --help)',
    ],
    [['status', ...d, '--', 'extra'], 'Unexpected argument "extra" (see sqspipes status --help)'],
    [['peek', ...d], 'Missing <stage>: sqspipes peek <stage> (see sqspipes peek --help)'],
    [
      ['enqueue', ...d],
      'Missing <stage> and <value>: sqspipes enqueue <stage> <value> (see sqspipes enqueue --help)',
    ],
    [
      ['enqueue', 'work', ...d],
      'Missing <value>: sqspipes enqueue <stage> <value> (see sqspipes enqueue --help)',
    ],
    [
      ['enqueue', 'a.b', '1', ...d],
      '<stage> must be a stage name (letters, digits, _ and -), got "a.b" (see sqspipes enqueue --help)',
    ],
    [
      ['peek', 'work', ...d, '--max', 'abc'],
      '--max must be an integer from 1 to 10, got "abc" (see sqspipes peek --help)',
    ],
    [
      ['peek', 'work', ...d, '--max', '0'],
      '--max must be an integer from 1 to 10, got "0" (see sqspipes peek --help)',
    ],
    [
      ['peek', 'work', ...d, '--max=-1'],
      '--max must be an integer from 1 to 10, got "-1" (see sqspipes peek --help)',
    ],
    [
      ['peek', 'work', ...d, '--max', '1.5'],
      '--max must be an integer from 1 to 10, got "1.5" (see sqspipes peek --help)',
    ],
    [
      ['peek', 'work', ...d, '--max', '11'],
      '--max must be an integer from 1 to 10, got "11" (see sqspipes peek --help)',
    ],
    [['peek', 'work', ...d, '--max'], '--max needs a value (see sqspipes peek --help)'],
    [['peek', 'work', ...d, '--max', '--json'], '--max needs a value (see sqspipes peek --help)'],
    [
      ['peek', 'work', ...d, '--max', '3', '--max', '4'],
      '--max is given twice: give it once (see sqspipes peek --help)',
    ],
    [
      ['peek', 'work', ...d, '--level', 'x'],
      '--level must be an integer from 0 to 15, got "x" (see sqspipes peek --help)',
    ],
    [
      ['peek', 'work', ...d, '--dlq', '--level', '1'],
      'Give --dlq or --level, not both (see sqspipes peek --help)',
    ],
    [['peek', 'work', ...d, '--dlq=yes'], '--dlq takes no value, got "--dlq=yes" (see sqspipes peek --help)'],
    [['status', ...d, '--json=1'], '--json takes no value, got "--json=1" (see sqspipes status --help)'],
    [
      ['enqueue', 'work', '1', ...d, '--priority', 'high'],
      '--priority must be an integer from 0 to 15, got "high" (see sqspipes enqueue --help)',
    ],
    [
      ['enqueue', 'work', '1', ...d, '--priority', '16'],
      '--priority must be an integer from 0 to 15, got "16" (see sqspipes enqueue --help)',
    ],
    [['enqueue', 'work', '1', ...d, '--id'], '--id needs a value (see sqspipes enqueue --help)'],
    [['enqueue', 'work', '1', ...d, '--key', ''], '--key needs a value (see sqspipes enqueue --help)'],
    [['status', ...d, '--region'], '--region needs a value (see sqspipes status --help)'],
    [['status', ...d, '--endpoint'], '--endpoint needs a value (see sqspipes status --help)'],
    [
      ['status', ...d, '--watch', '--interval', '50'],
      '--interval must be an integer from 100 to 3600000 (milliseconds), got "50" (see sqspipes status --help)',
    ],
    [
      ['status', ...d, '--watch', '--interval', '1e3'],
      '--interval must be an integer from 100 to 3600000 (milliseconds), got "1e3" (see sqspipes status --help)',
    ],
    [
      ['status', ...d, '--watch', '--count', '0'],
      '--count must be a positive integer, got "0" (see sqspipes status --help)',
    ],
    [
      ['status', ...d, '--watch', '--count', 'abc'],
      '--count must be a positive integer, got "abc" (see sqspipes status --help)',
    ],
    [
      ['status', ...d, '--interval', '500'],
      '--interval applies only with --watch (see sqspipes status --help)',
    ],
    [['status', ...d, '--count', '2'], '--count applies only with --watch (see sqspipes status --help)'],
    [['purge', ...d, '--stage'], '--stage needs a value (see sqspipes purge --help)'],
    [
      ['purge', ...d, '--stage', 'a b'],
      '--stage must be a stage name (letters, digits, _ and -), got "a b" (see sqspipes purge --help)',
    ],
    [
      ['iam-policy', ...d, '--account', '123456789012'],
      '--account applies only with --stages (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--priorities', '2'],
      '--priorities applies only with --stages (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--partition', 'aws'],
      '--partition applies only with --stages (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--dlq-stages', 'b'],
      '--dlq-stages applies only with --stages (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--stages', 'a,b'],
      '--stages needs --account (the 12-digit AWS account id) (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--stages', 'a,b', '--account', '1234'],
      '--account must be a 12-digit AWS account id, got "1234" (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--stages', 'a,b', '--account', '123456789012', '--partition', 'gcp'],
      '--partition must be an AWS partition such as aws, aws-cn or aws-us-gov, got "gcp" (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--stages', 'a,b', '--account', '123456789012', '--priorities', '0'],
      '--priorities must be an integer from 1 to 16, got "0" (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d],
      "--role is required: whose policy to print, stage, producer or operator (a stage's workers, a process feeding the pipeline, or the operator) (see sqspipes iam-policy --help)",
    ],
    [
      ['iam-policy', ...d, '--role', 'admin'],
      '--role must be stage, producer or operator, got "admin" (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--role', 'operator', '--stage', 'a'],
      '--stage applies only with --role stage or --role producer (see sqspipes iam-policy --help)',
    ],
    [
      ['iam-policy', ...d, '--role', 'producer', '--kms-key', 'alias/sqs'],
      '--kms-key must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (IAM grants a key\'s use on its key ARN, not on an alias or a bare id), got "alias/sqs" (see sqspipes iam-policy --help)',
    ],
    [
      ['scaling', ...d],
      'Give --keda (KEDA ScaledObjects) or --cloudwatch (EC2 Auto Scaling target tracking policies), one of them (see sqspipes scaling --help)',
    ],
    [
      ['scaling', ...d, '--keda', '--cloudwatch'],
      'Give --keda (KEDA ScaledObjects) or --cloudwatch (EC2 Auto Scaling target tracking policies), one of them (see sqspipes scaling --help)',
    ],
    [
      ['scaling', ...d, '--cloudwatch', '--namespace', 'x'],
      '--namespace applies only with --keda (see sqspipes scaling --help)',
    ],
    [
      ['scaling', ...d, '--keda', '--group', 'x'],
      '--group applies only with --cloudwatch (see sqspipes scaling --help)',
    ],
    [
      ['scaling', ...d, '--keda', '--min-replicas', '3', '--max-replicas', '2'],
      '--max-replicas (2) must be at least --min-replicas (3) (see sqspipes scaling --help)',
    ],
    [
      ['scaling', ...d, '--keda', '--target-backlog', '0'],
      '--target-backlog must be an integer from 1 to 1000000, got "0" (see sqspipes scaling --help)',
    ],
    [
      ['scaling', ...d, '--keda', '--dlq-stages', 'a'],
      'Unknown option --dlq-stages (see sqspipes scaling --help)',
    ],
  ])('refuses %j', async (argv, message) => {
    expect(await refusal(argv)).toBe(message);
  });
});
