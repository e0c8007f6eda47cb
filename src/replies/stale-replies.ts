/**
 * Stale reply queues: listing the reply queues of a domain (by their tags, never by a name prefix
 * alone: domain `app` never touches `app2`'s or `app-x`'s queues) and removing those whose owner
 * is gone (its heartbeat is old). For `sqspipes replies` and {@link removeStaleReplyQueues}.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { describe, SqsError } from '../errors.ts';
import { listQueueUrls, queueNameOf, readQueueTags } from '../queues/listing.ts';
import { TAG } from '../queues/naming.ts';
import { checkInteger } from '../validate.ts';
import {
  DEFAULT_STALE_AFTER_MS,
  deleteIfExists,
  HEARTBEAT_TAG,
  HOST_TAG,
  isReplyQueueName,
  PID_TAG,
  REPLY_ROLE,
  replyPrefix,
} from './reply-queue.ts';

/** Requests at a time when listing tags or deleting queues. */
const CONCURRENCY = 10;

/** A reply queue of a domain, as its tags describe it. */
export interface ReplyQueueInfo {
  readonly name: string;
  readonly url: string;
  readonly host?: string;
  readonly pid?: number;
  readonly heartbeatAt?: Date;
  readonly stale: boolean;
}

/** Options of {@link listReplyQueues} and {@link removeStaleReplyQueues}. */
export interface StaleOptions {
  /** A heartbeat older than this (ms) is stale. @default DEFAULT_STALE_AFTER_MS (5 minutes) */
  staleAfterMs?: number;
  /** The time to judge heartbeats at (epoch ms). @default Date.now() */
  now?: number;
}

/** Reply queues of `domain`: lists queue URLs with the name prefix `${domain}-reply-` only to find candidates, then keeps exactly those whose tags say domain=domain and role=reply. stale = heartbeat older than staleAfterMs (or missing/unparsable heartbeat). */
export async function listReplyQueues(
  sqs: SQSClient,
  domain: string,
  options: StaleOptions = {},
): Promise<ReplyQueueInfo[]> {
  const { staleAfterMs, now } = resolveStaleOptions(options);
  const limit = pLimit(CONCURRENCY);
  const urls = await listQueueUrls(sqs, replyPrefix(domain));
  const found = await Promise.all(
    urls.map((url) =>
      limit(async () => {
        const name = queueNameOf(url);
        // The name pattern too: a queue named otherwise is not one sqspipes made, whatever its tags.
        if (!isReplyQueueName(domain, name)) return undefined;
        const tags = await readQueueTags(sqs, url);
        if (tags?.[TAG.domain] !== domain || tags[TAG.role] !== REPLY_ROLE) return undefined;
        return replyQueueInfo(name, url, tags, staleAfterMs, now);
      }),
    ),
  );
  return found.filter((q) => q !== undefined).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Deletes the stale reply queues of `domain` (as listReplyQueues decides); resolves with the names deleted. A queue deleted meanwhile by someone else is fine. */
export async function removeStaleReplyQueues(
  sqs: SQSClient,
  domain: string,
  options: StaleOptions = {},
): Promise<string[]> {
  const { staleAfterMs, now } = resolveStaleOptions(options);
  const stale = (await listReplyQueues(sqs, domain, { staleAfterMs, now })).filter((q) => q.stale);
  const limit = pLimit(CONCURRENCY);
  const results = await Promise.allSettled(
    stale.map((q) => limit(() => removeIfStillStale(sqs, q, staleAfterMs, now))),
  );
  const deleted = stale.filter((_, i) => {
    const result = results[i];
    return result?.status === 'fulfilled' && result.value;
  });
  const failed = stale.flatMap((q, i) => {
    const result = results[i];
    return result?.status === 'rejected' ? [{ name: q.name, reason: result.reason as unknown }] : [];
  });
  const first = failed[0];
  if (first === undefined) return deleted.map((q) => q.name);
  const others = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
  throw new SqsError(
    `Could not delete the stale reply queue \`${first.name}\`${others}; deleted ${deleted.length}: ${describe(first.reason)}`,
    { queue: first.name, cause: first.reason },
  );
}

function resolveStaleOptions(options: StaleOptions): { staleAfterMs: number; now: number } {
  return {
    staleAfterMs: checkInteger(
      '`staleAfterMs`',
      options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    now: checkInteger('`now`', options.now ?? Date.now(), 0, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * Deletes `queue` unless its owner refreshed the heartbeat since it was listed (its tags are read
 * again just before). True when this call deleted it; false when it was live or already gone.
 */
async function removeIfStillStale(
  sqs: SQSClient,
  queue: ReplyQueueInfo,
  staleAfterMs: number,
  now: number,
): Promise<boolean> {
  const tags = await readQueueTags(sqs, queue.url);
  if (tags === undefined) return false;
  if (!replyQueueInfo(queue.name, queue.url, tags, staleAfterMs, now).stale) return false;
  return deleteIfExists(sqs, queue.url);
}

function replyQueueInfo(
  name: string,
  url: string,
  tags: Readonly<Record<string, string>>,
  staleAfterMs: number,
  now: number,
): ReplyQueueInfo {
  const host = tags[HOST_TAG];
  const pid = digits(tags[PID_TAG]);
  const beat = digits(tags[HEARTBEAT_TAG]);
  // A heartbeat ahead of this clock (clock skew) is live.
  const stale = beat === undefined || now - beat > staleAfterMs;
  return {
    name,
    url,
    ...(host === undefined || host === '' ? {} : { host }),
    ...(pid === undefined ? {} : { pid }),
    ...(beat === undefined ? {} : { heartbeatAt: new Date(beat) }),
    stale,
  };
}

/** The number in `text` if it is digits only (and a safe integer), else undefined. */
function digits(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}
