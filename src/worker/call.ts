import { runInContext, type TaskContext } from '../context.ts';

/** A call that ran past the stage's `timeout`. */
export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
}

/**
 * Calls a stage method inside its {@link TaskContext}. With `timeout`, the context's signal
 * aborts after that many ms and the call counts as failed at once (its late result is dropped).
 */
export async function callStage(
  context: Omit<TaskContext, 'signal'>,
  runSignal: AbortSignal,
  timeout: number | undefined,
  fn: () => unknown,
): Promise<unknown> {
  if (timeout === undefined) return await runInContext({ ...context, signal: runSignal }, fn);
  const timer = new AbortController();
  const signal = AbortSignal.any([runSignal, timer.signal]);
  let handle: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    handle = setTimeout(() => {
      const error = new CallTimeoutError(`call exceeded the stage's timeout of ${timeout} ms`);
      timer.abort(error);
      reject(error);
    }, timeout);
  });
  try {
    const call = Promise.resolve().then(() => runInContext({ ...context, signal }, fn));
    call.catch(() => {}); // a call that fails after its timeout is already counted as failed
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(handle);
  }
}
