import { ConfigError } from './errors.ts';

/**
 * Option checks with one error format, e.g.
 * `Expected \`workers\` of stage \`reduce\` to be an integer from 1 to 1000, got \`0\` (number)`.
 */
/** `value` as an error message shows it: numbers as JS writes them (JSON would show NaN as null). */
export function received(value: unknown): string {
  let shown: string;
  if (typeof value === 'function') shown = value.name === '' ? '[function]' : `[function ${value.name}]`;
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'symbol') shown = value.toString();
  else if (typeof value === 'number') shown = String(value);
  else {
    try {
      shown = JSON.stringify(value) ?? String(value);
    } catch {
      shown = String(value);
    }
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return `\`${shown}\` (${value === null ? 'null' : typeof value})`;
}

export function fail(field: string, expectation: string, value: unknown): never {
  throw new ConfigError(`Expected ${field} to be ${expectation}, got ${received(value)}`);
}

export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function checkNumber(
  field: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
    fail(field, `a number ${range}`, value);
  }
  return value;
}

export function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(field, 'a boolean', value);
  return value;
}

export function checkFunction<F>(field: string, value: unknown): F {
  if (typeof value !== 'function') fail(field, 'a function', value);
  return value as F;
}

/** Letters, digits, `_` and `-`: what SQS allows in queue names. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

export function checkName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    fail(field, 'a non-empty string of letters, digits, `_` and `-`', value);
  }
  return value;
}

/** Rejects keys the caller did not expect, so that a typo in an option is an error, not a no-op. */
export function checkKeys(field: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(
        `Unknown option \`${key}\` in ${field}: expected one of ${allowed.map((k) => `\`${k}\``).join(', ')}`,
      );
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
