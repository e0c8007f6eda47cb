import type { ComputedArns } from './args.ts';
import type { OperatorContext } from './context.ts';
import { domainPipeline } from './domain-pipeline.ts';
import { printJson, writeOut } from './output.ts';
import { cloudWatchPolicies, kedaScaledObjects, type ScalingRequest } from './scaling.ts';

/**
 * `sqspipes scaling --keda | --cloudwatch`: prints the autoscaling configuration of every stage
 * with queues (see scaling.ts), for the pipeline of `--stages` or of the domain's existing queues.
 */
export async function scalingCommand(
  ctx: OperatorContext,
  computed: ComputedArns | undefined,
  request: ScalingRequest,
  region: () => Promise<string | undefined>,
): Promise<void> {
  const { scheme, pipeline } = await domainPipeline(ctx, computed, region);
  if (request.kind === 'keda') await writeOut(kedaScaledObjects(scheme, pipeline.stages, request));
  else await printJson(cloudWatchPolicies(scheme, pipeline.stages, request));
}
