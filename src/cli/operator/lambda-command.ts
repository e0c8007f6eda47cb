/**
 * `sqspipes lambda --stages … --stage <name>`: the event source mappings that run one stage on
 * AWS Lambda (src/lambda/mappings.ts), as a table and `aws lambda create-event-source-mapping`
 * commands, or as JSON (`--json`, read by deployment code such as examples/lambda-cdk). Takes the
 * pipeline from the line: no SQS call.
 */
import {
  lambdaMappings,
  maxFunctionTimeoutSeconds,
  maximumConcurrencyOf,
  DEFAULT_VISIBILITY_SECONDS,
} from '../../lambda/mappings.ts';
import type { LambdaMapping } from '../../lambda/types.ts';
import { checkQueueNamesFit } from '../../queues/naming.ts';
import type { OperatorContext } from './context.ts';
import { UsageError } from './errors.ts';
import { type ArnScheme, checkScheme, queueArn } from './iam-policy.ts';
import { checkFunction, type LambdaRequest, mappedStage } from './lambda-args.ts';
import { printJson, writeOut } from './output.ts';
import { queueUrl } from './scaling.ts';
import { formatTable } from './table.ts';

/** What `lambda` prints, text or JSON. */
export interface LambdaPlan {
  readonly domain: string;
  readonly stage: string;
  readonly functionName: string;
  /** Where the queues are, for their ARNs and URLs; undefined without `--account`. */
  readonly scheme: ArnScheme | undefined;
  readonly mappings: readonly LambdaMapping[];
  readonly maxFunctionTimeoutSeconds: number;
  /** `--max-concurrency` as asked (the mappings hold it brought into AWS's range). */
  readonly maxConcurrency: number | undefined;
  /** For the human, on stderr. */
  readonly notes: readonly string[];
}

/** `--json`: one object, documented in the command's help. */
export interface LambdaJson {
  readonly stage: string;
  readonly functionName: string;
  readonly maxFunctionTimeoutSeconds: number;
  readonly mappings: readonly (LambdaMapping & { readonly queueArn?: string })[];
}

export async function lambdaCommand(
  ctx: OperatorContext,
  request: LambdaRequest,
  region: () => Promise<string | undefined>,
): Promise<void> {
  const resolved = request.account === undefined ? undefined : await region().catch(() => undefined);
  const plan = lambdaPlan(ctx.domain, request, resolved);
  for (const note of plan.notes) ctx.note(note);
  if (ctx.json) await printJson(lambdaJson(plan));
  else await writeOut(lambdaText(plan));
}

/** The mappings of `request.stage`; `region` is needed with `--account` (for ARNs). */
export function lambdaPlan(domain: string, request: LambdaRequest, region: string | undefined): LambdaPlan {
  const { pipeline, stage: name, account, partition, maxConcurrency } = request;
  const { priorities } = mappedStage(pipeline, name);
  let scheme: ArnScheme | undefined;
  if (account !== undefined) {
    if (region === undefined)
      throw new UsageError('--account needs a region: pass --region or set AWS_REGION');
    scheme = { partition, region, account, domain };
    checkScheme(scheme, pipeline.stages);
  }
  checkQueueNamesFit(domain, name, priorities);
  const mappings = lambdaMappings(domain, { name, consumes: true, priorities, maxConcurrency });
  const functionName = request.functionName ?? `${domain}-${name}`;
  checkFunction(functionName, request.functionName !== undefined);
  const note = maximumConcurrencyOf(maxConcurrency).note;
  return {
    domain,
    stage: name,
    functionName,
    scheme,
    mappings,
    maxFunctionTimeoutSeconds: maxFunctionTimeoutSeconds(mappings),
    maxConcurrency,
    notes: note === undefined ? [] : [note],
  };
}

export function lambdaJson(plan: LambdaPlan): LambdaJson {
  const { scheme } = plan;
  return {
    stage: plan.stage,
    functionName: plan.functionName,
    maxFunctionTimeoutSeconds: plan.maxFunctionTimeoutSeconds,
    mappings: plan.mappings.map((m) =>
      scheme === undefined ? { ...m } : { ...m, queueArn: queueArn(scheme, m.queueName) },
    ),
  };
}

export function lambdaText(plan: LambdaPlan): string {
  const { mappings, scheme } = plan;
  const inputs = mappings.filter((m) => m.role === 'input');
  const rows = mappings.map((m) => [
    m.queueName,
    m.role,
    m.level === undefined ? '' : String(m.level),
    String(m.batchSize),
    m.maximumConcurrency === undefined ? '' : String(m.maximumConcurrency),
  ]);
  const table = formatTable(
    [
      { header: 'QUEUE' },
      { header: 'ROLE' },
      { header: 'LEVEL', right: true },
      { header: 'BATCH', right: true },
      { header: 'MAX CONCURRENCY', right: true },
    ],
    rows,
  );
  const arn = (name: string) =>
    scheme === undefined ? `arn:aws:sqs:<region>:<account>:${name}` : queueArn(scheme, name);
  const url = (name: string) =>
    scheme === undefined
      ? `"$(aws sqs get-queue-url --queue-name ${name} --query QueueUrl --output text)"`
      : queueUrl(scheme, name);
  const onRegion = scheme === undefined ? '' : ` --region ${scheme.region}`;
  const create = mappings.map(
    (m) =>
      `aws lambda create-event-source-mapping --function-name ${plan.functionName} --event-source-arn ${arn(m.queueName)} --batch-size ${m.batchSize} --function-response-types ${m.functionResponseTypes.join(' ')}${m.maximumConcurrency === undefined ? '' : ` --scaling-config MaximumConcurrency=${m.maximumConcurrency}`}${onRegion}`,
  );
  const raise = mappings.map(
    (m) =>
      `aws sqs set-queue-attributes --queue-url ${url(m.queueName)} --attributes VisibilityTimeout=<seconds>${onRegion}`,
  );
  return [
    `Stage ${plan.stage} of domain ${plan.domain} on AWS Lambda: function ${plan.functionName}, ${mappings.length} event source mappings.`,
    '',
    table,
    '',
    `Priorities: each level's input queue has a mapping of its own (${inputs.length === 1 ? 'one level' : `${inputs.length} levels`} here): Lambda polls them side by side and keeps no order between them, so a higher level is not taken first.`,
    ...concurrencyLines(plan, inputs.length),
    `The queue of timers (role later) holds the stage's delayed items and join time limits until they are due.`,
    '',
    ...timeoutLines(plan),
    ...raise.map((line) => `  ${line}`),
    '',
    `The function's role: sqspipes iam-policy --role stage --stage ${plan.stage} grants the mappings what they need on these queues (sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:ChangeMessageVisibility).`,
    '',
    'Mappings (AWS CLI):',
    ...create.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

function concurrencyLines(plan: LambdaPlan, levels: number): string[] {
  const value = plan.mappings.find((m) => m.maximumConcurrency !== undefined)?.maximumConcurrency;
  if (value === undefined || plan.maxConcurrency === undefined) {
    return [
      "Concurrency: no MaximumConcurrency (give --max-concurrency, the stage's maxConcurrency, to set one).",
    ];
  }
  const together =
    levels > 1 ? ` (the ${levels} input mappings up to ${levels * value} invocations together)` : '';
  return [
    `Concurrency: MaximumConcurrency ${value} applies to each mapping on its own${together}; sqspipes' permits (the stage's maxConcurrency) hold its calls to ${plan.maxConcurrency} over all of them.`,
  ];
}

function timeoutLines(plan: LambdaPlan): string[] {
  return [
    `Function timeout: at most ${plan.maxFunctionTimeoutSeconds} s. Lambda refuses to create a mapping on a queue whose VisibilityTimeout is shorter than the function's timeout. sqspipes leaves SQS's default of ${DEFAULT_VISIBILITY_SECONDS} s on the stage's queues (it sets visibility per receive); a queue of timers an earlier version of sqspipes created has 10 s: raise it.`,
    "For a longer timeout, first raise the VisibilityTimeout of each queue to at least the function's timeout (AWS advises 6 times it):",
  ];
}
