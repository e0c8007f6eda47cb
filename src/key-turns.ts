/**
 * Producer calls of one key take turns: `enqueue()`/`submit()` calls made without awaiting each
 * other (`Promise.all(values.map(…))`) reach SQS in the order they were made, per queue and key,
 * as SQS keeps a group's order only between sends that wait for each other. Calls without a key
 * (each its own group) do not wait.
 */
export class KeyTurns {
  /** Per slot, what settles once every call of it made so far has. */
  readonly #tails = new Map<string, Promise<unknown>>();

  /**
   * Calls `work` at once with what it must wait for before it sends: every earlier call of
   * `slot` settled (nothing without a slot). `work` bounds that wait by its own deadline; the
   * later calls still wait for the calls before it.
   */
  inTurn<T>(
    slot: string | undefined,
    work: (earlier: Promise<unknown> | undefined) => Promise<T>,
  ): Promise<T> {
    if (slot === undefined) return work(undefined);
    const before = this.#tails.get(slot);
    const mine = work(before);
    const tail = Promise.allSettled([before, mine]);
    this.#tails.set(slot, tail);
    const forget = (): void => {
      if (this.#tails.get(slot) === tail) this.#tails.delete(slot);
    };
    tail.then(forget, forget);
    return mine;
  }

  /** Slots with calls waiting or in flight. */
  get size(): number {
    return this.#tails.size;
  }
}
