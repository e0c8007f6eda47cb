/**
 * Administration of a pipeline's queues, behind TaskClient's `createQueues()`, `queues()`,
 * `purge()`, `destroy()` and `redrive()`: each by the queues' exact names, never by prefix.
 */
import { DeleteQueueCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { Connection } from '../connection.ts';
import type { Stage } from '../stage.ts';
import type { QueueInfo } from '../types.ts';
import { queueDepths } from './depths.ts';
import { redriveQueue } from './redrive.ts';
import { deadline, untilAborted } from '../time/deadline.ts';
import type { PipelineQueues } from './topology.ts';

/** What administration asks SQS with: the client's SQSClient, and how to explain its failures. */
export type AdminConnection = Pick<Connection, 'sqs' | 'diagnose'>;

/** Creates every input queue of the pipeline now (each stage's dead-letter queue with them). */
export async function createAllQueues(queues: PipelineQueues): Promise<void> {
  await Promise.all(
    queues.topology.stages
      .filter((stage) => stage.consumes)
      .flatMap((stage) =>
        Array.from({ length: stage.priorities }, (_, level) => queues.inputUrl(stage, level)),
      ),
  );
}

/** The pipeline's queues (inputs by level, dead-letter queues) with approximate depths. */
export function describeQueues(
  { sqs, diagnose }: AdminConnection,
  queues: PipelineQueues,
): Promise<QueueInfo[]> {
  const depthsOf = (url: string) =>
    queueDepths(sqs, url).catch((error: unknown) => {
      throw diagnose(error, { step: 'reading queue depths', action: 'GetQueueAttributes', queue: url });
    });
  return Promise.all(
    queues.topology.queues().map(async ({ stage, level, spec }): Promise<QueueInfo> => {
      const url = await queues.find(spec.name);
      const depths = url === undefined ? { visible: 0, inFlight: 0, delayed: 0 } : await depthsOf(url);
      return { stage: stage.name, level, name: spec.name, url, exists: url !== undefined, ...depths };
    }),
  );
}

/** Deletes every message in the queues of `listed` that exist. */
export async function purgeQueues({ sqs, diagnose }: AdminConnection, listed: QueueInfo[]): Promise<void> {
  const existing = listed.filter((q) => q.url !== undefined);
  await Promise.all(
    existing.map((q) =>
      sqs.send(new PurgeQueueCommand({ QueueUrl: q.url })).catch((error: unknown) => {
        throw diagnose(error, { step: 'purging queues', action: 'PurgeQueue', queue: q.name });
      }),
    ),
  );
}

/** Deletes the queues of `listed` that exist; resolves with their names. */
export async function deleteQueues(
  { sqs, diagnose }: AdminConnection,
  listed: QueueInfo[],
): Promise<string[]> {
  const existing = listed.filter((q) => q.url !== undefined);
  await Promise.all(
    existing.map((q) =>
      sqs.send(new DeleteQueueCommand({ QueueUrl: q.url })).catch((error: unknown) => {
        throw diagnose(error, { step: 'deleting queues', action: 'DeleteQueue', queue: q.name });
      }),
    ),
  );
  return existing.map((q) => q.name);
}

/**
 * Moves every message of `stage`'s dead-letter queue back to its input (see redriveQueue): finding
 * the queue and each step of the redrive take `stepMs` at most; `signal` ends it.
 */
export async function redriveStage(
  { io, diagnose }: Pick<Connection, 'io' | 'diagnose'>,
  queues: PipelineQueues,
  stage: Stage,
  bounds: { readonly stepMs: number; readonly signal: AbortSignal | undefined },
): Promise<number> {
  const find = deadline('redrive()', bounds.stepMs, bounds.signal);
  let dlq: string;
  try {
    dlq = await untilAborted(queues.deadLetterUrl(stage), find.signal);
  } catch (error) {
    if (find.callerGaveUp && error === find.signal.reason) throw error;
    const call = { step: 'finding the dead-letter queue', action: 'GetQueueUrl, GetQueueAttributes' };
    throw diagnose(error, call);
  } finally {
    find.dispose();
  }
  const signal = bounds.signal === undefined ? {} : { signal: bounds.signal };
  const target = (level: number) => queues.inputUrl(stage, level);
  return redriveQueue(io, dlq, target, stage.priorities - 1, { stepMs: bounds.stepMs, diagnose, ...signal });
}
