/**
 * A CDK app that deploys the `resize` stage of pipeline.ts on AWS Lambda: the function (bundled
 * locally with esbuild), one SQS event source mapping per queue of the stage, and an execution
 * role with the stage's least-privilege policy. The queues are not created here: sqspipes creates
 * and configures them (`node pipeline.ts create-queues`, before deploying), and this stack imports
 * them by name. What to map and which policy come from the `sqspipes` CLI:
 *
 *   sqspipes lambda --domain D --stages fetch,resize:2,index:1 --stage resize --max-concurrency 5 --json
 *   sqspipes iam-policy --domain D --role stage --stage resize --stages … --json
 *
 * both computed from the stages of stages.ts, without calling AWS, so `cdk synth` runs offline.
 * Account and region: `-c account=… -c region=…`, else the CLI's defaults for your credentials,
 * else 123456789012 and us-east-1 (enough to synthesize; deploying needs the real ones).
 */
import { execFileSync } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyDocument, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { LambdaMapping, StageOptions } from 'sqspipes';
import { DOMAIN, LAMBDA_STAGE, stages } from './stages.ts';

/** What `sqspipes lambda --json` prints. */
interface LambdaPlan {
  readonly stage: string;
  readonly functionName: string;
  /** The longest timeout the function may have: the queues' visibility timeout allows no more. */
  readonly maxFunctionTimeoutSeconds: number;
  readonly mappings: readonly (LambdaMapping & { readonly queueArn?: string })[];
}

/**
 * The operator CLI beside the package's entry point: dist/cli/operator-main.js (the `sqspipes`
 * bin of node_modules/sqspipes, or of this repository once built), or src/cli/operator-main.ts
 * when Node resolves 'sqspipes' to its sources (`--conditions=sqspipes-source`, as this
 * repository's tests run it: then esbuild bundles the sources too).
 */
const entry = fileURLToPath(import.meta.resolve('sqspipes'));
const fromSources = extname(entry) === '.ts';
const cli = join(dirname(entry), 'cli', `operator-main${extname(entry)}`);

function sqspipes(args: readonly string[]): unknown {
  const out = execFileSync(process.execPath, [cli, ...args, '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out);
}

interface PipelineLambdaProps extends StackProps {
  readonly plan: LambdaPlan;
  /** The IAM policy document of `sqspipes iam-policy --role stage --json`. */
  readonly policy: unknown;
}

class PipelineLambdaStack extends Stack {
  constructor(scope: Construct, id: string, props: PipelineLambdaProps) {
    super(scope, id, props);
    const { plan } = props;
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
      // Inline, so that the role has it before the mappings are created (Lambda checks it then).
      inlinePolicies: { [`sqspipes-${plan.stage}`]: PolicyDocument.fromJson(props.policy) },
    });
    const fn = new NodejsFunction(this, 'Function', {
      functionName: plan.functionName,
      entry: join(import.meta.dirname, 'pipeline.ts'),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      timeout: Duration.seconds(plan.maxFunctionTimeoutSeconds),
      memorySize: 512,
      role,
      environment: { SQSPIPES_DOMAIN: DOMAIN },
      bundling: {
        format: OutputFormat.ESM, // pipeline.ts awaits at its top level (its stage CLI)
        mainFields: ['module', 'main'],
        // Some dependencies are CommonJS and require Node's modules: give them a `require`.
        banner:
          "import { createRequire as bannerRequire } from 'node:module'; const require = bannerRequire(import.meta.url);",
        // sqspipes' own AWS SDK, not the runtime's; what sqspipes loads only when used stays out.
        externalModules: ['@aws-sdk/client-s3', '@opentelemetry/api'],
        forceDockerBundling: false,
        esbuildArgs: fromSources ? { '--conditions': 'sqspipes-source' } : {},
      },
    });
    for (const mapping of plan.mappings) {
      const id = mapping.role === 'input' ? `Level${mapping.level ?? 0}` : 'Later';
      const queue = Queue.fromQueueAttributes(this, `${id}Queue`, {
        queueArn: mapping.queueArn ?? this.formatArn({ service: 'sqs', resource: mapping.queueName }),
        fifo: mapping.queueName.endsWith('.fifo'),
      });
      new EventSourceMapping(this, `${id}Mapping`, {
        target: fn,
        eventSourceArn: queue.queueArn,
        batchSize: mapping.batchSize,
        reportBatchItemFailures: mapping.functionResponseTypes.includes('ReportBatchItemFailures'),
        ...(mapping.maximumConcurrency === undefined ? {} : { maxConcurrency: mapping.maximumConcurrency }),
      });
    }
  }
}

function context(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const app = new App();
const account = context(app, 'account') ?? process.env['CDK_DEFAULT_ACCOUNT'] ?? '123456789012';
const region = context(app, 'region') ?? process.env['CDK_DEFAULT_REGION'] ?? 'us-east-1';
// `--stages` as `sqspipes` takes it: a source by its name, each stage with queues with its levels.
const nameOf = (stage: StageOptions) => stage.name ?? stage.method.name;
const pipeline = stages
  .map((s, i) => (i === 0 && s.input !== true ? nameOf(s) : `${nameOf(s)}:${s.priorities ?? 1}`))
  .join(',');
const lambdaStage = stages.find((s) => nameOf(s) === LAMBDA_STAGE);
const where = ['--domain', DOMAIN, '--stages', pipeline, '--account', account, '--region', region];
const plan = sqspipes([
  'lambda',
  ...where,
  '--stage',
  LAMBDA_STAGE,
  ...(lambdaStage?.maxConcurrency === undefined
    ? []
    : ['--max-concurrency', String(lambdaStage.maxConcurrency)]),
]) as LambdaPlan;
const policy = sqspipes(['iam-policy', ...where, '--role', 'stage', '--stage', LAMBDA_STAGE]);

new PipelineLambdaStack(app, `${DOMAIN}-${LAMBDA_STAGE}-lambda`, { env: { account, region }, plan, policy });
