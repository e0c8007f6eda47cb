import { deadline, type Deadline } from '../time/deadline.ts';
import { setTimer } from '../time/timers.ts';

/** What a stop says as it starts waiting for each thing (logged at `info`: the CLI shows it). */
export const STOP_RECEIVES = 'stopping: waiting for the receives in flight';
export const STOP_CALLS = 'stopping: waiting for running calls (then their signal aborts)';
export const STOP_FLUSH = 'stopping: waiting for SQS to accept the last sends and deletes';

/** How a run stops. */
export interface StopOptions {
  /**
   * Abandon busy receives too, rather than wait for them (up to 2 s): what they bring stays
   * invisible for the stage's visibility timeout, so only for queues about to be deleted.
   */
  readonly abandonReceives?: boolean;
}

/** A stop says what it waits for once it has waited this long (a quick stop says nothing). */
export const SAY_AFTER_MS = 1000;

/** At most this long is kept at the end of a stop for the flush, and for calls to heed their signal. */
const RESERVE_MS = 2000;
const GRACE_MS = 1000;

/**
 * The one clock of a stop: `shutdownTimeout` from the stop's start, shared by every phase
 * (receives in flight, calls, flush), so that the whole stop ends within it. Calls get what is
 * left but a reserve (a fifth of the timeout, at most 2 s for the flush and 1 s of grace after
 * their signal aborts), so that their last outputs and acknowledgements still fit.
 */
export class StopClock {
  readonly #ms: number;
  readonly #end: number;
  readonly #deadline: Deadline;

  constructor(shutdownTimeoutMs: number) {
    this.#ms = shutdownTimeoutMs;
    this.#end = Date.now() + shutdownTimeoutMs;
    this.#deadline = deadline('the stop', shutdownTimeoutMs);
  }

  /** Aborts when the time is up. */
  get signal(): AbortSignal {
    return this.#deadline.signal;
  }

  /** Milliseconds left (Infinity for a stop without a bound). */
  left(): number {
    return Math.max(0, this.#end - Date.now());
  }

  /** `ms`, or less if less is left. */
  leftFor(ms: number): number {
    return Math.min(ms, this.left());
  }

  /** Grace the calls get after their signal aborted. */
  get grace(): number {
    return Math.min(GRACE_MS, this.#ms / 5);
  }

  /** How long running calls may still run before their signal aborts. */
  forCalls(): number {
    const reserve = Math.min(RESERVE_MS, this.#ms / 5) + this.grace;
    return Math.max(0, this.left() - reserve);
  }

  dispose(): void {
    this.#deadline.dispose();
  }

  /**
   * Waits for `work`; if it is still going after {@link SAY_AFTER_MS}, calls `say` with how long
   * it may still take at most (`upToMs`), so that a slow stop is never silent.
   */
  async waitSaying<T>(work: Promise<T>, upToMs: () => number, say: (upToMs: number) => void): Promise<T> {
    const timer = setTimer(SAY_AFTER_MS, () => say(upToMs()));
    try {
      return await work;
    } finally {
      timer.cancel();
    }
  }
}
