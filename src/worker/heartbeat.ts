import type { SqsIo } from '../sqs/sqs-io.ts';

/** SQS's limit: a message stays invisible at most 12 hours from its receive. */
const MAX_TOTAL_MS = 12 * 60 * 60 * 1000;

/** One message kept invisible while in hand. */
export interface Beat {
  readonly url: string;
  /** The latest receipt handle (SQS accepts only the latest after a message is received again). */
  receiptHandle: string;
  receivedAt: number;
  /** When its visibility expires, as far as we know (ms since epoch). */
  deadline: number;
}

/**
 * Keeps every message in hand (running or prefetched) invisible to other workers: every third of
 * the visibility timeout, those with less than half of it left are extended by a whole timeout,
 * in batches, up to SQS's 12-hour limit.
 */
export class Heartbeat {
  readonly #io: SqsIo;
  readonly #seconds: number;
  readonly #onError: (error: unknown) => void;
  readonly #beats = new Set<Beat>();
  #timer: NodeJS.Timeout | undefined;

  constructor(io: SqsIo, visibilitySeconds: number, onError: (error: unknown) => void) {
    this.#io = io;
    this.#seconds = visibilitySeconds;
    this.#onError = onError;
  }

  track(url: string, receiptHandle: string, receivedAt = Date.now()): Beat {
    const beat = { url, receiptHandle, receivedAt, deadline: receivedAt + this.#seconds * 1000 };
    this.#beats.add(beat);
    this.#timer ??= setInterval(() => this.#tick(), Math.max(250, (this.#seconds * 1000) / 3));
    return beat;
  }

  /** The message was received again: keep it with its new handle and a fresh deadline. */
  renew(beat: Beat, receiptHandle: string, receivedAt = Date.now()): void {
    beat.receiptHandle = receiptHandle;
    beat.receivedAt = receivedAt;
    beat.deadline = receivedAt + this.#seconds * 1000;
  }

  untrack(beat: Beat): void {
    this.#beats.delete(beat);
    if (this.#beats.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = Date.now();
    const half = (this.#seconds * 1000) / 2;
    for (const beat of this.#beats) {
      if (beat.deadline - now > half) continue;
      const leftMs = MAX_TOTAL_MS - (now - beat.receivedAt) - 1000;
      const seconds = Math.min(this.#seconds, Math.floor(leftMs / 1000));
      if (seconds <= 0) continue;
      beat.deadline = now + seconds * 1000;
      this.#io.changeVisibility(beat.url, beat.receiptHandle, seconds).catch((error: unknown) => {
        if (this.#beats.has(beat)) this.#onError(error);
      });
    }
  }
}
