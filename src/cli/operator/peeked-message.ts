import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../../envelope.ts';
import { deadLetterReason } from './dead-letter-reason.ts';
import type { DomainQueue } from './discover.ts';
import type { ShownBody, StoredBody } from './stored-bodies.ts';

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
  /**
   * The body is stored in S3 (the message carries a pointer): where, its size, and whether the
   * fields above show it (read with `--payload-bucket`) or not (then no `body` is given).
   */
  readonly stored?: StoredBody;
}

/**
 * What `peek` shows of `message`, received from `queue`, whose body is `shown` (see
 * stored-bodies.ts; by default the message's own).
 */
export function describeMessage(
  queue: DomainQueue,
  message: Message,
  shown: ShownBody = { body: message.Body ?? '' },
): PeekedMessage {
  const count = message.Attributes?.ApproximateReceiveCount;
  const dead = queue.level === 'dlq' ? deadLetterReason(message) : undefined;
  const common = {
    queue: queue.name,
    queueLevel: queue.level,
    messageId: message.MessageId,
    receiveCount: count === undefined ? undefined : Number(count),
    ...(dead === undefined ? {} : { deadLetterReason: dead.text, reasonRecorded: dead.recorded }),
  };
  const { stored } = shown;
  if (shown.broken !== undefined)
    return { ...common, envelope: false, body: shown.body, reason: shown.broken };
  if (stored !== undefined && !stored.read) {
    return {
      ...common,
      envelope: false,
      reason: `its body is stored in S3, not read: ${stored.unread ?? ''}`,
      stored,
    };
  }
  const withStored = stored === undefined ? common : { ...common, stored };
  const decoded = decodeEnvelope(shown.body);
  if (!decoded.ok) {
    const reason = decoded.reason.startsWith('not a sqspipes envelope')
      ? decoded.reason
      : `not a sqspipes envelope: ${decoded.reason}`;
    return { ...withStored, envelope: false, body: shown.body, reason };
  }
  const { id, level, value } = decoded.envelope;
  return { ...withStored, envelope: true, id, level: level ?? null, value };
}

/** One line of `peek`'s text output. */
export function formatPeeked(m: PeekedMessage): string {
  const where = m.queueLevel === 'dlq' ? 'dlq' : `p${m.queueLevel}`;
  const receives = `receives=${m.receiveCount ?? '?'}`;
  const why = m.deadLetterReason === undefined ? '' : `  reason=${JSON.stringify(m.deadLetterReason)}`;
  const s = m.stored;
  const size = s?.size === null || s?.size === undefined ? 'size not given' : `${s.size} bytes`;
  if (s !== undefined && !s.read) {
    return `${where}  message=${m.messageId ?? '?'}  ${receives}${why}  body stored in S3 at s3://${s.bucket}/${s.key} (${size}), not read: ${s.unread ?? ''}`;
  }
  const stored = s === undefined ? '' : `  stored=s3://${s.bucket}/${s.key}`;
  if (!m.envelope) {
    return `${where}  message=${m.messageId ?? '?'}  ${receives}${why}${stored}  ${m.reason ?? ''}: ${m.body ?? ''}`;
  }
  const level = m.level === null || m.level === undefined ? '' : `  level=${m.level}`;
  return `${where}  id=${m.id ?? ''}${level}  ${receives}${why}${stored}  ${JSON.stringify(m.value) ?? 'null'}`;
}
