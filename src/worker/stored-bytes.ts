/**
 * The bytes of bodies read from S3 (`payloads`) that a run holds, against a budget: each message
 * whose body was stored counts its size (the pointer's size attribute) from the moment its
 * delivery is made until it ends (acknowledged, released or dead-lettered). While they reach the
 * budget no receive starts, and a receive asks for no more messages than the budget has room
 * for, at the size a received message brought lately (see {@link StoredBytes.room}).
 *
 * The budget never holds fewer than two messages per worker slot (one running, one waiting) at
 * that size, so that it bounds the prefetch, never the concurrency the run was given. It may be
 * passed by one message's size (a receive given room for one), and a message larger than the
 * whole budget still comes in, alone.
 *
 * Pure bookkeeping: the run makes one only with `payloads` (see Capacity).
 */

/** Stored bytes a run holds by default, before its worker slots raise it (see above). */
export const STORED_BYTES_BUDGET = 64 * 1024 * 1024;

/** Weight of the latest message in the size estimate (a moving average). */
const NEW_WEIGHT = 0.25;

export class StoredBytes {
  readonly #budget: number;
  readonly #slots: number;
  #inHand = 0;
  #peak = 0;
  /** Stored bytes a received message brings, as lately seen (0: none seen yet). */
  #perMessage = 0;
  #seen = false;

  /** `slots`: the run's worker slots (workers × inputs per call). */
  constructor(budget: number, slots: number) {
    this.#budget = budget;
    this.#slots = slots;
  }

  /** Stored bytes held now. */
  get inHand(): number {
    return this.#inHand;
  }

  /** The most held at once. */
  get peak(): number {
    return this.#peak;
  }

  /** The budget now: the given one, or two messages per worker slot if that is more. */
  get budget(): number {
    return Math.max(this.#budget, 2 * this.#slots * this.#perMessage);
  }

  /** Stored bytes a received message brings, as lately seen. */
  get perMessage(): number {
    return this.#perMessage;
  }

  /**
   * How many messages a receive may ask for now, with `inFlight` places reserved by receives not
   * back yet (each counted at {@link perMessage}): 0 when the budget is reached, Infinity when
   * bytes do not limit it (no stored body seen lately). One at least when nothing is held.
   */
  room(inFlight: number): number {
    const per = this.#perMessage;
    if (per === 0) return this.#inHand < this.budget ? Number.POSITIVE_INFINITY : 0;
    const free = this.budget - this.#inHand - inFlight * per;
    if (free > 0) return Math.max(1, Math.floor(free / per));
    return this.#inHand === 0 && inFlight === 0 ? 1 : 0;
  }

  /** A delivery was made of a message that holds `bytes` of stored body (0: its body came inline). */
  hold(bytes: number): void {
    this.#perMessage = this.#seen ? this.#perMessage + (bytes - this.#perMessage) * NEW_WEIGHT : bytes;
    this.#seen = true;
    if (bytes === 0) return;
    this.#inHand += bytes;
    if (this.#inHand > this.#peak) this.#peak = this.#inHand;
  }

  /** A delivery that held `bytes` ended. */
  release(bytes: number): void {
    this.#inHand = Math.max(0, this.#inHand - bytes);
  }
}
