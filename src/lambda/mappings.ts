/**
 * The event source mappings (ESM) a stage needs to run on AWS Lambda (pure: no I/O), as AWS
 * documents them ("Using Lambda with Amazon SQS"):
 * - one per priority level's FIFO input queue, `<domain>-<stage>-p<level>.fifo`: Lambda polls each
 *   on its own and keeps no order between them, so a higher level is not taken first;
 * - one on the stage's queue of timers, `<domain>-<stage>-later` (a standard queue): its delayed
 *   items and join time limits, sent on to its input once due.
 * Each takes batches of 10 records (a FIFO mapping's maximum) and reports failed records
 * (`ReportBatchItemFailures`). FIFO mappings take no batching window, so none is set on any.
 * A source stage (no input queue) has none.
 */
import { ConfigError } from '../errors.ts';
import { inputQueueName } from '../queues/naming.ts';
import { laterQueueName } from '../time/domain-timers.ts';
import type { LambdaMapping } from './types.ts';

/** What of a stage its mappings depend on (a registered stage fits). */
export interface LambdaMappedStage {
  readonly name: string;
  /** False for a source (a first stage without `input: true`): it has no queue to map. */
  readonly consumes: boolean;
  readonly priorities: number;
  /** The stage's `maxConcurrency`; undefined: none. */
  readonly maxConcurrency?: number | undefined;
}

/** Records per invocation: the most a FIFO mapping takes (and SQS's most per receive). */
export const LAMBDA_BATCH_SIZE = 10;
/** ScalingConfig.MaximumConcurrency's range, as AWS documents it. */
export const MAXIMUM_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;
/** SQS's default VisibilityTimeout, which sqspipes leaves on input queues (it sets visibility per receive). */
export const DEFAULT_VISIBILITY_SECONDS = 30;

/** The mappings of `stage` in `domain`: its input levels, lowest first, then its queue of timers. */
export function lambdaMappings(domain: string, stage: LambdaMappedStage): LambdaMapping[] {
  if (!stage.consumes) {
    throw new ConfigError(
      `Stage \`${stage.name}\` is the first stage, a source: it has no input queue for Lambda to read (it calls its method in a loop); run it as a process, or register it with \`input: true\``,
    );
  }
  const { value } = maximumConcurrencyOf(stage.maxConcurrency);
  const settings = {
    batchSize: LAMBDA_BATCH_SIZE,
    functionResponseTypes: ['ReportBatchItemFailures'] as const,
  };
  const inputs = Array.from({ length: stage.priorities }, (_, level): LambdaMapping => ({
    stage: stage.name,
    queueName: inputQueueName(domain, stage.name, level),
    role: 'input',
    level,
    ...settings,
    ...(value === undefined ? {} : { maximumConcurrency: value }),
  }));
  const later: LambdaMapping = {
    stage: stage.name,
    queueName: laterQueueName(domain, stage.name),
    role: 'later',
    ...settings,
  };
  return [...inputs, later];
}

/**
 * The MaximumConcurrency of a stage's input mappings for its `maxConcurrency`, brought into
 * AWS's 2 to 1,000, with a note when it had to be (undefined: no limit, none set).
 */
export function maximumConcurrencyOf(maxConcurrency: number | undefined): {
  readonly value: number | undefined;
  readonly note: string | undefined;
} {
  const { min, max } = MAXIMUM_CONCURRENCY_RANGE;
  if (maxConcurrency === undefined) return { value: undefined, note: undefined };
  if (maxConcurrency < min) {
    return {
      value: min,
      note: `maxConcurrency ${maxConcurrency} cannot be a mapping's MaximumConcurrency (AWS's minimum is ${min}): set to ${min}. For one invocation at a time, give the function a reserved concurrency of 1 (Lambda then throttles the mappings' other invocations, whose records come back after their visibility timeout), or rely on sqspipes' permits: the stage's maxConcurrency holds its calls to ${maxConcurrency} over every invocation`,
    };
  }
  if (maxConcurrency > max) {
    return {
      value: max,
      note: `maxConcurrency ${maxConcurrency} is over a mapping's largest MaximumConcurrency (AWS's maximum is ${max}): set to ${max}`,
    };
  }
  return { value: maxConcurrency, note: undefined };
}

/**
 * The VisibilityTimeout sqspipes leaves on the queue of `mapping`: SQS's default, on an input
 * queue and on the stage's queue of timers alike (receives set their own).
 */
export function queueVisibilitySeconds(_mapping: LambdaMapping): number {
  return DEFAULT_VISIBILITY_SECONDS;
}

/**
 * The longest timeout of a function with these mappings, on queues as sqspipes makes them:
 * Lambda refuses to create or update a mapping on a queue whose VisibilityTimeout is shorter than
 * the function's timeout.
 */
export function maxFunctionTimeoutSeconds(mappings: readonly LambdaMapping[]): number {
  return Math.min(...mappings.map(queueVisibilitySeconds));
}
