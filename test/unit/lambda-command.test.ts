import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import { lambdaRequest, type LambdaRequest } from '../../src/cli/operator/lambda-args.ts';
import { lambdaJson, lambdaPlan, lambdaText } from '../../src/cli/operator/lambda-command.ts';

const d = ['--domain', 'shop'];
const base = ['lambda', ...d, '--stages', 'gen,work:2,store', '--stage', 'work'];

/** The request of `flags` after `base`. */
function request(...flags: string[]): LambdaRequest {
  const parsed = { _: ['lambda'], stages: 'gen,work:2,store', stage: 'work', ...pairs(flags) };
  return lambdaRequest(parsed);
}

function pairs(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flags.length; i += 2) out[(flags[i] ?? '').replace(/^--/, '')] = flags[i + 1] ?? '';
  return out;
}

/** The usage error `argv` is refused with (it must be one). */
async function refusal(argv: readonly string[]): Promise<string> {
  const error: unknown = await parseOperatorArgs(argv).then(
    (parsed) => new Error(`accepted: ${JSON.stringify(parsed)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as Error).message;
}

const settings = { batchSize: 10, functionResponseTypes: ['ReportBatchItemFailures'] };
const arn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:shop-${name}`;

describe('sqspipes lambda: its flags', () => {
  it('reads the pipeline, the stage and its options', async () => {
    expect(await parseOperatorArgs(base)).toMatchObject({
      command: {
        name: 'lambda',
        pipeline: { source: 'gen', stages: [{ name: 'work', priorities: 2 }, { name: 'store' }] },
        stage: 'work',
        maxConcurrency: undefined,
        functionName: undefined,
        account: undefined,
        partition: 'aws',
      },
    });
    const all = [...base, '--max-concurrency', '8', '--function', 'fn', '--account', '123456789012'];
    expect(await parseOperatorArgs([...all, '--partition', 'aws-cn', '--json'])).toMatchObject({
      global: { json: true },
      command: { maxConcurrency: 8, functionName: 'fn', account: '123456789012', partition: 'aws-cn' },
    });
    const fnArn = 'arn:aws:lambda:eu-west-1:123456789012:function:fn:live';
    expect(await parseOperatorArgs([...base, '--function', fnArn])).toMatchObject({
      command: { functionName: fnArn },
    });
    // A first stage registered with `input: true` has queues: it can run on Lambda.
    expect(
      await parseOperatorArgs(['lambda', ...d, '--stages', 'parse:1,store', '--stage', 'parse']),
    ).toMatchObject({
      command: { pipeline: { source: undefined }, stage: 'parse' },
    });
  });

  it.each([
    [
      ['lambda', ...d, '--stage', 'work'],
      "--stages is required: the pipeline's stages in order, as registered, e.g. --stages gen,work:2,store (see sqspipes lambda --help)",
    ],
    [
      ['lambda', ...d, '--stages', 'gen,work'],
      '--stage is required: the stage to run on Lambda (see sqspipes lambda --help)',
    ],
    [
      ['lambda', ...d, '--stages', 'gen,work', '--stage', 'gen'],
      '--stage "gen" is the first stage (the source): it has no input queue for Lambda to read; run it as a process (a first stage registered with input: true is given as "gen:<priorities>" in --stages) (see sqspipes lambda --help)',
    ],
    [
      ['lambda', ...d, '--stages', 'gen,work', '--stage', 'nope'],
      '--stage "nope" is not in --stages: the stages are "gen" and "work" (see sqspipes lambda --help)',
    ],
    [
      [...base, '--max-concurrency', '0'],
      '--max-concurrency must be an integer from 1 to 10000, got "0" (see sqspipes lambda --help)',
    ],
    [
      [...base, '--partition', 'aws-cn'],
      '--partition applies only with --account (see sqspipes lambda --help)',
    ],
    [
      [...base, '--account', '12'],
      '--account must be a 12-digit AWS account id, got "12" (see sqspipes lambda --help)',
    ],
    [
      [...base, '--function', 'my.fn'],
      '--function must be a Lambda function name (1 to 64 letters, digits, - and _) or a function ARN, got "my.fn" (see sqspipes lambda --help)',
    ],
    [[...base, '--dlq-stages', 'work'], 'Unknown option --dlq-stages (see sqspipes lambda --help)'],
  ])('refuses %j', async (argv, message) => {
    expect(await refusal(argv)).toBe(message);
  });

  it('documents the JSON in its help', async () => {
    const help = await parseOperatorArgs(['lambda', '--help']);
    const text = help.kind === 'print' ? help.text : '';
    expect(text).toContain('"maxFunctionTimeoutSeconds"');
    expect(text).toContain('--max-concurrency');
  });
});

describe('sqspipes lambda: its output', () => {
  it('--json: the mappings, with queue ARNs given --account and a region', () => {
    const plan = lambdaPlan(
      'shop',
      request('--max-concurrency', '5', '--account', '123456789012'),
      'eu-west-1',
    );
    expect(plan.notes).toEqual([]);
    expect(JSON.parse(JSON.stringify(lambdaJson(plan)))).toEqual({
      stage: 'work',
      functionName: 'shop-work',
      maxFunctionTimeoutSeconds: 30,
      mappings: [
        {
          stage: 'work',
          queueName: 'shop-work-p0.fifo',
          role: 'input',
          level: 0,
          ...settings,
          maximumConcurrency: 5,
          queueArn: arn('work-p0.fifo'),
        },
        {
          stage: 'work',
          queueName: 'shop-work-p1.fifo',
          role: 'input',
          level: 1,
          ...settings,
          maximumConcurrency: 5,
          queueArn: arn('work-p1.fifo'),
        },
        {
          stage: 'work',
          queueName: 'shop-work-later',
          role: 'later',
          ...settings,
          queueArn: arn('work-later'),
        },
      ],
    });
  });

  it('--json: no queueArn without --account; --function names the function; a note when 1 was asked', () => {
    const plan = lambdaPlan('shop', request('--function', 'fn', '--max-concurrency', '1'), undefined);
    const json = lambdaJson(plan);
    expect(json.functionName).toBe('fn');
    expect(json.mappings.map((m) => 'queueArn' in m)).toEqual([false, false, false]);
    expect(json.mappings.map((m) => m.maximumConcurrency)).toEqual([2, 2, undefined]);
    expect(plan.notes).toHaveLength(1);
    expect(plan.notes[0]).toMatch(/^maxConcurrency 1 cannot be a mapping's MaximumConcurrency/);
  });

  it('text: a table, the facts of priorities and timeout, the commands that raise visibility and create the mappings', () => {
    const plan = lambdaPlan(
      'shop',
      request('--max-concurrency', '5', '--account', '123456789012'),
      'eu-west-1',
    );
    const text = lambdaText(plan);
    expect(text).toContain(`QUEUE              ROLE   LEVEL  BATCH  MAX CONCURRENCY
shop-work-p0.fifo  input      0     10                5
shop-work-p1.fifo  input      1     10                5
shop-work-later    later            10
`);
    expect(text).toContain(
      'Lambda polls them side by side and keeps no order between them, so a higher level is not taken first.',
    );
    expect(text).toContain(
      'applies to each mapping on its own (the 2 input mappings up to 10 invocations together)',
    );
    expect(text).toContain('Function timeout: at most 30 s.');
    expect(text).toContain(
      "Lambda refuses to create a mapping on a queue whose VisibilityTimeout is shorter than the function's timeout.",
    );
    const lines = text.split('\n').map((line) => line.trim());
    expect(lines.filter((line) => line.startsWith('aws sqs set-queue-attributes'))).toEqual(
      ['work-p0.fifo', 'work-p1.fifo', 'work-later'].map(
        (q) =>
          `aws sqs set-queue-attributes --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/shop-${q} --attributes VisibilityTimeout=<seconds> --region eu-west-1`,
      ),
    );
    const create = (q: string, scaling: string) =>
      `aws lambda create-event-source-mapping --function-name shop-work --event-source-arn ${arn(q)} --batch-size 10 --function-response-types ReportBatchItemFailures${scaling} --region eu-west-1`;
    expect(lines.filter((line) => line.startsWith('aws lambda'))).toEqual([
      create('work-p0.fifo', ' --scaling-config MaximumConcurrency=5'),
      create('work-p1.fifo', ' --scaling-config MaximumConcurrency=5'),
      create('work-later', ''),
    ]);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('text without --account: ARNs to fill in, queue URLs looked up by name', () => {
    const text = lambdaText(lambdaPlan('shop', request(), undefined));
    expect(text).toContain(
      'aws sqs set-queue-attributes --queue-url "$(aws sqs get-queue-url --queue-name shop-work-p0.fifo --query QueueUrl --output text)" --attributes VisibilityTimeout=<seconds>\n',
    );
    expect(text).toContain(
      'aws lambda create-event-source-mapping --function-name shop-work --event-source-arn arn:aws:sqs:<region>:<account>:shop-work-later --batch-size 10 --function-response-types ReportBatchItemFailures\n',
    );
    expect(text).toContain('Concurrency: no MaximumConcurrency');
  });

  it('refuses --account without a region, and a default function name Lambda would not take', () => {
    expect(() => lambdaPlan('shop', request('--account', '123456789012'), undefined)).toThrow(
      new UsageError('--account needs a region: pass --region or set AWS_REGION'),
    );
    const long = 'd'.repeat(60);
    expect(() => lambdaPlan(long, request(), undefined)).toThrow(
      new UsageError(
        `The function's default name, <domain>-<stage>, "${long}-work", is not a Lambda function name (1 to 64 letters, digits, - and _): give --function`,
      ),
    );
  });
});
