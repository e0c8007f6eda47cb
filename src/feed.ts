/**
 * Feeding a value into a stage's input from outside the pipeline (`enqueue()`, `submit()`): its
 * JSON, checked before any request, sent in an envelope inside a `send` span.
 */
import type { Connection } from './connection.ts';
import { type Envelope, encodeValue, wrapEncoded } from './envelope.ts';
import { ConnectionError, OutputError } from './errors.ts';
import { OutcomeUnknownError } from './sqs/batcher.ts';
import type { SqsCall } from './sqs/diagnose.ts';
import { isTransient } from './sqs/transient.ts';
import { type Deadline, DeadlineExceeded, untilAborted } from './time/deadline.ts';
import { sleep } from './time/timers.ts';
import { inputQueueName } from './queues/naming.ts';
import type { PipelineQueues } from './queues/topology.ts';
import type { Stage } from './stage.ts';
import { keyGroupId } from './worker/forwarder.ts';

/** The JSON of a value fed in; an OutputError naming the path in the value when it is not JSON. */
export function encodeOrThrow(stage: string, value: unknown): string {
  try {
    return encodeValue(value, 'value');
  } catch (error) {
    throw new OutputError(`enqueue:${stage}`, error instanceof Error ? error.message : String(error), error);
  }
}

/**
 * Sends a value (its JSON) in an envelope to a stage's input, within `deadline`: past it nothing
 * is sent any more, and the error says whether SQS may still have accepted the message. It sends
 * once `earlier` (the calls of its key made before it) has settled. With `due` (epoch ms) later than
 * now, it goes through the domain's timers and reaches the stage's queue once due.
 */
export async function feed(
  { io, telemetry, diagnose }: Pick<Connection, 'io' | 'telemetry' | 'diagnose'>,
  queues: PipelineQueues,
  stage: Stage,
  envelope: Omit<Envelope, 'value'>,
  json: string,
  deadline: Deadline,
  earlier?: Promise<unknown>,
  due?: number,
): Promise<void> {
  const level = envelope.level ?? 0;
  const name = inputQueueName(queues.topology.domain, stage.name, level);
  let call: SqsCall = { step: 'finding the queue to send to', action: 'GetQueueUrl', queue: name };
  try {
    const url = await whileTransient(() => queues.inputUrl(stage, level), deadline.signal);
    call = { step: 'waiting for the earlier sends of its key', action: 'SendMessageBatch', queue: url };
    if (earlier !== undefined) await untilAborted(earlier, deadline.signal);
    call = { step: 'sending', action: 'SendMessageBatch', queue: url };
    const groupId =
      envelope.key === undefined ? envelope.id : keyGroupId(envelope.key, envelope.id, stage.keyConcurrency);
    const span = telemetry.send(name);
    const body = wrapEncoded({ ...envelope, trace: span.carrier }, json);
    try {
      const message = { body, groupId, deduplicationId: envelope.id, due };
      const sent = await io.send(url, message, deadline.signal, true); // abandoned with its caller
      span.end(undefined, (sent as { MessageId?: string } | undefined)?.MessageId);
    } catch (error) {
      span.end(error);
      throw error;
    }
  } catch (error) {
    throw producerError(error, deadline, (e) => diagnose(e, call));
  }
}

/**
 * `work`'s value, tried again (with backoff) after each transient failure (SQS unreachable,
 * throttling, 5xx) until `signal` aborts, as a send in the batcher is: an outage shorter than the
 * deadline is ridden out whatever phase it meets. Past the deadline, the last failure (it says
 * more than "the time ran out"); the caller's own abort reason is decided by producerError.
 */
export async function whileTransient<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await untilAborted(work(), signal);
    } catch (error) {
      const transient = isTransient(error) || (error instanceof Error && isTransient(error.cause));
      if (signal.aborted || !transient) throw error;
      if (!(await sleep(Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2), signal))) throw error;
    }
  }
}

/**
 * The error a producer call (`enqueue()`, `submit()`) rejects with: the caller's own abort reason
 * as it is; a deadline that ran out, as a ConnectionError naming the endpoint; a request given up
 * on the wire, as a ConnectionError that says the outcome is unknown and that sending again with
 * the same `id` is safe (or `unknown`: what to say then, e.g. in the words of a CLI).
 */
export function producerError(
  error: unknown,
  deadline: Deadline,
  diagnose: (error: unknown) => unknown,
  unknown = ' The message was on its way when the call gave up: SQS may or may not have accepted it. Sending it again with the same `id` is safe (SQS drops a repeated id within 5 minutes).',
): unknown {
  // The caller's own signal: its reason, whatever the last attempt's failure was.
  if (deadline.callerGaveUp) return deadline.signal.reason;
  if (error instanceof OutcomeUnknownError) {
    const why = error.cause instanceof Error ? error.cause : error;
    const found = diagnose(why instanceof DeadlineExceeded ? why : new DeadlineExceeded(error.message, 0));
    if (found instanceof ConnectionError) return found.withOutcomeUnknown(unknown);
    return error;
  }
  return diagnose(error);
}
