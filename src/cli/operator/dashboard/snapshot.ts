/**
 * What the dashboard shows of a pipeline, shaped from `status` rows: its stages in pipeline
 * order, each with its priority levels and its dead-letter queue, and rates computed from
 * successive samples. Pure: the sampler (sampler.ts) calls SQS.
 */
import { type StatusRow, withRates } from '../status.ts';
import { limitsOf, type StageLimits } from '../status-limits.ts';
import type { JoinStatusRow } from '../status-joins.ts';
import type { PipelineHistory } from './history.ts';

/** One priority level of a stage (its input queue `<domain>-<stage>-p<level>.fifo`). */
export interface LevelView {
  readonly level: number;
  readonly queue: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Change of `visible` per second over the rate window; null until there are two samples. */
  readonly rate: number | null;
}

/** A stage's dead-letter queue. */
export interface DeadLetterView {
  readonly queue: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly rate: number | null;
}

/**
 * A stage with queues (a pipeline's first stage, its source, has none, so is not shown), with its
 * items for later and its limits' permits in use (`later`, `rate`, `slots`, as `status` gives them:
 * each only when the stage has that queue).
 */
export interface StageView extends StageLimits {
  readonly name: string;
  /** Position of the stage in the pipeline; null when its queues have no index tag. */
  readonly index: number | null;
  readonly levels: readonly LevelView[];
  readonly dlq: DeadLetterView | null;
}

/** What `GET /api/pipeline` answers. */
export interface PipelineSnapshot {
  readonly domain: string;
  /** When the counts were read (ISO 8601); null before the first sample. */
  readonly at: string | null;
  /** Milliseconds between samples. */
  readonly intervalMs: number;
  /** Whether redrive and purge are enabled (`--actions`). */
  readonly actions: boolean;
  readonly stages: readonly StageView[];
  /** Why the last sample failed (the counts shown are older), or null. */
  readonly error: string | null;
  /** Each stage's backlog and rates in and out over the last minutes, for the charts. */
  readonly history: PipelineHistory;
  /**
   * With `--payload-bucket`: each join stage's items waiting for branches (as `status` lists
   * them, every 10 s at most); null without it.
   */
  readonly joins: readonly JoinStatusRow[] | null;
  /** Why the last listing of the joins failed (those shown are older), or null. */
  readonly joinsError: string | null;
}

/** A sample of the domain's queues: their rows and when they were read (epoch ms). */
export interface Sample {
  readonly rows: readonly StatusRow[];
  readonly at: number;
}

/**
 * The sample rates are computed against: the oldest of `history` (oldest first) at most
 * `windowMs` before `now`, so that a rate smooths SQS's approximate counts over a few samples;
 * undefined when there is none but the newest.
 */
export function rateBase(history: readonly Sample[], now: number, windowMs: number): Sample | undefined {
  return history.find((s) => s.at < now && now - s.at <= windowMs);
}

/** The stages of `rows` (in pipeline order, as `statusRows` gives them) with rates against `base`. */
export function pipelineView(rows: readonly StatusRow[], base: Sample | undefined, now: number): StageView[] {
  type Building = Omit<StageView, 'name' | 'levels' | 'dlq'> & {
    levels: LevelView[];
    dlq: DeadLetterView | null;
  };
  const stages = new Map<string, Building>();
  for (const row of withRates(rows, base, now)) {
    let stage = stages.get(row.stage);
    if (stage === undefined) {
      // A stage's first row carries its figures beyond its inputs.
      stage = { index: row.stageIndex, levels: [], dlq: null, ...limitsOf(row) };
      stages.set(row.stage, stage);
    }
    const rate = row.visibleRate ?? null;
    if (row.level === 'dlq') {
      stage.dlq = { queue: row.queue, visible: row.visible, inFlight: row.inFlight, rate };
    } else {
      const { level, queue, visible, inFlight, delayed } = row;
      stage.levels.push({ level, queue, visible, inFlight, delayed, rate });
    }
  }
  return [...stages].map(([name, s]) => ({ name, ...s }));
}
