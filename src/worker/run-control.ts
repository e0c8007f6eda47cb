import { setTimer, sleep, type Timer } from '../time/timers.ts';

/** Grace given to calls after their signal was aborted, before the run stops waiting for them. */
const ABORT_GRACE_MS = 1000;

/**
 * The stop logic shared by both runners: one request to stop (from the user's signal, a limit,
 * an idle timeout, a failure or the consumer leaving), the calls still running, and the first error.
 */
export class RunControl {
  /** Aborted when the run must take no new work. */
  readonly #stopping = new AbortController();
  /** Aborted when running calls must give up (shutdown timeout passed). */
  readonly #calls = new AbortController();
  readonly #running = new Set<Promise<unknown>>();
  readonly #idleTimeout: number | undefined;
  readonly #signal: AbortSignal | undefined;
  #idleTimer: Timer | undefined;
  #idleDeadline = Number.POSITIVE_INFINITY;
  #busy: () => boolean = () => false;
  /** {@link begin} was called: the idle countdown runs from there, not from input held before. */
  #begun = false;
  #error: unknown;
  #failed = false;

  constructor(options: { signal?: AbortSignal | undefined; idleTimeout?: number | undefined }) {
    this.#signal = options.signal;
    this.#idleTimeout = options.idleTimeout;
  }

  /**
   * Starts watching: `onStop` runs once a stop is requested, which happens when the user's
   * `signal` aborts or when {@link touch} was not called for `idleTimeout` ms while `busy()` was
   * false (the run calls `touch` again when it stops being busy).
   */
  begin(onStop: () => void, busy: () => boolean = () => false): void {
    this.#busy = busy;
    this.#begun = true;
    this.#stopping.signal.addEventListener('abort', onStop, { once: true });
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#signal?.aborted === true) this.requestStop();
    this.touch();
  }

  readonly #onAbort = (): void => this.requestStop();

  /**
   * Input arrived, or the run has nothing in hand any more: restart the idle countdown. Only the
   * deadline moves (a source touches once per call); the one timer, when it fires, waits out
   * whatever the deadline moved since.
   */
  touch(): void {
    if (this.#idleTimeout === undefined || this.stopping || !this.#begun) return;
    this.#idleDeadline = Date.now() + this.#idleTimeout;
    if (this.#idleTimer === undefined) this.#armIdle(this.#idleTimeout);
  }

  #armIdle(ms: number): void {
    // setTimer: an Infinity (never) arms nothing, where a bare setTimeout would fire every 1 ms.
    this.#idleTimer = setTimer(ms, () => {
      this.#idleTimer = undefined;
      const left = this.#idleDeadline - Date.now();
      if (left > 0) this.#armIdle(left);
      else if (!this.#busy()) this.requestStop();
    });
  }

  /** Milliseconds until the idle timeout stops the run (infinite without one). */
  get idleRemainingMs(): number {
    return Math.max(0, this.#idleDeadline - Date.now());
  }

  /**
   * Aborted when the run must not start after all: a stop was requested, or the user's `signal`
   * aborted (which {@link begin} watches only once the run has started).
   */
  get startSignal(): AbortSignal {
    const signal = this.#signal;
    return signal === undefined ? this.#stopping.signal : AbortSignal.any([this.#stopping.signal, signal]);
  }

  get stopSignal(): AbortSignal {
    return this.#stopping.signal;
  }

  get callSignal(): AbortSignal {
    return this.#calls.signal;
  }

  get stopping(): boolean {
    return this.#stopping.signal.aborted;
  }

  get error(): unknown {
    return this.#error;
  }

  get failed(): boolean {
    return this.#failed;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  requestStop(): void {
    this.#idleTimer?.cancel();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#stopping.abort();
  }

  /** Records the first failure and asks the run to stop. */
  fail(error: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = error;
    }
    this.requestStop();
  }

  /** Keeps `work` among the running calls until it settles. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work);
    const forget = () => this.#running.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Waits for running calls: `timeoutMs`, then aborts their signal and waits a short grace more. */
  /** Resolves with the number of calls abandoned (still running after the grace). */
  async drain(timeoutMs: number, graceMs = ABORT_GRACE_MS): Promise<number> {
    if (await this.#settledWithin(timeoutMs)) return 0;
    this.#calls.abort(
      new Error(`run stopping: calls did not finish within shutdownTimeout (${timeoutMs} ms)`),
    );
    await this.#settledWithin(graceMs);
    return this.#running.size;
  }

  async #settledWithin(ms: number): Promise<boolean> {
    if (this.#running.size === 0) return true;
    const timer = new AbortController();
    const all = Promise.allSettled([...this.#running]).then(() => true);
    // Infinity (shutdownTimeout: never abort) arms no timer: only the calls settling end the wait.
    const late = sleep(ms, timer.signal).then(() => false);
    const done = await Promise.race([all, late]);
    timer.abort();
    return done && this.#running.size === 0 ? true : done;
  }
}

/** Why a run's signal was aborted, in words: `received SIGTERM` for the stage CLI's. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return "the run's signal was aborted";
}
