/**
 * The domain's queue of work for later (`<domain>-timers`, a standard queue: standard queues delay
 * each message up to 15 minutes, FIFO queues cannot), swept by every run of the domain with
 * `payloads`. It carries two kinds of message: deletes of stored bodies (below), and timers
 * ({@link DeleteQueue.at}): a message to send to a FIFO queue at a given time, re-sent with a new
 * delay until it is due (so any time away works), then sent with its own deduplication id. A join
 * uses one for its time limit (src/join/gate.ts).
 *
 * Deletes of stored bodies that survive the process. A body may go only after its message was
 * acknowledged, and only once SQS's 5-minute deduplication window has passed: a producer that
 * repeats a send after a crash rewrites the object (same key) and SQS drops the repeated message,
 * so a delete made sooner could come before that rewrite and leave the object with nothing
 * pointing to it. Held in memory for those minutes, the deletes would die with a killed process.
 *
 * So, right after the acknowledgement, the keys go to the domain's queue of work for later
 * as one message per batch of keys, delayed by the hold (standard
 * queues delay each message; FIFO queues cannot). Every run of the domain with `payloads` sweeps
 * that queue: it deletes the keys of the messages that are due (DeleteObjects) and then the
 * messages. A process killed between the acknowledgement and that send (a round trip) leaves its
 * objects to the lifecycle rule, as does a sweep that keeps failing.
 */
import {
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe } from '../errors.ts';
import { TAG } from '../queues/naming.ts';
import type { Provisioner, QueueRole, QueueSpec } from '../queues/provisioner.ts';
import { sleep } from '../time/timers.ts';
import type { Logger } from '../types.ts';

/** How long a stored body is kept after its message was acknowledged: past the dedup window. */
export const DELETE_HOLD_SECONDS = 360;
/** How often a sweeping process looks for deletes that are due (more pages while they come full). */
export const SWEEP_EVERY_MS = 60_000;
/** A message whose keys could not be deleted this many times is dropped (the lifecycle rule). */
const MAX_SWEEPS_PER_MESSAGE = 5;
/** Visibility of a delete message being swept: time to make its DeleteObjects call. */
const SWEEP_VISIBILITY_SECONDS = 120;
/** Standard queues keep messages up to 14 days; a delete not swept by then is the lifecycle rule's. */
const RETENTION_SECONDS = String(14 * 24 * 3600);
const ROLE = 'timers';

/**
 * A client option under this key (not part of the typed API) shortens the hold and the sweep's
 * period, so that tests see objects deleted: `{ holdSeconds, everyMs }`.
 */
export const DELETE_TIMING_OPTION: unique symbol = Symbol.for('sqspipes.payloadDeleteTiming');

export interface DeleteTiming {
  /** 0 to 900 (SQS's longest delay). */
  readonly holdSeconds: number;
  readonly everyMs: number;
}

/** The queue of `domain`'s work for later: `<domain>-timers` (a standard queue). */
export function deleteQueueName(domain: string): string {
  return `${domain}-${ROLE}`;
}

/** True when queue tags say it is a domain's queue of work for later. */
export function isDeleteQueueRole(role: string | undefined): boolean {
  return role === ROLE;
}

/** What one delete message carries: keys of one bucket. */
interface DeleteBody {
  readonly v: 1;
  readonly bucket: string;
  readonly keys: readonly string[];
}

/** A message to send to a FIFO queue once `due` (epoch ms) has come. */
export interface Timer {
  readonly due: number;
  /** The FIFO queue's URL. */
  readonly url: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: string;
}

/** A timer as the queue carries it. */
interface TimerBody extends Timer {
  readonly v: 1;
  readonly kind: 'timer';
}

/** SQS's longest delay of one message of a standard queue. */
const MAX_DELAY_SECONDS = 900;

export interface DeleteQueueInit {
  readonly sqs: SQSClient;
  readonly provisioner: Provisioner;
  readonly domain: string;
  readonly kmsKeyId: string | undefined;
  readonly logger: Logger;
  /** Deletes keys of a bucket; resolves with the keys it could not delete (never rejects). */
  readonly deleteKeys: (bucket: string, keys: readonly string[]) => Promise<readonly string[]>;
  /** True for a key sqspipes wrote for this domain (a message naming others is dropped). */
  readonly owns: (bucket: string, key: string) => boolean;
  readonly timing?: DeleteTiming | undefined;
}

export class DeleteQueue {
  readonly name: string;
  readonly #init: DeleteQueueInit;
  readonly #timing: DeleteTiming;
  #url: Promise<string> | undefined;
  /** Runs that asked for sweeping; the sweep runs while there is one. */
  #sweepers = 0;
  #sweep: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(init: DeleteQueueInit) {
    this.#init = init;
    this.name = deleteQueueName(init.domain);
    this.#timing = init.timing ?? { holdSeconds: DELETE_HOLD_SECONDS, everyMs: SWEEP_EVERY_MS };
  }

  /**
   * The queue's URL, creating it the first time. Runs, which sweep it, own it (its attributes
   * are brought up to date); a producer (`submit()`'s results) only sends to it.
   */
  url(role: QueueRole = 'use'): Promise<string> {
    if (role === 'own') return this.#init.provisioner.ensure(this.#spec(), 'own');
    if (this.#url === undefined) {
      const url = this.#init.provisioner.ensure(this.#spec(), 'use');
      url.catch(() => {
        if (this.#url === url) this.#url = undefined;
      });
      this.#url = url;
    }
    return this.#url;
  }

  /**
   * Schedules the delete of `keys` of `bucket` after the hold. Never rejects: a failure leaves
   * the objects to the lifecycle rule, and says so.
   */
  async schedule(bucket: string, keys: readonly string[]): Promise<void> {
    const body: DeleteBody = { v: 1, bucket, keys };
    try {
      const QueueUrl = await this.url();
      await this.#init.sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: JSON.stringify(body),
          DelaySeconds: this.#timing.holdSeconds,
        }),
      );
    } catch (error) {
      this.#init.logger.warn(
        { bucket, keys: keys.length, queue: this.name, err: describe(error) },
        'could not schedule the delete of stored bodies; the lifecycle rule will expire them',
      );
    }
  }

  /**
   * Sends `timer`'s message to its FIFO queue once it is due (late by up to a sweep's period),
   * surviving any process: it waits in this queue, re-sent with a new delay until then. Rejects
   * when it could not be scheduled.
   */
  async at(timer: Timer): Promise<void> {
    await this.#delay({ v: 1, kind: 'timer', ...timer });
  }

  async #delay(body: TimerBody): Promise<void> {
    const seconds = Math.ceil((body.due - Date.now()) / 1000);
    await this.#init.sqs.send(
      new SendMessageCommand({
        QueueUrl: await this.url(),
        MessageBody: JSON.stringify(body),
        DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, seconds)),
      }),
    );
  }

  /** A timer received: sent on when due, else delayed again. */
  async #fire(timer: TimerBody): Promise<void> {
    if (timer.due > Date.now() + 1000) return this.#delay(timer);
    await this.#init.sqs.send(
      new SendMessageCommand({
        QueueUrl: timer.url,
        MessageBody: timer.body,
        MessageGroupId: timer.groupId,
        MessageDeduplicationId: timer.deduplicationId,
      }),
    );
  }

  /**
   * Sweeps the queue while at least one caller holds the returned stop function uncalled: every
   * `everyMs`, then page after page while pages come full. Stopping abandons a receive at once.
   */
  keepSweeping(): () => Promise<void> {
    this.#sweepers++;
    if (this.#sweep === undefined) {
      const stop = new AbortController();
      this.#sweep = { stop, done: this.#loop(stop.signal) };
    }
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      if (--this.#sweepers > 0 || this.#sweep === undefined) return;
      const { stop, done } = this.#sweep;
      this.#sweep = undefined;
      stop.abort();
      await done;
    };
  }

  /**
   * Deletes the queue with the pipeline's (`destroy()`): the deletes still pending in it are left
   * to the lifecycle rule.
   */
  async destroy(): Promise<void> {
    await this.close();
    const { sqs, provisioner } = this.#init;
    const url = await provisioner.find(this.name);
    if (url !== undefined) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch((error: unknown) => {
        if (!(error instanceof QueueDoesNotExist)) throw error;
      });
    }
    provisioner.forget([this.name]);
    this.#url = undefined;
  }

  /** Stops sweeping, whoever asked for it (the connection closes). */
  async close(): Promise<void> {
    const sweep = this.#sweep;
    this.#sweep = undefined;
    this.#sweepers = 0;
    sweep?.stop.abort();
    await sweep?.done;
  }

  async #loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let full = false;
      try {
        full = await this.sweepOnce(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.#init.logger.warn(
          { queue: this.name, err: describe(error) },
          'could not sweep the pending deletes of stored bodies; trying again later',
        );
      }
      if (!full) await sleep(this.#timing.everyMs, signal);
    }
  }

  /** Receives one page of due deletes and makes them; true when the page came full. */
  async sweepOnce(signal?: AbortSignal): Promise<boolean> {
    const { sqs, logger } = this.#init;
    const QueueUrl = await this.url('own');
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: SWEEP_VISIBILITY_SECONDS,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    const messages = out.Messages ?? [];
    const done: Message[] = [];
    await Promise.all(
      messages.map(async (message) => {
        const body = this.#parse(message);
        if (body === undefined) return done.push(message);
        if ('kind' in body) {
          try {
            await this.#fire(body);
            return done.push(message);
          } catch (error) {
            logger.warn(
              { queue: this.name, err: describe(error) },
              'could not send a timer on; trying again',
            );
            return undefined; // back after its visibility
          }
        }
        const failed = await this.#init.deleteKeys(body.bucket, body.keys);
        const count = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
        if (failed.length === 0) return done.push(message);
        if (count >= MAX_SWEEPS_PER_MESSAGE) {
          logger.warn(
            { queue: this.name, bucket: body.bucket, keys: failed.length, sweeps: count },
            'gave up deleting stored bodies; the lifecycle rule will expire them',
          );
          return done.push(message);
        }
        return undefined; // back after its visibility, for another sweep
      }),
    );
    if (done.length > 0) {
      const entries = done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
      // Not deleted (a failure): it comes back, and its keys are deleted again, harmlessly.
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: entries }));
    }
    return messages.length === 10;
  }

  /** What a message asks for, or undefined (with a warning) for one that is not ours. */
  #parse(message: Message): DeleteBody | TimerBody | undefined {
    let body: unknown;
    try {
      body = JSON.parse(message.Body ?? '');
    } catch {
      body = undefined;
    }
    if (isTimer(body)) return body;
    const valid =
      typeof body === 'object' &&
      body !== null &&
      (body as DeleteBody).v === 1 &&
      typeof (body as DeleteBody).bucket === 'string' &&
      Array.isArray((body as DeleteBody).keys) &&
      (body as DeleteBody).keys.every(
        (key) => typeof key === 'string' && this.#init.owns((body as DeleteBody).bucket, key),
      );
    if (valid) return body as DeleteBody;
    this.#init.logger.warn(
      { queue: this.name, messageId: message.MessageId },
      'dropped a message of the queue of work for later that is neither a timer nor names a stored body of this domain',
    );
    return undefined;
  }

  #spec(): QueueSpec {
    const { domain, kmsKeyId } = this.#init;
    return {
      name: this.name,
      attributes: {
        MessageRetentionPeriod: RETENTION_SECONDS,
        VisibilityTimeout: String(SWEEP_VISIBILITY_SECONDS),
        ...(kmsKeyId === undefined ? { SqsManagedSseEnabled: 'true' } : { KmsMasterKeyId: kmsKeyId }),
      },
      tags: { [TAG.domain]: domain, [TAG.role]: ROLE },
    };
  }
}

function isTimer(body: unknown): body is TimerBody {
  if (typeof body !== 'object' || body === null) return false;
  const t = body as Record<string, unknown>;
  return (
    t['v'] === 1 &&
    t['kind'] === 'timer' &&
    typeof t['due'] === 'number' &&
    typeof t['url'] === 'string' &&
    typeof t['groupId'] === 'string' &&
    typeof t['deduplicationId'] === 'string' &&
    typeof t['body'] === 'string'
  );
}
