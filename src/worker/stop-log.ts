import type { Logger } from '../types.ts';
import { abortReason } from './run-control.ts';

/** What a run knows of why it stops, as the stop is requested. */
export interface StopCause {
  /** Said by whoever stopped it from outside (`stop()`, `close()`). */
  readonly external?: string | undefined;
  /** Why the run failed, when it did (worded by the runner). */
  readonly failed?: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly limitReached: boolean;
  readonly limit: number;
  readonly idleTimeout: number | undefined;
  /** What the idle timeout waits for: `input` (consuming stages) or `output` (the source). */
  readonly idleOf: 'input' | 'output';
}

/**
 * Logs why a run stops: info for an idle timeout (a stop nobody asked for just then), debug
 * otherwise. Called as the stop is requested, when its cause is still in view (once per run).
 */
export function logStop(log: Logger, stage: string, cause: StopCause): void {
  const { external, failed, signal, limitReached, limit, idleTimeout, idleOf } = cause;
  if (external !== undefined) log.debug({ stage }, `stopping: ${external}`);
  else if (failed !== undefined) log.debug({ stage }, `stopping: ${failed}`);
  else if (signal?.aborted === true) log.debug({ stage }, `stopping: ${abortReason(signal)}`);
  else if (limitReached) log.debug({ stage, limit }, 'stopping: limit reached');
  else if (idleTimeout === undefined) log.debug({ stage }, 'stopping');
  else log.info({ stage, idleTimeout }, `stopping: no ${idleOf} for ${idleTimeout / 1000} s (idle timeout)`);
}
