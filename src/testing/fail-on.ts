import { taskContext } from '../index.ts';

/** When {@link failOn} makes a stage method throw. */
export interface FailOnOptions<Args extends unknown[]> {
  /** The attempt(s) that throw (1: the first call on an input, 2: its first retry, …). @default every attempt */
  attempt?: number | readonly number[];
  /** Only for these inputs (the method's arguments). @default every input */
  when?: (...args: Args) => boolean;
  /** What to throw. @default an Error naming the stage and the attempt */
  error?: (attempt: number) => Error;
}

/**
 * Wraps a stage method so that it throws on the given attempts (read from `taskContext()`), for
 * tests of retries and dead letters: `failOn(count, { attempt: 1 })` fails each input once,
 * then succeeds; `failOn(count, { when: (w) => w === 'x' })` sends `'x'` to the dead-letter queue.
 * Keeps the method's name (a bare function's stage name) and type.
 */
export function failOn<M extends (...args: never[]) => unknown>(
  method: M,
  options: FailOnOptions<Parameters<M>> = {},
): M {
  const attempts = options.attempt === undefined ? undefined : [options.attempt].flat();
  const wrapped = function (this: unknown, ...args: Parameters<M>): unknown {
    const { attempt, stage } = taskContext();
    const chosen = attempts === undefined || attempts.includes(attempt);
    if (chosen && (options.when?.(...args) ?? true)) {
      throw (
        options.error?.(attempt) ??
        new Error(`failOn: stage \`${stage}\` fails attempt ${attempt}, as the test asked`)
      );
    }
    return method.apply(this, args);
  };
  Object.defineProperty(wrapped, 'name', { value: method.name });
  return wrapped as M;
}
