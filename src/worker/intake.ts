import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope, type Envelope } from '../envelope.ts';
import { describe } from '../errors.ts';
import { EncodedBodyError } from '../payloads/compression.ts';
import { payloadErrorOf } from '../payloads/payload-io.ts';
import { setTimer, type Timer } from '../time/timers.ts';
import type { Capacity } from './capacity.ts';
import type { Delivery, Outcome } from './delivery.ts';
import { LevelPoller, type PollerHandlers, type ReceiveIo } from './poller.ts';
import { RecentIds } from './recent-ids.ts';

/** How many acknowledged inputs a run remembers, to delete (not redo) one SQS delivers again. */
const COMPLETED_MEMORY = 10_000;

export interface IntakeOptions {
  readonly io: ReceiveIo;
  readonly capacity: Capacity;
  /** Input queues, highest level first. */
  readonly queues: readonly { readonly level: number; readonly url: string }[];
  readonly visibility: number;
  readonly lanes: number;
  readonly waitSeconds: (busy: boolean) => number;
  /** Makes the owner of one received message. */
  readonly deliver: (
    url: string,
    level: number,
    message: Message,
    envelope: Envelope | undefined,
  ) => Delivery;
  /** New deliveries for the workers, in receive order. */
  readonly schedule: (deliveries: Delivery[]) => void;
  readonly stopping: () => boolean;
  /** How many more inputs the run may take (its `limit`). */
  readonly quota: () => number;
  /** Deliveries waiting for a worker at `level` or above (those that run before what it brings). */
  readonly waiting: (level: number) => number;
  /** A receive of `level` came back with less than it asked, or failed (said once per level). */
  readonly caughtUp: (level: number) => void;
  /**
   * Extends what an idle level's long poll brought with a short lease to the stage's visibility.
   * @see IDLE_LEASE_SECONDS
   */
  readonly extend: (url: string, messages: readonly Message[]) => void;
  /** A receive returned messages / returned none / failed / worked again after failing. */
  readonly on: Pick<PollerHandlers, 'empty' | 'failed' | 'recovered'> & { received(): void };
}

/**
 * Turns received messages into deliveries. It knows every delivery of the run that has not
 * ended, so that a message SQS gives again while in hand (its visibility lapsed) stays one
 * delivery with the new receipt handle, and one acknowledged earlier in the run (its delete was
 * lost) is only deleted. What a stopping run receives, or what comes past its `limit`, is set
 * aside and released once no receive is in flight, lest a receive of this run take it back.
 */
export class Intake {
  readonly #o: IntakeOptions;
  readonly #pollers: LevelPoller[];
  /** Deliveries not ended, by SQS message id. */
  readonly #live = new Map<string, Delivery>();
  readonly #completed = new RecentIds(COMPLETED_MEMORY);
  readonly #byLevel = new Map<number, number>();
  readonly #setAside: Delivery[] = [];
  #allEnded: (() => void) | undefined;

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.#pollers = options.queues.map(
      ({ level, url }) =>
        new LevelPoller(
          level,
          url,
          options.io,
          options.capacity,
          { visibility: options.visibility, lanes: options.lanes, waitSeconds: options.waitSeconds },
          {
            inHand: () => this.#byLevel.get(level) ?? 0,
            waiting: () => options.waiting(level),
            caughtUp: () => options.caughtUp(level),
            messages: (messages, visibility) => {
              // Not while stopping: what it brings then is released, and must not be hidden again.
              if (visibility < options.visibility && !options.stopping()) options.extend(url, messages);
              this.#accept(level, url, messages);
            },
            empty: options.on.empty,
            failed: options.on.failed,
            recovered: options.on.recovered,
          },
        ),
    );
  }

  start(): void {
    for (const poller of this.#pollers) poller.start();
  }

  /** Fewer inputs wait for a worker: lanes that were not needed may be now. */
  wake(): void {
    for (const poller of this.#pollers) poller.wake();
  }

  /** Busy receives in flight now, over every level: those a stop waits for. */
  get busyReceiving(): number {
    return this.#pollers.reduce((sum, poller) => sum + poller.busyReceiving, 0);
  }

  /** Deliveries in hand, not ended. */
  get live(): number {
    return this.#live.size;
  }

  /** Every delivery in hand that is between retries. */
  inBackoff(): Delivery[] {
    return [...this.#live.values()].filter((d) => d.state === 'backoff');
  }

  /**
   * Ends receiving: idle long polls at once, busy receives when they end or `deadline` aborts;
   * then releases what came meanwhile.
   */
  async stop(deadline?: AbortSignal): Promise<void> {
    await Promise.all(this.#pollers.map((poller) => poller.stop(deadline)));
    for (const delivery of this.#setAside.splice(0)) delivery.release();
  }

  /** Resolves once every delivery has ended, or after `timeoutMs`. */
  async allEnded(timeoutMs: number): Promise<void> {
    if (this.#live.size === 0) return;
    let timer: Timer | undefined;
    await new Promise<void>((resolve) => {
      this.#allEnded = resolve;
      timer = setTimer(timeoutMs, resolve); // Infinity (shutdownTimeout: never): no timer
    });
    timer?.cancel();
    this.#allEnded = undefined;
  }

  /** Bookkeeping of a delivery that ended. */
  ended(delivery: Delivery, outcome: Outcome): void {
    if (this.#live.get(delivery.messageId) === delivery) {
      this.#live.delete(delivery.messageId);
      this.#count(delivery.level, -1);
    }
    if (outcome === 'acked') this.#completed.add(delivery.messageId);
    if (this.#live.size === 0) this.#allEnded?.();
  }

  #accept(level: number, url: string, messages: readonly Message[]): void {
    this.#o.on.received();
    const fresh: Delivery[] = [];
    for (const message of messages) {
      const id = message.MessageId ?? '';
      const held = this.#live.get(id);
      if (held !== undefined) {
        held.renew(message); // the same message, still ours: only its handle changed
        this.#o.capacity.release(1);
        continue;
      }
      // A body stored in S3 that could not be read is an input that cannot be processed.
      const unread = payloadErrorOf(message);
      const decoded: Decoded =
        unread === undefined ? decodeEnvelope(message.Body) : { ok: false, reason: unreadableReason(unread) };
      const delivery = this.#o.deliver(url, level, message, decoded.ok ? decoded.envelope : undefined);
      if (this.#completed.has(id)) {
        // Done in this run already (even if it is stopping): its delete was lost, or raced this
        // receive. Only delete it, with this latest handle; never hand it back.
        delivery.discard();
      } else if (this.#o.stopping() || (decoded.ok && this.#o.quota() - fresh.length <= 0)) {
        this.#track(delivery);
        this.#setAside.push(delivery);
      } else if (!decoded.ok) {
        this.#track(delivery);
        delivery.deadLetter(
          unread === undefined ? `not a sqspipes envelope: ${decoded.reason}` : decoded.reason,
        );
      } else {
        this.#track(delivery);
        fresh.push(delivery);
      }
    }
    if (fresh.length > 0) this.#o.schedule(fresh);
  }

  #track(delivery: Delivery): void {
    this.#live.set(delivery.messageId, delivery);
    this.#count(delivery.level, 1);
  }

  #count(level: number, delta: number): void {
    this.#byLevel.set(level, (this.#byLevel.get(level) ?? 0) + delta);
  }
}

type Decoded = ReturnType<typeof decodeEnvelope>;

/** Why an input whose body is stored in S3 is dead-lettered when that body cannot be read. */
export function unreadableReason(error: unknown): string {
  if (error instanceof EncodedBodyError) return error.message;
  return `its body stored in S3 could not be read: ${describe(error)}`;
}
