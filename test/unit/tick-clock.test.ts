// The clock of a scheduled source on fake time: `now` and `sleep` are the test's, nothing waits.
import { describe, expect, it } from 'vitest';
import { type CatchUp, resolveSchedule, type Schedule } from '../../src/time/schedule.ts';
import { TickClock } from '../../src/time/tick-clock.ts';
import { MAX_TIMER_MS } from '../../src/time/timers.ts';
import type { Logger } from '../../src/types.ts';

interface Logged {
  level: keyof Logger;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps what it is given. */
function recorder(): Logger & { lines: Logged[]; warnings: () => string[] } {
  const lines: Logged[] = [];
  const at =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return {
    lines,
    warnings: () => lines.filter((line) => line.level === 'warn').map((line) => line.msg ?? ''),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

interface Sent {
  instant: number;
  /** `now()` when it was sent. */
  at: number;
}

interface Harness {
  clock: TickClock;
  controller: AbortController;
  logger: ReturnType<typeof recorder>;
  sent: Sent[];
  sleeps: number[];
  now: () => number;
  /** Runs the clock until it has sent `count` ticks (counting failed sends), then aborts it. */
  runUntil(count: number): Promise<void>;
}

interface Setup {
  schedule?: Schedule;
  catchUp?: CatchUp;
  start?: number;
  lastTick?: () => Promise<number | undefined>;
  /** Whether the n-th send (1-based, failed ones counted) fails. @default none fails */
  fails?: (n: number, instant: number) => boolean;
  /** How far time moves in a sleep of `ms`. @default ms */
  slept?: (ms: number) => number;
}

function harness(setup: Setup = {}): Harness {
  let time = setup.start ?? 10_500;
  let attempts = 0;
  let stopAfter = Number.POSITIVE_INFINITY;
  const controller = new AbortController();
  const sent: Sent[] = [];
  const sleeps: number[] = [];
  const logger = recorder();
  const now = (): number => time;
  const clock = new TickClock({
    schedule: setup.schedule ?? resolveSchedule('`schedule`', { every: 1000 }),
    catchUp: setup.catchUp ?? false,
    lastTick: setup.lastTick ?? (() => Promise.resolve(undefined)),
    async send(instant) {
      attempts++;
      if (attempts >= stopAfter) controller.abort();
      await Promise.resolve();
      if (setup.fails?.(attempts, instant) === true) throw new Error(`send ${attempts} failed`);
      sent.push({ instant, at: time });
    },
    logger,
    stage: 'tick',
    now,
    async sleep(ms) {
      sleeps.push(ms);
      time += setup.slept?.(ms) ?? ms;
      await Promise.resolve();
    },
  });
  return {
    clock,
    controller,
    logger,
    sent,
    sleeps,
    now,
    async runUntil(count) {
      stopAfter = count;
      await clock.run(controller.signal);
    },
  };
}

const instants = (sent: Sent[]): number[] => sent.map((s) => s.instant);

describe('TickClock: on time', () => {
  it('sends each tick at its instant, never before, sleeping until it', async () => {
    const h = harness({ start: 10_500 });
    await h.runUntil(3);
    expect(h.sent).toEqual([
      { instant: 11_000, at: 11_000 },
      { instant: 12_000, at: 12_000 },
      { instant: 13_000, at: 13_000 },
    ]);
    expect(h.sleeps).toEqual([500, 1000, 1000]);
  });

  it('sleeps again when woken early: a tick is never sent before its instant', async () => {
    const h = harness({ start: 10_000, slept: (ms) => Math.max(1, ms - 7) });
    await h.runUntil(2);
    for (const { instant, at } of h.sent) expect(at).toBeGreaterThanOrEqual(instant);
    expect(instants(h.sent)).toEqual([11_000, 12_000]);
  });

  it('re-arms a sleep longer than a Node timer holds in steps', async () => {
    const start = Date.parse('2025-01-02T00:00:00Z');
    const schedule = resolveSchedule('`schedule`', { cron: '0 0 1 1 *' });
    const h = harness({ start, schedule });
    await h.runUntil(1);
    const due = Date.parse('2026-01-01T00:00:00Z');
    expect(h.sent).toEqual([{ instant: due, at: due }]);
    expect(h.sleeps.length).toBe(Math.ceil((due - start) / MAX_TIMER_MS));
    for (const ms of h.sleeps) expect(ms).toBeLessThanOrEqual(MAX_TIMER_MS);
  });

  it('sends only the latest due tick when it fell behind (machine asleep), with a warning', async () => {
    let first = true;
    const h = harness({
      start: 10_500,
      slept: (ms) => (first ? ((first = false), ms + 3200) : ms),
    });
    await h.runUntil(2);
    expect(instants(h.sent)).toEqual([14_000, 15_000]);
    expect(h.logger.warnings()).toEqual([
      'the clock fell behind: ticks before the latest due one are not sent by this replica',
    ]);
  });
});

describe('TickClock: catchUp', () => {
  const lastTick = (): Promise<number> => Promise.resolve(5000);

  it('false (default): none of the missed ticks, then the next one', async () => {
    const h = harness({ start: 10_500, lastTick });
    await h.runUntil(1);
    expect(instants(h.sent)).toEqual([11_000]);
    expect(
      h.logger.lines.find((l) => l.msg === 'ticks since the last one done are skipped')?.obj,
    ).toMatchObject({
      from: new Date(6000).toISOString(),
      to: new Date(10_000).toISOString(),
      catchUp: false,
    });
  });

  it("'latest': the latest missed tick at once, then on time", async () => {
    const h = harness({ start: 10_500, lastTick, catchUp: 'latest' });
    await h.runUntil(2);
    expect(h.sent).toEqual([
      { instant: 10_000, at: 10_500 },
      { instant: 11_000, at: 11_000 },
    ]);
    expect(h.logger.warnings()).toEqual([]);
  });

  it("'all': every missed tick, oldest first, then on time", async () => {
    const h = harness({ start: 10_000, lastTick, catchUp: 'all' });
    await h.runUntil(6);
    expect(instants(h.sent)).toEqual([6000, 7000, 8000, 9000, 10_000, 11_000]);
    expect(h.logger.warnings()).toEqual([]);
  });

  it("'all': the latest 1000 when more were missed, the older ones skipped with a warning", async () => {
    const h = harness({ start: 1_500_000, lastTick: () => Promise.resolve(0), catchUp: 'all' });
    await h.runUntil(1001);
    expect(h.sent).toHaveLength(1001);
    expect(h.sent[0]?.instant).toBe(501_000);
    expect(h.sent.at(-1)).toEqual({ instant: 1_501_000, at: 1_501_000 });
    expect(h.logger.warnings()).toEqual(['ticks since the last one done are skipped']);
    expect(h.logger.lines.find((l) => l.level === 'warn')?.obj).toMatchObject({
      from: new Date(1000).toISOString(),
      to: new Date(500_000).toISOString(),
    });
  });

  it('nothing to catch up when no tick was ever recorded', async () => {
    const h = harness({ start: 10_500, catchUp: 'all' });
    await h.runUntil(1);
    expect(instants(h.sent)).toEqual([11_000]);
  });

  it('a failure to read the last tick: a warning, no catch-up, ticks go on', async () => {
    const h = harness({
      start: 10_500,
      catchUp: 'all',
      lastTick: () => Promise.reject(new Error('ListQueueTags failed')),
    });
    await h.runUntil(1);
    expect(instants(h.sent)).toEqual([11_000]);
    expect(h.logger.warnings()).toEqual(['could not read the last tick done; catching up on none']);
  });
});

describe('TickClock: failed sends', () => {
  it('retries a failed send with backoff until it is sent', async () => {
    const h = harness({
      start: 9500,
      schedule: resolveSchedule('`s`', { every: 10_000 }),
      fails: (n) => n <= 3,
    });
    await h.runUntil(4);
    expect(h.sent).toEqual([{ instant: 10_000, at: 11_750 }]);
    expect(h.sleeps).toEqual([500, 250, 500, 1000]);
    expect(h.logger.warnings()).toEqual(Array(3).fill('could not send a tick; retrying'));
  });

  it('gives a tick up when the next one comes, then sends the next one on time', async () => {
    const h = harness({ start: 10_000, fails: (_, instant) => instant === 11_000 });
    await h.runUntil(4);
    // 11 000 fails at 11 000, 11 250, 11 750; a retry at 12 750 would pass the next tick.
    expect(h.sent).toEqual([{ instant: 12_000, at: 12_000 }]);
    expect(h.sleeps).toEqual([1000, 250, 500, 250]);
    expect(h.logger.warnings()).toEqual([
      'could not send a tick; retrying',
      'could not send a tick; retrying',
      'could not send a tick before the next one; given up (another replica most likely sent it)',
    ]);
    expect(h.logger.lines.at(-1)?.obj).toMatchObject({
      stage: 'tick',
      schedule: 'every 1 second',
      scheduledAt: new Date(11_000).toISOString(),
      attempt: 3,
    });
  });
});

describe('TickClock: stopping', () => {
  it('resolves at once when already aborted, reading nothing', async () => {
    let reads = 0;
    const controller = new AbortController();
    controller.abort();
    const clock = new TickClock({
      schedule: resolveSchedule('`s`', { every: 1000 }),
      catchUp: 'all',
      lastTick: () => Promise.resolve(++reads),
      send: () => Promise.reject(new Error('no send expected')),
      logger: recorder(),
    });
    await clock.run(controller.signal);
    expect(reads).toBe(0);
  });

  it('resolves when aborted during a sleep, sending nothing more', async () => {
    const controller = new AbortController();
    const sent: number[] = [];
    let asleep!: () => void;
    const sleeping = new Promise<void>((resolve) => (asleep = resolve));
    const clock = new TickClock({
      schedule: resolveSchedule('`s`', { every: 1000 }),
      catchUp: false,
      lastTick: () => Promise.resolve(undefined),
      send: (instant) => Promise.resolve(void sent.push(instant)),
      logger: recorder(),
      now: () => 10_500,
      sleep: (_ms, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', resolve, { once: true });
          asleep();
        }),
    });
    const running = clock.run(controller.signal);
    await sleeping;
    controller.abort();
    await running;
    expect(sent).toEqual([]);
  });

  it('resolves without a warning when a send fails because the run stops', async () => {
    const controller = new AbortController();
    const logger = recorder();
    let time = 10_500;
    const clock = new TickClock({
      schedule: resolveSchedule('`s`', { every: 1000 }),
      catchUp: false,
      lastTick: () => Promise.resolve(undefined),
      send: (_instant, signal) => {
        controller.abort();
        return Promise.reject(signal.reason as Error);
      },
      logger,
      now: () => time,
      sleep: (ms) => Promise.resolve(void (time += ms)),
    });
    await expect(clock.run(controller.signal)).resolves.toBeUndefined();
    expect(logger.warnings()).toEqual([]);
  });

  it('waits for the signal once the schedule has no more ticks', async () => {
    const controller = new AbortController();
    const logger = recorder();
    const ended: Schedule = { next: () => undefined, between: () => [], describe: () => 'ended' };
    const clock = new TickClock({
      schedule: ended,
      catchUp: false,
      lastTick: () => Promise.resolve(undefined),
      send: () => Promise.reject(new Error('no send expected')),
      logger,
      now: () => 0,
      sleep: () => Promise.resolve(),
    });
    let done = false;
    const running = clock.run(controller.signal).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    expect(logger.lines.map((l) => l.msg)).toEqual(['the schedule has no more ticks']);
    controller.abort();
    await running;
    expect(done).toBe(true);
  });
});
