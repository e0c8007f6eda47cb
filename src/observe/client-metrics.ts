import type { TaskEvents } from '../events.ts';
import type { Telemetry } from './telemetry.ts';

/** A run of a client, as its metrics see it. */
interface Run {
  readonly inHand: number;
}

/**
 * Counts a client's outcomes (from its `events`) and reports what is in hand, by stage (from its
 * `active` runs, read whenever the meter asks), to OpenTelemetry's meter. Nothing without it.
 */
export function observeClient(
  telemetry: Telemetry,
  events: TaskEvents,
  active: ReadonlyMap<Run, string>,
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
}
