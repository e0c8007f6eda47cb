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

/** An output with an identity the stage chose: see {@link withId}. */
export class Identified<T> {
  readonly id: string;
  readonly value: T;
  constructor(id: string, value: T) {
    this.id = id;
    this.value = value;
  }
}

/**
 * Gives an output its own identity: outputs of a stage with the same `id` are one message for
 * SQS's deduplication (5 minutes), wherever and however often they are produced. Use it where an
 * output has a natural key (a file name, an order id), in any stage, the source included, and
 * anywhere an output can stand: returned, yielded or inside `fanOut(...)`.
 */
export function withId<T>(id: string, value: T): Identified<T> {
  if (typeof id !== 'string' || id === '') {
    throw new TypeError(`withId() expects a non-empty string id, got ${JSON.stringify(id) ?? String(id)}`);
  }
  return new Identified(id, value);
}

/** An output to deliver later: see {@link delayed}. */
export class Delayed<T> {
  readonly value: T;
  /** When it is due, in epoch ms. */
  readonly due: number;
  constructor(value: T, due: number) {
    this.value = value;
    this.due = due;
  }
}

/**
 * Delivers an output to the next stage later: `ms` milliseconds from now, or at a given time
 * (`{ at: Date | epoch ms }`), never before (any length: it waits in the next stage's queue of
 * timers, which that stage's runs poll; late by about a second while one runs). Its input is
 * acknowledged once SQS accepted it there. It takes its place in its key's order when it is due.
 * It may wrap {@link withId}'s output (`delayed(withId(id, v), ms)`) and stand anywhere an output
 * can (returned, yielded, inside `fanOut(...)`), but not on the last stage (it has no queue).
 */
export function delayed<T>(value: T, when: number | { at: Date | number }): Delayed<T> {
  const due =
    typeof when === 'number' ? Date.now() + when : when.at instanceof Date ? when.at.getTime() : when.at;
  if (typeof when === 'number' ? !(when >= 0) || !Number.isFinite(when) : !Number.isFinite(due)) {
    throw new TypeError(
      `delayed() expects a delay in ms >= 0 or { at: Date | epoch ms }, got ${JSON.stringify(when) ?? typeof when}`,
    );
  }
  return new Delayed(value, due);
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
export function outputsOf(result: unknown, ignoreNone: boolean): AsyncIterable<unknown> | Iterable<unknown> {
  // One value (most calls) is iterated without an async generator's promise per step.
  return isMultiple(result) ? manyOutputs(result, ignoreNone) : single(result, ignoreNone);
}

async function* manyOutputs(result: unknown, ignoreNone: boolean): AsyncGenerator<unknown, void, undefined> {
  if (result instanceof FanOut) {
    for (const value of result.values) yield* single(value, ignoreNone);
  } else {
    for await (const value of result as AsyncIterable<unknown> | Iterable<unknown>) {
      yield* single(value, ignoreNone);
    }
  }
}

function* single(value: unknown, ignoreNone: boolean): Generator<unknown, void, undefined> {
  if (value instanceof EmptyTaskOutput) return;
  if (value instanceof Delayed) {
    // Its output, if any, keeps its due time.
    for (const output of single((value as Delayed<unknown>).value, ignoreNone))
      yield new Delayed(output, (value as Delayed<unknown>).due);
    return;
  }
  const inner = value instanceof Identified ? (value as Identified<unknown>).value : value;
  if (inner === undefined || inner === null) {
    if (!ignoreNone) yield value instanceof Identified ? value : null;
    return;
  }
  yield value;
}

/** True when a call's result is exactly one output (not a fan-out, not "no output"). */
export function isSingleOutput(result: unknown, ignoreNone: boolean): boolean {
  return !isMultiple(result) && [...single(result, ignoreNone)].length === 1;
}

/** True when a call's result stands for any number of outputs (a fan-out or a generator), not one value. */
export function isMultiple(result: unknown): boolean {
  return result instanceof FanOut || isGenerator(result);
}

function isGenerator(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  const tag = Object.prototype.toString.call(value);
  return tag === '[object Generator]' || tag === '[object AsyncGenerator]';
}
