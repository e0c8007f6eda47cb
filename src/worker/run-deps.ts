import type { TaskEvents } from '../events.ts';
import type { Telemetry } from '../observe/telemetry.ts';
import type { DomainTimers } from '../time/domain-timers.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Logger } from '../types.ts';
import type { Stage } from '../stage.ts';
import type { CallLimits } from './call-limits.ts';
import type { StageHooks } from './hooks.ts';
import type { SQSClient } from '@aws-sdk/client-sqs';

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
  /** The domain's queue of deletes of stored bodies, swept while the run runs with `payloads`. */
  readonly timers: DomainTimers;
  /** The stage's queue of timers (`<domain>-<stage>-later`), swept while the run runs. */
  readonly later: DomainTimers;
  /** The client's SQSClient, for what SqsIo does not carry (ticks' tags). */
  readonly sqs: SQSClient;
  /** The fleet-wide limits of a stage's calls (see CallLimits). */
  readonly limitsFor: (stage: Stage) => CallLimits;
}
