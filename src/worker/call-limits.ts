/**
 * What a call waits for before it starts, beyond a worker: the stage's fleet-wide limits
 * (`maxConcurrency`: a slot held while the call runs; `rateLimit`: a permit used at once) and a
 * pause asked by a call that threw a {@link RetryAfterError}. A slot is taken first, then a rate
 * permit (taken last, it is never wasted waiting for a slot).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Provisioner } from '../queues/provisioner.ts';
import type { Stage } from '../stage.ts';
import { type Permit, PermitPool, type PermitStats } from '../time/permits.ts';
import { sleep } from '../time/timers.ts';
import type { Logger } from '../types.ts';

export interface CallLimitsInit {
  readonly sqs: SQSClient;
  readonly provisioner: Provisioner;
  readonly domain: string;
  readonly kmsKeyId: string | undefined;
  readonly logger: Logger;
}

/** What the limits show (status, metrics): each limit's permits, and the calls waiting. */
export interface LimitStats {
  readonly rate?: PermitStats | undefined;
  readonly slots?: PermitStats | undefined;
  /** Epoch ms until which calls here are paused by a RetryAfterError; 0: not paused. */
  readonly pausedUntil: number;
}

export class CallLimits {
  readonly #rate: PermitPool | undefined;
  readonly #slots: PermitPool | undefined;
  #pausedUntil = 0;

  /** The limits of `stage`; undefined when it has none (a pause then only needs {@link pause}). */
  constructor(stage: Stage, init: CallLimitsInit) {
    const common = { ...init, stage: stage.name };
    const { rateLimit, maxConcurrency } = stage;
    this.#rate =
      rateLimit === undefined
        ? undefined
        : new PermitPool({ ...common, kind: 'rate', limit: rateLimit.limit, perMs: rateLimit.perMs });
    this.#slots =
      maxConcurrency === undefined
        ? undefined
        : new PermitPool({ ...common, kind: 'slots', limit: maxConcurrency });
  }

  /** Creates (and fills) the permit queues. */
  async start(): Promise<void> {
    await Promise.all([this.#rate?.start(), this.#slots?.start()]);
  }

  /** True when a call needs to wait for nothing (no limit, no pause): the common case, synchronous. */
  get open(): boolean {
    return this.#rate === undefined && this.#slots === undefined && this.#pausedUntil <= Date.now();
  }

  /**
   * Waits for a pause to end and for the permits of one call; resolves with what gives them back
   * once the call has returned. Rejects when `signal` aborts (holding nothing then).
   */
  async acquire(signal: AbortSignal): Promise<() => void> {
    while (this.#pausedUntil > Date.now()) {
      if (!(await sleep(this.#pausedUntil - Date.now(), signal))) signal.throwIfAborted();
    }
    let slot: Permit | undefined;
    if (this.#slots !== undefined) slot = await this.#slots.acquire(signal);
    try {
      await this.#rate?.acquire(signal);
    } catch (error) {
      slot?.release();
      throw error;
    }
    return () => slot?.release();
  }

  /** Pauses calls here for `ms`, and with a rate limit the fleet's (see PermitPool.pause). */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms);
    this.#rate?.pause(ms);
  }

  stats(): LimitStats {
    return { rate: this.#rate?.stats(), slots: this.#slots?.stats(), pausedUntil: this.#pausedUntil };
  }

  /** Gives back the slots held (the run's calls have ended) and stops receiving permits. */
  async close(): Promise<void> {
    await Promise.all([this.#rate?.close(), this.#slots?.close()]);
  }
}
