import { GetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../../envelope.ts';
import { SqsIo } from '../../sqs/sqs-io.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues, type DomainQueue, queuesOfStage } from './discover.ts';
import { UsageError } from './errors.ts';
import { printJson, printLines } from './output.ts';

export interface PeekArgs {
  readonly stage: string;
  readonly dlq: boolean;
  readonly level: number | undefined;
  /** At most this many messages in all, 1 to 10. */
  readonly max: number;
}

/** A message seen by `peek`. */
export interface PeekedMessage {
  readonly queue: string;
  /** The queue's level, or `dlq`. */
  readonly queueLevel: number | 'dlq';
  readonly messageId: string | undefined;
  readonly receiveCount: number | undefined;
  /** True for a sqspipes envelope: `id`, `level` and `value` are its fields. */
  readonly envelope: boolean;
  readonly id?: string;
  readonly level?: number | null;
  readonly value?: unknown;
  /** Not an envelope: the raw body and why it is not one. */
  readonly body?: string;
  readonly reason?: string;
}

/** Seconds a peek waits for messages on each queue. */
const WAIT_SECONDS = 1;

/**
 * `sqspipes peek <stage> [--dlq] [--level L] [--max N]`: receives with a visibility timeout of
 * 0, so the messages stay available. Its limits (also in `--help`): a worker receiving at the
 * same moment may get the same messages; at most 10 messages, one receive per queue, and on FIFO
 * queues SQS returns messages of few groups; and each peek adds one to the messages' receive
 * counts. sqspipes counts a stage's attempts itself, so peeks use none of them up; the receive
 * count matters only to the input queues' redrive policy (maxReceiveCount `retries + 10`), SQS's
 * safety net for inputs whose process died: a message peeked that often moves to the DLQ.
 */
export async function peekCommand(ctx: OperatorContext, args: PeekArgs): Promise<void> {
  const queues = queuesOfStage(
    await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note }),
    ctx.domain,
    args.stage,
  );
  const chosen = choose(queues, args, ctx.domain);
  const io = new SqsIo(ctx.sqs);
  const seen: PeekedMessage[] = [];
  for (const queue of chosen) {
    if (seen.length >= args.max) break;
    await warnAboutRedrive(ctx, queue);
    const messages = await io.receive(queue.url, args.max - seen.length, WAIT_SECONDS, 0);
    seen.push(...messages.map((m) => describeMessage(queue, m)));
  }
  if (ctx.json) await printJson(seen);
  else if (seen.length === 0) ctx.note(`No visible messages in ${chosen.map((q) => q.name).join(', ')}`);
  else await printLines(seen.map(formatPeeked));
}

/** The queues to look at: the DLQ, one level, or every input level from the highest down. */
function choose(queues: readonly DomainQueue[], args: PeekArgs, domain: string): DomainQueue[] {
  if (args.dlq) {
    const dlq = queues.filter((q) => q.level === 'dlq');
    if (dlq.length === 0)
      throw new UsageError(`Stage \`${args.stage}\` of domain \`${domain}\` has no dead-letter queue`);
    return dlq;
  }
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

/** Notes the queue's maxReceiveCount (SQS's, which peeks count toward), if it has a redrive policy. */
async function warnAboutRedrive(ctx: OperatorContext, queue: DomainQueue): Promise<void> {
  if (queue.level === 'dlq') return;
  const out = await ctx.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['RedrivePolicy'] }),
  );
  const policy = out.Attributes?.RedrivePolicy;
  if (policy === undefined) return;
  const max = /"maxReceiveCount"\s*:\s*"?(\d+)/.exec(policy)?.[1] ?? '?';
  ctx.note(
    `Note: peeking counts as a receive (not as an attempt); a message of ${queue.name} received more than ${max} times moves to the dead-letter queue (SQS's redrive safety net)`,
  );
}

function describeMessage(queue: DomainQueue, message: Message): PeekedMessage {
  const count = message.Attributes?.ApproximateReceiveCount;
  const common = {
    queue: queue.name,
    queueLevel: queue.level,
    messageId: message.MessageId,
    receiveCount: count === undefined ? undefined : Number(count),
  };
  const decoded = decodeEnvelope(message.Body);
  if (!decoded.ok) {
    const reason = decoded.reason.startsWith('not a sqspipes envelope')
      ? decoded.reason
      : `not a sqspipes envelope: ${decoded.reason}`;
    return { ...common, envelope: false, body: message.Body ?? '', reason };
  }
  const { id, level, value } = decoded.envelope;
  return { ...common, envelope: true, id, level: level ?? null, value };
}

function formatPeeked(m: PeekedMessage): string {
  const where = m.queueLevel === 'dlq' ? 'dlq' : `p${m.queueLevel}`;
  const receives = `receives=${m.receiveCount ?? '?'}`;
  if (!m.envelope) {
    return `${where}  message=${m.messageId ?? '?'}  ${receives}  ${m.reason ?? ''}: ${m.body ?? ''}`;
  }
  const level = m.level === null || m.level === undefined ? '' : `  level=${m.level}`;
  return `${where}  id=${m.id ?? ''}${level}  ${receives}  ${JSON.stringify(m.value) ?? 'null'}`;
}
