/**
 * Bounds the messages in hand (running and prefetched). Receivers reserve room before they ask
 * SQS for messages: at least `min` places, up to `max`, and say what the receive brought with
 * {@link Capacity.received}. When room frees up, waiting receivers of higher priority levels go
 * first (one that needs more room than is free lets others pass). A receive asks for no more than
 * the quota leaves after the receives in flight (but one): a run with a limit receives about what
 * it will start, and a level that finds nothing never holds up the others. With `storedBytes`
 * (a run with `payloads`), the bytes of bodies read from S3 bound the room too (see StoredBytes).
 */
import type { StoredBytes } from './stored-bytes.ts';

interface Waiter {
  readonly level: number;
  readonly min: number;
  readonly max: number;
  readonly resolve: (granted: number) => void;
}

export class Capacity {
  readonly #limit: number;
  readonly #quota: () => number;
  readonly #bytes: StoredBytes | undefined;
  #used = 0;
  /** Places reserved by receives in flight: what they may bring, not yet in hand. */
  #inFlight = 0;
  #waiters: Waiter[] = [];

  /**
   * `quota`: how many more messages may be taken at all (a run's `limit`), checked with the room.
   * `storedBytes`: the stored bodies held, and their budget.
   */
  constructor(
    limit: number,
    quota: () => number = () => Number.POSITIVE_INFINITY,
    storedBytes?: StoredBytes,
  ) {
    this.#limit = limit;
    this.#quota = quota;
    this.#bytes = storedBytes;
  }

  /**
   * Waits until `min` places are free (or `limit`, if smaller), then reserves up to `max`.
   * Resolves 0 if `signal` aborts first.
   */
  reserve(level: number, min: number, max: number, signal: AbortSignal): Promise<number> {
    if (signal.aborted) return Promise.resolve(0);
    const need = Math.max(1, Math.min(min, this.#limit));
    if (this.#waiters.length === 0 && this.#free >= this.#needNow(need) && this.#byteRoom() > 0) {
      return Promise.resolve(this.#take(max));
    }
    return new Promise<number>((resolve) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(0);
      };
      const waiter: Waiter = {
        level,
        min: need,
        max,
        resolve: (granted) => {
          signal.removeEventListener('abort', onAbort);
          resolve(granted);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#waiters.sort((a, b) => b.level - a.level);
    });
  }

  /**
   * A receive that reserved `reserved` places returned `got` messages (0 if it failed), which
   * are in hand now (counted by the quota): the rest of its room is free again.
   */
  received(reserved: number, got: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - reserved);
    this.release(reserved - got);
  }

  /** A delivery was made that holds `bytes` of stored body (0: its body came in the message). */
  hold(bytes: number): void {
    this.#bytes?.hold(bytes);
  }

  /** Gives back `count` places and `bytes` of stored bodies, and lets waiting receivers in. */
  release(count: number, bytes = 0): void {
    this.#used = Math.max(0, this.#used - count);
    this.#bytes?.release(bytes);
    for (const waiter of [...this.#waiters]) {
      if (this.#free <= 0 || this.#byteRoom() === 0) break;
      if (this.#needNow(waiter.min) > this.#free) continue;
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(this.#take(waiter.max));
    }
  }

  get used(): number {
    return this.#used;
  }

  /** A waiter's need, lowered to what the quota still allows (never below one place). */
  #needNow(need: number): number {
    return Math.max(1, Math.min(need, this.#quota()));
  }

  get #free(): number {
    return Math.min(this.#limit - this.#used, this.#quota());
  }

  /** Messages the stored bytes leave room for (Infinity without `payloads`). */
  #byteRoom(): number {
    return this.#bytes === undefined ? Number.POSITIVE_INFINITY : this.#bytes.room(this.#inFlight);
  }

  #take(max: number): number {
    const unclaimed = Math.max(1, this.#quota() - this.#inFlight);
    const granted = Math.max(1, Math.min(max, this.#free, unclaimed, this.#byteRoom()));
    this.#used += granted;
    this.#inFlight += granted;
    return granted;
  }
}
