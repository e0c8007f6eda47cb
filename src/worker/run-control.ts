import { setTimeout as sleep } from 'node:timers/promises';

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
  #error: unknown;
  #failed = false;

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
  async drain(timeoutMs: number): Promise<void> {
    if (await this.#settledWithin(timeoutMs)) return;
    this.#calls.abort(
      new Error(`run stopping: calls did not finish within shutdownTimeout (${timeoutMs} ms)`),
    );
    await this.#settledWithin(ABORT_GRACE_MS);
  }

  async #settledWithin(ms: number): Promise<boolean> {
    if (this.#running.size === 0) return true;
    const timer = new AbortController();
    const all = Promise.allSettled([...this.#running]).then(() => true);
    const late = sleep(ms, false, { signal: timer.signal }).catch(() => false);
    const done = await Promise.race([all, late]);
    timer.abort();
    return done && this.#running.size === 0 ? true : done;
  }
}
