import { ENCODING_ATTRIBUTE } from '../../payloads/compression.ts';
import { decodeReceived } from '../../payloads/payload-io.ts';
import {
  GetQueueAttributesCommand,
  type Message,
  MessageSystemAttributeName,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { POINTER_ATTRIBUTES } from '../../payloads/pointer.ts';
import type { OperatorContext } from './context.ts';
import { REASON_ATTRIBUTE } from './dead-letter-reason.ts';
import { deadLetterQueueOf, discoverQueues, type DomainQueue, queuesOfStage } from './discover.ts';
import { UsageError } from './errors.ts';
import { printJson, printLines } from './output.ts';
import { describeMessage, formatPeeked, type PeekedMessage } from './peeked-message.ts';
import { shownBodies } from './stored-bodies.ts';

export interface PeekArgs {
  readonly stage: string;
  readonly dlq: boolean;
  readonly level: number | undefined;
  /** At most this many messages in all, 1 to 10. */
  readonly max: number;
}

/** Seconds a peek waits for messages on each queue. */
const WAIT_SECONDS = 1;

/**
 * `sqspipes peek <stage> [--dlq] [--level L] [--max N]`: receives with a visibility timeout of
 * 0, so the messages stay available. Its limits (also in `--help`): a worker receiving at the
 * same moment may get the same messages; at most 10 messages, one receive per queue, and on FIFO
 * queues SQS returns messages of few groups; and each peek adds one to the messages' receive
 * counts (a receive with visibility 0 still counts). sqspipes counts a stage's attempts itself, so
 * peeks use none of them up; the receive count matters only to the input queues' redrive policy
 * (maxReceiveCount `retries + 100`), SQS's safety net for inputs whose process died: a message
 * received that often moves to the DLQ at its next receive, with no reason recorded. A peek that
 * brings a message there says so. A dead-letter queue's messages show why they are there (see
 * dead-letter-reason.ts). A body stored in S3 is read with `--payload-bucket` (never deleted), or
 * shown as where it is (stored-bodies.ts); S3 failing as set up fails the command.
 */
export async function peekCommand(ctx: OperatorContext, args: PeekArgs): Promise<void> {
  const queues = queuesOfStage(
    await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note }),
    ctx.domain,
    args.stage,
  );
  const chosen = choose(queues, args, ctx.domain);
  const seen: PeekedMessage[] = [];
  for (const queue of chosen) {
    if (seen.length >= args.max) break;
    const max = await warnAboutRedrive(ctx, queue);
    const messages = await peekQueue(ctx, queue, args.max - seen.length);
    if (max !== undefined) warnAboutSpentBudgets(ctx, queue, messages, max);
    const bodies = await shownBodies(messages, ctx.payloads);
    const failed = bodies.find((b) => b.failure !== undefined);
    if (failed !== undefined) throw failed.failure;
    seen.push(...messages.map((m, i) => describeMessage(queue, m, bodies[i])));
  }
  if (ctx.json) await printJson(seen);
  else if (seen.length === 0) ctx.note(`No visible messages in ${chosen.map((q) => q.name).join(', ')}`);
  else await printLines(seen.map(formatPeeked));
}

/** The queues to look at: the DLQ, one level, or every input level from the highest down. */
function choose(queues: readonly DomainQueue[], args: PeekArgs, domain: string): DomainQueue[] {
  if (args.dlq) return [deadLetterQueueOf(queues, domain, args.stage)];
  const inputs = queues.filter((q) => q.level !== 'dlq').reverse();
  if (args.level === undefined) return inputs;
  const one = inputs.filter((q) => q.level === args.level);
  if (one.length === 0) {
    const levels = inputs.map((q) => q.level).reverse();
    throw new UsageError(
      `Stage \`${args.stage}\` of domain \`${domain}\` has no level ${args.level}: its levels are ${levels.join(', ')}`,
    );
  }
  return one;
}

/**
 * Notes the queue's maxReceiveCount (SQS's, which peeks count toward), if it has a redrive policy;
 * returns it, when it could be read.
 */
async function warnAboutRedrive(ctx: OperatorContext, queue: DomainQueue): Promise<number | undefined> {
  if (queue.level === 'dlq') return undefined;
  const out = await ctx.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['RedrivePolicy'] }),
  );
  const policy = out.Attributes?.RedrivePolicy;
  if (policy === undefined) return undefined;
  const max = /"maxReceiveCount"\s*:\s*"?(\d+)/.exec(policy)?.[1];
  ctx.note(
    `Note: peeking counts as a receive (not as an attempt); a message of ${queue.name} received more than ${max ?? '?'} times moves to the dead-letter queue (SQS's redrive safety net)`,
  );
  return max === undefined ? undefined : Number(max);
}

/** Warns about each message this peek brought to the last receive its queue allows. */
function warnAboutSpentBudgets(
  ctx: OperatorContext,
  queue: DomainQueue,
  messages: readonly Message[],
  max: number,
): void {
  for (const message of messages) {
    const count = Number(message.Attributes?.ApproximateReceiveCount ?? 0);
    if (count < max) continue;
    ctx.note(
      `Warning: message ${message.MessageId ?? '?'} of ${queue.name} has now been received ${count} times, the most its queue allows: SQS moves it to the dead-letter queue at its next receive, without a reason (a running stage records why and reports it within a minute; \`sqspipes redrive\` brings it back)`,
    );
  }
}

/**
 * Receives up to `max` messages of `queue` with a visibility timeout of 0, with their receive
 * counts, the attributes of a pointer to a body stored in S3 and, from a dead-letter queue, the
 * reason sqspipes recorded when it moved each; waits up to `waitSeconds` for some.
 */
export async function peekQueue(
  ctx: OperatorContext,
  queue: DomainQueue,
  max: number,
  waitSeconds = WAIT_SECONDS,
): Promise<Message[]> {
  const out = await ctx.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      VisibilityTimeout: 0,
      MessageSystemAttributeNames: [MessageSystemAttributeName.ApproximateReceiveCount],
      // A body stored in S3 is known by its pointer's attribute, a compressed one by its encoding.
      MessageAttributeNames: [
        ...POINTER_ATTRIBUTES,
        ENCODING_ATTRIBUTE,
        ...(queue.level === 'dlq' ? [REASON_ATTRIBUTE] : []),
      ],
    }),
  );
  const messages = out.Messages ?? [];
  await decodeReceived(messages); // shown as it was sent (one that cannot be decoded, as it is)
  return messages;
}
