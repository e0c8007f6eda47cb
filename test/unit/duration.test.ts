import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, type StageEntry, TaskClient } from '../../src/index.ts';
import { resolveSubmitOptions } from '../../src/run-options.ts';
import { resolveStages } from '../../src/stage.ts';
import {
  checkDuration,
  DURATION_RANGES,
  inWords,
  parseDurationText,
  rangeText,
} from '../../src/time/duration.ts';
import { MAX_TIMER_MS, setTimer, sleep } from '../../src/time/timers.ts';

// Validation only: the endpoint is a closed port, so that a check made too late fails loudly.
const offline = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1' } as const;
const THIRTY_DAYS = 30 * 86_400_000;

function first() {
  return 1;
}
function next(x: unknown) {
  return x;
}

function pipeline(entries: StageEntry[] = [first, next]): TaskClient {
  return new TaskClient({ domain: 'durations', ...offline }).registerTasks(entries);
}

function configError(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

afterEach(() => vi.useRealTimers());

describe('checkDuration', () => {
  const { idleTimeout, interval, timeout } = DURATION_RANGES;

  it('accepts finite values in Node timer range, fractions too', () => {
    for (const ms of [0, 0.5, 1, 1000, MAX_TIMER_MS]) expect(checkDuration('`x`', ms, interval)).toBe(ms);
  });

  it('accepts Infinity only where the option gives it a meaning', () => {
    expect(checkDuration('`x`', Infinity, idleTimeout)).toBe(Infinity);
    expect(() => checkDuration('`x`', Infinity, interval)).toThrow(ConfigError);
  });

  it('refuses NaN, negatives, finite values past 2^31-1 ms and non-numbers, naming the range', () => {
    const cases: [unknown, string][] = [
      [Number.NaN, '`NaN` (number)'],
      [-1, '`-1` (number)'],
      [MAX_TIMER_MS + 1, '`2147483648` (number)'],
      [THIRTY_DAYS, '`2592000000` (number)'],
      [-Infinity, '`-Infinity` (number)'],
      ['1000', '`"1000"` (string)'],
      [null, '`null` (null)'],
      [undefined, '`undefined` (undefined)'],
    ];
    for (const [value, got] of cases) {
      expect(() => checkDuration('`timeout` of stage `slow`', value, timeout)).toThrow(
        `Expected \`timeout\` of stage \`slow\` to be a duration in ms from 1 to 2147483647 (about 24.9 days) or Infinity (no limit), got ${got}`,
      );
    }
  });

  it('says the range in words', () => {
    expect(rangeText(interval)).toBe('from 0 to 2147483647 (about 24.9 days)');
    expect(rangeText(DURATION_RANGES.retryDelay)).toBe('from 0 to 43200000 (12 hours)');
    expect([500, 1000, 90_000, 86_400_000].map(inWords)).toEqual([
      '500 ms',
      '1 second',
      'about 1.5 minutes',
      '1 day',
    ]);
  });
});

describe('parseDurationText', () => {
  it('reads ms, an integer and a unit, or never', () => {
    expect(['10000', '1500ms', '30s', '5m', '2h', '1d'].map(parseDurationText)).toEqual([
      10_000, 1500, 30_000, 300_000, 7_200_000, 86_400_000,
    ]);
    expect(['never', 'Infinity', 'NEVER'].map(parseDurationText)).toEqual([Infinity, Infinity, Infinity]);
  });

  it('is NaN for anything else', () => {
    for (const text of ['', 'abc', '-1', '1.5', '1e3', '5 m', '5w', 'ms', '0x10']) {
      expect(parseDurationText(text)).toBeNaN();
    }
  });
});

describe('timers', () => {
  it('setTimer(Infinity) arms no timer at all', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    setTimer(Infinity, fn);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
  });

  it('setTimer waits out a delay past 2^31-1 ms in steps, and cancel stops it', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    setTimer(THIRTY_DAYS, fn);
    vi.advanceTimersByTime(THIRTY_DAYS - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
    const cancelled = vi.fn();
    setTimer(THIRTY_DAYS, cancelled).cancel();
    vi.advanceTimersByTime(THIRTY_DAYS);
    expect(cancelled).not.toHaveBeenCalled();
  });

  it('sleep resolves true after its time, false on abort, and Infinity waits for the signal only', async () => {
    vi.useFakeTimers();
    const timed = sleep(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await timed).toBe(true);
    const stop = new AbortController();
    const forever = sleep(Infinity, stop.signal);
    expect(vi.getTimerCount()).toBe(0);
    stop.abort();
    expect(await forever).toBe(false);
    expect(await sleep(10, stop.signal)).toBe(false);
  });
});

describe('duration options', () => {
  it('stage timeout: a finite value past 2^31-1 ms is refused (it used to time every call out at once)', () => {
    const message = configError(() => pipeline([first, { method: next, timeout: THIRTY_DAYS }]));
    expect(message).toBe(
      'Expected `timeout` of stage `next` to be a duration in ms from 1 to 2147483647 (about 24.9 days) or Infinity (no limit), got `2592000000` (number)',
    );
    const [, stage] = resolveStages('d', [first, { method: next, timeout: Infinity }]);
    expect(stage?.timeout).toBeUndefined(); // no limit: no timer
  });

  it('stage interval and retryDelay: finite, in range', () => {
    expect(configError(() => pipeline([{ method: first, interval: Infinity }, next]))).toContain(
      '`interval` of stage `first` to be a duration in ms from 0 to 2147483647',
    );
    expect(configError(() => pipeline([first, { method: next, retryDelay: THIRTY_DAYS }]))).toContain(
      '`retryDelay` of stage `next` to be a duration in ms from 0 to 43200000 (12 hours)',
    );
    const [source, stage] = resolveStages('d', [
      { method: first, interval: () => Number.NaN },
      { method: next, retryDelay: () => THIRTY_DAYS },
    ]);
    expect(() => source?.interval()).toThrow('the value returned by `interval` of stage `first`');
    expect(stage?.retryDelay(1)).toBe(43_200_000); // a function's value is capped, as documented
  });

  it('run idleTimeout and shutdownTimeout take Infinity, and nothing past 2^31-1 ms', () => {
    expect(() => pipeline().run('next', { idleTimeout: Infinity, shutdownTimeout: Infinity })).not.toThrow();
    expect(configError(() => pipeline().run('next', { idleTimeout: MAX_TIMER_MS + 1 }))).toBe(
      "Expected `idleTimeout` of run('next') to be a duration in ms from 0 to 2147483647 (about 24.9 days) or Infinity (never), got `2147483648` (number)",
    );
    expect(configError(() => pipeline().run('next', { shutdownTimeout: Number.NaN }))).toContain(
      "`shutdownTimeout` of run('next') to be a duration in ms from 0 to 2147483647",
    );
  });

  it('client sendTimeout takes Infinity, and nothing past 2^31-1 ms', () => {
    const client = (sendTimeout: number) => new TaskClient({ domain: 'd', ...offline, sendTimeout });
    expect(() => client(Infinity)).not.toThrow();
    expect(() => client(THIRTY_DAYS)).toThrow(
      'Expected `sendTimeout` to be a duration in ms from 1 to 2147483647 (about 24.9 days) or Infinity (wait as long as it takes), got `2592000000` (number)',
    );
  });

  it('submit timeout takes Infinity, and nothing past 2^31-1 ms', () => {
    const [, stage] = resolveStages('d', [first, next]);
    if (stage === undefined) throw new Error('no stage');
    expect(resolveSubmitOptions(stage, { timeout: Infinity }).timeoutMs).toBe(Infinity);
    expect(() => resolveSubmitOptions(stage, { timeout: THIRTY_DAYS })).toThrow(
      'Expected `timeout` of submit() to be a duration in ms from 1 to 2147483647 (about 24.9 days) or Infinity (wait until the item ends), got `2592000000` (number)',
    );
  });
});
