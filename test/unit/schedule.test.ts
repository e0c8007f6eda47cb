import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import {
  MAX_CATCH_UP,
  missedTicks,
  resolveCatchUp,
  resolveSchedule,
  type Schedule,
  tickDeduplicationId,
  tickGroupId,
} from '../../src/time/schedule.ts';

const FIELD = '`schedule` of stage `tick`';
const MINUTE = 60_000;
const HOUR = 3_600_000;

function configError(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

function schedule(value: unknown): Schedule {
  return resolveSchedule(FIELD, value);
}

/** The `count` ticks after `from`, by `next`. */
function nextTicks(s: Schedule, from: number, count: number): number[] {
  const ticks: number[] = [];
  for (let at = from; ticks.length < count;) {
    const tick = s.next(at);
    if (tick === undefined) break;
    ticks.push(tick);
    at = tick;
  }
  return ticks;
}

const utc = (iso: string): number => Date.parse(iso);
const isoList = (ticks: number[]): string[] => ticks.map((tick) => new Date(tick).toISOString());

describe('resolveSchedule: validation', () => {
  it('refuses what is neither `{ cron }` nor `{ every }`, naming the field', () => {
    for (const value of [undefined, null, 60_000, '*/5 * * * *', [], {}]) {
      expect(configError(() => schedule(value))).toMatch(
        /^Expected `schedule` of stage `tick` to be `\{ cron, timeZone\? \}` .* or `\{ every \}` \(ms\)/,
      );
    }
    expect(configError(() => schedule({ cron: '* * * * *', every: 1000 }))).toContain(
      'with exactly one of `cron` and `every`, got `{"cron":"* * * * *","every":1000}` (object)',
    );
  });

  it('refuses unknown keys and a timeZone beside every', () => {
    expect(configError(() => schedule({ every: 1000, timeZone: 'UTC' }))).toBe(
      'Unknown option `timeZone` in `schedule` of stage `tick`: expected one of `every`',
    );
    expect(configError(() => schedule({ cron: '* * * * *', timezone: 'UTC' }))).toBe(
      'Unknown option `timezone` in `schedule` of stage `tick`: expected one of `cron`, `timeZone`',
    );
  });

  it('takes every as an integer number of ms from 1000, whole seconds not required', () => {
    expect(schedule({ every: 1000 }).describe()).toBe('every 1 second');
    expect(schedule({ every: 1500 }).describe()).toBe('every 1500 ms');
    expect(schedule({ every: 5 * MINUTE }).describe()).toBe('every 5 minutes');
    const cases: [unknown, string][] = [
      [999, '`999` (number)'],
      [0, '`0` (number)'],
      [1000.5, '`1000.5` (number)'],
      [Infinity, '`Infinity` (number)'],
      [2 ** 31, '`2147483648` (number)'],
      ['1000', '`"1000"` (string)'],
    ];
    for (const [every, shown] of cases) {
      expect(configError(() => schedule({ every }))).toBe(
        `Expected \`every\` in ${FIELD} to be an integer duration in ms from 1000 to 2147483647 (about 24.9 days), got ${shown}`,
      );
    }
  });

  it('refuses an invalid cron expression at once, with croner’s reason', () => {
    const expectation = `Expected \`cron\` in ${FIELD} to be a cron expression of 5 to 7 fields (e.g. \`*/5 * * * *\`)`;
    expect(configError(() => schedule({ cron: '61 * * * *' }))).toBe(
      `${expectation}, got \`"61 * * * *"\` (string): Invalid value for minute: 61`,
    );
    expect(configError(() => schedule({ cron: '* * * *' }))).toMatch(
      /got `"\* \* \* \*"` \(string\): invalid configuration format .* exactly five, six, or seven/,
    );
    expect(configError(() => schedule({ cron: '@reboot' }))).toContain('@reboot is not supported');
    expect(configError(() => schedule({ cron: '' }))).toBe(`${expectation}, got \`""\` (string)`);
    expect(configError(() => schedule({ cron: 5 }))).toBe(`${expectation}, got \`5\` (number)`);
  });

  it('refuses a date (croner would run it once) and a cron that never ticks', () => {
    expect(configError(() => schedule({ cron: '2099-01-01T00:00:00' }))).toContain(
      'to be a cron expression of 5 to 7 fields (e.g. `*/5 * * * *`), not a date, got',
    );
    expect(configError(() => schedule({ cron: '0 0 30 2 *' }))).toContain(
      'that ticks again (it never does), got `"0 0 30 2 *"` (string)',
    );
    expect(configError(() => schedule({ cron: '0 0 0 1 1 * 2020' }))).toContain('(it never does)');
  });

  it('refuses an unknown time zone at once', () => {
    const expectation = `Expected \`timeZone\` in ${FIELD} to be an IANA time zone name (e.g. \`Europe/Paris\`, \`UTC\`)`;
    expect(configError(() => schedule({ cron: '* * * * *', timeZone: 'Mars/Base' }))).toBe(
      `${expectation} known to this Node's Intl, got \`"Mars/Base"\` (string)`,
    );
    expect(configError(() => schedule({ cron: '* * * * *', timeZone: '' }))).toBe(
      `${expectation}, got \`""\` (string)`,
    );
    expect(configError(() => schedule({ cron: '* * * * *', timeZone: 1 }))).toBe(
      `${expectation}, got \`1\` (number)`,
    );
  });

  it('describes a cron with its canonical time zone, UTC by default', () => {
    expect(schedule({ cron: '*/5 * * * *' }).describe()).toBe('cron "*/5 * * * *" (UTC)');
    expect(schedule({ cron: '0 9 * * 1-5', timeZone: 'europe/paris' }).describe()).toBe(
      'cron "0 9 * * 1-5" (Europe/Paris)',
    );
  });
});

describe('every', () => {
  it('ticks on multiples of `every` since the epoch, strictly after `after`', () => {
    const s = schedule({ every: 1500 });
    expect(s.next(0)).toBe(1500);
    expect(s.next(1499)).toBe(1500);
    expect(s.next(1500)).toBe(3000);
    expect(s.next(1500.5)).toBe(3000);
    const now = 1_767_225_600_123;
    const tick = s.next(now);
    expect(tick).toBeGreaterThan(now);
    expect(tick! - now).toBeLessThanOrEqual(1500);
    expect(tick! % 1500).toBe(0);
  });

  it('gives the ticks in (from, to], oldest first, the latest ones past `max`', () => {
    const s = schedule({ every: 1000 });
    expect(s.between(1000, 5000, 100)).toEqual([2000, 3000, 4000, 5000]);
    expect(s.between(999, 4999, 100)).toEqual([1000, 2000, 3000, 4000]);
    expect(s.between(1000, 5000, 2)).toEqual([4000, 5000]);
    expect(s.between(1000, 5000, 1)).toEqual([5000]);
    expect(s.between(1000, 5000, 0)).toEqual([]);
    expect(s.between(5000, 5999, 10)).toEqual([]);
    expect(s.between(6000, 5000, 10)).toEqual([]);
    expect(s.between(0, 10 ** 12, 3)).toEqual([10 ** 12 - 2000, 10 ** 12 - 1000, 10 ** 12]);
  });
});

describe('cron', () => {
  it('ticks strictly after `after`, in UTC unless a time zone is given', () => {
    const s = schedule({ cron: '*/5 * * * *' });
    const at = utc('2025-01-01T00:05:00Z');
    expect(s.next(at - 1)).toBe(at);
    expect(s.next(at)).toBe(at + 5 * MINUTE);
    expect(s.next(at + 500)).toBe(at + 5 * MINUTE);
    expect(schedule({ cron: '0 9 * * *' }).next(utc('2025-01-15T00:00:00Z'))).toBe(
      utc('2025-01-15T09:00:00Z'),
    );
  });

  it('reads the expression in its time zone: 09:00 in Paris is 08:00Z in winter, 07:00Z in summer', () => {
    const s = schedule({ cron: '0 9 * * *', timeZone: 'Europe/Paris' });
    expect(s.next(utc('2025-01-15T00:00:00Z'))).toBe(utc('2025-01-15T08:00:00Z'));
    expect(s.next(utc('2025-07-15T00:00:00Z'))).toBe(utc('2025-07-15T07:00:00Z'));
  });

  it('gives the ticks in (from, to], the latest ones past `max`, without walking from `from`', () => {
    const s = schedule({ cron: '*/5 * * * *' });
    const at = utc('2025-01-01T01:00:00Z');
    expect(isoList(s.between(at, at + 15 * MINUTE, 10))).toEqual([
      '2025-01-01T01:05:00.000Z',
      '2025-01-01T01:10:00.000Z',
      '2025-01-01T01:15:00.000Z',
    ]);
    expect(s.between(at, at + 15 * MINUTE - 1, 10)).toHaveLength(2);
    expect(isoList(s.between(at, at + 15 * MINUTE, 1))).toEqual(['2025-01-01T01:15:00.000Z']);
    // A year of 5-minute ticks: only the latest 2 are computed.
    expect(isoList(s.between(at - 365 * 24 * HOUR, at, 2))).toEqual([
      '2025-01-01T00:55:00.000Z',
      '2025-01-01T01:00:00.000Z',
    ]);
  });

  // DST in Europe/Paris, 2025: 30 March 02:00 CET -> 03:00 CEST (01:00Z); 26 October 03:00 CEST
  // -> 02:00 CET (01:00Z). croner: a fixed-time cron (no `*` or step in second, minute, hour) runs
  // at the end of a gap and once on a repeated time; any other cron skips the gap and runs twice.
  const paris = (cron: string): Schedule => schedule({ cron, timeZone: 'Europe/Paris' });

  it('DST spring forward: a fixed time in the gap runs at 03:00 CEST; an interval skips the gap', () => {
    const fixed = paris('30 2 * * *');
    expect(isoList(nextTicks(fixed, utc('2025-03-28T12:00:00Z'), 3))).toEqual([
      '2025-03-29T01:30:00.000Z', // 02:30 CET
      '2025-03-30T01:00:00.000Z', // 03:00 CEST: 02:30 does not exist that night
      '2025-03-31T00:30:00.000Z', // 02:30 CEST
    ]);
    const interval = paris('*/30 * * * *');
    expect(isoList(nextTicks(interval, utc('2025-03-30T00:00:00Z'), 3))).toEqual([
      '2025-03-30T00:30:00.000Z', // 01:30 CET
      '2025-03-30T01:00:00.000Z', // 03:00 CEST: 02:00 and 02:30 skipped, still 30 minutes apart
      '2025-03-30T01:30:00.000Z',
    ]);
  });

  it('DST fall back: an hourly cron ticks at both 02:00s; a fixed 02:30 or a list of hours once', () => {
    const hourly = paris('0 * * * *');
    expect(isoList(nextTicks(hourly, utc('2025-10-25T23:30:00Z'), 3))).toEqual([
      '2025-10-26T00:00:00.000Z', // 02:00 CEST
      '2025-10-26T01:00:00.000Z', // 02:00 CET
      '2025-10-26T02:00:00.000Z', // 03:00 CET
    ]);
    const fixed = paris('30 2 * * *');
    expect(isoList(nextTicks(fixed, utc('2025-10-25T12:00:00Z'), 2))).toEqual([
      '2025-10-26T00:30:00.000Z', // 02:30 CEST, the first of the two
      '2025-10-27T01:30:00.000Z', // 02:30 CET
    ]);
    const list = paris('0 2,14 * * *'); // fixed-time too: no `*`, no step
    expect(isoList(nextTicks(list, utc('2025-10-25T12:00:00Z'), 3))).toEqual([
      '2025-10-26T00:00:00.000Z', // 02:00 CEST only
      '2025-10-26T13:00:00.000Z', // 14:00 CET
      '2025-10-27T01:00:00.000Z',
    ]);
  });

  it('between agrees with next across both DST changes', () => {
    for (const cron of ['0 * * * *', '*/30 * * * *', '30 2 * * *', '15 1-3 * * *', '0 2,14 * * *']) {
      const s = paris(cron);
      for (const [from, to] of [
        ['2025-03-29T12:00:00Z', '2025-03-30T12:00:00Z'],
        ['2025-10-25T12:00:00Z', '2025-10-26T12:00:00Z'],
      ] as const) {
        const forward = nextTicks(s, utc(from), 100).filter((tick) => tick <= utc(to));
        expect(s.between(utc(from), utc(to), 100), `${cron} ${from}`).toEqual(forward);
      }
    }
  });
});

describe('catchUp', () => {
  it('resolveCatchUp takes false (the default), latest and all', () => {
    expect(resolveCatchUp('`catchUp` of stage `tick`', undefined)).toBe(false);
    for (const value of [false, 'latest', 'all'] as const) expect(resolveCatchUp('`x`', value)).toBe(value);
    for (const value of [true, 'none', 1, null]) {
      expect(configError(() => resolveCatchUp('`catchUp` of stage `tick`', value))).toMatch(
        /^Expected `catchUp` of stage `tick` to be `false`, `'latest'` or `'all'`, got /,
      );
    }
  });

  const every = schedule({ every: 1000 });

  it('missedTicks: none for false or when no tick was recorded; the latest; all, oldest first', () => {
    expect(missedTicks(every, 10_000, 15_500, false)).toEqual([]);
    expect(missedTicks(every, undefined, 15_500, 'all')).toEqual([]);
    expect(missedTicks(every, undefined, 15_500, 'latest')).toEqual([]);
    expect(missedTicks(every, 10_000, 15_500, 'latest')).toEqual([15_000]);
    expect(missedTicks(every, 10_000, 15_500, 'all')).toEqual([11_000, 12_000, 13_000, 14_000, 15_000]);
    expect(missedTicks(every, 10_000, 15_000, 'all')).toEqual([11_000, 12_000, 13_000, 14_000, 15_000]);
    expect(missedTicks(every, 15_000, 15_999, 'all')).toEqual([]);
  });

  it("missedTicks: 'all' keeps the latest 1000", () => {
    const missed = missedTicks(every, 0, 1_500_000, 'all');
    expect(MAX_CATCH_UP).toBe(1000);
    expect(missed).toHaveLength(1000);
    expect(missed[0]).toBe(501_000);
    expect(missed.at(-1)).toBe(1_500_000);
    const cron = schedule({ cron: '* * * * * *' }); // every second, a year behind
    const now = utc('2025-06-01T00:00:00Z');
    const yearly = missedTicks(cron, now - 365 * 24 * HOUR, now, 'all');
    expect(yearly).toHaveLength(1000);
    expect(yearly.at(-1)).toBe(now);
  });
});

describe('tick ids', () => {
  // SQS: up to 128 characters, alphanumeric and punctuation.
  const ALLOWED = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

  it('derives one deduplication id per stage and instant, the same from every replica', () => {
    const id = tickDeduplicationId('tick', 1_767_225_600_000);
    expect(id).toBe('tick:tick:1767225600000');
    expect(tickDeduplicationId('tick', 1_767_225_600_000)).toBe(id);
    expect(tickDeduplicationId('tick', 1_767_225_601_000)).not.toBe(id);
    expect(tickDeduplicationId('tock', 1_767_225_600_000)).not.toBe(id);
    expect(() => tickDeduplicationId('tick', 1.5)).toThrow(TypeError);
  });

  it('stays within SQS limits for the longest stage names', () => {
    const long = 'a'.repeat(200);
    for (const id of [
      tickDeduplicationId('tick', 0),
      tickDeduplicationId(long, 8.64e15),
      tickGroupId('tick'),
      tickGroupId(long),
    ]) {
      expect(id).toMatch(ALLOWED);
    }
    expect(tickDeduplicationId(long, 1000)).not.toBe(tickDeduplicationId(long, 2000));
    expect(tickGroupId('tick')).toBe('ticks:tick');
    expect(tickGroupId(long)).not.toBe(tickGroupId(`${long}b`));
  });
});
