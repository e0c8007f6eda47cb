/**
 * The queue that holds a stage's permits (src/time/permits.ts): its name and attributes, the
 * permits' wire format, filling it, and sorting what a receive brought.
 *
 * One FIFO queue per limited stage and kind, `<domain>-<stage>-rate.fifo` or
 * `<domain>-<stage>-slots.fifo`, holds one message per permit i (0 to limit-1): body
 * `{"v":1,"permit":i}`, group `p<i>`, deduplication id `p<i>`. A permit is never deleted in normal
 * use. In a FIFO queue, a group's later messages are not delivered while an earlier one is in
 * flight, so a second copy of permit i (two processes filling more than 5 minutes apart) waits
 * inert behind the first; one receive may still bring several copies of one group at once, and
 * then all but one are deleted ({@link sortReceived}).
 */
import { queueDepths } from '../queues/depths.ts';
import {
  DeleteMessageBatchCommand,
  type Message,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ConfigError, SqsError } from '../errors.ts';
import { MAX_QUEUE_NAME, TAG } from '../queues/naming.ts';
import type { QueueSpec } from '../queues/provisioner.ts';

/** `rate`: at most `limit` calls per period; `slots`: at most `limit` calls at once. */
export type PermitKind = 'rate' | 'slots';

/** A permit older than this is replaced by a fresh copy when received (retention is 14 days). */
export const RENEW_AFTER_MS = 7 * 24 * 3600 * 1000;
const RETENTION_SECONDS = String(14 * 24 * 3600);
/** Batches of a fill sent at once. */
const FILL_PARALLEL = 8;

/** The queue of `stage`'s permits of `kind`: `<domain>-<stage>-rate.fifo` or `-slots.fifo`. */
export function permitQueueName(domain: string, stage: string, kind: PermitKind): string {
  return `${domain}-${stage}-${kind}.fifo`;
}

/** Throws a ConfigError when the permit queue's name would exceed SQS's 80 characters. */
export function checkPermitQueueNameFits(domain: string, stage: string, kind: PermitKind): string {
  const name = permitQueueName(domain, stage, kind);
  if (name.length > MAX_QUEUE_NAME) {
    const option = kind === 'rate' ? 'rateLimit' : 'maxConcurrency';
    throw new ConfigError(
      `Queue name \`${name}\` of stage \`${stage}\` (its \`${option}\` permits) is ${name.length} characters, over SQS's limit of ${MAX_QUEUE_NAME}: shorten the domain (\`${domain}\`) or the stage name`,
    );
  }
  return name;
}

export interface PermitQueueSpecInit {
  readonly domain: string;
  readonly stage: string;
  readonly kind: PermitKind;
  readonly kmsKeyId: string | undefined;
}

/** The permit queue's spec for the Provisioner: FIFO, 14 days' retention, SSE, tagged. */
export function permitQueueSpec({ domain, stage, kind, kmsKeyId }: PermitQueueSpecInit): QueueSpec {
  return {
    name: permitQueueName(domain, stage, kind),
    attributes: {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      MessageRetentionPeriod: RETENTION_SECONDS,
      // Each permit is its own group: spread over partitions, deduplicated per group.
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      ...(kmsKeyId === undefined ? { SqsManagedSseEnabled: 'true' } : { KmsMasterKeyId: kmsKeyId }),
    },
    tags: { [TAG.domain]: domain, [TAG.stage]: stage, [TAG.role]: kind },
  };
}

/** The body of permit `index`. */
export function permitBody(index: number): string {
  return JSON.stringify({ v: 1, permit: index });
}

/** The permit index a body carries, or undefined for a body that is not a permit. */
export function parsePermit(body: string | undefined): number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, permit } = value as Record<string, unknown>;
  if (v !== 1 || typeof permit !== 'number' || !Number.isInteger(permit) || permit < 0) return undefined;
  return permit;
}

/** A permit received: its index, its message, when its copy was sent (epoch ms). */
export interface ReceivedPermit {
  readonly index: number;
  readonly message: Message;
  readonly sentAt: number;
}

/** What to do with the messages of one receive. */
export interface SortedPermits {
  /** Permits to hand out (one per index). */
  readonly use: readonly ReceivedPermit[];
  /** Permits to replace by a fresh copy instead of using them (older than {@link RENEW_AFTER_MS}). */
  readonly renew: readonly ReceivedPermit[];
  /** Messages to delete: not permits, permits of a limit since lowered, extra copies of one index. */
  readonly remove: readonly Message[];
}

/**
 * Sorts one receive's messages. Several copies of one permit can come in one receive (FIFO
 * queues return up to 10 messages of a group together): every copy is in flight with us, so one
 * is kept (the newest) and the others deleted; using two would break the limit.
 */
export function sortReceived(messages: readonly Message[], limit: number, now: number): SortedPermits {
  const kept = new Map<number, ReceivedPermit>();
  const remove: Message[] = [];
  for (const message of messages) {
    const index = parsePermit(message.Body);
    if (index === undefined || index >= limit) {
      remove.push(message);
      continue;
    }
    const sent = Number(message.Attributes?.SentTimestamp);
    const permit = { index, message, sentAt: Number.isFinite(sent) ? sent : now };
    const other = kept.get(index);
    if (other === undefined) kept.set(index, permit);
    else if (other.sentAt >= permit.sentAt) remove.push(message);
    else {
      remove.push(other.message);
      kept.set(index, permit);
    }
  }
  const use: ReceivedPermit[] = [];
  const renew: ReceivedPermit[] = [];
  for (const permit of kept.values()) (now - permit.sentAt > RENEW_AFTER_MS ? renew : use).push(permit);
  return { use, renew, remove };
}

/** Messages in the queue: visible, in flight and delayed (SQS's approximate counts). */
export async function countPermits(sqs: SQSClient, url: string): Promise<number> {
  const { visible, inFlight, delayed } = await queueDepths(sqs, url);
  return visible + inFlight + delayed;
}

/**
 * Sends every permit 0 to limit-1 when the queue holds fewer than `limit` messages; resolves with
 * the number sent (0 when it was full). A permit that exists gets a copy behind it (inert), or
 * none when it was sent less than 5 minutes ago (deduplicated). Rejects when SQS refused one.
 */
export async function fillPermits(sqs: SQSClient, url: string, name: string, limit: number): Promise<number> {
  if ((await countPermits(sqs, url)) >= limit) return 0;
  const batches: number[][] = [];
  for (let i = 0; i < limit; i += 10)
    batches.push(Array.from({ length: Math.min(10, limit - i) }, (_, k) => i + k));
  let next = 0;
  const worker = async () => {
    for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: batch.map((i) => ({
            Id: String(i),
            MessageBody: permitBody(i),
            MessageGroupId: `p${i}`,
            MessageDeduplicationId: `p${i}`,
          })),
        }),
      );
      const [failed] = out.Failed ?? [];
      if (failed !== undefined)
        throw new SqsError(`SQS refused permit ${failed.Id} of ${name}: ${failed.Code} ${failed.Message}`, {
          queue: name,
          ...(failed.Code === undefined ? {} : { code: failed.Code }),
        });
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILL_PARALLEL, batches.length) }, worker));
  return limit;
}

/**
 * Replaces an old permit: a fresh copy to its group, then the old one deleted (the copy becomes
 * the head, visible at once). A failed send leaves the old one, back after its visibility; a
 * failed delete leaves both, the copy inert behind the old one.
 */
export async function renewPermit(sqs: SQSClient, url: string, permit: ReceivedPermit): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: permitBody(permit.index),
      MessageGroupId: `p${permit.index}`,
      MessageDeduplicationId: `p${permit.index}-${permit.sentAt}`,
    }),
  );
  await deletePermits(sqs, url, [permit.message]);
}

/** Deletes messages of the permit queue, 10 per request. */
export async function deletePermits(
  sqs: SQSClient,
  url: string,
  messages: readonly Message[],
): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const entries = messages
      .slice(i, i + 10)
      .map((m, k) => ({ Id: String(k), ReceiptHandle: m.ReceiptHandle }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  }
}
