import { MessageNotInflight, ReceiptHandleIsInvalid } from '@aws-sdk/client-sqs';
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
  /** When its visibility expires, as far as SQS confirmed it (ms since epoch). */
  leaseUntil: number;
  /** Lost (`lost` was called), and not received again since: not extended any more. */
  readonly leaseLost: boolean;
  /** The lease reached SQS's 12-hour limit: it ends at `leaseUntil` and cannot be extended. */
  capped(): void;
  /**
   * The lease is lost (`cause`): SQS refused to extend it for its receipt handle, or it could not
   * be extended before it lapsed. SQS may give the message to another worker.
   */
  lost(cause: unknown): void;
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
 *
 * A lease counts as extended only once SQS accepted the change. It is lost, and told so (`lost`),
 * when SQS refuses the change for its receipt handle (the message was received again elsewhere, or
 * is gone), or when changes keep failing (SQS unreachable) until its visibility has lapsed. A
 * failure for a handle replaced meanwhile (SQS gave the message to this process again) is no loss.
 */
export class Heartbeat {
  readonly #io: VisibilityIo;
  readonly #seconds: number;
  readonly #onError: (error: unknown) => void;
  readonly #leases = new Set<Lease>();
  /** Leases with an extension in flight: not sent again, nor judged lapsed, until it settles. */
  readonly #extending = new Set<Lease>();
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
    this.#extending.delete(lease);
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
      // Not sent again while one is in flight; a lapsed lease is tried too: SQS says if it is ours.
      if (lease.leaseLost || this.#extending.has(lease) || lease.leaseUntil - now > half) continue;
      const budget = leaseBudgetSeconds(lease, now);
      const seconds = Math.min(this.#seconds, budget);
      if (seconds <= 0) {
        // Capped: it ends at leaseUntil, and then it is no longer ours.
        if (now >= lease.leaseUntil) lease.lost(new Error("SQS's 12-hour visibility limit was reached"));
        continue;
      }
      this.#extend(lease, seconds, now);
      if (seconds < this.#seconds) lease.capped();
    }
  }

  #extend(lease: Lease, seconds: number, now: number): void {
    const handle = lease.receiptHandle;
    this.#extending.add(lease);
    this.#io.changeVisibility(lease.url, lease, seconds).then(
      () => {
        this.#extending.delete(lease);
        if (lease.receiptHandle === handle)
          lease.leaseUntil = Math.max(lease.leaseUntil, now + seconds * 1000);
      },
      (error: unknown) => {
        this.#extending.delete(lease);
        // Ended meanwhile, or received again by this process (a new handle, a new lease).
        if (!this.#leases.has(lease) || lease.receiptHandle !== handle) return;
        this.#onError(error);
        if (isStaleHandle(error)) lease.lost(error);
        else if (Date.now() >= lease.leaseUntil) lease.lost(error);
        // Else tried again at the next tick, until its visibility lapses.
      },
    );
  }
}

/** SQS refused a receipt handle: the message was received again since, or is gone. */
export function isStaleHandle(error: unknown): boolean {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ReceiptHandleIsInvalid || e instanceof MessageNotInflight) return true;
    if (typeof e !== 'object') break;
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    const codes = [code, name].filter((c): c is string => typeof c === 'string');
    if (codes.some((c) => /ReceiptHandleIsInvalid|MessageNotInflight|InvalidReceiptHandle/.test(c)))
      return true;
    // AWS and some emulators say it as an invalid parameter: the handle, or a message not in flight.
    if (
      codes.includes('InvalidParameterValue') &&
      typeof message === 'string' &&
      /receipt ?handle|not available for visibility/i.test(message)
    ) {
      return true;
    }
  }
  return false;
}
