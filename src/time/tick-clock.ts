/**
 * The clock of one replica of a scheduled source: it sends one tick message per tick instant to
 * the source's ticks queue. Every replica runs one and sends the same ticks under the same
 * deduplication id (see `tickDeduplicationId`), so SQS keeps one per instant; the runs of the
 * source consume them like inputs. The clock never sends a tick before its instant.
 */
import type { Logger } from '../types.ts';
import { type CatchUp, missedTicks, type Schedule } from './schedule.ts';
import { MAX_TIMER_MS, sleep as timersSleep } from './timers.ts';

/** What a {@link TickClock} needs. */
export interface TickClockInit {
  readonly schedule: Schedule;
  readonly catchUp: CatchUp;
  /** The last tick instant done (epoch ms), as recorded on the ticks queue; undefined: none. */
  readonly lastTick: (signal: AbortSignal) => Promise<number | undefined>;
  /** Sends the tick of `instant` (deduplicated by its instant). */
  readonly send: (instant: number, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
  /** The stage, for logs. */
  readonly stage?: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** Waits `ms` (at most {@link MAX_TIMER_MS}) or until `signal` aborts. @default timers' `sleep` */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>;
}

/** First wait before sending a tick again, doubled at each failure up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;

/** Sends a scheduled source's ticks: the missed ones at start (per `catchUp`), then each on time. */
export class TickClock {
  readonly #d: Required<Omit<TickClockInit, 'stage'>>;
  readonly #context: object;

  constructor(init: TickClockInit) {
    this.#d = { now: Date.now, sleep: timersSleep, ...init };
    this.#context = { stage: init.stage, schedule: init.schedule.describe() };
  }

  /** Runs until `signal` aborts, then resolves (never rejects). */
  async run(signal: AbortSignal): Promise<void> {
    const { schedule, now } = this.#d;
    if (signal.aborted) return;
    const start = now();
    let cursor = start;
    for (const instant of await this.#missed(start, signal)) {
      if (signal.aborted) return;
      await this.#send(instant, schedule.next(start), signal);
      cursor = Math.max(cursor, instant);
    }
    for (;;) {
      let instant = schedule.next(cursor);
      if (instant === undefined) {
        this.#d.logger.info(this.#context, 'the schedule has no more ticks');
        return untilAborted(signal);
      }
      if (!(await this.#sleepUntil(instant, signal))) return;
      instant = this.#latestDue(instant);
      await this.#send(instant, schedule.next(instant), signal);
      if (signal.aborted) return;
      cursor = instant;
    }
  }

  /** The ticks to catch up on at start; none (with a warning) if the last tick cannot be read. */
  async #missed(start: number, signal: AbortSignal): Promise<number[]> {
    const { schedule, catchUp, logger } = this.#d;
    let lastDone: number | undefined;
    try {
      lastDone = await this.#d.lastTick(signal);
    } catch (error) {
      if (!signal.aborted) {
        logger.warn(
          { ...this.#context, err: error },
          'could not read the last tick done; catching up on none',
        );
      }
      return [];
    }
    const missed = missedTicks(schedule, lastDone, start, catchUp);
    const oldest = lastDone === undefined ? undefined : schedule.next(lastDone);
    if (oldest === undefined || oldest > start) return missed; // none missed
    const [first = Number.POSITIVE_INFINITY] = missed;
    if (oldest < first) {
      const [last = oldest] = schedule.between(oldest, Math.min(first - 1, start), 1);
      const skipped = { ...this.#context, from: iso(oldest), to: iso(last), catchUp };
      // 'all' skips only past MAX_CATCH_UP ticks: worth a warning; the others skip by design.
      logger[catchUp === 'all' ? 'warn' : 'info'](skipped, 'ticks since the last one done are skipped');
    }
    if (missed.length > 0) {
      logger.info({ ...this.#context, ticks: missed.length, catchUp }, 'catching up on missed ticks');
    }
    return missed;
  }

  /** Waits until `instant` in steps a Node timer holds; false if `signal` aborted. */
  async #sleepUntil(instant: number, signal: AbortSignal): Promise<boolean> {
    for (let wait = instant - this.#d.now(); wait > 0; wait = instant - this.#d.now()) {
      await this.#d.sleep(Math.min(wait, MAX_TIMER_MS), signal);
      if (signal.aborted) return false;
    }
    return !signal.aborted;
  }

  /**
   * `instant`, or a later tick already due when this clock fell behind (the event loop blocked, the
   * machine slept): only the latest due tick is sent; the others most likely came from other
   * replicas.
   */
  #latestDue(instant: number): number {
    const [latest] = this.#d.schedule.between(instant, this.#d.now(), 1);
    if (latest === undefined) return instant;
    this.#d.logger.warn(
      { ...this.#context, from: iso(instant), to: iso(latest) },
      'the clock fell behind: ticks before the latest due one are not sent by this replica',
    );
    return latest;
  }

  /**
   * Sends the tick of `instant`, retried with backoff while a retry falls before `deadline` (the
   * next tick); then it is given up: another replica most likely sent it.
   */
  async #send(instant: number, deadline: number | undefined, signal: AbortSignal): Promise<void> {
    const { logger, now } = this.#d;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#d.send(instant, signal);
        return;
      } catch (error) {
        if (signal.aborted) return;
        const wait = Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
        const context = { ...this.#context, scheduledAt: iso(instant), attempt, err: error };
        if (deadline !== undefined && now() + wait >= deadline) {
          logger.warn(
            context,
            'could not send a tick before the next one; given up (another replica most likely sent it)',
          );
          return;
        }
        logger.warn({ ...context, retryInMs: wait }, 'could not send a tick; retrying');
        await this.#d.sleep(wait, signal);
        if (signal.aborted) return;
      }
    }
  }
}

function iso(instant: number): string {
  return new Date(instant).toISOString();
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
