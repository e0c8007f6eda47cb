import type { TaskEvents } from '../events.ts';
import type { PermitsReading, Telemetry } from './telemetry.ts';

/** One limit's permits as a run sees them (PermitStats). */
interface RunPermits {
  readonly held: number;
  readonly waiting: number;
}

/** A run of a client, as its metrics see it. */
export interface MeteredRun {
  readonly inHand: number;
  /** A stage run's limits (StageRunner.limitStats); absent for a source, undefined before start. */
  readonly limitStats?:
    { readonly rate?: RunPermits | undefined; readonly slots?: RunPermits | undefined } | undefined;
}

/**
 * Counts a client's outcomes (from its `events`) and reports what is in hand, and the permits of
 * its stages' limits, by stage (from its `active` runs, read whenever the meter asks), to
 * OpenTelemetry's meter. Nothing without it.
 */
export function observeClient(
  telemetry: Telemetry,
  events: TaskEvents,
  active: ReadonlyMap<MeteredRun, string>,
): void {
  if (!telemetry.enabled) return;
  events.on('processed', (info) => telemetry.count('processed', info.stage));
  events.on('failed', (_, info) => telemetry.count('failed', info.stage));
  events.on('deadLettered', (info) => telemetry.count('dead_lettered', info.stage));
  telemetry.observeInHand(() => {
    const byStage = new Map<string, number>();
    for (const [run, stage] of active) byStage.set(stage, (byStage.get(stage) ?? 0) + run.inHand);
    return byStage;
  });
  telemetry.observePermits(() => permitReadings(active));
}

/** The permits held and calls waiting of `active` runs, summed by stage and limit. */
export function permitReadings(active: ReadonlyMap<MeteredRun, string>): PermitsReading[] {
  const sums = new Map<string, PermitsReading>();
  for (const [run, stage] of active) {
    const stats = run.limitStats;
    if (stats === undefined) continue;
    for (const kind of ['rate', 'slots'] as const) {
      const permits = stats[kind];
      if (permits === undefined) continue;
      const key = `${kind} ${stage}`;
      const before = sums.get(key);
      sums.set(key, {
        stage,
        kind,
        held: (before?.held ?? 0) + permits.held,
        waiting: (before?.waiting ?? 0) + permits.waiting,
      });
    }
  }
  return [...sums.values()];
}
