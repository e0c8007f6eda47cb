import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../../envelope.ts';
import { deadLetterReason } from './dead-letter-reason.ts';
import type { DomainQueue } from './discover.ts';

/** A message seen by `peek`, as `--json` prints it. */
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
  /** In a dead-letter queue: why it is there (see {@link deadLetterReason}). */
  readonly deadLetterReason?: string;
  /** In a dead-letter queue: whether sqspipes recorded `deadLetterReason` when it moved it. */
  readonly reasonRecorded?: boolean;
}

/** What `peek` shows of `message`, received from `queue`. */
export function describeMessage(queue: DomainQueue, message: Message): PeekedMessage {
  const count = message.Attributes?.ApproximateReceiveCount;
  const dead = queue.level === 'dlq' ? deadLetterReason(message) : undefined;
  const common = {
    queue: queue.name,
    queueLevel: queue.level,
    messageId: message.MessageId,
    receiveCount: count === undefined ? undefined : Number(count),
    ...(dead === undefined ? {} : { deadLetterReason: dead.text, reasonRecorded: dead.recorded }),
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

/** One line of `peek`'s text output. */
export function formatPeeked(m: PeekedMessage): string {
  const where = m.queueLevel === 'dlq' ? 'dlq' : `p${m.queueLevel}`;
  const receives = `receives=${m.receiveCount ?? '?'}`;
  const why = m.deadLetterReason === undefined ? '' : `  reason=${JSON.stringify(m.deadLetterReason)}`;
  if (!m.envelope) {
    return `${where}  message=${m.messageId ?? '?'}  ${receives}${why}  ${m.reason ?? ''}: ${m.body ?? ''}`;
  }
  const level = m.level === null || m.level === undefined ? '' : `  level=${m.level}`;
  return `${where}  id=${m.id ?? ''}${level}  ${receives}${why}  ${JSON.stringify(m.value) ?? 'null'}`;
}
