import type { TaskEvents } from '../events.ts';
import type { Telemetry } from '../observe/telemetry.ts';
import type { DomainTimers } from '../time/domain-timers.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Logger } from '../types.ts';
import type { StageHooks } from './hooks.ts';

/** What a stage run needs from its client. */
export interface RunDeps {
  readonly queues: PipelineQueues;
  /** The client's SQS I/O, shared by its runs (each run tracks its own requests over it). */
  readonly io: SqsIo;
  readonly logger: Logger;
  readonly events: TaskEvents;
  readonly hooks: StageHooks;
  readonly ignoreNone: boolean;
  /** Long-poll wait of an idle level, in seconds: also the longest a stop waits for a receive. */
  readonly pollWaitSeconds: number;
  /** OpenTelemetry spans and metrics, or none. */
  readonly telemetry: Telemetry;
  /** The domain's queue of work for later (timers, deletes of stored bodies), swept while the run runs. */
  readonly timers: DomainTimers;
}
