import type { TaskEvents } from '../events.ts';
import type { PermitsReading, Telemetry, TimersReading } from './telemetry.ts';

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
  /** A stage run's timers as its process's sweeps saw them (StageRunner.timerStats). */
  readonly timerStats?: { readonly waiting: number; readonly nextDue: number | undefined } | undefined;
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
  telemetry.observeTimers(() => timerReadings(active));
}

/** The timers of each stage (runs of one stage share its queue of timers: read once). */
export function timerReadings(active: ReadonlyMap<MeteredRun, string>, now = Date.now()): TimersReading[] {
  const byStage = new Map<string, TimersReading>();
  for (const [run, stage] of active) {
    const stats = run.timerStats;
    if (stats === undefined || byStage.has(stage)) continue;
    const nextDueIn = stats.nextDue === undefined ? undefined : Math.max(0, (stats.nextDue - now) / 1000);
    byStage.set(stage, { stage, waiting: stats.waiting, nextDueIn });
  }
  return [...byStage.values()];
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
