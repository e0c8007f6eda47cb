import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { encodeValue, type ReplyAddress } from '../envelope.ts';
import { describe, ReplyError } from '../errors.ts';
import type { OutgoingMessage } from '../sqs/sqs-io.ts';
import type { Logger } from '../types.ts';
import { encodeDead, encodeEnd, encodeStatus, type ItemStatusKind } from './report.ts';
import { isReplyQueueName } from './reply-queue.ts';

/** What a call on a submitted item reports when it ends (see `replies/completion.ts`). */
export interface EndOfCall {
  /** Tokens of the branches the call opened: its outputs' ids (a fan-out, or none: filtered). */
  readonly children: readonly string[];
  /** Its outputs, on the last stage: the item's results. */
  readonly results: readonly unknown[];
}

export interface ReporterDeps {
  readonly domain: string;
  readonly stage: string;
  /** URL of a queue by name, undefined when it does not exist. */
  readonly find: (name: string) => Promise<string | undefined>;
  /** The run's batched sends. */
  readonly send: (url: string, message: OutgoingMessage) => Promise<unknown>;
  readonly logger: Logger;
  /** Waits before each retry of a report that failed to send; their number bounds the retries. */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** The largest result a report may carry (more with bodies through S3). @default 1 MiB less 1 KiB */
  readonly maxResultBytes?: number | undefined;
}

/** How long a reply queue found missing is taken for gone (its sender died or closed). */
const MISSING_FOR_MS = 60_000;

/** Waits before the retries of a report (about 15 s in all, on top of the SDK's own retries). */
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

/**
 * A stage's side of `submit()`: sends reports about submitted items to their senders' reply
 * queues. An end report (or a dead-letter report) is sent before the input is acknowledged, so
 * that a crash cannot lose it; a send that fails is retried with backoff, and one that keeps
 * failing rejects, so that the input is not acknowledged (it comes back, and its report is sent
 * again). A reply queue that is gone (its sender closed or died) never fails or stalls the stage:
 * its reports are dropped, quietly. Statuses are sent once, in the background. Only queues named
 * as reply queues of this pipeline's domain are written to, whatever a message says.
 */
export class Reporter {
  readonly #d: ReporterDeps;
  readonly #urls = new Map<string, Promise<string | undefined>>();
  readonly #missingUntil = new Map<string, number>();
  #warnedForeign = false;

  constructor(deps: ReporterDeps) {
    this.#d = deps;
  }

  /**
   * The call on this branch ended (it stands for the `finished` status too); resolves once every
   * part of the report was accepted by SQS, or its reply queue is gone. Rejects with a
   * {@link ReplyError} when a part could not be sent, after retries.
   */
  async ended(address: ReplyAddress, end: EndOfCall, attempt: number): Promise<void> {
    const { stage } = this.#d;
    const nonce = randomUUID();
    let error: string | undefined;
    const results: string[] = [];
    for (const value of end.results) {
      try {
        results.push(encodeValue(value, 'result'));
      } catch (e) {
        error ??= `a result of stage \`${stage}\` cannot be sent back: ${describe(e)}`;
      }
    }
    const bodies = encodeEnd(
      {
        item: address.item,
        token: address.token,
        stage,
        nonce,
        children: end.children,
        results,
        error,
        attempt,
        at: Date.now(),
      },
      this.#d.maxResultBytes,
    );
    const sent = await Promise.allSettled(
      bodies.map((body, part) => this.#deliver(address, body, `${nonce}:${part}`)),
    );
    for (const one of sent) if (one.status === 'rejected') throw one.reason;
  }

  /**
   * The branch went to the dead-letter queue; resolves once the report was accepted, or its reply
   * queue is gone. Rejects with a {@link ReplyError} when it could not be sent, after retries.
   */
  dead(address: ReplyAddress, reason: string): Promise<void> {
    const body = encodeDead({ item: address.item, token: address.token, stage: this.#d.stage, reason });
    return this.#deliver(address, body, randomUUID());
  }

  /** Progress of the item, if its sender asked for it. Never rejects (callers need not wait). */
  async status(
    address: ReplyAddress,
    status: ItemStatusKind,
    attempt: number,
    error?: unknown,
  ): Promise<void> {
    if (!address.status) return;
    const body = encodeStatus({
      item: address.item,
      stage: this.#d.stage,
      status,
      attempt,
      at: Date.now(),
      ...(error === undefined ? {} : { error: describe(error).slice(0, 2000) }),
    });
    try {
      await this.#send(address, body, randomUUID());
    } catch (e) {
      this.#d.logger.warn(
        { stage: this.#d.stage, queue: address.queue, item: address.item, err: e },
        `could not send the status \`${status}\` of an item to its sender`,
      );
    }
  }

  /** Sends a report, retrying with backoff under the same deduplication id (see {@link #send}). */
  async #deliver(address: ReplyAddress, body: string, deduplicationId: string): Promise<void> {
    const delays = this.#d.retryDelaysMs ?? RETRY_DELAYS_MS;
    for (let tries = 1; ; tries++) {
      try {
        await this.#send(address, body, deduplicationId);
        return;
      } catch (error) {
        const delay = delays[tries - 1];
        if (delay === undefined)
          throw new ReplyError(this.#d.stage, address.queue, address.item, tries, error);
        this.#d.logger.debug(
          { stage: this.#d.stage, queue: address.queue, item: address.item, err: error, tries },
          'a report to a sender failed to send; retrying',
        );
        await sleep(delay);
      }
    }
  }

  /**
   * Sends once. Resolves when SQS accepted it, or when it is dropped: the queue is not a reply
   * queue of this pipeline, or it is gone. Rejects when it failed otherwise.
   */
  async #send(address: ReplyAddress, body: string, deduplicationId: string): Promise<void> {
    const name = address.queue;
    if (!isReplyQueueName(this.#d.domain, name)) {
      if (!this.#warnedForeign) {
        this.#warnedForeign = true;
        this.#d.logger.warn(
          { stage: this.#d.stage, queue: name },
          'a message asks for replies to a queue that is not a reply queue of this pipeline; not replying',
        );
      }
      return;
    }
    if ((this.#missingUntil.get(name) ?? 0) > Date.now()) return;
    try {
      const url = await this.#url(name);
      if (url === undefined) return;
      await this.#d.send(url, { body, groupId: address.item, deduplicationId });
    } catch (error) {
      if (!isMissingQueue(error)) throw error;
      this.#gone(name);
    }
  }

  #url(name: string): Promise<string | undefined> {
    let url = this.#urls.get(name);
    if (url === undefined) {
      url = this.#d.find(name).then((found) => {
        if (found === undefined) this.#gone(name);
        return found;
      });
      this.#urls.set(name, url);
      url.catch(() => this.#urls.delete(name));
    }
    return url;
  }

  #gone(name: string): void {
    this.#urls.delete(name);
    this.#missingUntil.set(name, Date.now() + MISSING_FOR_MS);
    this.#d.logger.debug(
      { stage: this.#d.stage, queue: name },
      'reply queue is gone; its replies are dropped',
    );
  }
}

/** SQS says the queue does not exist (deleted, or never made). */
export function isMissingQueue(error: unknown): boolean {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (e instanceof QueueDoesNotExist) return true;
    const { name, code, Code } = e as { name?: unknown; code?: unknown; Code?: unknown };
    if (
      [name, code, Code].some((c) => typeof c === 'string' && /QueueDoesNotExist|NonExistentQueue/.test(c))
    ) {
      return true;
    }
    if (typeof e !== 'object') break;
  }
  return false;
}
