/**
 * Deletes of stored bodies, gathered per bucket into DeleteObjects calls of up to 1000 keys.
 * Best effort: a failed call is reported to `send`'s caller, never retried; the lifecycle rule
 * deletes what is left.
 */

/** S3's most keys per DeleteObjects call. */
export const MAX_KEYS_PER_DELETE = 1000;

/** Deletes `keys` of `bucket` in one call; must not reject (it reports its own failures). */
export type DeleteKeys = (bucket: string, keys: readonly string[]) => Promise<void>;

export class DeleteBatcher {
  readonly #send: DeleteKeys;
  readonly #delayMs: number;
  readonly #holdMs: number;
  /** Keys held until they are old enough, in the order added (so by due time); `#next` is the first. */
  #held: { bucket: string; key: string; due: number }[] = [];
  #next = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  /** Keys waiting, by bucket (a Set: the same key deleted twice is one key). */
  readonly #waiting = new Map<string, Set<string>>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  /**
   * `delayMs`: how long a key may wait for others before its call is made; `holdMs`: how long a
   * key is kept before that at all (see PayloadStore.deleteLater: SQS's deduplication window).
   */
  constructor(send: DeleteKeys, delayMs = 1000, holdMs = 0) {
    this.#send = send;
    this.#delayMs = delayMs;
    this.#holdMs = holdMs;
  }

  /** Keys waiting for their call, held ones included. */
  get pending(): number {
    let count = this.#held.length - this.#next;
    for (const keys of this.#waiting.values()) count += keys.size;
    return count;
  }

  /** Deletes `key` of `bucket` once `holdMs` have passed, then as {@link #queue} does. */
  add(bucket: string, key: string): void {
    if (this.#holdMs <= 0) return this.#queue(bucket, key);
    this.#held.push({ bucket, key, due: Date.now() + this.#holdMs });
    this.#holdTimer ??= setTimeout(() => this.#release(false), this.#holdMs).unref();
  }

  /** Moves the held keys that are due (all with `all`) to their calls; re-arms for the next. */
  #release(all: boolean): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    const now = Date.now();
    while (this.#next < this.#held.length) {
      const entry = this.#held[this.#next] as { bucket: string; key: string; due: number };
      if (!all && entry.due > now) break;
      this.#next++;
      this.#queue(entry.bucket, entry.key);
    }
    if (this.#next === this.#held.length) {
      this.#held = [];
      this.#next = 0;
    } else {
      if (this.#next > 1024 && this.#next * 2 > this.#held.length) {
        this.#held = this.#held.slice(this.#next);
        this.#next = 0;
      }
      const first = this.#held[this.#next] as { due: number };
      this.#holdTimer = setTimeout(() => this.#release(false), Math.max(0, first.due - now)).unref();
    }
  }

  /** Deletes `key` of `bucket` soon: at once when its bucket has 1000 keys waiting, else after the delay. */
  #queue(bucket: string, key: string): void {
    let keys = this.#waiting.get(bucket);
    if (keys === undefined) this.#waiting.set(bucket, (keys = new Set()));
    keys.add(key);
    if (keys.size >= MAX_KEYS_PER_DELETE) this.#start(bucket);
    else this.#timer ??= setTimeout(() => this.#startAll(), this.#delayMs).unref();
  }

  /** Makes the calls for every key waiting or held now, and resolves when they and any in flight ended. */
  async flush(): Promise<void> {
    this.#release(true);
    this.#startAll();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  #startAll(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const bucket of [...this.#waiting.keys()]) this.#start(bucket);
  }

  #start(bucket: string): void {
    const keys = [...(this.#waiting.get(bucket) ?? [])];
    this.#waiting.delete(bucket);
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_DELETE) {
      const call = this.#send(bucket, keys.slice(i, i + MAX_KEYS_PER_DELETE))
        .catch(() => {}) // `send` reports its failures; this only keeps a broken one from escaping
        .finally(() => this.#inFlight.delete(call));
      this.#inFlight.add(call);
    }
    if (this.#waiting.size === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
