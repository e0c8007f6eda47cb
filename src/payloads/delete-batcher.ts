/**
 * Deletes of stored bodies, gathered per bucket into calls of up to 1000 keys (S3's DeleteObjects
 * at once, or a message to the queue of pending deletes, delete-queue.ts). Best effort: a failed
 * call is reported by `send` itself, never retried; the lifecycle rule deletes what is left.
 */

/** S3's most keys per DeleteObjects call. */
export const MAX_KEYS_PER_DELETE = 1000;

/** Deletes `keys` of `bucket` in one call; must not reject (it reports its own failures). */
export type DeleteKeys = (bucket: string, keys: readonly string[]) => Promise<void>;

export class DeleteBatcher {
  readonly #send: DeleteKeys;
  readonly #delayMs: number;
  /** Keys waiting, by bucket (a Set: the same key deleted twice is one key). */
  readonly #waiting = new Map<string, Set<string>>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  /** `delayMs`: how long a key may wait for others before its call is made. */
  constructor(send: DeleteKeys, delayMs = 1000) {
    this.#send = send;
    this.#delayMs = delayMs;
  }

  /** Keys waiting for their call. */
  get pending(): number {
    let count = 0;
    for (const keys of this.#waiting.values()) count += keys.size;
    return count;
  }

  /** Deletes `key` of `bucket` soon: at once when its bucket has 1000 keys waiting, else after the delay. */
  add(bucket: string, key: string): void {
    let keys = this.#waiting.get(bucket);
    if (keys === undefined) this.#waiting.set(bucket, (keys = new Set()));
    keys.add(key);
    if (keys.size >= MAX_KEYS_PER_DELETE) this.#start(bucket);
    else this.#timer ??= setTimeout(() => this.#startAll(), this.#delayMs).unref();
  }

  /** Makes the calls for every key waiting now, and resolves when they and any in flight ended. */
  async flush(): Promise<void> {
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
