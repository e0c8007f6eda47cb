/**
 * The values of the operator CLI's flags, checked in the flag's own words: every error names the
 * flag, what it takes and what it got (`--max must be an integer from 1 to 10, got "abc"`).
 */
import { NAME_PATTERN } from '../../validate.ts';
import { UsageError } from './errors.ts';

/** What yargs parsed: options by name, and the positionals in `_`. */
export type Parsed = Record<string, unknown> & { _: (string | number)[] };

/** The value of string flag `--<key>`; undefined when not given. An empty value is refused. */
export function optionalString(parsed: Parsed, key: string): string | undefined {
  const value = parsed[key];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    const times = value.length === 2 ? 'twice' : `${value.length} times`;
    throw new UsageError(`--${key} is given ${times}: give it once`);
  }
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
  if (text === '') throw new UsageError(`--${key} needs a value`);
  return text;
}

/** The value of integer flag `--<key>`, from `min` to `max`; undefined when not given. */
export function integer(
  parsed: Parsed,
  key: string,
  min: number,
  max: number,
  unit = '',
): number | undefined {
  const text = optionalString(parsed, key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (/^\d+$/.test(text) && value >= min && value <= max) return value;
  const range =
    max === Number.MAX_SAFE_INTEGER
      ? min === 1
        ? 'a positive integer'
        : `an integer >= ${min}`
      : `an integer from ${min} to ${max}`;
  throw new UsageError(`--${key} must be ${range}${unit === '' ? '' : ` (${unit})`}, got ${quote(text)}`);
}

/** Milliseconds per unit of a duration flag (`1500ms`, `30s`, `5m`, `2h`, `1d`). */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * The value of duration flag `--<key>` in milliseconds, from `min` to `max` ms: an integer and a
 * unit (`1500ms`, `30s`, `5m`, `2h`, `1d`); undefined when not given.
 */
export function duration(parsed: Parsed, key: string, min: number, max: number): number | undefined {
  const text = optionalString(parsed, key);
  if (text === undefined) return undefined;
  const [, amount = '', unit = ''] = /^(\d{1,15})(ms|s|m|h|d)$/.exec(text) ?? [];
  const value = Number(amount) * (DURATION_UNITS[unit] ?? Number.NaN);
  if (value >= min && value <= max) return value;
  throw new UsageError(
    `--${key} must be a duration from ${formatDuration(min)} to ${formatDuration(max)}: an integer and a unit (ms, s, m, h or d) such as 30s, 5m, 2h or 1500ms, got ${quote(text)}`,
  );
}

/** `ms` as the largest whole unit: `1s`, `5m`, `1500ms`. */
export function formatDuration(ms: number): string {
  const units = Object.entries(DURATION_UNITS).reverse();
  const [unit, size] = units.find(([, size]) => ms >= size && ms % size === 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}

/** `value` if it is a stage name; `what` names where it came from (`<stage>`, `--stage`). */
export function stageName(what: string, value: string): string {
  if (!NAME_PATTERN.test(value)) {
    throw new UsageError(`${what} must be a stage name (letters, digits, _ and -), got ${quote(value)}`);
  }
  return value;
}

/** The positional `<name>` (yargs turns a lone `-` into an empty string). */
export function positional(parsed: Parsed, name: string): string {
  const value = parsed[name];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/**
 * Refuses a boolean flag given a value other than true or false (`--dlq=yes`), which yargs would
 * read as false. `booleans` are the names of the boolean flags.
 */
export function checkBooleans(argv: readonly string[], booleans: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    const match = /^--(?:no-)?([^=]+)=(.*)$/s.exec(arg);
    if (match === null) continue;
    const [, name = '', value = ''] = match;
    if (booleans.includes(name) && value !== 'true' && value !== 'false') {
      throw new UsageError(`--${name} takes no value, got ${quote(arg)}`);
    }
  }
}

/** Refuses `--<flag>` when `--<needs>` is not given. */
export function onlyWith(parsed: Parsed, flags: readonly string[], needs: string, given: boolean): void {
  if (given) return;
  for (const flag of flags) {
    if (parsed[flag] !== undefined) throw new UsageError(`--${flag} applies only with --${needs}`);
  }
}

/** `--<flag>` (`--kms-key`): a KMS key ARN. IAM authorizes a key's use on its key ARN, not on an alias. */
export function kmsKeyFlag(parsed: Parsed, flag: string): string | undefined {
  const key = optionalString(parsed, flag);
  if (
    key === undefined ||
    /^arn:aws(-[a-z]+)*:kms:[a-z]{2,}(-[a-z0-9]+)+:\d{12}:key\/[A-Za-z0-9-]+$/.test(key)
  ) {
    return key;
  }
  throw new UsageError(
    `--${flag} must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (IAM grants a key's use on its key ARN, not on an alias or a bare id), got ${quote(key)}`,
  );
}

/** `value` in double quotes, as JSON writes it (so that spaces and empty strings show). */
export function quote(value: string): string {
  return JSON.stringify(value);
}
