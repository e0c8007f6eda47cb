import { encodeEnvelope, MAX_MESSAGE_BYTES } from '../../envelope.ts';
import { SqsError } from '../../errors.ts';
import { enqueueId } from '../../ids.ts';
import { inputQueueName } from '../../queues/naming.ts';
import { SqsIo } from '../../sqs/sqs-io.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues, type DomainQueue } from './discover.ts';
import { UsageError } from './errors.ts';
import type { InputValue } from './json-input.ts';
import { count, printJson, printLines } from './output.ts';

export interface EnqueueArgs {
  readonly stage: string;
  readonly priority: number;
  /** Idempotency key; for stdin, line n uses `<id>#<n>`. */
  readonly id: string | undefined;
}

/**
 * `sqspipes enqueue <stage> <value|-> [--priority P] [--id ID]`: sends each value as a sqspipes
 * envelope to `<domain>-<stage>-p<P>.fifo` (batched), as `TaskClient.enqueue()` would. The queue
 * must exist: the operator CLI does not know the pipeline's queue attributes, so it never creates
 * queues.
 */
export async function enqueueCommand(
  ctx: OperatorContext,
  args: EnqueueArgs,
  values: readonly InputValue[],
): Promise<void> {
  const name = inputQueueName(ctx.domain, args.stage, args.priority);
  const messages = values.map((v) => encode(v, args));
  const queues = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  const queue = queues.find((q) => q.stage === args.stage && q.level === args.priority);
  if (queue === undefined) throw missingQueue(name, args.stage, queues);
  const io = new SqsIo(ctx.sqs);
  try {
    await Promise.all(
      messages.map((m) => io.send(queue.url, { body: m.body, groupId: m.id, deduplicationId: m.id })),
    );
  } finally {
    await io.flush();
  }
  const ids = messages.map((m) => m.id);
  if (ctx.json) await printJson({ queue: name, sent: ids.length, ids });
  else await printLines([`sent ${count(ids.length, 'message')} to ${name}`]);
}

function encode(input: InputValue, args: EnqueueArgs): { id: string; body: string } {
  const key = args.id === undefined || input.line === undefined ? args.id : `${args.id}#${input.line}`;
  const id = enqueueId(key);
  const body = encodeEnvelope({ id, value: input.value, level: args.priority });
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_MESSAGE_BYTES) {
    const where = input.line === undefined ? 'The <value> argument' : `Stdin line ${input.line}`;
    throw new UsageError(`${where} is ${bytes} bytes as a message, over SQS's limit of ${MAX_MESSAGE_BYTES}`);
  }
  return { id, body };
}

function missingQueue(name: string, stage: string, queues: readonly DomainQueue[]): SqsError {
  const levels = queues.filter((q) => q.stage === stage && q.level !== 'dlq').map((q) => q.level);
  const hint =
    levels.length === 0
      ? 'run the pipeline once to create its queues'
      : `stage \`${stage}\` has priority levels ${levels.join(', ')}`;
  return new SqsError(`Queue ${name} does not exist: ${hint}`, { queue: name });
}
