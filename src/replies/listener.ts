import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Diagnose } from '../sqs/diagnose.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Logger } from '../types.ts';
import { decodeReport } from './report.ts';
import { ReplyQueue } from './reply-queue.ts';
import { PendingItem } from './submission.ts';
import { storedPayloadOf } from '../payloads/payload-io.ts';

export interface ListenerDeps {
  readonly sqs: SQSClient;
  readonly io: SqsIo;
  readonly domain: string;
  readonly logger: Logger;
  readonly diagnose: Diagnose;
  /** Long-poll wait, in seconds. */
  readonly waitSeconds: number;
  /** The reply queue's encryption and throughput, as the pipeline's queues. */
  readonly kmsKeyId: string | undefined;
  readonly highThroughput: boolean;
  /** Wait after creating the reply queue. @default the provisioner's */
  readonly settleMs?: number | undefined;
}

/** How a submitted item is followed. */
export interface FollowOptions {
  readonly timeoutMs: number;
  /** The sender asked for statuses. */
  readonly statuses: boolean;
  /** Submitted with the caller's idempotency key. */
  readonly keyed: boolean;
}

/** SQS FIFO's deduplication window. */
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

/** Messages per receive of the reply queue (SQS's most). */
const RECEIVE_MAX = 10;
/** Visibility of a received reply: it is deleted at once, so only a crash makes it come back. */
const VISIBILITY_SECONDS = 30;

/**
 * The sender's side of `submit()`: its reply queue (created on the first submit), the items it
 * follows, and one receive loop that runs while any is pending. Every reply is deleted once read,
 * whether an item still wants it or not (one that timed out, or of an earlier process) — a late
 * reply is no error. `close()` abandons the pending items and deletes the queue.
 */
export class ReplyListener {
  readonly #d: ListenerDeps;
  readonly #pending = new Map<string, PendingItem>();
  /**
   * Settled items submitted with an idempotency key, for SQS's deduplication window: submitting
   * the key again then would send nothing (SQS drops it), so it gets the settled submission.
   */
  readonly #recent = new Map<string, { item: PendingItem; until: number }>();
  #queue: Promise<ReplyQueue> | undefined;
  #loop: Promise<void> | undefined;
  readonly #closing = new AbortController();

  constructor(deps: ListenerDeps) {
    this.#d = deps;
  }

  /** The reply queue's name, creating the queue on first use. */
  async queueName(): Promise<string> {
    return (await this.#replyQueue()).name;
  }

  /**
   * Follows an item from now on (before it is sent: no reply can be missed). An id already
   * followed (the same idempotency key) gets the same submission.
   */
  follow(id: string, stage: string, options: FollowOptions): PendingItem {
    const known = this.known(id);
    if (known !== undefined) return known;
    const item = new PendingItem(id, stage, options, () => {
      this.#pending.delete(id);
      if (options.keyed) this.#recent.set(id, { item, until: Date.now() + DEDUPLICATION_WINDOW_MS });
    });
    this.#pending.set(id, item);
    return item;
  }

  /** The item of this id if it is followed, or settled within the deduplication window. */
  known(id: string): PendingItem | undefined {
    return this.#pending.get(id) ?? this.#recentItem(id);
  }

  #recentItem(id: string): PendingItem | undefined {
    const now = Date.now();
    for (const [key, { until }] of this.#recent) {
      if (until > now) break; // in insertion order: the rest are younger
      this.#recent.delete(key);
    }
    return this.#recent.get(id)?.item;
  }

  /** Stops following an item whose submit failed. */
  forget(item: PendingItem): void {
    if (this.#pending.get(item.id) !== item) return;
    item.abandon();
    this.#recent.delete(item.id); // it was never sent: the key may be submitted again
  }

  /** Starts the receive loop if it is not running (after an item was sent). */
  listen(): void {
    this.#loop ??= this.#run().finally(() => {
      this.#loop = undefined;
      if (this.#pending.size > 0 && !this.#closing.signal.aborted) this.listen();
    });
  }

  /** Items followed now. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Abandons the pending items, ends the loop and deletes the reply queue. Idempotent. */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const item of [...this.#pending.values()]) item.abandon();
    await this.#loop?.catch(() => {});
    const queue = await this.#queue?.catch(() => undefined);
    await queue?.delete().catch((error: unknown) => {
      this.#d.logger.warn({ queue: queue.name, err: error }, 'could not delete the reply queue');
    });
  }

  #replyQueue(): Promise<ReplyQueue> {
    if (this.#queue === undefined) {
      const { sqs, domain, diagnose, logger, kmsKeyId, highThroughput, settleMs } = this.#d;
      const options = { diagnose, logger, kmsKeyId, highThroughput, settleMs };
      this.#queue = ReplyQueue.create(sqs, domain, options);
      this.#queue.catch(() => (this.#queue = undefined));
    }
    return this.#queue;
  }

  async #run(): Promise<void> {
    const { io, logger, waitSeconds } = this.#d;
    const { url } = await this.#replyQueue();
    let failing = false;
    while (this.#pending.size > 0 && !this.#closing.signal.aborted) {
      let messages;
      try {
        messages = await io.receive(url, RECEIVE_MAX, waitSeconds, VISIBILITY_SECONDS, this.#closing.signal);
      } catch (error) {
        if (this.#closing.signal.aborted) return;
        if (!failing)
          logger.warn({ queue: url, err: error }, 'receiving replies failed; retrying every second');
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      failing = false;
      for (const message of messages) {
        const report = decodeReport(message.Body);
        if (report === undefined) logger.warn({ queue: url }, 'a reply that is not a report was dropped');
        else this.#pending.get(report.item)?.add(report);
        io.delete(url, {
          receiptHandle: message.ReceiptHandle ?? '',
          payload: storedPayloadOf(message),
        }).catch((error: unknown) => {
          logger.debug({ queue: url, err: error }, 'could not delete a reply (it comes back and is ignored)');
        });
      }
    }
  }
}
