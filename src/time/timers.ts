/**
 * Timers that take any duration the options allow. Node fires a timer longer than 2^31-1 ms
 * after 1 ms (with a TimeoutOverflowWarning), and `Infinity` is such a timer: here `Infinity`
 * arms nothing ("never"), and a longer finite delay is chained in steps Node can hold.
 */

/** Node's largest timer delay, in ms (about 24.9 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer armed by {@link setTimer}. */
export interface Timer {
  /** Stops the timer (idempotent); its function is not called. */
  cancel(): void;
}

const never: Timer = { cancel() {} };

/**
 * Calls `fn` once after `ms` milliseconds: never for `Infinity`, at once (next turn) for 0, a
 * negative number or NaN. A delay beyond {@link MAX_TIMER_MS} is waited out in several steps.
 */
export function setTimer(ms: number, fn: () => void): Timer {
  if (ms === Number.POSITIVE_INFINITY) return never;
  let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
  let handle: NodeJS.Timeout | undefined;
  const arm = () => {
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    handle = setTimeout(left > 0 ? arm : fn, step);
  };
  arm();
  return { cancel: () => clearTimeout(handle) };
}

/**
 * Resolves after `ms` milliseconds with `true`, or with `false` as soon as `signal` aborts
 * (never rejects). `Infinity` waits for the signal only, with no timer; without a signal, it
 * never resolves.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve(false);
    };
    const timer = setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
