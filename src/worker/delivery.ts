import { type StoredPayload, storedBytesOf, storedPayloadOf } from '../payloads/payload-io.ts';
import { keyGroupId } from './forwarder.ts';
import type { Message } from '@aws-sdk/client-sqs';
import type { Envelope } from '../envelope.ts';
import { describe, LeaseLostError, type SqspipesError } from '../errors.ts';
import type { InputInfo, TaskEvents } from '../events.ts';
import { maxReceiveCount } from '../queues/topology.ts';
import type { JoinReporter } from '../join/reporter.ts';
import type { Reporter } from '../replies/reporter.ts';
import { scopeOf } from '../join/frames.ts';
import type { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import type { Logger } from '../types.ts';
import { LazyAbort } from './call-stop.ts';
import { sendToDeadLetterQueue } from './dead-letter.ts';
import { type Heartbeat, type Lease, leaseBudgetSeconds } from './heartbeat.ts';

/**
 * Where a delivery is in its life:
 * - `waiting`: received, waiting for a worker (prefetched);
 * - `running`: a call on it is running;
 * - `backoff`: its call failed; it stays in hand, invisible, until its retry delay has passed;
 * - `ending`: its verdict is being carried out (dead-letter send in flight);
 * - `ended`: acknowledged, released or dead-lettered: nothing more happens to it here.
 */
export type DeliveryState = 'waiting' | 'running' | 'backoff' | 'ending' | 'ended';

/** How a delivery ended. `released`: made visible again without a verdict (not an attempt). */
export type Outcome = 'acked' | 'released' | 'dead-lettered';

/** What a delivery needs from its run to carry out its verdicts. */
export interface DeliveryDeps {
  readonly stage: Stage;
  readonly io: RunIo;
  /** Keeps its lease (a run's {@link Heartbeat}; on Lambda, none: the invocation ends first). */
  readonly heartbeat: Pick<Heartbeat, 'track' | 'untrack' | 'visibilitySeconds'>;
  readonly events: TaskEvents;
  readonly logger: Logger;
  /** The run is stopping: a failed input is handed back (with its delay), not retried here. */
  readonly stopping: () => boolean;
  /** Stop the run with this error (fail-fast runs, after the input was dead-lettered). */
  readonly failFast: ((error: SqspipesError) => void) | undefined;
  readonly deadLetterUrl: () => Promise<string>;
  /** The run's bookkeeping when a delivery ends: capacity, group, maps. Called exactly once. */
  readonly ended: (delivery: Delivery, outcome: Outcome) => void;
  /** Puts a delivery whose retry delay has passed back in front of its group. */
  readonly retry: (delivery: Delivery) => void;
  /** Reports on submitted items to their senders (none in tests that need none). */
  readonly reporter?: Reporter | undefined;
  /** Reports a branch dead-lettered in a join's scope to the join (none outside joins' pipelines). */
  readonly joinReporter?: JoinReporter | undefined;
}

/**
 * One received message, from its receive to its end: the one owner of its latest receipt handle,
 * its lease (kept by the heartbeat), its attempts, and its place in hand and in its group. Every
 * way a message can end is a method here, and each ends it exactly once:
 * {@link acknowledge}, {@link release}, {@link fail} (retry here later, or dead-letter), and
 * {@link deadLetter}.
 *
 * Attempts are counted here, by the process that makes them: a failed input is retried in hand
 * (its group waits behind it), so SQS's receive count grows only when a message changes hands.
 * A hand-back (stop, consumer gone) is therefore never an attempt.
 */
export class Delivery implements Lease {
  readonly url: string;
  readonly level: number;
  readonly messageId: string;
  /** The decoded envelope; undefined for a body that is not one (poison). */
  readonly envelope: Envelope | undefined;
  /** Serialisation key: the envelope's key, else the message id (unique: no serialisation). */
  readonly group: string;
  readonly #message: Message;
  readonly #deps: DeliveryDeps;
  receiptHandle: string;
  receivedAt: number;
  leaseUntil: number;
  /** SQS's ApproximateReceiveCount of the latest receive. */
  receiveCount: number;
  /** Calls made on this input in this process (the running one included). */
  attempts = 0;
  #begun = false;
  #state: DeliveryState = 'waiting';
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt = 0;
  #handedBackFor = 0;
  /** Settles when the latest call on it has returned (a timed-out call may run on). */
  #callSettled: Promise<unknown> = Promise.resolve();
  /** Aborted when SQS's 12-hour limit is about to end its lease. */
  readonly #capped = new LazyAbort();
  /** Aborted when its lease is lost: it tells the call, whose outputs still count if the lease comes back. */
  readonly #leaseStop = new LazyAbort({ advisory: true });
  /** Its lease was lost (see {@link lost}) and SQS has not given it to this process again since. */
  #lost = false;

  constructor(
    url: string,
    level: number,
    message: Message,
    envelope: Envelope | undefined,
    deps: DeliveryDeps,
  ) {
    this.url = url;
    this.level = level;
    this.#message = message;
    this.messageId = message.MessageId ?? '';
    this.envelope = envelope;
    // As SQS groups it (a key's items spread over `keyConcurrency` groups run at once).
    const key = envelope?.key;
    this.group =
      joinedItemGroup(deps.stage, envelope) ??
      (key === undefined
        ? this.messageId
        : keyGroupId(key, envelope?.id ?? this.messageId, deps.stage.keyConcurrency));
    this.#deps = deps;
    this.receiptHandle = message.ReceiptHandle ?? '';
    this.receivedAt = Date.now();
    this.leaseUntil = this.receivedAt + deps.heartbeat.visibilitySeconds * 1000;
    this.receiveCount = receiveCountOf(message);
    deps.heartbeat.track(this);
  }

  get state(): DeliveryState {
    return this.#state;
  }

  /** Where its body was stored in S3 (deleted with it: see SqsIo.delete). */
  get payload(): StoredPayload | undefined {
    return storedPayloadOf(this.#message);
  }

  /** Bytes of its body read from S3 (0: it came in the message): held until it ends. */
  get storedBytes(): number {
    return storedBytesOf(this.#message);
  }

  /** Aborted when SQS's 12-hour limit is about to end the lease: the call must stop. */
  get cappedStop(): LazyAbort {
    return this.#capped;
  }

  /**
   * Aborted, with a {@link LeaseLostError}, when its lease is lost: the call is told, and should
   * stop. Advisory: should SQS give the input back to this process before the call returns, what
   * the call produced counts, and the input is acknowledged.
   */
  get leaseStop(): LazyAbort {
    return this.#leaseStop;
  }

  /** What events and logs say about it. */
  get info(): InputInfo {
    return {
      stage: this.#deps.stage.name,
      messageId: this.messageId,
      priority: this.level,
      receiveCount: this.receiveCount,
      attempt: Math.max(1, this.attempts),
    };
  }

  /** Name of the queue it was received from. */
  get queueName(): string {
    return this.url.slice(this.url.lastIndexOf('/') + 1);
  }

  /** SQS delivered it again while in hand (its visibility lapsed): keep it, with the new handle. */
  renew(message: Message): void {
    this.receiptHandle = message.ReceiptHandle ?? this.receiptHandle;
    this.receivedAt = Date.now();
    this.leaseUntil = this.receivedAt + this.#deps.heartbeat.visibilitySeconds * 1000;
    this.receiveCount = receiveCountOf(message);
    this.#lost = false; // a new lease
  }

  /** Its lease was lost, and SQS has not given it to this process again since. */
  get leaseLost(): boolean {
    return this.#lost;
  }

  /**
   * A worker starts a call on it (one more attempt). False if its lease was lost while it waited
   * for the worker: it ends here, with no call made on it.
   */
  begin(): boolean {
    if (this.#lost) {
      this.#end('released');
      return false;
    }
    this.#expect('begin', 'waiting');
    this.#state = 'running';
    this.attempts++;
    this.#begun = true;
    return true;
  }

  /** A call was started on it in this run (a retry is no fresh input, even one not counted as an attempt). */
  get begun(): boolean {
    return this.#begun;
  }

  /** The running call settles with `settled` (a timed-out call may run on): a retry waits for it. */
  runsUntil(settled: Promise<unknown>): void {
    this.#callSettled = settled;
  }

  /**
   * Its outputs were accepted by SQS and handed to the consumer: delete it (batched, in the
   * background). `processed` is emitted once SQS confirmed the delete.
   */
  acknowledge(outputs: number): void {
    if (this.#lost) {
      this.#end('released'); // never deleted with a stale handle: SQS delivers it again
      return;
    }
    if (!this.#end('acked')) return;
    this.#deps.io.delete(this.url, this).then(
      () => this.#deps.events.safeEmit('processed', { ...this.info, outputs }),
      (error: unknown) =>
        this.#warn(error, 'delete failed; SQS will deliver the input again (its outputs are deduplicated)'),
    );
  }

  /** A copy of an input completed earlier in this run (its delete was lost): only delete it. */
  discard(): void {
    if (!this.#end('acked')) return;
    this.#deps.io.delete(this.url, this).catch((error: unknown) => this.#warn(error, 'delete failed'));
  }

  /**
   * Hands it back without a verdict (not an attempt): visible again at once, or, for an input
   * between retries, when its retry delay ends; never before `notBeforeSeconds` (a message of its
   * group before it went back with a delay). Later messages of its group in hand go back too.
   * On its last receive (see {@link lastReceive}) it is dead-lettered with that reason instead.
   */
  release(notBeforeSeconds = 0): void {
    const delay = this.#state === 'backoff' ? Math.ceil((this.#retryAt - Date.now()) / 1000) : 0;
    this.#handBack(Math.max(delay, notBeforeSeconds));
  }

  /**
   * This receive is the last its queue's redrive policy allows: handed back, the message would be
   * moved to the dead-letter queue by SQS itself at its next receive, with no reason recorded and
   * no report to its submitter. Peeks and hand-backs spend that budget; attempts, made in hand,
   * do not.
   */
  get lastReceive(): boolean {
    return this.receiveCount >= maxReceiveCount(this.#deps.stage);
  }

  /**
   * Seconds it was handed back invisible for (0: visible at once, or not handed back). Later
   * messages of its group go back for longer, so that none becomes visible before it: SQS keeps a
   * group locked while a message of it is invisible, but not every SQS implementation does.
   */
  get handedBackFor(): number {
    return this.#handedBackFor;
  }

  /**
   * Its call failed. Before the last attempt it is retried here after the stage's retry delay
   * (its group waits); after the last it goes to the dead-letter queue. A stopping run hands it
   * back with its delay instead.
   */
  fail(error: SqspipesError): void {
    this.#expect('fail', 'running');
    if (this.#lost) {
      this.#end('released'); // not retried here with a stale handle: SQS delivers it again
      return;
    }
    const { stage, events, logger } = this.#deps;
    events.safeEmit('failed', error, this.info);
    if (this.attempts > stage.retries) {
      this.deadLetter(describe(error), error);
      return;
    }
    const delayMs = this.#retryDelayMs();
    const budgetMs = (leaseBudgetSeconds(this) - this.#deps.heartbeat.visibilitySeconds) * 1000;
    // Its retry happens wherever SQS delivers it next: handed back, with its delay.
    const handBack = this.#deps.stopping() || delayMs > budgetMs;
    if (handBack && this.lastReceive) {
      this.deadLetter(budgetSpentReason(this.receiveCount, maxReceiveCount(stage), error));
      return;
    }
    logger.warn({ ...this.info, err: error.message }, 'call failed; it will be tried again');
    const reply = this.envelope?.reply;
    const reporter = this.#deps.reporter;
    if (reply !== undefined && reporter !== undefined) {
      reporter
        .status(reply, 'retrying', this.attempts, error)
        .catch((e: unknown) => this.#warn(e, 'status failed'));
    }
    events.safeEmit('retried', { ...this.info, delaySeconds: delayMs / 1000 });
    this.#retryIn(delayMs, handBack);
  }

  /**
   * Its call asked to be tried again after `delayMs` (a {@link RetryAfterError}): as a failure
   * retried, but not counted as an attempt (nor reported as `retrying`).
   */
  postpone(delayMs: number, error: SqspipesError): void {
    this.#expect('postpone', 'running');
    if (this.#lost) {
      this.#end('released');
      return;
    }
    this.attempts--;
    const budgetMs = (leaseBudgetSeconds(this) - this.#deps.heartbeat.visibilitySeconds) * 1000;
    this.#deps.logger.info(
      { ...this.info, delayMs, err: error.message },
      'call asked to be tried again later',
    );
    this.#deps.events.safeEmit('retried', { ...this.info, delaySeconds: delayMs / 1000 });
    this.#retryIn(delayMs, this.#deps.stopping() || delayMs > budgetMs);
  }

  /** Tried again here after `delayMs` (its group waits), or handed back with that delay. */
  #retryIn(delayMs: number, handBack: boolean): void {
    if (handBack) {
      this.#handBack(Math.ceil(delayMs / 1000));
      return;
    }
    this.#state = 'backoff';
    this.#retryAt = Date.now() + delayMs;
    const settled = this.#callSettled;
    this.#retryTimer = setTimeout(() => {
      // A timed-out call may still run: its retry must not overlap it.
      settled
        .then(() => {
          if (this.#state !== 'backoff') return;
          this.#state = 'waiting';
          this.#deps.retry(this);
        })
        .catch((e: unknown) => this.#warn(e, 'could not schedule its retry'));
    }, delayMs);
  }

  /**
   * Moves it, body untouched (or replaced by `item.body`: a join's item), to the stage's
   * dead-letter queue with `reason`, then deletes it. Its group waits until the dead-letter queue
   * has it; if that send fails, it is handed back. `item.done` runs after the send and its report,
   * before the delete (a failure hands it back too): a join's item becomes done there, so that a
   * crash in between sends it again rather than leave it done and never dead-lettered.
   */
  deadLetter(reason: string, error?: SqspipesError, item?: DeadItem): void {
    if (this.#state === 'ending' || this.#state === 'ended') return;
    this.#state = 'ending';
    this.#moveToDeadLetterQueue(reason, item)
      .then((moved) => {
        if (moved && error !== undefined) this.#deps.failFast?.(error);
      })
      .catch((e: unknown) => this.#warn(e, 'dead-lettering failed'));
  }

  async #moveToDeadLetterQueue(reason: string, item: DeadItem | undefined): Promise<boolean> {
    const { stage, io, events, logger } = this.#deps;
    try {
      const where = { stage: stage.name, level: this.level };
      const { MessageId, Attributes } = this.#message;
      const body = item?.body;
      const message = body === undefined ? this.#message : { MessageId, Attributes, Body: body };
      await sendToDeadLetterQueue(io, await this.#deps.deadLetterUrl(), message, where, reason);
    } catch (error) {
      const spent = this.lastReceive
        ? ' (its receive budget is spent: SQS moves it at its next receive)'
        : '';
      this.#warn(error, `could not move the message to the dead-letter queue; handing it back${spent}`);
      this.#state = 'waiting';
      this.#handBack(0, true);
      return false;
    }
    const reply = this.envelope?.reply;
    // In a join's scope, the join hears of it (and decides for the item); else its sender.
    const scope = scopeOf(stage, this.envelope?.frames);
    // Before the delete: a crash in between reports it again, never loses it. A report that
    // could not be sent (after retries) leaves the input undeleted: it comes back and runs again
    // (attempts are counted per process); the DLQ drops a copy sent again within 5 minutes.
    try {
      if (scope !== undefined && scope.length > 0) {
        await this.#deps.joinReporter?.dead(scope, reason, this.level, reply);
      } else if (reply !== undefined) {
        await this.#deps.reporter?.dead(reply, reason);
      }
    } catch (error) {
      this.#warn(error, 'could not tell its sender it was dead-lettered; handing it back');
      this.#state = 'waiting';
      this.#handBack(0, true);
      return false;
    }
    try {
      await item?.done?.();
    } catch (error) {
      this.#warn(error, 'could not mark its item done; handing it back');
      this.#state = 'waiting';
      this.#handBack(0, true);
      return false;
    }
    const info = this.info;
    this.#end('dead-lettered');
    logger.error({ ...info, queue: this.url, reason }, 'message moved to the dead-letter queue');
    events.safeEmit('deadLettered', { ...info, reason });
    await io.delete(this.url, this).catch((error: unknown) => this.#warn(error, 'delete failed'));
    return true;
  }

  /** Called by the heartbeat when the lease can no longer be extended. */
  capped(): void {
    if (this.#capped.aborted) return;
    const seconds = Math.max(0, Math.round((this.leaseUntil - Date.now()) / 1000));
    this.#capped.abort(new Error("the input reached SQS's 12-hour visibility limit"));
    this.#deps.logger.warn(
      { ...this.info, seconds },
      "input reached SQS's 12-hour visibility limit; its call is aborted and it becomes visible again",
    );
    this.#deps.events.safeEmit('visibilityLimit', { ...this.info, secondsLeft: seconds });
  }

  /**
   * Called by the heartbeat when the lease is lost: SQS may give the message to another worker, or
   * has already. Its call's signal aborts with a {@link LeaseLostError}. It stays in hand until its
   * call returns (or, waiting, until a worker takes it), then ends without a word to SQS: its
   * receipt handle is stale, so it is neither acknowledged, retried nor handed back with it. SQS
   * delivers it again; outputs its call sent already are deduplicated by their ids. Should SQS
   * give it to this process again meanwhile ({@link renew}), the lease is back and it goes on.
   */
  lost(cause: unknown): void {
    if (this.#lost || this.#state === 'ending' || this.#state === 'ended') return;
    this.#lost = true;
    const error = new LeaseLostError(this.#deps.stage.name, this.messageId, cause);
    const running = this.#state === 'running';
    this.#leaseStop.abort(error);
    this.#deps.logger.warn(
      { ...this.info, queue: this.url, err: error },
      running
        ? 'lost the lease on an input: its call is aborted, and SQS delivers the input again'
        : 'lost the lease on an input in hand: SQS delivers it again',
    );
    this.#deps.events.safeEmit('error', error);
  }

  /**
   * Makes it visible again after `delaySeconds` (within its lease), unless this is its last
   * receive: then, unless `force`d (its dead-letter send failed), it is dead-lettered with why,
   * rather than left to SQS's silent redrive.
   */
  #handBack(delaySeconds: number, force = false): void {
    if (this.#lost) {
      this.#end('released'); // its handle is stale: SQS makes it visible again, not this process
      return;
    }
    if (!force && this.lastReceive && this.#state !== 'ended') {
      this.deadLetter(budgetSpentReason(this.receiveCount, maxReceiveCount(this.#deps.stage)));
      return;
    }
    const seconds = Math.max(0, Math.min(delaySeconds, leaseBudgetSeconds(this)));
    if (this.#state !== 'ended') this.#handedBackFor = seconds; // before #end: the group reads it
    if (!this.#end('released')) return;
    this.#deps.io.changeVisibility(this.url, this, seconds).catch((error: unknown) => {
      this.#deps.logger.warn(
        { ...this.info, queue: this.url, err: error },
        'hand-back failed; the message comes back when its visibility expires',
      );
    });
  }

  /** Ends it once: stops its lease and its retry timer and frees its place. False if already ended. */
  #end(outcome: Outcome): boolean {
    if (this.#state === 'ended') return false;
    this.#state = 'ended';
    clearTimeout(this.#retryTimer);
    this.#deps.heartbeat.untrack(this);
    this.#deps.ended(this, outcome);
    return true;
  }

  #retryDelayMs(): number {
    try {
      return this.#deps.stage.retryDelay(this.attempts);
    } catch (error) {
      this.#warn(error, 'retryDelay failed; retrying after 1 second');
      return 1000;
    }
  }

  #expect(action: string, state: DeliveryState): void {
    if (this.#state !== state) {
      throw new Error(`sqspipes bug: ${action}() on a delivery that is ${this.#state}, not ${state}`);
    }
  }

  #warn(error: unknown, text: string): void {
    this.#deps.logger.warn({ ...this.info, queue: this.url, err: error }, text);
    this.#deps.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

/** Why a message on its last receive was dead-lettered rather than handed back. */
export function budgetSpentReason(received: number, max: number, error?: SqspipesError): string {
  const last = error === undefined ? '' : `; its last attempt failed: ${describe(error)}`;
  return (
    `received ${received} times without completing: the receive budget of its queue ` +
    `(maxReceiveCount ${max}) is spent by hand-backs and peeks, and a hand-back now would let SQS ` +
    `move it to the dead-letter queue without a reason${last}`
  );
}

/** The hand-back delay for later messages of `delivery`'s group: a second past its own, if any. */
export function laterThan(delivery: Delivery): number {
  return delivery.handedBackFor > 0 ? delivery.handedBackFor + 1 : 0;
}

/** Deliveries of a message so far, this one included. */
export function receiveCountOf(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? 1);
}

/** What a join's item, dead-lettered through the message that completed it, adds to that. */
export interface DeadItem {
  /** The dead-letter queue's copy: the item's partial join. */
  readonly body?: string | undefined;
  /** Marks the item done (its tombstone), after the copy was sent and reported. */
  readonly done?: (() => Promise<void>) | undefined;
}

/**
 * At a join stage, the group a message of its scope runs in: the item it is a branch of (as its
 * message group in SQS), whatever key it carries, so that one item's messages are folded one
 * call after another, never at once (their key, inherited from upstream, may differ).
 */
function joinedItemGroup(stage: Stage, envelope: Envelope | undefined): string | undefined {
  if (stage.join === undefined) return undefined;
  const scope = envelope?.frames?.at(-1);
  return scope?.join === stage.name ? `\0join\0${scope.item}` : undefined;
}
