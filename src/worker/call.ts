import { runInContext, type TaskContext } from '../context.ts';
import { CallStop, LazyAbort, type StopSource } from './call-stop.ts';

/** A call that ran past the stage's `timeout`. */
export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
}

/** A call in progress. */
export interface Call<T> {
  /** The outcome: what `work` resolved with, or its error, or a {@link CallTimeoutError}. */
  readonly result: Promise<T>;
  /** Settles when `work` itself has returned, even long after a timeout. */
  readonly settled: Promise<unknown>;
}

/**
 * Runs `work` inside its {@link TaskContext}, whose signal aborts when any of `sources` does.
 * `work` is the stage method AND the iteration of what it returns: a generator's body runs when
 * it is iterated, and must see its context too. `work` gets the call's {@link CallStop}, to
 * produce no output once the call was given up (its late outputs are dropped). With `timeout`,
 * the call counts as failed after that many ms and stops; `settled` tells when it really ends,
 * so that the caller can hold the worker slot (and the input's retry) until then.
 */
export function callStage<T>(
  context: Omit<TaskContext, 'signal'>,
  sources: readonly StopSource[],
  timeout: number | undefined,
  work: (stop: CallStop) => Promise<T> | T,
): Call<T> {
  const timer = timeout === undefined ? undefined : new LazyAbort();
  const stop = new CallStop(timer === undefined ? sources : [...sources, timer]);
  // The signal is made only if the stage asks for it (an own property, kept by a spread).
  const full: TaskContext = {
    ...context,
    get signal() {
      return stop.signal;
    },
  };
  const call = Promise.resolve().then(() => runInContext(full, () => work(stop)));
  const settled = call.then(
    () => undefined,
    () => undefined,
  );
  if (timeout === undefined || timer === undefined) return { result: call, settled };
  let handle: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    handle = setTimeout(() => {
      const error = new CallTimeoutError(`call exceeded the stage's timeout of ${timeout} ms`);
      timer.abort(error);
      reject(error);
    }, timeout);
  });
  late.catch(() => {});
  void settled.then(() => clearTimeout(handle));
  return { result: Promise.race([call, late]), settled };
}
