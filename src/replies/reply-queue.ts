/**
 * Reply queues: the FIFO queue a sending process gets, on first need, for the results and
 * statuses that stage processes send back to it. Each one is tagged with its domain, the role
 * `reply`, its owner (host, pid) and the owner's last heartbeat, which the owner refreshes while
 * it lives. A reply queue whose heartbeat is old has lost its owner: `removeStaleReplyQueues`
 * (in `stale-replies.ts`; `sqspipes replies --remove-stale`) deletes it.
 */
import { randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import { DeleteQueueCommand, QueueDoesNotExist, type SQSClient, TagQueueCommand } from '@aws-sdk/client-sqs';
import { ConfigError, describe } from '../errors.ts';
import { MAX_QUEUE_NAME, TAG } from '../queues/naming.ts';
import { Provisioner } from '../queues/provisioner.ts';
import { type Diagnose, passThrough } from '../sqs/diagnose.ts';
import type { Logger } from '../types.ts';
import { checkInteger } from '../validate.ts';

/** Tag values: role tag (TAG.role from src/queues/naming.ts) is 'reply' on reply queues. */
export const REPLY_ROLE = 'reply';
/** Tag with the epoch milliseconds of the owner's last heartbeat (string). */
export const HEARTBEAT_TAG = 'sqspipes:heartbeat';
/** Default: a reply queue whose heartbeat is older than this is stale (its owner is gone). */
export const DEFAULT_STALE_AFTER_MS = 5 * 60_000;
/** How often a live owner refreshes its heartbeat tag. */
export const HEARTBEAT_EVERY_MS = 60_000;

/** Tag with the host name of the owner. */
export const HOST_TAG = 'sqspipes:host';
/** Tag with the process id of the owner. */
export const PID_TAG = 'sqspipes:pid';

const SENDER_ID_LENGTH = 12;
const SENDER_ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SENDER_ID_PATTERN = /^[a-z0-9]{12}$/;
const FIFO = '.fifo';
/** setInterval's largest delay. */
const MAX_TIMER_MS = 2_147_483_647;

const ATTRIBUTES = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  MessageRetentionPeriod: '86400',
  VisibilityTimeout: '30',
  ReceiveMessageWaitTimeSeconds: '0',
} as const;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** 12 random chars [a-z0-9]. */
export function newSenderId(): string {
  let id = '';
  for (let i = 0; i < SENDER_ID_LENGTH; i++) id += SENDER_ID_CHARS[randomInt(SENDER_ID_CHARS.length)];
  return id;
}

/** `${domain}-reply-${senderId}.fifo`; throws ConfigError (src/errors.ts) naming the domain when over 80 chars. */
export function replyQueueName(domain: string, senderId: string): string {
  if (!SENDER_ID_PATTERN.test(senderId)) {
    throw new ConfigError(
      `Expected the sender id to be ${SENDER_ID_LENGTH} characters a-z and 0-9 (see newSenderId()), got ${JSON.stringify(senderId)}`,
    );
  }
  const name = `${replyPrefix(domain)}${senderId}${FIFO}`;
  if (name.length > MAX_QUEUE_NAME) {
    const room = MAX_QUEUE_NAME - (name.length - domain.length);
    throw new ConfigError(
      `Reply queue name \`${name}\` is ${name.length} characters, over SQS's limit of ${MAX_QUEUE_NAME}: shorten the domain (\`${domain}\`) to at most ${room} characters`,
    );
  }
  return name;
}

/** True when `name` is a reply queue name of `domain` per replyQueueName's pattern (used by stage processes to refuse sending to arbitrary queues named in a message). */
export function isReplyQueueName(domain: string, name: string): boolean {
  const prefix = replyPrefix(domain);
  if (name.length > MAX_QUEUE_NAME || !name.startsWith(prefix) || !name.endsWith(FIFO)) return false;
  return SENDER_ID_PATTERN.test(name.slice(prefix.length, name.length - FIFO.length));
}

/** The start of every reply queue name of `domain`. */
export function replyPrefix(domain: string): string {
  return `${domain}-reply-`;
}

export interface ReplyQueueOptions {
  /** Milliseconds between two refreshes of the heartbeat tag. @default HEARTBEAT_EVERY_MS (60 000) */
  heartbeatEveryMs?: number;
  /** Turns a failed call's error into the one to throw (a ConnectionError for a setup problem). @default errors as they are */
  diagnose?: Diagnose;
  /** Told (warn, once until a refresh succeeds again) when the heartbeat fails. @default silent */
  logger?: Logger;
  /** Encrypt with this KMS key (the client's `kmsKeyId`) instead of SQS-managed encryption. */
  kmsKeyId?: string | undefined;
  /** High-throughput FIFO (the client's `highThroughput`): many stages reply at once. */
  highThroughput?: boolean;
  /** Wait after creating it (see Provisioner). @default the provisioner's (1 s) */
  settleMs?: number | undefined;
}

/** A sender's own reply queue: created (FIFO, tags: TAG.domain=domain, TAG.role='reply', HEARTBEAT_TAG=now, plus 'sqspipes:host' = os.hostname(), 'sqspipes:pid' = process.pid), heartbeat refreshed with TagQueue every heartbeatEveryMs by an unref'd timer. */
export class ReplyQueue {
  readonly name: string;
  readonly url: string;
  readonly senderId: string;
  readonly #sqs: SQSClient;
  readonly #diagnose: Diagnose;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #beating = false;
  #warned = false;
  #deleted: Promise<void> | undefined;

  private constructor(
    sqs: SQSClient,
    created: { name: string; url: string; senderId: string },
    options: { everyMs: number; diagnose: Diagnose; logger: Logger },
  ) {
    this.#sqs = sqs;
    this.name = created.name;
    this.url = created.url;
    this.senderId = created.senderId;
    this.#diagnose = options.diagnose;
    this.#logger = options.logger;
    // #beat reports its own failures; a rejection would be a bug, said the same way.
    this.#timer = setInterval(() => {
      this.#beat().catch((error: unknown) =>
        this.#logger.warn({ queue: this.name, err: error }, 'reply queue heartbeat failed'),
      );
    }, options.everyMs);
    this.#timer.unref();
  }

  /** Creates a new reply queue of `domain` (waiting the second AWS asks for before first use). */
  static async create(sqs: SQSClient, domain: string, options: ReplyQueueOptions = {}): Promise<ReplyQueue> {
    const everyMs = checkInteger(
      '`heartbeatEveryMs`',
      options.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS,
      1,
      MAX_TIMER_MS,
    );
    const diagnose = options.diagnose ?? passThrough;
    const senderId = newSenderId();
    const name = replyQueueName(domain, senderId);
    const tags = {
      [TAG.domain]: domain,
      [TAG.role]: REPLY_ROLE,
      [HEARTBEAT_TAG]: String(Date.now()),
      [HOST_TAG]: hostname(),
      [PID_TAG]: String(process.pid),
    };
    const attributes = {
      ...ATTRIBUTES,
      ...(options.kmsKeyId === undefined
        ? { SqsManagedSseEnabled: 'true' }
        : { KmsMasterKeyId: options.kmsKeyId }),
      ...(options.highThroughput === true
        ? { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' }
        : {}),
    };
    const url = await new Provisioner(sqs, { diagnose, settleMs: options.settleMs }).ensure({
      name,
      attributes,
      tags,
    });
    return new ReplyQueue(
      sqs,
      { name, url, senderId },
      { everyMs, diagnose, logger: options.logger ?? silent },
    );
  }

  /** Stops the heartbeat and deletes the queue (idempotent; a queue already gone is fine). */
  delete(): Promise<void> {
    clearInterval(this.#timer);
    this.#deleted ??= this.#delete();
    return this.#deleted;
  }

  async #delete(): Promise<void> {
    try {
      await deleteIfExists(this.#sqs, this.url);
    } catch (error) {
      this.#deleted = undefined; // a later delete() tries again
      throw this.#diagnose(error, {
        step: 'deleting the reply queue',
        action: 'DeleteQueue',
        queue: this.name,
      });
    }
  }

  /** Refreshes the heartbeat tag; never throws. One refresh at a time: a slow one skips the next. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#deleted !== undefined) return;
    this.#beating = true;
    try {
      await this.#sqs.send(
        new TagQueueCommand({ QueueUrl: this.url, Tags: { [HEARTBEAT_TAG]: String(Date.now()) } }),
      );
      this.#warned = false;
    } catch (error) {
      if (!this.#warned && this.#deleted === undefined) {
        this.#warned = true;
        const gone = error instanceof QueueDoesNotExist ? ' (the queue is gone)' : '';
        this.#logger.warn(
          { queue: this.name, err: error },
          `reply queue heartbeat failed${gone}: ${describe(error)}; without it the queue is stale after ${DEFAULT_STALE_AFTER_MS / 60_000} minutes and may be removed`,
        );
      }
    } finally {
      this.#beating = false;
    }
  }
}

/** Deletes the queue at `url`; false when it was already gone. */
export async function deleteIfExists(sqs: SQSClient, url: string): Promise<boolean> {
  try {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    return true;
  } catch (error) {
    if (error instanceof QueueDoesNotExist) return false;
    throw error;
  }
}
