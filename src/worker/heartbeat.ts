import type { ReceiptSource } from '../sqs/sqs-io.ts';

/** SQS's limit: a message stays invisible at most 12 hours from its receive. */
export const MAX_LEASE_MS = 12 * 60 * 60 * 1000;

/** Margin kept before SQS's 12-hour limit, so that the last extension is not refused. */
const CAP_MARGIN_MS = 1000;

/** A message kept invisible while in hand. */
export interface Lease extends ReceiptSource {
  readonly url: string;
  /** When SQS handed out the current receipt handle (ms since epoch): the 12-hour clock starts there. */
  readonly receivedAt: number;
  /** When its visibility expires, as far as we know (ms since epoch). */
  leaseUntil: number;
  /** The lease reached SQS's 12-hour limit: it ends at `leaseUntil` and cannot be extended. */
  capped(): void;
}

/** Seconds a lease may still be extended by, from `now`, within SQS's 12-hour limit. */
export function leaseBudgetSeconds(lease: Pick<Lease, 'receivedAt'>, now = Date.now()): number {
  return Math.max(0, Math.floor((MAX_LEASE_MS - CAP_MARGIN_MS - (now - lease.receivedAt)) / 1000));
}

/** What the heartbeat changes visibility through (the run's I/O). */
export interface VisibilityIo {
  changeVisibility(url: string, message: ReceiptSource, seconds: number): Promise<unknown>;
}

/**
 * Keeps every message in hand (running, waiting or between retries) invisible to other workers:
 * every third of the visibility timeout, those with less than half of it left are extended by a
 * whole timeout, in batches. At SQS's 12-hour limit the last extension ends exactly there and the
 * lease is told (`capped`), so that its call can be aborted before the message reappears.
 */
export class Heartbeat {
  readonly #io: VisibilityIo;
  readonly #seconds: number;
  readonly #onError: (error: unknown) => void;
  readonly #leases = new Set<Lease>();
  #timer: NodeJS.Timeout | undefined;

  constructor(io: VisibilityIo, visibilitySeconds: number, onError: (error: unknown) => void) {
    this.#io = io;
    this.#seconds = visibilitySeconds;
    this.#onError = onError;
  }

  /** The visibility timeout a receive gives, in seconds. */
  get visibilitySeconds(): number {
    return this.#seconds;
  }

  track(lease: Lease): void {
    this.#leases.add(lease);
    this.#timer ??= setInterval(() => this.#tick(), Math.max(250, (this.#seconds * 1000) / 3));
  }

  untrack(lease: Lease): void {
    this.#leases.delete(lease);
    if (this.#leases.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = Date.now();
    const half = (this.#seconds * 1000) / 2;
    for (const lease of this.#leases) {
      if (lease.leaseUntil - now > half) continue;
      const budget = leaseBudgetSeconds(lease, now);
      const seconds = Math.min(this.#seconds, budget);
      if (seconds <= 0) continue; // already capped: it ends at leaseUntil
      lease.leaseUntil = now + seconds * 1000;
      this.#io.changeVisibility(lease.url, lease, seconds).catch((error: unknown) => {
        if (this.#leases.has(lease)) this.#onError(error);
      });
      if (seconds < this.#seconds) lease.capped();
    }
  }
}
