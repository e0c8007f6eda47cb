/**
 * Coalesces single operations into SQS batch calls: up to `maxEntries` entries and `maxBytes`
 * per call, waiting at most `lingerMs` for company. Several calls may be in flight at once.
 * Entries that SQS failed with a transient error are retried (with backoff) in a later batch.
 */
export type EntryResult<R> = { ok: true; value: R } | { ok: false; error: Error; retryable: boolean };

export interface BatcherOptions<E, R> {
  /** @default 10 (SQS's limit) */
  maxEntries?: number;
  /** @default 1 MiB (SQS's limit on a batch) */
  maxBytes?: number;
  /** How long a lone entry waits for others. 0: until the current turn of the event loop ends. */
  lingerMs: number;
  /** Size of an entry toward `maxBytes`. @default 0 */
  sizeOf?: (entry: E) => number;
  /** Times an entry that SQS failed transiently is tried in all. @default 5 */
  maxAttempts?: number;
  /**
   * Whether a thrown call (after the SDK's own retries) is worth trying again. Those entries are
   * retried with backoff until they succeed or {@link Batcher.abort} is called. @default never
   */
  retryCall?: (error: unknown) => boolean;
  /** Performs one batch call; returns one result per entry, in order. A throw fails every entry. */
  call: (entries: readonly E[]) => Promise<EntryResult<R>[]>;
}

interface Pending<E, R> {
  entry: E;
  size: number;
  attempt: number;
  resolve: (value: R) => void;
  reject: (error: Error) => void;
  /** Withdraws the entry while it is not on the wire (its run gave up on it). */
  signal: AbortSignal | undefined;
}

export class Batcher<E, R> {
  readonly #options: Required<BatcherOptions<E, R>>;
  #pending: Pending<E, R>[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #retrying = new Map<NodeJS.Timeout, Pending<E, R>>();
  /** Entries that an abort signal withdraws, by signal. */
  readonly #watched = new Map<AbortSignal, { entries: Set<Pending<E, R>>; stop: () => void }>();
  #aborted = false;

  constructor(options: BatcherOptions<E, R>) {
    this.#options = {
      maxEntries: 10,
      maxBytes: 1_048_576,
      maxAttempts: 5,
      sizeOf: () => 0,
      retryCall: () => false,
      ...options,
    };
  }

  /**
   * Adds one entry; resolves with its result once the batch call that carries it succeeded.
   * Aborting `signal` withdraws it (rejecting with the signal's reason) unless it is on the wire.
   */
  add(entry: E, signal?: AbortSignal): Promise<R> {
    if (this.#aborted) return Promise.reject(new Error('batcher aborted'));
    if (signal?.aborted === true) return Promise.reject(toError(signal.reason));
    return new Promise<R>((resolve, reject) => {
      const item: Pending<E, R> = {
        entry,
        size: this.#options.sizeOf(entry),
        attempt: 1,
        resolve,
        reject,
        signal,
      };
      if (signal !== undefined) {
        const forget = this.#watch(signal, item);
        item.resolve = (value) => (forget(), resolve(value));
        item.reject = (error) => (forget(), reject(error));
      }
      this.#enqueue(item);
    });
  }

  /**
   * Withdraws `item` if `signal` aborts; returns what stops watching. One listener per signal, for
   * all its entries: a run's signal carries thousands of entries, and every addEventListener on a
   * signal walks the listeners it has.
   */
  #watch(signal: AbortSignal, item: Pending<E, R>): () => void {
    let items = this.#watched.get(signal);
    if (items === undefined) {
      const watched = new Set<Pending<E, R>>();
      const onAbort = () => {
        this.#watched.delete(signal);
        for (const waiting of [...watched]) this.#withdraw(waiting, toError(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      items = { entries: watched, stop: () => signal.removeEventListener('abort', onAbort) };
      this.#watched.set(signal, items);
    }
    const watching = items;
    watching.entries.add(item);
    return () => {
      watching.entries.delete(item);
      if (watching.entries.size > 0 || this.#watched.get(signal) !== watching) return;
      this.#watched.delete(signal);
      watching.stop();
    };
  }

  /** Removes `item` from the pending batch or from its retry wait, and rejects it. */
  #withdraw(item: Pending<E, R>, error: Error): void {
    const index = this.#pending.indexOf(item);
    if (index >= 0) {
      this.#pending.splice(index, 1);
      this.#bytes -= item.size;
      if (this.#pending.length === 0) this.#clearTimer();
      item.reject(error);
      return;
    }
    for (const [timer, waiting] of this.#retrying) {
      if (waiting !== item) continue;
      clearTimeout(timer);
      this.#retrying.delete(timer);
      item.reject(error);
      return;
    }
  }

  /** Sends what is pending now and waits for every call in flight, retries included. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0 || this.#retrying.size > 0) {
      if (this.#pending.length > 0) this.#dispatch();
      else if (this.#inFlight.size > 0) await Promise.allSettled(this.#inFlight);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  get size(): number {
    return this.#pending.length;
  }

  #enqueue(item: Pending<E, R>): void {
    if (this.#pending.length > 0 && this.#bytes + item.size > this.#options.maxBytes) this.#dispatch();
    this.#pending.push(item);
    this.#bytes += item.size;
    if (this.#pending.length >= this.#options.maxEntries) this.#dispatch();
    else if (this.#timer === undefined) {
      const fire = () => {
        this.#timer = undefined;
        this.#dispatch();
      };
      this.#timer =
        this.#options.lingerMs > 0 ? setTimeout(fire, this.#options.lingerMs) : setImmediate(fire);
    }
  }

  #dispatch(): void {
    this.#clearTimer();
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#bytes = 0;
    const call = this.#run(batch).finally(() => this.#inFlight.delete(call));
    this.#inFlight.add(call);
  }

  async #run(batch: Pending<E, R>[]): Promise<void> {
    let results: EntryResult<R>[];
    try {
      results = await this.#options.call(batch.map((p) => p.entry));
    } catch (error) {
      const again = this.#options.retryCall(error) && !this.#aborted;
      for (const item of batch) {
        if (again) this.#retryLater(item);
        else item.reject(toError(error));
      }
      return;
    }
    batch.forEach((item, i) => {
      const result = results[i] ?? {
        ok: false,
        error: new Error('SQS returned no result for this entry'),
        retryable: true,
      };
      if (result.ok) item.resolve(result.value);
      else if (result.retryable && item.attempt < this.#options.maxAttempts) this.#retryLater(item);
      else item.reject(result.error);
    });
  }

  #retryLater(item: Pending<E, R>): void {
    const delay = Math.min(5000, 25 * 2 ** item.attempt) * (0.5 + Math.random() / 2);
    const timer = setTimeout(() => {
      this.#retrying.delete(timer);
      item.attempt++;
      this.#enqueue(item);
    }, delay);
    this.#retrying.set(timer, item);
  }

  /** Gives up: rejects every entry not yet sent or waiting for a retry. */
  abort(error: Error): void {
    this.#aborted = true;
    this.#clearTimer();
    for (const [timer, item] of this.#retrying) {
      clearTimeout(timer);
      item.reject(error);
    }
    this.#retrying.clear();
    for (const item of this.#pending) item.reject(error);
    this.#pending = [];
    this.#bytes = 0;
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer as NodeJS.Timeout);
    clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
