/**
 * Feeding a value into a stage's input from outside the pipeline (`enqueue()`, `submit()`): its
 * JSON, checked before any request, sent in an envelope inside a `send` span.
 */
import type { Connection } from './connection.ts';
import { type Envelope, encodeValue, wrapEncoded } from './envelope.ts';
import { OutputError } from './errors.ts';
import { inputQueueName } from './queues/naming.ts';
import type { PipelineQueues } from './queues/topology.ts';
import type { Stage } from './stage.ts';
import { groupIdOf } from './worker/forwarder.ts';

/** The JSON of a value fed in; an OutputError naming the path in the value when it is not JSON. */
export function encodeOrThrow(stage: string, value: unknown): string {
  try {
    return encodeValue(value, 'value');
  } catch (error) {
    throw new OutputError(`enqueue:${stage}`, error instanceof Error ? error.message : String(error), error);
  }
}

/** Sends a value (its JSON) in an envelope to a stage's input. */
export async function feed(
  { io, telemetry }: Pick<Connection, 'io' | 'telemetry'>,
  queues: PipelineQueues,
  stage: Stage,
  envelope: Omit<Envelope, 'value'>,
  json: string,
): Promise<void> {
  const level = envelope.level ?? 0;
  const url = await queues.inputUrl(stage, level);
  const groupId = envelope.key === undefined ? envelope.id : groupIdOf(envelope.key);
  const span = telemetry.send(inputQueueName(queues.topology.domain, stage.name, level));
  const body = wrapEncoded({ ...envelope, trace: span.carrier }, json);
  try {
    const sent = await io.send(url, { body, groupId, deduplicationId: envelope.id });
    span.end(undefined, (sent as { MessageId?: string } | undefined)?.MessageId);
  } catch (error) {
    span.end(error);
    throw error;
  }
}
