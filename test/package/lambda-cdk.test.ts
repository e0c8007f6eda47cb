/**
 * examples/lambda-cdk: `cdk synth` of its app, offline (esbuild bundles locally, never in Docker;
 * no version check, notices or telemetry; no credentials to look up), then the template's key
 * properties, then the bundled function itself: loaded in a Node process of its own and invoked
 * with a batch received from resize's queue on an embedded fauxqs, as Lambda would.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../examples/lambda-cdk/stages.ts';
import { type LambdaSqsEvent, TaskClient } from '../../src/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'lambda-cdk');
const CDK = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const DOMAIN = 'cdk-test';
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const STACK = `${DOMAIN}-resize-lambda`;
const arn = (queue: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${queue}`;
/** What Lambda's SQS event source mapping needs on each of its queues. */
const ESM_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

/**
 * Whether CDK's NodejsFunction finds esbuild as it looks for it (from aws-cdk-lib, else on PATH):
 * without it, CDK would bundle in Docker.
 */
function esbuildFound(): boolean {
  try {
    createRequire(join(ROOT, 'node_modules', 'aws-cdk-lib', 'package.json')).resolve('esbuild/package.json');
    return true;
  } catch {
    return spawnSync('esbuild', ['--version']).status === 0;
  }
}

/** The environment without npm's and AWS's variables, and with nothing that reaches the internet. */
function offlineEnv(out: string): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !/^(npm_|aws_|cdk_)/i.test(name));
  return {
    ...Object.fromEntries(kept),
    SQSPIPES_DOMAIN: DOMAIN,
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // No credentials to find: the CLI makes no STS call for a default account.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: join(out, 'no-credentials'),
    AWS_CONFIG_FILE: join(out, 'no-config'),
  };
}

async function run(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, args, {
      cwd,
      env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`\`node ${args.join(' ')}\` failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

/** A policy with every Action and Resource a list (CDK writes a list of one as a string). */
function normalized(policy: { Statement: Statement[] }) {
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({ ...s, Action: list(s.Action), Resource: list(s.Resource) })),
  };
}

/** `sqspipes <command> --json` on the example's pipeline, as app.ts runs it (from the sources). */
async function sqspipes(args: readonly string[]): Promise<unknown> {
  const cli = join(ROOT, 'src', 'cli', 'operator-main.ts');
  const pipeline = ['--domain', DOMAIN, '--stages', 'fetch,resize:2,index:1', '--account', ACCOUNT];
  const env = offlineEnv(tmpdir());
  return JSON.parse(await run([cli, ...args, ...pipeline, '--region', REGION, '--json'], ROOT, env));
}

describe('examples/lambda-cdk', () => {
  let out = '';
  let template: Template;
  let json: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  let bundle = '';

  beforeAll(async () => {
    if (!esbuildFound()) {
      throw new Error(
        'esbuild is needed to bundle the function locally (NodejsFunction would use Docker otherwise): npm install --save-dev esbuild',
      );
    }
    out = await mkdtemp(join(tmpdir(), 'sqspipes-lambda-cdk-'));
    const started = performance.now();
    // The app as cdk.json runs it, on the sources: 'sqspipes' resolves to src/ (no build needed),
    // and the app then runs src/cli/operator-main.ts and has esbuild bundle src/.
    const app = `"${process.execPath}" --conditions=sqspipes-source app.ts`;
    await run(
      [
        CDK,
        'synth',
        '--app',
        app,
        '--output',
        join(out, 'cdk.out'),
        '--context',
        `account=${ACCOUNT}`,
        '--context',
        `region=${REGION}`,
        '--no-notices',
        '--no-version-reporting',
        '--no-lookups',
        '--quiet',
      ],
      EXAMPLE,
      offlineEnv(out),
    );
    console.log(`cdk synth: ${Math.round(performance.now() - started)} ms`);
    const read = async (file: string): Promise<unknown> =>
      JSON.parse(await readFile(join(out, 'cdk.out', file), 'utf8'));
    json = (await read(`${STACK}.template.json`)) as typeof json;
    template = Template.fromJSON(json);
    const assets = (await read(`${STACK}.assets.json`)) as {
      files: Record<string, { source: { path: string } }>;
    };
    const [asset] = Object.values(assets.files).filter((f) => f.source.path.startsWith('asset.'));
    bundle = join(out, 'cdk.out', asset?.source.path ?? 'no-asset', 'index.mjs');
  }, 120_000);

  afterAll(async () => {
    if (out !== '') await rm(out, { recursive: true, force: true });
  });

  const resourcesOf = (type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);

  it('maps each of resize’s levels and its queue of timers, batches of 10 with ReportBatchItemFailures', () => {
    const [[fn] = []] = resourcesOf('AWS::Lambda::Function');
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    for (const level of [0, 1]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arn(`${DOMAIN}-resize-p${level}.fifo`),
        FunctionName: { Ref: fn },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        // The stage's maxConcurrency (stages.ts), on each input mapping.
        ScalingConfig: { MaximumConcurrency: 5 },
      });
    }
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arn(`${DOMAIN}-resize-later`),
      FunctionName: { Ref: fn },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: Match.absent(),
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  it('gives the function Node 22, the handler, the domain, and a timeout within the queues’ visibility timeout', async () => {
    const [[, fn] = []] = resourcesOf('AWS::Lambda::Function');
    expect(fn?.Properties).toMatchObject({
      FunctionName: `${DOMAIN}-resize`,
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Environment: { Variables: { SQSPIPES_DOMAIN: DOMAIN } },
    });
    // At most `sqspipes lambda`'s maxFunctionTimeoutSeconds (the shortest VisibilityTimeout of
    // the queues, Lambda refuses a mapping otherwise), and never over SQS's default 30 s.
    const { maxFunctionTimeoutSeconds } = (await sqspipes(['lambda', '--stage', 'resize'])) as {
      maxFunctionTimeoutSeconds: number;
    };
    const timeout = fn?.Properties['Timeout'];
    expect(timeout).toBeTypeOf('number');
    expect(timeout).toBeLessThanOrEqual(maxFunctionTimeoutSeconds);
    expect(timeout).toBeLessThanOrEqual(30);
  });

  it('gives its role the stage’s policy of `sqspipes iam-policy`, which covers what the mappings need', async () => {
    const [[fnId, fn] = []] = resourcesOf('AWS::Lambda::Function');
    expect(fnId).toBeDefined();
    const roleRef = fn?.Properties['Role'] as { 'Fn::GetAtt': [string, string] };
    const role = json.Resources[roleRef['Fn::GetAtt'][0]];
    const policies = role?.Properties['Policies'] as { PolicyDocument: { Statement: Statement[] } }[];
    expect(policies).toHaveLength(1);
    const expected = (await sqspipes(['iam-policy', '--role', 'stage', '--stage', 'resize'])) as {
      Statement: Statement[];
    };
    expect(normalized(policies[0]?.PolicyDocument ?? { Statement: [] })).toEqual(normalized(expected));
    const statements = policies[0]?.PolicyDocument.Statement ?? [];
    for (const queue of [`${DOMAIN}-resize-p0.fifo`, `${DOMAIN}-resize-p1.fifo`, `${DOMAIN}-resize-later`]) {
      const allowed = statements
        .filter((s) => s.Effect === 'Allow' && list(s.Resource).includes(arn(queue)))
        .flatMap((s) => list(s.Action));
      expect(allowed, queue).toEqual(expect.arrayContaining(ESM_ACTIONS));
    }
    // Its DLQ and the next stage's inputs: what the stage itself sends to.
    const sends = statements
      .filter((s) => list(s.Action).includes('sqs:SendMessage'))
      .flatMap((s) => s.Resource);
    expect(sends).toEqual(
      expect.arrayContaining([arn(`${DOMAIN}-resize-dlq.fifo`), arn(`${DOMAIN}-index-p0.fifo`)]),
    );
    expect(role?.Properties['ManagedPolicyArns']).toEqual([
      {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
        ],
      },
    ]);
  });

  it(
    'bundles a handler that runs a batch of resize’s queue and sends the thumbnail on to index',
    { timeout: 60_000 },
    async () => {
      const server = await startFauxqs({ port: 0, logger: false });
      const sqsEnv = {
        endpoint: `http://127.0.0.1:${server.port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      };
      const client = new TaskClient({ domain: DOMAIN, ...sqsEnv });
      const sqs = new SQSClient(sqsEnv);
      try {
        client.registerTasks(stages);
        const photo = { url: 'https://photos.example.com/1.jpg', width: 1600, height: 1200 };
        await client.enqueue('resize', photo);
        const { QueueUrl: queue } = await sqs.send(
          new GetQueueUrlCommand({ QueueName: `${DOMAIN}-resize-p0.fifo` }),
        );
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 5,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const event: LambdaSqsEvent = {
          Records: (received.Messages ?? []).map((m) => ({
            messageId: m.MessageId ?? '',
            receiptHandle: m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', ...m.Attributes },
            messageAttributes: Object.fromEntries(
              Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
                k,
                { stringValue: v.StringValue, dataType: v.DataType ?? 'String' },
              ]),
            ),
            eventSource: 'aws:sqs',
            eventSourceARN: arn(`${DOMAIN}-resize-p0.fifo`),
            awsRegion: REGION,
          })),
        };
        expect(event.Records).toHaveLength(1);
        // The bundle's path in the environment, not in argv: pipeline.ts runs its stage CLI when it
        // is argv[1]. The client's timers outlive the invocation (Lambda freezes them): exit once written.
        const invoke = `const { handler } = await import(process.env.BUNDLE);
        const answer = await handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 10_000 });
        process.stdout.write(JSON.stringify(answer), () => process.exit(0));`;
        const answer = await run(['--input-type=module', '--eval', invoke], EXAMPLE, {
          ...offlineEnv(out),
          BUNDLE: bundle,
          EVENT: JSON.stringify(event),
          AWS_ENDPOINT_URL_SQS: sqsEnv.endpoint,
          AWS_REGION: sqsEnv.region,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        });
        expect(JSON.parse(answer)).toEqual({ batchItemFailures: [] });
        const indexed: unknown[] = [];
        for await (const output of client.run('index', { limit: 1, idleTimeout: 20_000 }))
          indexed.push(output);
        expect(indexed).toEqual([[photo.url, 'https://photos.example.com/1-w200.jpg']]);
      } finally {
        await client.close();
        sqs.destroy();
        await server.stop();
      }
    },
  );
});
