import pLimit from 'p-limit';
import { queueDepths } from '../../queues/depths.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues, type HelperQueue, type TagCache } from './discover.ts';
import { readStageLimits, type StageLimits, withStageLimits } from './status-limits.ts';
import { type Column, formatTable } from './table.ts';

/**
 * One row of `sqspipes status`: a queue of the domain and its approximate counts. The age of the
 * oldest message is not among them: SQS reports it only as the CloudWatch metric
 * ApproximateAgeOfOldestMessage, and this CLI talks to SQS only (receiving messages to read their
 * SentTimestamp would see only a few message groups of a FIFO queue, and count as a receive).
 * The first row of a stage also carries its items for later and its limits' permits
 * ({@link StageLimits}: each field only when the stage has that queue).
 */
export interface StatusRow extends StageLimits {
  readonly stage: string;
  /** Position of the stage in the pipeline; null when its queue has no index tag. */
  readonly stageIndex: number | null;
  /** Priority level of an input queue, or `dlq` for the stage's dead-letter queue. */
  readonly level: number | 'dlq';
  readonly queue: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** `--watch` only: change of `visible` per second since the previous refresh (null on the first). */
  readonly visibleRate?: number | null;
}

const CONCURRENCY = 10;

/** The domain's queues with their counts, in pipeline order, and each stage's {@link StageLimits}. */
export async function statusRows(ctx: OperatorContext, cache: TagCache = new Map()): Promise<StatusRow[]> {
  const helpers: HelperQueue[] = [];
  const queues = await discoverQueues(ctx.sqs, ctx.domain, {
    cache,
    warn: ctx.note,
    helperQueue: (h) => helpers.push(h),
  });
  const limit = pLimit(CONCURRENCY);
  const [rows, limits] = await Promise.all([
    Promise.all(
      queues.map((q) =>
        limit(async (): Promise<StatusRow> => {
          const depths = await queueDepths(ctx.sqs, q.url);
          return {
            stage: q.stage,
            stageIndex: q.index ?? null,
            level: q.level,
            queue: q.name,
            ...depths,
          };
        }),
      ),
    ),
    readStageLimits(ctx.sqs, helpers, limit),
  ]);
  return withStageLimits(rows, limits);
}

/** `rows` with `visibleRate` computed against the previous refresh (`previous` null on the first). */
export function withRates(
  rows: readonly StatusRow[],
  previous: { rows: readonly StatusRow[]; at: number } | undefined,
  now: number,
): StatusRow[] {
  const seconds = previous === undefined ? 0 : (now - previous.at) / 1000;
  const before = new Map(previous?.rows.map((r) => [r.queue, r.visible]));
  return rows.map((row) => {
    const last = before.get(row.queue);
    const visibleRate = last === undefined || seconds <= 0 ? null : (row.visible - last) / seconds;
    return { ...row, visibleRate };
  });
}

/** The status table as text; with `rates`, a column of visible messages per second. */
export function renderStatus(rows: readonly StatusRow[], rates: boolean): string {
  const columns: Column[] = [
    { header: 'STAGE' },
    { header: 'LEVEL', right: true },
    { header: 'VISIBLE', right: true },
    { header: 'IN FLIGHT', right: true },
    { header: 'DELAYED', right: true },
    ...(rates ? [{ header: 'RATE/s', right: true }] : []),
    { header: 'QUEUE' },
  ];
  const cells = rows.map((r) => [
    r.stage,
    String(r.level),
    String(r.visible),
    String(r.inFlight),
    String(r.delayed),
    ...(rates ? [formatRate(r.visibleRate ?? null)] : []),
    r.queue,
  ]);
  return formatTable(columns, cells);
}

function formatRate(rate: number | null): string {
  if (rate === null) return '-';
  if (rate === 0) return '0';
  const text = Math.abs(rate) >= 10 ? rate.toFixed(0) : rate.toFixed(1);
  return rate > 0 ? `+${text}` : text;
}
