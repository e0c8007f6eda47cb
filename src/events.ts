import { EventEmitter } from 'node:events';

/** What an event says about the input it concerns. */
export interface InputInfo {
  readonly stage: string;
  /** SQS message id of the input. */
  readonly messageId: string | undefined;
  /** Priority level of the input. */
  readonly priority: number;
  /** SQS's deliveries so far, this one included (hand-backs count too). */
  readonly receiveCount: number;
  /**
   * Attempts on this input in this process, the current one included: 1, then 2, … on retries;
   * 0 for one a run found in its dead-letter queue, moved there by SQS itself (`deadLettered`).
   */
  readonly attempt: number;
}

/**
 * Events of a {@link TaskClient}, for watching (control goes through promises and options).
 * Listeners run synchronously; a listener that throws is reported on `error` and otherwise ignored.
 */
export interface TaskClientEvents {
  /** An input was processed: its outputs were forwarded and it was acknowledged. */
  processed: [info: InputInfo & { readonly outputs: number }];
  /** A call failed (threw, timed out, or produced an output that cannot be sent). */
  failed: [error: Error, info: InputInfo];
  /** A failed input will be tried again after `delaySeconds` (in hand, or by SQS if the run is stopping). */
  retried: [info: InputInfo & { readonly delaySeconds: number }];
  /** An input moved to the stage's dead-letter queue: it failed too often, or was not a sqspipes message. */
  deadLettered: [info: InputInfo & { readonly reason: string }];
  /**
   * An input reached SQS's 12-hour visibility limit while in hand: its call's signal is aborted,
   * and SQS makes it visible again in `secondsLeft` seconds whatever happens.
   */
  visibilityLimit: [info: InputInfo & { readonly secondsLeft: number }];
  /** A stage run has nothing in hand and nothing arrived: it is waiting on a long poll. */
  idle: [info: { readonly stage: string }];
  /** An error the runner handled (a failed delete or heartbeat, a listener that threw). */
  error: [error: Error];
}

/** A typed EventEmitter for {@link TaskClientEvents}; `error` without a listener is not thrown. */
export class TaskEvents extends EventEmitter<TaskClientEvents> {
  /** Emits without letting a listener's exception escape into the runner. */
  safeEmit<K extends keyof TaskClientEvents>(event: K, ...args: TaskClientEvents[K]): void {
    if (event === 'error' && this.listenerCount('error') === 0) return;
    try {
      (this.emit as (event: K, ...args: TaskClientEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      if (event !== 'error' && this.listenerCount('error') > 0) {
        this.emit('error', error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}
