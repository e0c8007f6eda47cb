/**
 * The last minutes of each stage's counts, for the page's charts: its backlog, and its rates in
 * and out between samples. SQS reports counts only (no count of messages sent or deleted), so the
 * rates are estimated: the fewest arrivals and departures that explain the change of the counts
 * (a receive moves a message from waiting to in flight, an arrival adds to waiting, a departure
 * removes from in flight). Both are lower bounds: a stage that takes in what it puts out between
 * two samples shows less than it moved. Pure; bounded in time and in points.
 */
import type { StatusRow } from '../status.ts';

/** How far back the charts go. */
export const HISTORY_MS = 10 * 60_000;
/** At most this many points per series: samples closer than HISTORY_MS / MAX_POINTS are skipped. */
export const MAX_POINTS = 300;

/** A stage's counts in one sample: its input levels summed (its dead-letter queue apart). */
export interface StageCounts {
  /** Visible and delayed: waiting to be received. */
  readonly waiting: number;
  readonly inFlight: number;
}

/** One stage's series, aligned with {@link PipelineHistory.at}; null where it had no queues yet. */
export interface StageSeries {
  readonly name: string;
  /** Messages in its inputs (waiting and in flight) at each sample. */
  readonly backlog: readonly (number | null)[];
  /** Messages per second that arrived since the previous sample (at least). */
  readonly in: readonly (number | null)[];
  /** Messages per second that left (done, dead-lettered) since the previous sample (at least). */
  readonly out: readonly (number | null)[];
}

/** What `GET /api/pipeline` carries for the charts. */
export interface PipelineHistory {
  /** When each sample was read (epoch ms), oldest first. */
  readonly at: readonly number[];
  readonly stages: readonly StageSeries[];
}

interface Point {
  readonly at: number;
  readonly stages: ReadonlyMap<string, StageCounts>;
}

/** The counts of each stage in `rows`. */
export function stageCounts(rows: readonly StatusRow[]): Map<string, StageCounts> {
  const counts = new Map<string, StageCounts>();
  for (const row of rows) {
    if (row.level === 'dlq') continue;
    const before = counts.get(row.stage) ?? { waiting: 0, inFlight: 0 };
    counts.set(row.stage, {
      waiting: before.waiting + row.visible + row.delayed,
      inFlight: before.inFlight + row.inFlight,
    });
  }
  return counts;
}

/** The fewest arrivals and departures (messages, not rates) that turn `before` into `after`. */
export function flows(before: StageCounts, after: StageCounts): { in: number; out: number } {
  const backlog = after.waiting + after.inFlight - (before.waiting + before.inFlight);
  const arrived = Math.max(0, backlog, after.waiting - before.waiting);
  return { in: arrived, out: arrived - backlog };
}

/** The samples of the last {@link HISTORY_MS}, at most {@link MAX_POINTS} of them. */
export class History {
  readonly #stepMs: number;
  #points: Point[] = [];

  /** `intervalMs`: the time between samples. */
  constructor(intervalMs: number) {
    this.#stepMs = Math.max(intervalMs, HISTORY_MS / MAX_POINTS);
  }

  /** Adds the sample of `rows` read at `at` (epoch ms), unless the last one is too recent. */
  add(rows: readonly StatusRow[], at: number): void {
    const last = this.#points.at(-1);
    if (last !== undefined && at - last.at < this.#stepMs * 0.9) return;
    this.#points = [
      ...this.#points.filter((p) => at - p.at <= HISTORY_MS),
      { at, stages: stageCounts(rows) },
    ];
  }

  /** The series of every stage of the latest sample, in its order. */
  view(): PipelineHistory {
    const points = this.#points;
    const names = [...(points.at(-1)?.stages.keys() ?? [])];
    const stages = names.map((name): StageSeries => {
      const backlog: (number | null)[] = [];
      const rateIn: (number | null)[] = [];
      const rateOut: (number | null)[] = [];
      points.forEach((point, i) => {
        const now = point.stages.get(name);
        const previous = points[i - 1];
        const before = previous?.stages.get(name);
        backlog.push(now === undefined ? null : now.waiting + now.inFlight);
        if (now === undefined || previous === undefined || before === undefined) {
          rateIn.push(null);
          rateOut.push(null);
          return;
        }
        const seconds = (point.at - previous.at) / 1000;
        const moved = flows(before, now);
        rateIn.push(round(moved.in / seconds));
        rateOut.push(round(moved.out / seconds));
      });
      return { name, backlog, in: rateIn, out: rateOut };
    });
    return { at: points.map((p) => p.at), stages };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
