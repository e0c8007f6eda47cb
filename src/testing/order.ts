/** A value seen before one that should have come after it, among values of one key. */
export interface OrderViolation<T> {
  readonly key: string;
  /** Index in the list of the value that came too late. */
  readonly index: number;
  readonly value: T;
  /** The value of the same key seen before it, whose position is greater. */
  readonly after: T;
}

/**
 * The places where `values`, in the order they were seen, break the order per key: for each key
 * (`keyOf`), `positionOf` (e.g. a sequence number) must not decrease. Pure: `[]` means in order.
 */
export function orderViolations<T>(
  values: readonly T[],
  keyOf: (value: T) => string,
  positionOf: (value: T) => number,
): OrderViolation<T>[] {
  const last = new Map<string, T>();
  const violations: OrderViolation<T>[] = [];
  values.forEach((value, index) => {
    const key = keyOf(value);
    const previous = last.get(key);
    if (previous !== undefined && positionOf(value) < positionOf(previous)) {
      violations.push({ key, index, value, after: previous });
    } else {
      last.set(key, value);
    }
  });
  return violations;
}

/** Throws an Error listing the first violations of {@link orderViolations}, for any test runner. */
export function expectOrderPerKey<T>(
  values: readonly T[],
  keyOf: (value: T) => string,
  positionOf: (value: T) => number,
): void {
  const violations = orderViolations(values, keyOf, positionOf);
  if (violations.length === 0) return;
  const shown = violations
    .slice(0, 5)
    .map(
      (v) =>
        `key ${JSON.stringify(v.key)}: ${JSON.stringify(v.value)} (index ${v.index}) came after ${JSON.stringify(v.after)}`,
    );
  throw new Error(`Order per key broken ${violations.length} time(s): ${shown.join('; ')}`);
}
