import type { TaskEvents } from './events.ts';

/** Counters of one client since it was made, for monitoring and the benchmark. */
export interface ClientStats {
  /** SQS HTTP requests made through this client, by action (each SDK retry counts). */
  readonly requests: Readonly<Record<string, number>>;
  /** Inputs processed (source: calls that succeeded). */
  readonly processed: number;
  /** Outputs produced by processed inputs. */
  readonly outputs: number;
  readonly failed: number;
  readonly retried: number;
  readonly deadLettered: number;
  /** Inputs in hand right now in this process's runs: running, or received and waiting. */
  readonly inHand: number;
  /** Submitted items (`submit()`) whose result this process still awaits. */
  readonly awaiting: number;
}

/** The outcome counters of {@link ClientStats}. */
export type OutcomeCounts = Pick<
  ClientStats,
  'processed' | 'outputs' | 'failed' | 'retried' | 'deadLettered'
>;

/** Counts the outcomes `events` reports from now on, into the counters it returns. */
export function countOutcomes(events: TaskEvents): Readonly<OutcomeCounts> {
  const counts = { processed: 0, outputs: 0, failed: 0, retried: 0, deadLettered: 0 };
  events.on('processed', (info) => {
    counts.processed++;
    counts.outputs += info.outputs;
  });
  events.on('failed', () => counts.failed++);
  events.on('retried', () => counts.retried++);
  events.on('deadLettered', () => counts.deadLettered++);
  return counts;
}
