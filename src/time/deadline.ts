/**
 * One deadline for every phase of one operation (find the queue, send, wait for SQS): an
 * AbortSignal that aborts when the caller's own signal does, or when the time runs out, with a
 * {@link DeadlineExceeded} as its reason. Every phase takes it; none starts after it aborted.
 */

import { setTimer, type Timer } from './timers.ts';

/** The time of an operation ran out. Named like a timeout, so that it is diagnosed as one. */
export class DeadlineExceeded extends Error {
  override name = 'TimeoutError';
  /** The bound that ran out, in ms. */
  readonly ms: number;
  constructor(what: string, ms: number) {
    super(`${what} gave up after ${ms} ms`);
    this.ms = ms;
  }
}

/** A deadline: `signal` aborts when `caller` does or after `ms` (Infinity: only with `caller`). */
export interface Deadline {
  readonly signal: AbortSignal;
  /** The caller's own signal aborted (rather than the time running out). */
  readonly callerGaveUp: boolean;
  /** Stops the timer (the operation is over). */
  dispose(): void;
}

/** Makes the deadline of `what` (e.g. `enqueue()`): `ms` from now, or sooner if `caller` aborts. */
export function deadline(what: string, ms: number, caller?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timer: Timer | undefined;
  const onCaller = (): void => controller.abort(caller?.reason);
  if (caller?.aborted === true) onCaller();
  else {
    caller?.addEventListener('abort', onCaller, { once: true });
    timer = setTimer(ms, () => controller.abort(new DeadlineExceeded(what, ms))); // Infinity: none
  }
  return {
    signal: controller.signal,
    get callerGaveUp() {
      return caller?.aborted === true;
    },
    dispose() {
      timer?.cancel();
      caller?.removeEventListener('abort', onCaller);
    },
  };
}

/**
 * Resolves as `work` does, or rejects with `signal`'s reason once it aborts (the work goes on
 * unawaited: use only for work that is harmless to finish late, such as finding a queue's URL).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {}); // finishing late is harmless; its failure is nobody's now
    return Promise.reject(toError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => {});
      reject(toError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(toError(error));
      },
    );
  });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
