/**
 * Return an `EmptyTaskOutput` from a stage to produce no output for this input, even when
 * `ignoreNone: false` makes `null` a real value.
 */
export class EmptyTaskOutput {
  /** Marks the class nominally, so that a look-alike object is not taken for it. */
  readonly empty = true;
}

/** The outputs a stage's return value stands for: none, or one value. */
export function outputsOf(result: unknown, ignoreNone: boolean): unknown[] {
  if (result instanceof EmptyTaskOutput) return [];
  if (result === undefined || result === null) return ignoreNone ? [] : [null];
  return [result];
}
