import { ItemError } from '../errors.ts';
import { setTimer, type Timer } from '../time/timers.ts';
import { Completion } from './completion.ts';
import type { ItemStatusKind, Report } from './report.ts';

/** Progress of a submitted item, as {@link Submission.statuses} yields it. */
export interface ItemStatus {
  readonly item: string;
  readonly stage: string;
  /**
   * `received`: a call on it started at `stage` (`attempt` 1, 2, …); `retrying`: that call
   * failed and will be tried again (`error`); `finished`: the call's outputs were accepted;
   * `dead-lettered`: moved to `stage`'s dead-letter queue (`error` is the reason).
   */
  readonly status: ItemStatusKind | 'dead-lettered';
  readonly attempt?: number | undefined;
  /** When the stage sent it (its clock). */
  readonly at: Date;
  readonly error?: string | undefined;
}

/**
 * An item fed into the pipeline by `submit()`: its id, its result, and (if asked for) its
 * progress. The result is every final output derived from the item, through fan-outs too, in
 * fan-out order; it rejects with an {@link ItemError} when the item was dead-lettered, filtered
 * out everywhere, could not send a result back, timed out, or the client closed first.
 */
export class Submission<T = unknown> {
  /** The item's id: the id of the message submitted (its deduplication id too). */
  readonly id: string;
  /** The stage it was submitted to. */
  readonly stage: string;
  readonly #result: Promise<T[]>;
  readonly #statuses: ItemStatus[] = [];
  #wake: (() => void) | undefined;
  #over = false;

  /** @internal Made by `TaskClient.submit()`. */
  constructor(id: string, stage: string, result: Promise<T[]>) {
    this.id = id;
    this.stage = stage;
    this.#result = result;
    result.catch(() => {}); // not awaiting the result is no unhandled rejection
    const over = () => {
      this.#over = true;
      this.#wake?.();
    };
    result.then(over, over);
  }

  /** Resolves with the item's results (see the class), or rejects with an {@link ItemError}. */
  result(): Promise<T[]> {
    return this.#result;
  }

  /**
   * The item's statuses as they arrive (submit with `status: true`; without it, only
   * `dead-lettered`), ending when the item is settled. Buffered from the submit on: iterating
   * late misses nothing. One iteration per submission.
   */
  async *statuses(): AsyncGenerator<ItemStatus, void, undefined> {
    let next = 0;
    for (;;) {
      while (next < this.#statuses.length) yield this.#statuses[next++] as ItemStatus;
      if (this.#over) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** @internal */
  pushStatus(status: ItemStatus): void {
    if (this.#over) return;
    this.#statuses.push(status);
    this.#wake?.();
  }
}

/** The sender's bookkeeping of one submitted item: adds up its reports, settles its result. */
export class PendingItem {
  readonly id: string;
  readonly submission: Submission;
  readonly #completion: Completion;
  readonly #resolve: (results: unknown[]) => void;
  readonly #reject: (error: ItemError) => void;
  readonly #timer: Timer;
  readonly #statuses: boolean;
  #settled = false;

  constructor(
    id: string,
    stage: string,
    options: { timeoutMs: number; statuses: boolean },
    onSettled: () => void,
  ) {
    const { timeoutMs } = options;
    this.id = id;
    this.#statuses = options.statuses;
    this.#completion = new Completion(id);
    let resolve!: (results: unknown[]) => void;
    let reject!: (error: ItemError) => void;
    const result = new Promise<unknown[]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#resolve = (results) => {
      this.#settle(onSettled);
      resolve(results);
    };
    this.#reject = (error) => {
      this.#settle(onSettled);
      reject(error);
    };
    this.submission = new Submission(id, stage, result);
    // Infinity (no timeout) arms no timer.
    this.#timer = setTimer(timeoutMs, () =>
      this.#reject(
        new ItemError(id, 'timeout', { message: `got no result within ${timeoutMs} ms (timeout)` }),
      ),
    );
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** One report about this item. */
  add(report: Report): void {
    if (this.#settled) return;
    switch (report.kind) {
      case 'status':
        this.submission.pushStatus({
          item: report.item,
          stage: report.stage,
          status: report.status,
          attempt: report.attempt,
          at: new Date(report.at),
          error: report.error,
        });
        return;
      case 'dead':
        this.submission.pushStatus({
          item: report.item,
          stage: report.stage,
          status: 'dead-lettered',
          at: new Date(),
          error: report.reason,
        });
        this.#reject(
          new ItemError(this.id, 'dead-lettered', {
            stage: report.stage,
            reason: report.reason,
            message: `was moved to the dead-letter queue of stage \`${report.stage}\`: ${report.reason}`,
          }),
        );
        return;
      case 'end':
        // An end report stands for its call's `finished` status (sent once, with its first part).
        if (this.#statuses && report.part === 0) {
          this.submission.pushStatus({
            item: report.item,
            stage: report.stage,
            status: 'finished',
            attempt: report.attempt,
            at: new Date(report.at ?? Date.now()),
          });
        }
        this.#completion.add(report);
        if (this.#completion.complete) this.#complete();
    }
  }

  /** The client is closing: the item can no longer be followed. */
  abandon(): void {
    this.#reject(
      new ItemError(this.id, 'closed', { message: 'has no result: the client was closed before it came' }),
    );
  }

  #complete(): void {
    const { results, filteredAt, errors } = this.#completion.outcome();
    const [failure] = errors;
    if (failure !== undefined) {
      this.#reject(
        new ItemError(this.id, 'failed', {
          stage: failure.stage,
          reason: failure.error,
          message: `has a result that could not be sent back: ${failure.error}`,
        }),
      );
    } else if (results.length === 0) {
      const stages = filteredAt.map((s) => `\`${s}\``).join(', ');
      this.#reject(
        new ItemError(this.id, 'filtered', {
          ...(filteredAt[0] === undefined ? {} : { stage: filteredAt[0] }),
          message: `was filtered out (no output) at stage ${stages || '(unknown)'}`,
        }),
      );
    } else {
      this.#resolve(results);
    }
  }

  #settle(onSettled: () => void): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#timer.cancel();
    onSettled();
  }
}
