import { taskContext } from '../index.ts';

/** When {@link failOn} makes a stage method throw. */
export interface FailOnOptions<Args extends unknown[]> {
  /** The attempt(s) that throw (1: the first call on an input, 2: its first retry, …). @default every attempt */
  attempt?: number | readonly number[];
  /** Only for these inputs (the method's arguments). @default every input */
  when?: (...args: Args) => boolean;
  /** What to throw: this error, or the one a function makes of the attempt. @default an Error naming the stage and the attempt */
  error?: Error | ((attempt: number) => Error);
}

/**
 * Wraps a stage method so that it throws on the given attempts (read from `taskContext()`), for
 * tests of retries and dead letters: `failOn(count, { attempt: 1 })` fails each input once,
 * then succeeds; `failOn(count, { when: (w) => w === 'x' })` sends `'x'` to the dead-letter queue.
 * Keeps the method's name (a bare function's stage name) and type. Its options are checked here,
 * not when a call fails.
 */
export function failOn<M extends (...args: never[]) => unknown>(
  method: M,
  options: FailOnOptions<Parameters<M>> = {},
): M {
  if (typeof method !== 'function') refuse('failOn(method)', 'a function', method);
  const { attempt, when, error } = options as Record<string, unknown>;
  const attempts = attempt === undefined ? undefined : [attempt].flat();
  if (attempts !== undefined && (attempts.length === 0 || !attempts.every(isAttempt)))
    refuse('failOn: `attempt`', 'a whole number from 1, or a non-empty array of them', attempt);
  if (when !== undefined && typeof when !== 'function') refuse('failOn: `when`', 'a function', when);
  if (error !== undefined && !(error instanceof Error) && typeof error !== 'function')
    refuse('failOn: `error`', 'an Error, or a function of the attempt returning one', error);
  const wrapped = function (this: unknown, ...args: Parameters<M>): unknown {
    const { attempt: now, stage } = taskContext();
    const chosen = attempts === undefined || attempts.includes(now);
    if (chosen && (options.when?.(...args) ?? true)) {
      const given = options.error;
      throw typeof given === 'function'
        ? given(now)
        : (given ?? new Error(`failOn: stage \`${stage}\` fails attempt ${now}, as the test asked`));
    }
    return method.apply(this, args);
  };
  Object.defineProperty(wrapped, 'name', { value: method.name });
  return wrapped as M;
}

function isAttempt(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1;
}

function refuse(field: string, expected: string, got: unknown): never {
  throw new TypeError(
    `${field} must be ${expected}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`,
  );
}
