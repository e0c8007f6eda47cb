import { GetQueueAttributesCommand, QueueAttributeName } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { SqsError } from '../../errors.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues } from './discover.ts';
import { UsageError } from './errors.ts';
import { computeQueueArns, iamPolicy, parseStages } from './iam-policy.ts';
import { printJson } from './output.ts';

export interface IamArgs {
  /** `--stages a:2,b`: compute the ARNs instead of discovering the queues. */
  readonly stages: string | undefined;
  readonly priorities: number;
  /** `--dlq-stages b`: the stages with a dead-letter queue; undefined: every stage of `--stages`. */
  readonly dlqStages: string | undefined;
  readonly account: string | undefined;
  readonly partition: string | undefined;
}

const CONCURRENCY = 10;

/**
 * `sqspipes iam-policy`: prints the least-privilege policy of the domain's queues. By default
 * it names the queues that exist (their QueueArn attributes); with `--stages` (and `--account`)
 * it computes the ARNs from the naming scheme without calling SQS, for queues not created yet:
 * each stage's input levels and its dead-letter queue (only `--dlq-stages`' when given).
 */
export async function iamPolicyCommand(
  ctx: OperatorContext,
  args: IamArgs,
  region: () => Promise<string | undefined>,
): Promise<void> {
  const arns =
    args.stages === undefined ? await discoveredArns(ctx, args) : await computedArns(ctx, args, region);
  await printJson(iamPolicy(arns));
}

async function discoveredArns(ctx: OperatorContext, args: IamArgs): Promise<string[]> {
  for (const [option, value] of [
    ['--account', args.account],
    ['--partition', args.partition],
    ['--dlq-stages', args.dlqStages],
  ] as const) {
    if (value !== undefined) throw new UsageError(`${option} applies only with --stages (computed ARNs)`);
  }
  const queues = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  if (queues.length === 0) {
    throw new SqsError(
      `Domain \`${ctx.domain}\` has no queues to name: run the pipeline once, or compute the ARNs with --stages and --account`,
    );
  }
  const limit = pLimit(CONCURRENCY);
  return Promise.all(
    queues.map((q) =>
      limit(async () => {
        const out = await ctx.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: [QueueAttributeName.QueueArn] }),
        );
        const arn = out.Attributes?.QueueArn;
        if (arn === undefined)
          throw new SqsError(`SQS returned no QueueArn for ${q.name}`, { queue: q.name });
        return arn;
      }),
    ),
  );
}

async function computedArns(
  ctx: OperatorContext,
  args: IamArgs,
  region: () => Promise<string | undefined>,
): Promise<string[]> {
  const specs = parseStages(args.stages ?? '', args.priorities, args.dlqStages);
  // Every stage with input queues has a dead-letter queue; --dlq-stages names fewer (older queues).
  const stages = args.dlqStages === undefined ? specs.map((s) => ({ ...s, deadLetter: true })) : specs;
  if (args.account === undefined)
    throw new UsageError('--stages needs --account (the 12-digit AWS account id)');
  const resolved = await region().catch(() => undefined);
  if (resolved === undefined)
    throw new UsageError('--stages needs a region: pass --region or set AWS_REGION');
  return computeQueueArns(
    { partition: args.partition ?? 'aws', region: resolved, account: args.account, domain: ctx.domain },
    stages,
  );
}
