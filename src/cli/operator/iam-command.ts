import { GetQueueAttributesCommand, QueueAttributeName } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { SqsError } from '../../errors.ts';
import type { ComputedArns } from './args.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues } from './discover.ts';
import { UsageError } from './errors.ts';
import { computeQueueArns, iamPolicy, replyQueuesArn, schemeOfArn } from './iam-policy.ts';
import { printJson } from './output.ts';

const CONCURRENCY = 10;

/**
 * `sqspipes iam-policy`: prints the least-privilege policy of the domain's queues. By default
 * it names the queues that exist (their QueueArn attributes); with `--stages` (and `--account`)
 * it computes the ARNs from the naming scheme without calling SQS, for queues not created yet:
 * each stage's input levels and its dead-letter queue (only `--dlq-stages`' when given). Either
 * way it adds the domain's reply queues, `<domain>-reply-*`, in the partition, region and account
 * of the first of those ARNs.
 */
export async function iamPolicyCommand(
  ctx: OperatorContext,
  computed: ComputedArns | undefined,
  region: () => Promise<string | undefined>,
): Promise<void> {
  const arns = computed === undefined ? await discoveredArns(ctx) : await computedArns(ctx, computed, region);
  const [first = ''] = arns;
  await printJson(iamPolicy(arns, replyQueuesArn(schemeOfArn(first, ctx.domain))));
}

async function discoveredArns(ctx: OperatorContext): Promise<string[]> {
  const queues = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  if (queues.length === 0) {
    throw new UsageError(
      `Domain \`${ctx.domain}\` has no queues to name (check --domain, --region, --endpoint): compute the ARNs of queues not created yet with --stages and --account`,
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
  computed: ComputedArns,
  region: () => Promise<string | undefined>,
): Promise<string[]> {
  const resolved = await region().catch(() => undefined);
  if (resolved === undefined) {
    throw new UsageError('--stages needs a region: pass --region or set AWS_REGION');
  }
  const { stages, account, partition } = computed;
  return computeQueueArns({ partition, region: resolved, account, domain: ctx.domain }, stages);
}
