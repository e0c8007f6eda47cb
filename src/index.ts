/**
 * sqspipes: multi-stage pipelines over AWS SQS FIFO queues.
 *
 * Reading order for newcomers: this file (the whole public API), then `task-client.ts` (how a
 * pipeline is registered and run), then `worker/stage-runner.ts` (receive → dispatch → call →
 * forward → acknowledge). The glossary is at the top of `types.ts`. Beside the engine:
 * `replies/` (`submit()`: results back to the sender over SQS; `completion.ts` knows when an item
 * is done) and `observe/telemetry.ts` (OpenTelemetry, optional).
 */

export {
  type BranchFailure,
  type JoinContext,
  type TaskContext,
  type TaskInput,
  taskContext,
} from './context.ts';
export { type InputInfo, type TaskClientEvents, TaskEvents } from './events.ts';
export { CallTimeoutError } from './worker/call.ts';
export {
  BatchItemError,
  Delayed,
  delayed,
  EmptyTaskOutput,
  FanOut,
  fanOut,
  Identified,
  itemError,
  withId,
} from './outputs.ts';
export type { IdentifiedOutput } from './worker/emit.ts';
export {
  ConfigError,
  type ConnectionDetails,
  ConnectionError,
  type ConnectionProblem,
  type ItemEnd,
  ItemError,
  type EndpointSource,
  LeaseLostError,
  OutputError,
  QueueConfigError,
  ReplyError,
  RetryAfterError,
  SqsError,
  SqspipesError,
  StageError,
  UnknownStageError,
} from './errors.ts';
export {
  PayloadMissingError,
  PayloadPointerError,
  PayloadStoreError,
  type PayloadStoreProblem,
  PayloadTooLargeError,
} from './payloads/errors.ts';
export type { PayloadOptions } from './payloads/options.ts';
export type { ClientStats } from './client-stats.ts';
export { TaskClient } from './task-client.ts';
export type {
  LambdaBatchResponse,
  LambdaContextLike,
  LambdaMapping,
  LambdaOptions,
  LambdaSqsEvent,
  LambdaSqsHandler,
  LambdaSqsMessageAttribute,
  LambdaSqsRecord,
} from './lambda/types.ts';
export { type ItemStatus, Submission } from './replies/submission.ts';
export type {
  EnqueueOptions,
  Logger,
  RedriveOptions,
  QueueInfo,
  RunOptions,
  StageCliDefaults,
  StageEntry,
  StageMethod,
  StageOptions,
  SubmitOptions,
  TaskClientOptions,
} from './types.ts';
export {
  type MethodFor,
  type OutputOf,
  Pipeline,
  pipeline,
  type StageTypes,
  type TypedStageOptions,
} from './pipeline.ts';
export type { Jsonified } from './jsonified.ts';
export type { PendingJoins } from './payloads/join-listing.ts';
