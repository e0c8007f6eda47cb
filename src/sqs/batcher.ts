/**
 * Coalesces single operations into SQS batch calls: up to `maxEntries` entries and `maxBytes`
 * per call, waiting at most `lingerMs` for company. Up to `maxCalls` calls may be in flight at
 * once; batches made meanwhile wait for one of them to end (each call's request and its buffers
 * live until it ends, and every one in flight at once holds a socket of its own).
 * Entries that SQS failed with a transient error are retried (with backoff) in a later batch.
 *
 * Each entry may carry its caller's signal (its deadline): once it aborts, the entry is never
 * sent again. One still waiting (pending or between retries) is withdrawn, rejecting with the
 * signal's reason (or, when an attempt had already failed, that failure: it says why); one on the
 * wire rejects at once with an {@link OutcomeUnknownError}, and is not retried if its call fails.
 */
export type EntryResult<R> = { ok: true; value: R } | { ok: false; error: Error; retryable: boolean };

export interface BatcherOptions<E, R> {
  /** @default 10 (SQS's limit) */
  maxEntries?: number;
  /** @default 1 MiB (SQS's limit on a batch) */
  maxBytes?: number;
  /** How long a lone entry waits for others. 0: until the current turn of the event loop ends. */
  lingerMs: number;
  /** Calls in flight at once. @default 16 (160 entries: a few times what a round trip needs) */
  maxCalls?: number;
  /** Size of an entry toward `maxBytes`. @default 0 */
  sizeOf?: (entry: E) => number;
  /** Times an entry that SQS failed transiently is tried in all. @default 5 */
  maxAttempts?: number;
  /**
   * Whether a thrown call (after the SDK's own retries) is worth trying again. Those entries are
   * retried with backoff until they succeed, their signal aborts or {@link Batcher.abort} is
   * called. @default never
   */
  retryCall?: (error: unknown) => boolean;
  /**
   * Performs one batch call; returns one result per entry, in order. A throw fails every entry.
   * `signal` aborts once every entry's caller gave up (never when one entry has no signal).
   */
  call: (entries: readonly E[], signal?: AbortSignal) => Promise<EntryResult<R>[]>;
}

/**
 * The caller gave up on an entry while its request was on the wire: SQS may or may not have
 * carried it out. `cause` is why the caller gave up.
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
}

/** One entry waiting for, or on, the wire. A class: its settling methods are shared, not made per entry. */
class Pending<E, R> {
  readonly entry: E;
  readonly size: number;
  attempt = 1;
  /** The caller's deadline: aborting it withdraws the entry (see the class). */
  readonly signal: AbortSignal | undefined;
  /** Abandon the request carrying it too once its caller (and every other one in it) gave up. */
  readonly abandon: boolean;
  /** Settled, or given up by its caller: nothing more happens to it. */
  done = false;
  /** On the wire now. */
  sending = false;
  /** Why its last attempt failed (transiently), if one did. */
  lastError: Error | undefined = undefined;
  /** Stops watching its signal. */
  forget: (() => void) | undefined = undefined;
  readonly #resolve: (value: R) => void;
  readonly #reject: (error: Error) => void;

  constructor(
    entry: E,
    size: number,
    signal: AbortSignal | undefined,
    abandon: boolean,
    resolve: (value: R) => void,
    reject: (error: Error) => void,
  ) {
    this.entry = entry;
    this.size = size;
    this.signal = signal;
    this.abandon = abandon;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  resolve(value: R): void {
    if (this.done) return;
    this.done = true;
    this.forget?.();
    this.#resolve(value);
  }

  reject(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.forget?.();
    this.#reject(error);
  }
}

export class Batcher<E, R> {
  readonly #options: Required<BatcherOptions<E, R>>;
  #pending: Pending<E, R>[] = [];
  #bytes = 0;
  /** Batches made while `maxCalls` were in flight, oldest first. */
  #queued: Pending<E, R>[][] = [];
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
      maxCalls: 16,
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
  add(entry: E, signal?: AbortSignal, abandon = false): Promise<R> {
    if (this.#aborted) return Promise.reject(new Error('batcher aborted'));
    if (signal?.aborted === true) return Promise.reject(toError(signal.reason));
    let resolve: (value: R) => void = () => {};
    let reject: (error: Error) => void = () => {};
    const promise = new Promise<R>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const size = this.#options.sizeOf(entry);
    const item = new Pending(entry, size, signal, abandon && signal !== undefined, resolve, reject);
    if (signal !== undefined) item.forget = this.#watch(signal, item);
    this.#enqueue(item);
    return promise;
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

  /**
   * Its caller gave up on `item`: removes it from the pending batch or from its retry wait and
   * rejects it (with its last failure, which says why, if it had one); on the wire, rejects it
   * with an {@link OutcomeUnknownError} and lets the call run its course without it.
   */
  #withdraw(item: Pending<E, R>, reason: Error): void {
    if (item.done) return;
    if (item.sending) {
      const unknown = new OutcomeUnknownError(
        `gave up while the request was on the wire (${reason.message}): SQS may or may not have accepted it`,
        { cause: item.lastError ?? reason },
      );
      item.reject(unknown);
      return;
    }
    const error = item.lastError ?? reason;
    const index = this.#pending.indexOf(item);
    if (index >= 0) {
      this.#pending.splice(index, 1);
      this.#bytes -= item.size;
      if (this.#pending.length === 0) this.#clearTimer();
      item.reject(error);
      return;
    }
    for (const batch of this.#queued) {
      const at = batch.indexOf(item);
      if (at < 0) continue;
      batch.splice(at, 1);
      if (batch.length === 0) this.#queued.splice(this.#queued.indexOf(batch), 1);
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
    while (
      this.#pending.length > 0 ||
      this.#queued.length > 0 ||
      this.#inFlight.size > 0 ||
      this.#retrying.size > 0
    ) {
      if (this.#pending.length > 0) this.#dispatch();
      else if (this.#inFlight.size > 0) await Promise.allSettled(this.#inFlight);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Entries waiting to be sent (not on the wire, not between retries). */
  get size(): number {
    let size = this.#pending.length;
    for (const batch of this.#queued) size += batch.length;
    return size;
  }

  #enqueue(item: Pending<E, R>): void {
    if (this.#pending.length > 0 && this.#bytes + item.size > this.#options.maxBytes) this.#dispatch();
    this.#pending.push(item);
    this.#bytes += item.size;
    if (this.#pending.length >= this.#options.maxEntries) this.#dispatch();
    else if (this.#timer === undefined) {
      const fire = () => {
        this.#timer = undefined;
        // Every call slot taken: the batch goes on filling until one ends (see #start).
        if (this.#inFlight.size < this.#options.maxCalls) this.#dispatch();
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
    if (this.#inFlight.size >= this.#options.maxCalls) this.#queued.push(batch);
    else this.#start(batch);
  }

  #start(batch: Pending<E, R>[]): void {
    const call = this.#run(batch).finally(() => {
      this.#inFlight.delete(call);
      const next = this.#queued.shift();
      if (next !== undefined) this.#start(next);
      else if (this.#pending.length > 0 && this.#timer === undefined) this.#dispatch();
    });
    this.#inFlight.add(call);
  }

  async #run(batch: Pending<E, R>[]): Promise<void> {
    for (const item of batch) item.sending = true;
    const giveUp = allGaveUp(batch);
    let results: EntryResult<R>[];
    try {
      results = await this.#options.call(
        batch.map((p) => p.entry),
        giveUp?.signal,
      );
    } catch (error) {
      const again = this.#options.retryCall(error) && !this.#aborted;
      for (const item of batch) {
        item.sending = false;
        if (again && !item.done) this.#retryLater(item, toError(error));
        else item.reject(toError(error));
      }
      return;
    } finally {
      giveUp?.dispose();
    }
    batch.forEach((item, i) => {
      item.sending = false;
      const result = results[i] ?? {
        ok: false,
        error: new Error('SQS returned no result for this entry'),
        retryable: true,
      };
      if (result.ok) item.resolve(result.value);
      else if (result.retryable && item.attempt < this.#options.maxAttempts && !item.done)
        this.#retryLater(item, result.error);
      else item.reject(result.error);
    });
  }

  #retryLater(item: Pending<E, R>, error: Error): void {
    item.lastError = error;
    const delay = Math.min(5000, 25 * 2 ** item.attempt) * (0.5 + Math.random() / 2);
    const timer = setTimeout(() => {
      this.#retrying.delete(timer);
      item.attempt++;
      this.#enqueue(item);
    }, delay);
    this.#retrying.set(timer, item);
  }

  /** Gives up: rejects every entry not yet sent or waiting for a retry. Returns how many. */
  abort(error: Error): number {
    this.#aborted = true;
    this.#clearTimer();
    const count = this.size + this.#retrying.size;
    for (const [timer, item] of this.#retrying) {
      clearTimeout(timer);
      item.reject(error);
    }
    this.#retrying.clear();
    for (const item of this.#pending) item.reject(error);
    for (const batch of this.#queued) for (const item of batch) item.reject(error);
    this.#pending = [];
    this.#queued = [];
    this.#bytes = 0;
    return count;
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer as NodeJS.Timeout);
    clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
  }
}

/**
 * A signal that aborts once the caller of every entry of `batch` gave up (so that the request
 * itself can be abandoned); undefined when an entry has no caller's signal.
 */
function allGaveUp<E, R>(
  batch: readonly Pending<E, R>[],
): { signal: AbortSignal; dispose(): void } | undefined {
  const signals: AbortSignal[] = [];
  for (const item of batch) {
    // Only short-lived callers' signals (a producer call's deadline): a listener per batch call on
    // a run's long-lived signal would cost every add a walk of its listeners.
    if (item.signal === undefined || !item.abandon) return undefined;
    signals.push(item.signal);
  }
  const controller = new AbortController();
  let left = new Set(signals).size;
  const seen = new Set<AbortSignal>();
  const onAbort = (signal: AbortSignal) => () => {
    if (seen.has(signal)) return;
    seen.add(signal);
    if (--left === 0) controller.abort(toError(signal.reason));
  };
  const listeners = new Map<AbortSignal, () => void>();
  for (const signal of new Set(signals)) {
    const listener = onAbort(signal);
    listeners.set(signal, listener);
    if (signal.aborted) listener();
    else signal.addEventListener('abort', listener, { once: true });
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [signal, listener] of listeners) signal.removeEventListener('abort', listener);
    },
  };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
