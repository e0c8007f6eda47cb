/**
 * The one duration type of the API and the CLIs: milliseconds, finite within Node's timer range
 * (0 to 2^31-1 ms, about 24.9 days) or narrower, or `Infinity` where the option gives "never" a
 * meaning. Every duration option is checked here, with the project's one error format:
 * `Expected \`timeout\` of stage \`slow\` to be a duration in ms from 1 to 2147483647 (about
 * 24.9 days) or Infinity (no limit), got \`2592000000\` (number)`.
 */
import { fail } from '../validate.ts';
import { MAX_TIMER_MS } from './timers.ts';

declare const checked: unique symbol;

/** Milliseconds checked by {@link checkDuration}: arm it with `setTimer`/`sleep` of `./timers.ts`. */
export type Duration = number & { readonly [checked]: true };

/** The values a duration option takes. */
export interface DurationRange {
  /** Smallest value, in ms. */
  readonly min: number;
  /** Largest finite value, in ms (at most {@link MAX_TIMER_MS}). */
  readonly max: number;
  /** What `Infinity` means for the option (`never`, `no limit`); undefined: it is refused. */
  readonly infinity?: string;
}

/** SQS's longest visibility timeout, which bounds a retry's delay: 12 hours. */
const TWELVE_HOURS_MS = 43_200_000;

/** The range of every duration option, by option (README: the options tables). */
export const DURATION_RANGES = {
  /** `StageOptions.timeout`. */
  timeout: { min: 1, max: MAX_TIMER_MS, infinity: 'no limit' },
  /** `StageOptions.interval`, and what its function returns. */
  interval: { min: 0, max: MAX_TIMER_MS },
  /** `enqueue()`'s and `submit()`'s `delay`, and the delay of a `delayed()` output. */
  delay: { min: 0, max: Number.MAX_SAFE_INTEGER },
  /** `StageOptions.rateLimit.per`: whole seconds, 1 s to 12 hours (a permit's visibility). */
  ratePeriod: { min: 1000, max: TWELVE_HOURS_MS },
  /** `StageOptions.retryDelay`, and what its function returns (then capped at 12 hours). */
  retryDelay: { min: 0, max: TWELVE_HOURS_MS },
  /** `RunOptions.idleTimeout`; the stage CLI's `--idle-timeout`. */
  idleTimeout: { min: 0, max: MAX_TIMER_MS, infinity: 'never' },
  /** `RunOptions.shutdownTimeout`; the stage CLI's `--shutdown-timeout`. */
  shutdownTimeout: { min: 0, max: MAX_TIMER_MS, infinity: 'running calls are never aborted' },
  /** `TaskClientOptions.sendTimeout`. */
  sendTimeout: { min: 1, max: MAX_TIMER_MS, infinity: 'wait as long as it takes' },
  /** `SubmitOptions.timeout`. */
  resultTimeout: { min: 1, max: MAX_TIMER_MS, infinity: 'wait until the item ends' },
  /** `StageOptions.joinTimeout`. */
  joinTimeout: { min: 1000, max: MAX_TIMER_MS },
  /** `StageOptions.schedule.every` (a whole number of ms, checked apart). */
  every: { min: 1000, max: MAX_TIMER_MS },
  /** The stage CLI's `--progress-interval`. */
  progressInterval: { min: 1, max: MAX_TIMER_MS },
} as const satisfies Record<string, DurationRange>;

/** Whether `value` is a duration of `range`. */
export function isDuration(value: unknown, range: DurationRange): value is Duration {
  if (typeof value !== 'number') return false;
  if (value === Number.POSITIVE_INFINITY) return range.infinity !== undefined;
  return value >= range.min && value <= range.max; // false for NaN
}

/** `value` if it is a duration of `range`; a ConfigError naming `field` and the range if not. */
export function checkDuration(field: string, value: unknown, range: DurationRange): Duration {
  if (!isDuration(value, range)) fail(field, `a duration ${rangeText(range, 'in ms ')}`, value);
  return value;
}

/** `from 1 to 2147483647 (about 24.9 days) or Infinity (never)`, with `unit` after `from`. */
export function rangeText(range: DurationRange, unit = ''): string {
  const finite = `${unit}from ${range.min} to ${range.max} (${inWords(range.max)})`;
  return range.infinity === undefined ? finite : `${finite} or Infinity (${range.infinity})`;
}

const UNITS: readonly (readonly [string, number])[] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** `ms` in the largest unit it reaches: `12 hours`, `about 24.9 days`, `500 ms`. */
export function inWords(ms: number): string {
  const [name, size] = UNITS.find(([, size]) => ms >= size) ?? ['', 1];
  if (name === '') return `${ms} ms`;
  const count = ms / size;
  if (Number.isInteger(count)) return `${count} ${name}${count === 1 ? '' : 's'}`;
  return `about ${count.toFixed(1)} ${name}s`;
}

/** Milliseconds per unit of a duration on a command line. */
const TEXT_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A command line's duration in ms: `10000` (ms), an integer and a unit (`1500ms`, `30s`, `5m`,
 * `2h`, `1d`), or `never` (`Infinity`). NaN for anything else; the range is the caller's check.
 */
export function parseDurationText(text: string): number {
  if (/^(never|infinity)$/i.test(text)) return Number.POSITIVE_INFINITY;
  const [, amount = '', unit = 'ms'] = /^(\d{1,16})(ms|s|m|h|d)?$/.exec(text) ?? [];
  return amount === '' ? Number.NaN : Number(amount) * (TEXT_UNITS[unit] ?? Number.NaN);
}

/** What a duration flag of `range` takes, in words, for its error and its help. */
export function flagRangeText(range: DurationRange): string {
  const meaning = range.infinity === 'never' ? '' : ` (${range.infinity})`;
  const never = range.infinity === undefined ? '' : `, or never${meaning}`;
  return `a duration from ${range.min} to ${range.max} ms (${inWords(range.max)}): ms (10000) or an integer and a unit (30s, 5m, 2h, 1d)${never}`;
}
