import { encodeEnvelope, MAX_MESSAGE_BYTES } from '../../envelope.ts';
import { SqsError, SqspipesError } from '../../errors.ts';
import { producerError } from '../../feed.ts';
import { enqueueId } from '../../ids.ts';
import { DEFAULT_THRESHOLD_BYTES } from '../../payloads/options.ts';
import { PayloadIo } from '../../payloads/payload-io.ts';
import { MAX_READ_BYTES } from '../../payloads/store.ts';
import { inputQueueName, TAG } from '../../queues/naming.ts';
import type { SqsCall } from '../../sqs/diagnose.ts';
import { type OutgoingMessage, SqsIo } from '../../sqs/sqs-io.ts';
import { type Deadline, deadline, untilAborted } from '../../time/deadline.ts';
import { groupIdOf } from '../../worker/forwarder.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues, type DomainQueue, noQueuesOf, QUEUES_CREATED } from './discover.ts';
import { UsageError } from './errors.ts';
import type { InputValue } from './json-input.ts';
import { formatDuration } from './flag-values.ts';
import { count, printJson, printLines } from './output.ts';
import { DEFAULT_SQS_TIMEOUT_MS } from './sqs-timeout.ts';

export interface EnqueueArgs {
  readonly stage: string;
  readonly priority: number;
  /** Idempotency key; for stdin, line n uses `<id>#<n>`. */
  readonly id: string | undefined;
  /** Group key of every value, for a stage that orders its inputs by key (its `group` option). */
  readonly key: string | undefined;
  /** Bound of the whole command (finding the queue, sending every value), in ms. @default 30 s */
  readonly timeoutMs?: number;
}

/**
 * `sqspipes enqueue <stage> <value|-> [--priority P] [--id ID] [--key KEY]`: sends each value as
 * a sqspipes envelope to `<domain>-<stage>-p<P>.fifo`, as `TaskClient.enqueue()` would. The queue
 * must exist: the operator CLI does not know the pipeline's queue attributes, so it never creates
 * queues. With `--key`, every value carries that group key (envelope `k`, MessageGroupId) and they
 * are sent one after another, so that the stage takes them in order; a stage whose queues are
 * tagged keyed gets nothing without it. With `--payload-bucket` (`ctx.payloads`), a body over the
 * default threshold (384 KiB) is written to S3 first and its message carries AWS's pointer, as
 * TaskClient's `payloads` option does (key `<prefix><domain>/payload/<hash>`).
 *
 * The whole command is bounded by `args.timeoutMs`: past it, nothing more is sent and it fails with
 * a ConnectionError naming the endpoint (saying so when a value was on its way), or naming S3's.
 */
export async function enqueueCommand(
  ctx: OperatorContext,
  args: EnqueueArgs,
  values: readonly InputValue[],
): Promise<void> {
  const name = inputQueueName(ctx.domain, args.stage, args.priority);
  const payloads = payloadIo(ctx);
  const messages = values.map((v) => encode(v, args, payloads !== undefined));
  const stored =
    payloads === undefined ? undefined : messages.filter((m) => payloads.offloads(m.body)).length;
  const limit = deadline('sqspipes enqueue', args.timeoutMs ?? DEFAULT_SQS_TIMEOUT_MS);
  const io = new SqsIo(ctx.sqs);
  let call: SqsCall = { step: 'running `sqspipes enqueue`', action: 'ListQueues' };
  try {
    const discovered = discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
    const queues = await untilAborted(discovered, limit.signal);
    const queue = queues.find((q) => q.stage === args.stage && q.level === args.priority);
    if (queue === undefined) throw missingQueue(ctx.domain, args, queues);
    checkKey(ctx, queue, args);
    call = { ...call, action: 'SendMessageBatch', queue: queue.url };
    const send = async (m: OutgoingMessage) => {
      const offloads = payloads?.offloads(m.body) === true;
      const pointer = offloads ? await offload(ctx, payloads, name, m, limit, args) : m;
      await io.send(queue.url, pointer, limit.signal);
    };
    if (args.key === undefined) await Promise.all(messages.map(send));
    // One message group: SQS keeps the order of sends only when each waits for the one before.
    else for (const m of messages) await send(m);
  } catch (error) {
    const diagnose = ctx.diagnose ?? ((e: unknown) => e);
    throw producerError(error, limit, (e) => diagnose(e, call), rerunWords(args));
  } finally {
    limit.dispose();
    await io.flush(0); // every send carried the deadline: none is left once it ran out
  }
  const ids = messages.map((m) => m.deduplicationId);
  const key = args.key === undefined ? {} : { key: args.key };
  const inS3 = stored === undefined ? {} : { stored };
  if (ctx.json) await printJson({ queue: name, sent: ids.length, ids, ...key, ...inS3 });
  else {
    const keyed = args.key === undefined ? '' : ` with key ${JSON.stringify(args.key)}`;
    const where = `s3://${ctx.payloads?.store.bucket ?? ''}/${ctx.payloads?.prefix ?? ''}`;
    const held =
      stored === undefined || stored === 0 ? '' : ` (${count(stored, 'body', 'bodies')} stored in ${where})`;
    await printLines([`sent ${count(ids.length, 'message')} to ${name}${keyed}${held}`]);
  }
}

/** The bodies over the threshold through `--payload-bucket`, keyed as TaskClient's (prefix, domain). */
function payloadIo(ctx: OperatorContext): PayloadIo | undefined {
  if (ctx.payloads === undefined) return undefined;
  const layout = { prefix: ctx.payloads.prefix, domain: ctx.domain };
  return new PayloadIo(ctx.payloads.store, layout, DEFAULT_THRESHOLD_BYTES);
}

/**
 * `m` as a pointer to its body, written to S3 first (as SqsIo does for a client with `payloads`),
 * at the key of `queue` (its name) and its deduplication id. S3 not answering within `--timeout` says so.
 */
async function offload(
  ctx: OperatorContext,
  payloads: PayloadIo,
  queue: string,
  m: OutgoingMessage,
  limit: Deadline,
  args: EnqueueArgs,
): Promise<OutgoingMessage> {
  try {
    return await payloads.offload(queue, m, limit.signal);
  } catch (error) {
    if (!limit.signal.aborted) throw error;
    const ms = args.timeoutMs ?? DEFAULT_SQS_TIMEOUT_MS;
    throw new SqspipesError(
      `S3 did not answer within ${formatDuration(ms)} (${ctx.payloads?.where ?? ''}): check that it is reachable, or give it longer with --timeout.${rerunWords(args)}`,
      { cause: error },
    );
  }
}

/** What the error says when a value was on its way as the command gave up. */
function rerunWords(args: EnqueueArgs): string {
  const again =
    args.id === undefined
      ? 'Running the command again may send them twice: give --id to make that safe.'
      : 'Running the command again with the same --id is safe (SQS drops a repeated id within 5 minutes).';
  return ` Values were on their way when the command gave up: SQS may or may not have accepted them. ${again}`;
}

/** Refuses a keyed stage without `--key`; notes that a queue from before the tag cannot tell. */
function checkKey(ctx: OperatorContext, queue: DomainQueue, args: EnqueueArgs): void {
  if (args.key !== undefined || queue.keyed === false) return;
  if (queue.keyed === true) {
    throw new UsageError(
      `Stage \`${args.stage}\` orders its inputs by key (its \`group\` option): give --key with the key its group function returns for these values`,
    );
  }
  ctx.note(
    `Queue ${queue.name} does not say whether stage \`${args.stage}\` orders its inputs by key (it predates the ${TAG.keyed} tag): if the stage has a \`group\` option, give --key`,
  );
}

/**
 * The message of one value: its id (also its deduplication id) and, with `--key`, its group. Its
 * body may be up to 1 MiB, or, `stored` in S3, as large as a stage can read back.
 */
function encode(input: InputValue, args: EnqueueArgs, stored: boolean): OutgoingMessage {
  const idKey = args.id === undefined || input.line === undefined ? args.id : `${args.id}#${input.line}`;
  const id = enqueueId(idKey);
  const body = encodeEnvelope({ id, value: input.value, level: args.priority, key: args.key });
  const bytes = Buffer.byteLength(body);
  const where = input.line === undefined ? 'The <value> argument' : `Stdin line ${input.line}`;
  if (!stored && bytes > MAX_MESSAGE_BYTES) {
    throw new UsageError(
      `${where} is ${bytes} bytes as a message, over SQS's limit of ${MAX_MESSAGE_BYTES}: give --payload-bucket (the pipeline's payloads.bucket) to store it in S3`,
    );
  }
  if (stored && bytes > MAX_READ_BYTES) {
    throw new UsageError(
      `${where} is ${bytes} bytes as a message, more than a stage can read (${MAX_READ_BYTES})`,
    );
  }
  // As TaskClient.enqueue(): a keyed value joins its key's group, any other is a group of its own.
  const groupId = args.key === undefined ? id : groupIdOf(args.key);
  return { body, groupId, deduplicationId: id };
}

/** Why the input queue of `args.stage` at `args.priority` is not among the domain's `queues`. */
function missingQueue(domain: string, args: EnqueueArgs, queues: readonly DomainQueue[]): Error {
  const { stage, priority } = args;
  const name = inputQueueName(domain, stage, priority);
  const mine = queues.filter((q) => q.stage === stage);
  if (mine.length === 0) return noQueuesOf(domain, stage, queues);
  const levels = mine.flatMap((q) => (q.level === 'dlq' ? [] : [q.level]));
  if (levels.length === 0) {
    return new SqsError(`Stage \`${stage}\` of domain \`${domain}\` has no input queue. ${QUEUES_CREATED}`, {
      queue: name,
    });
  }
  return new UsageError(
    `Stage \`${stage}\` of domain \`${domain}\` has no priority level ${priority} (no queue ${name}): its levels are ${levels.join(', ')}`,
  );
}
