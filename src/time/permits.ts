/**
 * Fleet-wide limits of a stage as permits in an SQS FIFO queue (src/time/permit-queue.ts): every
 * process of the stage, on every machine, takes permits from the same queue.
 *
 * - `rate` (`limit` calls per `perMs`): a call takes a permit by receiving it with a visibility
 *   timeout of `perMs`, restarted when its call starts (batched); it comes back by itself, so
 *   permit i serves at most one call per period. A permit that arrives when nobody waits any more
 *   is wasted until it comes back (kept for later, it could serve two calls within one period).
 * - `slots` (`limit` calls at once): a call holds a permit received with a lease (30 s),
 *   extended while the call runs and released (visibility 0) as soon as it ends; a killed
 *   process's permits come back after the lease.
 *
 * One {@link PermitPool} per process and limit: callers wait in FIFO order, and receives run only
 * while someone waits (up to 4 at once, long polls that return as soon as a permit is visible).
 *
 * Requests each limit adds per call (measured in test/integration/permits.test.ts):
 * - rate, busy: about 1/10 receive and up to one ChangeMessageVisibilityBatch (the restart,
 *   shared by the calls started together) per call (one receive brings up to 10 permits); when callers
 *   wait for permits in flight elsewhere, one long poll per 20 s per process, or one per permit
 *   that comes back; plus, every 5 minutes, one GetQueueAttributes per process.
 * - slots: one receive (shared by up to 10 callers waiting together), one release
 *   (ChangeMessageVisibility, batched with releases of the same moment), and one extension per
 *   `leaseSeconds / 3` of the call's length (batched with the permits held beside it).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, SqspipesError } from '../errors.ts';
import type { Provisioner } from '../queues/provisioner.ts';
import type { Logger } from '../types.ts';
import { checkInteger, fail } from '../validate.ts';
import {
  checkPermitQueueNameFits,
  deletePermits,
  fillPermits,
  type PermitKind,
  permitQueueSpec,
  type ReceivedPermit,
  renewPermit,
  sortReceived,
} from './permit-queue.ts';
import { setTimer, sleep, type Timer } from './timers.ts';

export { permitQueueName, type PermitKind } from './permit-queue.ts';

/** SQS's longest visibility timeout, in seconds (12 hours). */
const MAX_VISIBILITY_SECONDS = 43_200;
/** Receives at once, at most. */
const MAX_RECEIVES = 4;
/** Longest long poll SQS allows. */
const WAIT_SECONDS = 20;
/** How often a running pool checks that the queue holds its permits (refills if not). */
const REFILL_EVERY_MS = 5 * 60_000;
/** Backoff after a failed receive: doubles from the first to the last. */
const BACKOFF_MS = [200, 5_000] as const;
/** How long `close()` waits for its releases and other requests before abandoning them. */
const CLOSE_GRACE_MS = 5_000;

export interface PermitPoolInit {
  readonly sqs: SQSClient;
  readonly provisioner: Provisioner;
  readonly domain: string;
  readonly stage: string;
  readonly kind: PermitKind;
  /** Permits: calls per period (`rate`), or calls at once (`slots`). An integer from 1 to 10,000. */
  readonly limit: number;
  /** `rate` only: the period, whole seconds in ms, from 1000 to 43,200,000 (12 hours). */
  readonly perMs?: number | undefined;
  readonly kmsKeyId: string | undefined;
  readonly logger: Logger;
  /** `slots` only: a held permit's lease, renewed every third of it. @default 30 */
  readonly leaseSeconds?: number | undefined;
}

/** A permit handed to a caller. */
export interface Permit {
  /** Which permit (0 to limit-1): for logs and tests. */
  readonly index: number;
  /** When the receive that brought it was sent (epoch ms): SQS took it for this process after that. */
  readonly takenAfter: number;
  /** `slots`: gives the permit back at once (idempotent). `rate`: nothing (it comes back by itself). */
  release(): void;
}

export interface PermitStats {
  readonly limit: number;
  /** `slots`: permits this process holds; `rate`: permits it handed out within the last period. */
  readonly held: number;
  /** Callers waiting for a permit. */
  readonly waiting: number;
  /** Permits handed out since the start. */
  readonly acquired: number;
}

/** The pool was closed while a caller waited, or before it asked. */
export class PermitPoolClosedError extends SqspipesError {
  override name = 'PermitPoolClosedError';
  readonly stage: string;
  constructor(stage: string) {
    super(`The permit pool of stage \`${stage}\` is closed`);
    this.stage = stage;
  }
}

interface Waiter {
  readonly resolve: (permit: Permit) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/** A `slots` permit this process holds. */
interface Held {
  readonly index: number;
  readonly receiptHandle: string;
  readonly takenAfter: number;
  /** When its visibility ends at the latest (counted from before the request that set it). */
  expiresAt: number;
}

interface Resolved {
  readonly name: string;
  readonly limit: number;
  /** Visibility of a permit received for a caller, in seconds: the period or the lease. */
  readonly visibility: number;
  readonly periodMs: number;
}

function resolveInit(init: PermitPoolInit): Resolved {
  const { domain, stage, kind } = init;
  const of = `of the ${kind === 'rate' ? 'rateLimit' : 'maxConcurrency'} of stage \`${stage}\``;
  if (kind !== 'rate' && kind !== 'slots') fail(`\`kind\` ${of}`, '`rate` or `slots`', kind);
  const name = checkPermitQueueNameFits(domain, stage, kind);
  const limit = checkInteger(`\`limit\` ${of}`, init.limit, 1, 10_000);
  if (kind === 'rate') {
    const per = init.perMs;
    if (typeof per !== 'number' || per % 1000 !== 0 || per < 1000 || per > MAX_VISIBILITY_SECONDS * 1000)
      fail(`\`per\` ${of}`, 'whole seconds in ms from 1000 to 43200000 (12 hours)', per);
    return { name, limit, visibility: per / 1000, periodMs: per };
  }
  const lease = checkInteger(`\`leaseSeconds\` ${of}`, init.leaseSeconds ?? 30, 5, MAX_VISIBILITY_SECONDS);
  return { name, limit, visibility: lease, periodMs: lease * 1000 };
}

/**
 * The permits of one stage's limit, as this process takes them. `start()` creates and fills the
 * queue; `acquire()` waits for a permit; `close()` gives back what it holds and stops.
 */
export class PermitPool {
  readonly #init: PermitPoolInit;
  readonly #r: Resolved;
  #url: string | undefined;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Aborts every receive (close). */
  readonly #stop = new AbortController();
  /** Aborts the requests close() still waits for, after its grace. */
  readonly #drain = new AbortController();
  readonly #waiters = new Set<Waiter>();
  /** Receives in flight, and the permits they ask for on behalf of waiters. */
  #receives = 0;
  #requested = 0;
  readonly #held = new Map<string, Held>();
  /** `rate`: when each recent permit was handed out (for `held`). */
  #recent: number[] = [];
  #acquired = 0;
  /** No permit handed out before this; permits received before `#grabUntil` are taken until then. */
  #pausedUntil = 0;
  #grabUntil = 0;
  #retryAt = 0;
  #pumpSoon = false;
  #backoffMs = 0;
  readonly #timers = new Set<Timer>();
  #extendTimer: Timer | undefined;
  #extendAt = Number.POSITIVE_INFINITY;
  #extendNotBefore = 0;
  #releases: Held[] = [];
  /** Rate permits whose period starts again with their call (see #restart). */
  #restarts: Held[] = [];
  /** Requests running beside the receives (deletes, renewals, releases, extensions, refills). */
  readonly #tasks = new Set<Promise<void>>();

  constructor(init: PermitPoolInit) {
    this.#r = resolveInit(init);
    this.#init = init;
  }

  /** The permit queue's name. */
  get name(): string {
    return this.#r.name;
  }

  /**
   * Creates the queue if needed and fills it when it holds fewer than `limit` messages; then
   * checks that every 5 minutes. Rejects when SQS refuses (the caller decides). Idempotent.
   */
  start(): Promise<void> {
    if (this.#started === undefined) {
      const started = this.#start();
      started.catch(() => {
        if (this.#started === started) this.#started = undefined; // a later start() tries again
      });
      this.#started = started;
    }
    return this.#started;
  }

  async #start(): Promise<void> {
    const { sqs, provisioner, domain, stage, kind, kmsKeyId } = this.#init;
    const url = await provisioner.ensure(permitQueueSpec({ domain, stage, kind, kmsKeyId }), 'own');
    await fillPermits(sqs, url, this.#r.name, this.#r.limit);
    if (this.#closing !== undefined) return;
    this.#url = url;
    this.#every(REFILL_EVERY_MS, () =>
      this.#spawn('could not check the permits of the queue', () =>
        fillPermits(sqs, url, this.#r.name, this.#r.limit).then(() => undefined),
      ),
    );
    this.#pump();
  }

  /**
   * Waits for a permit, in FIFO order with this process's other callers. Rejects with the
   * signal's reason when `signal` aborts first (its place is given up), and with a
   * {@link PermitPoolClosedError} when the pool closes.
   */
  acquire(signal: AbortSignal): Promise<Permit> {
    if (this.#closing !== undefined) return Promise.reject(new PermitPoolClosedError(this.#init.stage));
    if (signal.aborted) return Promise.reject(reasonOf(signal));
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          if (this.#waiters.delete(waiter)) reject(reasonOf(signal));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
      // Callers of the same moment share one receive.
      if (!this.#pumpSoon) {
        this.#pumpSoon = true;
        queueMicrotask(() => {
          this.#pumpSoon = false;
          this.#pump();
        });
      }
    });
  }

  /**
   * Stops the stage's calls for `ms` (a downstream answered 429 with a retry-after): this process
   * hands out no permit until then, and takes every permit it can receive, until then, during
   * one period after now (`per`, or the lease for `slots`), so that the whole fleet pauses:
   * permits in use elsewhere come back within that period.
   */
  pause(ms: number): void {
    if (typeof ms !== 'number' || !(ms >= 0)) fail('the pause', 'a duration in ms >= 0', ms);
    if (this.#closing !== undefined) return;
    const now = Date.now();
    const span = Math.min(ms, MAX_VISIBILITY_SECONDS * 1000);
    this.#pausedUntil = Math.max(this.#pausedUntil, now + span);
    this.#grabUntil = Math.max(this.#grabUntil, now + Math.min(span, this.#r.periodMs));
    this.#later(this.#grabUntil - now);
    this.#later(this.#pausedUntil - now);
    this.#pump();
  }

  stats(): PermitStats {
    const since = Date.now() - this.#r.periodMs;
    this.#recent = this.#recent.filter((at) => at > since);
    return {
      limit: this.#r.limit,
      held: this.#init.kind === 'slots' ? this.#held.size : this.#recent.length,
      waiting: this.#waiters.size,
      acquired: this.#acquired,
    };
  }

  /**
   * Rejects every waiting caller, stops every receive at once, and releases the `slots` permits
   * held (waiting up to 5 s for those releases). Idempotent. A long poll the client abandoned
   * can still take a permit on the server: it comes back after its period or lease.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stop.abort();
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    this.#extendTimer?.cancel();
    for (const waiter of this.#waiters) {
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.reject(new PermitPoolClosedError(this.#init.stage));
    }
    this.#waiters.clear();
    this.#releases.push(...this.#held.values());
    this.#held.clear();
    this.#flushReleases();
    const settled = Promise.allSettled([...this.#tasks]);
    const grace = new AbortController();
    const waited = sleep(CLOSE_GRACE_MS, grace.signal);
    if (!(await Promise.race([settled.then(() => true), waited]))) this.#drain.abort();
    grace.abort();
    await settled;
  }

  /** Starts the receives that are due: for waiters, or to take permits during a pause. */
  #pump(): void {
    if (this.#url === undefined || this.#closing !== undefined) return;
    const now = Date.now();
    if (now < this.#retryAt) return; // a timer pumps again
    if (now < this.#grabUntil) {
      const receives = Math.min(MAX_RECEIVES, Math.ceil(this.#r.limit / 10));
      while (this.#receives < receives) this.#receive(10, false);
      return;
    }
    if (now < this.#pausedUntil) return;
    const waiting = this.#waiters.size;
    const receives = Math.min(MAX_RECEIVES, Math.ceil(waiting / 10));
    while (this.#receives < receives && this.#requested < waiting)
      this.#receive(Math.min(10, waiting - this.#requested), true);
  }

  /** One receive of up to `max` permits, for waiters or to take them (pause). */
  #receive(max: number, forWaiters: boolean): void {
    const url = this.#url;
    if (url === undefined) return;
    const now = Date.now();
    const pausing = !forWaiters;
    const visibility = pausing
      ? clampSeconds(Math.ceil((this.#pausedUntil - now) / 1000))
      : this.#r.visibility;
    const wait = pausing ? Math.min(WAIT_SECONDS, Math.ceil((this.#grabUntil - now) / 1000)) : WAIT_SECONDS;
    this.#receives++;
    if (forWaiters) this.#requested += max;
    const done = this.#init.sqs
      .send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: wait,
          VisibilityTimeout: visibility,
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
        { abortSignal: this.#stop.signal },
      )
      .then(
        (out) => {
          this.#backoffMs = 0;
          this.#take(url, out.Messages ?? [], now, visibility);
        },
        (error: unknown) => {
          if (this.#stop.signal.aborted) return;
          this.#backoffMs = Math.min(BACKOFF_MS[1], Math.max(BACKOFF_MS[0], this.#backoffMs * 2));
          this.#retryAt = Date.now() + this.#backoffMs;
          this.#later(this.#backoffMs);
          this.#init.logger.warn(
            { queue: this.#r.name, err: describe(error), retryInMs: this.#backoffMs },
            'could not receive permits; trying again',
          );
        },
      )
      .finally(() => {
        this.#receives--;
        if (forWaiters) this.#requested -= max;
        this.#pump();
      });
    this.#track(done);
  }

  /** Permits received: extra copies and stale ones deleted, old ones renewed, the rest offered. */
  #take(url: string, messages: readonly Message[], askedAt: number, visibility: number): void {
    if (messages.length === 0) return;
    const { sqs, logger } = this.#init;
    const { use, renew, remove } = sortReceived(messages, this.#r.limit, Date.now());
    if (remove.length > 0) {
      logger.debug({ queue: this.#r.name, count: remove.length }, 'deleting extra copies of permits');
      this.#spawn('could not delete extra copies of permits', () => deletePermits(sqs, url, remove));
    }
    for (const permit of renew)
      this.#spawn('could not renew an old permit', () => renewPermit(sqs, url, permit));
    for (const permit of use) this.#offer(permit, askedAt, askedAt + visibility * 1000);
  }

  /** Hands a permit to the first waiter; keeps it through a pause; else lets it go. */
  #offer(permit: ReceivedPermit, takenAfter: number, expiresAt: number): void {
    const receiptHandle = permit.message.ReceiptHandle ?? '';
    const { index } = permit;
    const held: Held = { index, receiptHandle, takenAfter, expiresAt };
    const now = Date.now();
    if (now < this.#pausedUntil) {
      if (expiresAt < this.#pausedUntil)
        this.#changeVisibility([held], clampSeconds(Math.ceil((this.#pausedUntil - now) / 1000)));
      return;
    }
    const [waiter] = this.#waiters;
    if (waiter === undefined) {
      // rate: wasted until it comes back by itself; slots: given back now.
      if (this.#init.kind === 'slots') this.#release(held);
      return;
    }
    this.#waiters.delete(waiter);
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    this.#acquired++;
    if (this.#init.kind === 'rate') {
      this.#recent.push(now);
      waiter.resolve({ index, takenAfter, release() {} });
      this.#restart(held);
      return;
    }
    this.#held.set(receiptHandle, held);
    this.#scheduleExtend();
    waiter.resolve({
      index,
      takenAfter,
      release: () => {
        if (this.#held.delete(receiptHandle)) this.#release(held);
      },
    });
  }

  /**
   * A rate permit's period starts again now that its call starts (batched with those of the same
   * moment): SQS hid it from its receive, which came earlier, and a receive answered late (a
   * stalled process or network) would otherwise let the permit come back less than a period
   * after its call (measured by the benchmark: 69 calls in a sliding second at 50/s on fauxqs).
   * A change that fails leaves the period counted from the receive.
   */
  #restart(held: Held): void {
    this.#restarts.push(held);
    if (this.#restarts.length === 1)
      setImmediate(() => {
        const restarts = this.#restarts;
        this.#restarts = [];
        this.#changeVisibility(restarts, this.#r.visibility);
      });
  }

  /** Queues a release (visibility 0), sent with those of the same moment. */
  #release(held: Held): void {
    this.#releases.push(held);
    if (this.#releases.length === 1) setImmediate(() => this.#flushReleases());
  }

  #flushReleases(): void {
    const releases = this.#releases;
    this.#releases = [];
    if (releases.length > 0) this.#changeVisibility(releases, 0);
  }

  /** Extends, before their lease ends, the held permits whose lease ends within two thirds of it. */
  #scheduleExtend(): void {
    if (this.#closing !== undefined) return;
    const margin = (this.#r.visibility * 1000) / 3;
    let first = Number.POSITIVE_INFINITY;
    for (const held of this.#held.values()) first = Math.min(first, held.expiresAt - margin);
    if (first !== Number.POSITIVE_INFINITY) first = Math.max(first, this.#extendNotBefore);
    if (first >= this.#extendAt) return;
    this.#extendTimer?.cancel();
    this.#extendAt = first;
    if (first === Number.POSITIVE_INFINITY) return;
    this.#extendTimer = setTimer(first - Date.now(), () => {
      this.#extendAt = Number.POSITIVE_INFINITY;
      const now = Date.now();
      const due = [...this.#held.values()].filter((held) => held.expiresAt - 2 * margin <= now);
      this.#changeVisibility(due, this.#r.visibility, (failed) => {
        // Not extended: try again in a second (the lease still runs).
        for (const [held, expiresAt] of failed) held.expiresAt = expiresAt;
        this.#extendNotBefore = Date.now() + 1000;
        this.#scheduleExtend();
      });
      this.#scheduleExtend();
    });
  }

  /**
   * Sets the visibility of permits (release: 0; lease; pause), 10 per request. A permit SQS
   * refuses (its lease had ended) is no longer held: another process may have it.
   */
  #changeVisibility(
    permits: readonly Held[],
    seconds: number,
    onError?: (batch: readonly (readonly [Held, number])[]) => void,
  ): void {
    const url = this.#url;
    if (url === undefined || permits.length === 0) return;
    for (let i = 0; i < permits.length; i += 10) {
      const batch = permits.slice(i, i + 10);
      const sentAt = Date.now();
      const before = batch.map((held) => [held, held.expiresAt] as const);
      if (seconds > 0) for (const held of batch) held.expiresAt = sentAt + seconds * 1000;
      this.#spawn('could not change the visibility of permits', async () => {
        const out = await this.#init.sqs
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: url,
              Entries: batch.map((held, k) => ({
                Id: String(k),
                ReceiptHandle: held.receiptHandle,
                VisibilityTimeout: seconds,
              })),
            }),
            { abortSignal: this.#drain.signal },
          )
          .catch((error: unknown) => {
            onError?.(before);
            throw error;
          });
        for (const failed of out.Failed ?? []) {
          const held = batch[Number(failed.Id)];
          if (held === undefined) continue;
          if (seconds > 0 && this.#held.delete(held.receiptHandle))
            this.#init.logger.warn(
              { queue: this.#r.name, permit: held.index, code: failed.Code },
              'lost a permit whose lease had ended: the limit may be exceeded until its call ends',
            );
        }
      });
    }
  }

  /** Runs `work` beside the receives; a failure is logged, never thrown. */
  #spawn(what: string, work: () => Promise<void>): void {
    this.#track(
      work().catch((error: unknown) => {
        if (this.#drain.signal.aborted) return;
        this.#init.logger.warn({ queue: this.#r.name, err: describe(error) }, what);
      }),
    );
  }

  #track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => {
        this.#init.logger.error(
          { queue: this.#r.name, err: describe(error) },
          'permit pool: unexpected error',
        );
      })
      .finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  /** Pumps again after `ms`. */
  #later(ms: number): void {
    const timer = setTimer(ms, () => {
      this.#timers.delete(timer);
      this.#pump();
    });
    this.#timers.add(timer);
  }

  #every(ms: number, fn: () => void): void {
    const timer = setTimer(ms, () => {
      this.#timers.delete(timer);
      fn();
      if (this.#closing === undefined) this.#every(ms, fn);
    });
    this.#timers.add(timer);
  }
}

function clampSeconds(seconds: number): number {
  return Math.max(1, Math.min(MAX_VISIBILITY_SECONDS, seconds));
}

function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason));
}
