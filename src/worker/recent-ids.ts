/**
 * A set that remembers only the last `capacity` ids added (oldest forgotten first; adding an id
 * again makes it the newest). A ring of slots: forgetting the oldest is O(1). (A Set's first entry
 * is not: after many deletions at its front, `values().next()` walks over their holes.)
 */
export class RecentIds {
  readonly #slots: (string | undefined)[];
  /** Each remembered id's newest slot. */
  readonly #where = new Map<string, number>();
  #next = 0;

  constructor(capacity: number) {
    this.#slots = new Array<string | undefined>(Math.max(1, capacity)).fill(undefined);
  }

  add(id: string): void {
    const slot = this.#next;
    const oldest = this.#slots[slot];
    // An id added again since lives on in its newer slot.
    if (oldest !== undefined && this.#where.get(oldest) === slot) this.#where.delete(oldest);
    this.#slots[slot] = id;
    this.#where.set(id, slot);
    this.#next = (slot + 1) % this.#slots.length;
  }

  has(id: string): boolean {
    return this.#where.has(id);
  }
}
