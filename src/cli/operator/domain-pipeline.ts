/**
 * The pipeline `iam-policy` and `scaling` describe: given by `--stages` (and `--account`,
 * `--region`, `--partition`) without calling SQS, for queues not created yet; or read from the
 * domain's existing queues (their tags, and one queue's ARN for the partition, region and account).
 */
import { GetQueueAttributesCommand, QueueAttributeName } from '@aws-sdk/client-sqs';
import { SqsError } from '../../errors.ts';
import type { ComputedArns } from './args.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues, type DomainQueue, stageNames } from './discover.ts';
import { UsageError } from './errors.ts';
import { type ArnScheme, checkScheme, type PipelineSpec, schemeOfArn, type StageSpec } from './iam-policy.ts';

/** A pipeline and where its queues are. */
export interface DomainPipeline {
  readonly scheme: ArnScheme;
  readonly pipeline: PipelineSpec;
}

/** The pipeline of `--stages` (`computed`), or else of the domain's existing queues. */
export function domainPipeline(
  ctx: OperatorContext,
  computed: ComputedArns | undefined,
  region: () => Promise<string | undefined>,
): Promise<DomainPipeline> {
  return computed === undefined ? discoveredPipeline(ctx) : computedPipeline(ctx, computed, region);
}

async function computedPipeline(
  ctx: OperatorContext,
  computed: ComputedArns,
  region: () => Promise<string | undefined>,
): Promise<DomainPipeline> {
  const resolved = await region().catch(() => undefined);
  if (resolved === undefined) {
    throw new UsageError('--stages needs a region: pass --region or set AWS_REGION');
  }
  const { source, stages, account, partition } = computed;
  const scheme = { partition, region: resolved, account, domain: ctx.domain };
  checkScheme(scheme, stages);
  return { scheme, pipeline: { source, stages } };
}

async function discoveredPipeline(ctx: OperatorContext): Promise<DomainPipeline> {
  const queues = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  const [first] = queues;
  if (first === undefined) {
    throw new UsageError(
      `Domain \`${ctx.domain}\` has no queues to name (check --domain, --region, --endpoint): give the pipeline of queues not created yet with --stages and --account`,
    );
  }
  const out = await ctx.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: first.url, AttributeNames: [QueueAttributeName.QueueArn] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (arn === undefined)
    throw new SqsError(`SQS returned no QueueArn for ${first.name}`, { queue: first.name });
  return { scheme: schemeOfArn(arn, ctx.domain), pipeline: { source: undefined, stages: stagesOf(queues) } };
}

/**
 * The stages of `queues` (in pipeline order): each with as many levels as its highest input
 * queue's level + 1, and a dead-letter queue if it has one.
 */
export function stagesOf(queues: readonly DomainQueue[]): StageSpec[] {
  return stageNames(queues).map((name) => {
    const mine = queues.filter((q) => q.stage === name);
    const levels = mine.flatMap((q) => (q.level === 'dlq' ? [] : [q.level]));
    return {
      name,
      priorities: Math.max(0, ...levels) + 1,
      deadLetter: mine.some((q) => q.level === 'dlq'),
    };
  });
}
