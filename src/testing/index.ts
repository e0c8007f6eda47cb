/**
 * `sqspipes/testing`: test your own pipeline on a real SQS, in-process. A separate entry: the
 * library (`sqspipes`) never loads it.
 *
 * - {@link startSqs}: fauxqs in this process (default), LocalStack through testcontainers, or any
 *   endpoint; `SQSPIPES_TEST_ENDPOINT` / `SQSPIPES_TEST_BACKEND` switch the same test to another.
 * - {@link testPipeline}: the pipeline's stages run in this process under a unique domain; `run()`
 *   feeds inputs and resolves, once the pipeline is idle, with outputs, dead letters and failures.
 * - {@link failOn}, {@link orderViolations} / {@link expectOrderPerKey}: retries, dead letters, order.
 * - {@link localEventSource}: Lambda's SQS event source mapping, locally, around a handler.
 */
export { type DeadLetter } from './dead-letters.ts';
export { failOn, type FailOnOptions } from './fail-on.ts';
export {
  type PipelineHarness,
  type PipelineRun,
  type RunPipelineOptions,
  type TestClientOptions,
  testPipeline,
  type TestPipelineOptions,
} from './harness.ts';
export {
  type InvocationOutcome,
  type LocalEventSource,
  localEventSource,
  type LocalEventSourceOptions,
  type LocalEventSourceStats,
  type LocalInvocation,
  type LocalLambdaHandler,
} from './lambda-event-source.ts';
export { expectOrderPerKey, type OrderViolation, orderViolations } from './order.ts';
export type { Failure } from './round.ts';
export {
  dockerAvailable,
  LOCALSTACK_IMAGE,
  type SqsBackend,
  startSqs,
  type StartSqsOptions,
  type TestSqs,
} from './start-sqs.ts';
