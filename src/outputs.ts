/**
 * What a stage's return value stands for: no output, one, or several (fan-out). Every output
 * becomes its own message with its own deterministic id (input id, stage, output index).
 */

/**
 * Return an `EmptyTaskOutput` from a stage to produce no output for this input, even when
 * `ignoreNone: false` makes `null` a real value.
 */
export class EmptyTaskOutput {
  /** Marks the class nominally, so that a look-alike object is not taken for it. */
  readonly empty = true;
}

/** Several outputs of one input: `return fanOut([a, b, c])`. Build it with {@link fanOut}. */
export class FanOut<T> {
  readonly values: readonly T[];
  constructor(values: Iterable<T>) {
    this.values = [...values];
  }
}

/** Returns several outputs from one call; each becomes its own message for the next stage. */
export function fanOut<T>(values: Iterable<T>): FanOut<T> {
  return new FanOut(values);
}

/** In a batch handler's result: this item failed (the others go on). */
export class BatchItemError {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** Marks one item of a batch handler's result as failed: `return inputs.map((x) => ok(x) ? f(x) : itemError(e))`. */
export function itemError(error: unknown): BatchItemError {
  return new BatchItemError(error);
}

/**
 * The outputs of one call, in order: none for `EmptyTaskOutput` (and for null/undefined with
 * `ignoreNone`), each value of a {@link FanOut}, each value a generator yields (as it yields
 * it, so outputs stream to the next stage), or the value itself.
 */
export async function* outputsOf(
  result: unknown,
  ignoreNone: boolean,
): AsyncGenerator<unknown, void, undefined> {
  if (result instanceof FanOut) {
    for (const value of result.values) yield* single(value, ignoreNone);
  } else if (isGenerator(result)) {
    for await (const value of result) yield* single(value, ignoreNone);
  } else {
    yield* single(result, ignoreNone);
  }
}

function* single(value: unknown, ignoreNone: boolean): Generator<unknown, void, undefined> {
  if (value instanceof EmptyTaskOutput) return;
  if (value === undefined || value === null) {
    if (!ignoreNone) yield null;
    return;
  }
  yield value;
}

function isGenerator(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  const tag = Object.prototype.toString.call(value);
  return tag === '[object Generator]' || tag === '[object AsyncGenerator]';
}
