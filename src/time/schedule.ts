/**
 * The schedule of a source stage (`schedule: { cron, timeZone? } | { every }`) and what a replica
 * starting after a pause runs of the ticks it missed (`catchUp`). Pure: instants are epoch ms,
 * and every replica computes the same instants without talking to the others.
 *
 * Time zones and DST (croner's rules, with its `fixedTimeRule: 'no-wildcard'`, as Vixie cron):
 * `timeZone` defaults to UTC, never to the machine's zone. A cron whose second, minute and hour
 * fields have no `*` and no step (`30 2 * * *`, `0 2,14 * * *`) is fixed-time: a time in a DST gap
 * runs at the first instant after the gap (02:30 on the spring-forward night of Europe/Paris runs
 * at 03:00 CEST), and a time that occurs twice runs once (its first occurrence). Any other cron
 * (`0 * * * *`, `*\/30 * * * *`) is an interval: times inside the gap are skipped, and a repeated
 * time runs at both occurrences (on fall-back night, `0 * * * *` ticks at 02:00 CEST and again at
 * 02:00 CET), so its ticks stay one real hour apart.
 */
import { createHash } from 'node:crypto';
// croner: a maintained cron parser with time zones through Intl and no dependencies of its own.
import { Cron } from 'croner';
import { ConfigError } from '../errors.ts';
import { checkKeys, fail, isPlainObject, received } from '../validate.ts';
import { DURATION_RANGES, inWords, isDuration, rangeText } from './duration.ts';

/** When a source stage's ticks come. Every method is pure and the same on every replica. */
export interface Schedule {
  /** The first tick strictly after `after` (epoch ms); undefined when there is none (a cron's year ended). */
  next(after: number): number | undefined;
  /**
   * The ticks in (`from`, `to`], oldest first, at most `max`: the latest `max` of them when there
   * are more (catching up keeps the newest ticks and skips the oldest).
   */
  between(from: number, to: number, max: number): number[];
  /** `every 1 minute`, `cron "*\/5 * * * *" (Europe/Paris)`: for logs and status. */
  describe(): string;
}

/** What a replica runs of the ticks missed while no replica ran (see {@link missedTicks}). */
export type CatchUp = false | 'latest' | 'all';

/** The most missed ticks `catchUp: 'all'` runs; older ones are skipped (with a warning). */
export const MAX_CATCH_UP = 1000;

/** The most characters of a MessageDeduplicationId or MessageGroupId. */
const MAX_ID_LENGTH = 128;

/** Validates a stage's `schedule` option; `field` is e.g. "`schedule` of stage `tick`". */
export function resolveSchedule(field: string, value: unknown): Schedule {
  const shape =
    "`{ cron, timeZone? }` (e.g. `{ cron: '*/5 * * * *', timeZone: 'Europe/Paris' }`) or `{ every }` (ms)";
  if (!isPlainObject(value)) fail(field, shape, value);
  const hasCron = value['cron'] !== undefined;
  const hasEvery = value['every'] !== undefined;
  if (hasCron === hasEvery) fail(field, `${shape}, with exactly one of \`cron\` and \`every\``, value);
  if (hasEvery) {
    checkKeys(field, value, ['every']);
    return everySchedule(resolveEvery(`\`every\` in ${field}`, value['every']));
  }
  checkKeys(field, value, ['cron', 'timeZone']);
  const timeZone = resolveTimeZone(`\`timeZone\` in ${field}`, value['timeZone']);
  return cronSchedule(`\`cron\` in ${field}`, value['cron'], timeZone);
}

/** Validates a stage's `catchUp` option. @default false */
export function resolveCatchUp(field: string, value: unknown): CatchUp {
  if (value === undefined) return false;
  if (value === false || value === 'latest' || value === 'all') return value;
  return fail(field, "`false`, `'latest'` or `'all'`", value);
}

/**
 * The ticks missed since `lastDone` (the last tick done, none recorded: nothing to catch up) up
 * to `now` included, oldest first: none for `false`, the latest for `'latest'`, the latest
 * {@link MAX_CATCH_UP} for `'all'`.
 */
export function missedTicks(
  schedule: Schedule,
  lastDone: number | undefined,
  now: number,
  catchUp: CatchUp,
): number[] {
  if (catchUp === false || lastDone === undefined) return [];
  return schedule.between(lastDone, now, catchUp === 'latest' ? 1 : MAX_CATCH_UP);
}

/** The MessageDeduplicationId of `stage`'s tick at `instant`: the same from every replica. */
export function tickDeduplicationId(stage: string, instant: number): string {
  if (!Number.isSafeInteger(instant)) throw new TypeError(`A tick instant must be epoch ms, got ${instant}`);
  return fitId(`tick:${stage}:${instant}`);
}

/** The MessageGroupId of `stage`'s ticks: one group, so ticks run in order, one at a time. */
export function tickGroupId(stage: string): string {
  return fitId(`ticks:${stage}`);
}

/** `id` if SQS takes it as it is (stage names are letters, digits, `_`, `-`), else its hash. */
function fitId(id: string): string {
  if (id.length <= MAX_ID_LENGTH) return id;
  return `${id.slice(0, id.indexOf(':'))}:${createHash('sha256').update(id).digest('base64url')}`;
}

function resolveEvery(field: string, value: unknown): number {
  const range = DURATION_RANGES.every;
  if (!isDuration(value, range) || !Number.isInteger(value)) {
    fail(field, `an integer duration ${rangeText(range, 'in ms ')}`, value);
  }
  return value;
}

/** The canonical name of an IANA time zone Intl knows (`europe/paris` → `Europe/Paris`). */
function resolveTimeZone(field: string, value: unknown): string {
  const expectation = 'an IANA time zone name (e.g. `Europe/Paris`, `UTC`)';
  if (value === undefined) return 'UTC';
  if (typeof value !== 'string' || value === '') fail(field, expectation, value);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return fail(field, `${expectation} known to this Node's Intl`, value);
  }
}

/** Ticks on the multiples of `every` since the epoch, so replicas agree without talking. */
function everySchedule(every: number): Schedule {
  const words = inWords(every);
  return {
    next: (after) => (Math.floor(after / every) + 1) * every,
    between(from, to, max) {
      const last = Math.floor(to / every) * every;
      const first = Math.max((Math.floor(from / every) + 1) * every, last - (max - 1) * every);
      const ticks: number[] = [];
      for (let tick = first; tick <= last && ticks.length < max; tick += every) ticks.push(tick);
      return ticks;
    },
    describe: () => `every ${words.startsWith('about') ? `${every} ms` : words}`,
  };
}

function cronSchedule(field: string, value: unknown, timeZone: string): Schedule {
  const expectation = 'a cron expression of 5 to 7 fields (e.g. `*/5 * * * *`)';
  if (typeof value !== 'string' || value.trim() === '') fail(field, expectation, value);
  let cron: Cron;
  try {
    cron = new Cron(value, { timezone: timeZone, fixedTimeRule: 'no-wildcard' });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    throw new ConfigError(`Expected ${field} to be ${expectation}, got ${received(value)}: ${reason}`, {
      cause: error,
    });
  }
  // croner reads a date (`2030-01-01T00:00`) as a one-off run: a schedule repeats.
  if (cron.getOnce() !== null) fail(field, `${expectation}, not a date`, value);
  const next = (after: number): number | undefined => cron.nextRun(new Date(after))?.getTime();
  if (next(Date.now()) === undefined) fail(field, `${expectation} that ticks again (it never does)`, value);
  return {
    next,
    between(from, to, max) {
      // Walked back from `to`, so that `max` bounds the work even when `from` is long ago.
      const ticks: number[] = [];
      let before = Math.floor(to) + 1; // previousRuns is strictly before its reference
      while (ticks.length < max) {
        const [tick] = cron.previousRuns(1, new Date(before));
        if (tick === undefined || tick.getTime() <= from) break;
        ticks.push(tick.getTime());
        before = tick.getTime();
      }
      return ticks.reverse();
    },
    describe: () => `cron ${JSON.stringify(value)} (${timeZone})`,
  };
}
