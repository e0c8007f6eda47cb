import type { ComputedArns } from './args.ts';
import type { OperatorContext } from './context.ts';
import { domainPipeline } from './domain-pipeline.ts';
import { type RoleRequest, rolePolicy } from './iam-roles.ts';
import { printJson } from './output.ts';

/**
 * `sqspipes iam-policy --role stage|producer|operator`: prints the least-privilege policy of that
 * role (see iam-roles.ts). By default it reads the pipeline from the domain's existing queues;
 * with `--stages` (and `--account`) it takes the pipeline from the line without calling SQS, for
 * queues not created yet. The domain's reply queues, `<domain>-reply-*`, are in the partition,
 * region and account of those queues.
 */
export async function iamPolicyCommand(
  ctx: OperatorContext,
  computed: ComputedArns | undefined,
  request: RoleRequest,
  region: () => Promise<string | undefined>,
): Promise<void> {
  const { scheme, pipeline } = await domainPipeline(ctx, computed, region);
  await printJson(rolePolicy(scheme, pipeline, request));
}
