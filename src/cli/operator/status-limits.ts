/**
 * Each stage's items for later and the permits of its limits, for `status` and the dashboard, read
 * from its helper queues' approximate counts (one GetQueueAttributes each):
 * - `<domain>-<stage>-later`: its timers, delayed until their next hop, or visible or in flight
 *   while a run sends them on. When the next is due cannot be known: SQS neither shows a delayed
 *   message nor tells when its delay ends.
 * - `<domain>-<stage>-rate.fifo` / `-slots.fifo`: one message per permit; a permit in use is one
 *   in flight (slots: held by a call running now, fleet-wide; rate: used within the last period);
 *   all of them, visible and in flight, are the limit.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LimitFunction } from 'p-limit';
import { type Depths, queueDepths } from '../../queues/depths.ts';
import type { HelperQueue } from './discover.ts';
import { type Column, formatTable } from './table.ts';

/** The permits of one limit of a stage, as its queue counts them. */
export interface PermitUse {
  /** Permits in flight: calls running now (`slots`), or calls within the last period (`rate`). */
  readonly inUse: number;
  /**
   * Permits in the queue (in flight or not): the limit, give or take copies not yet cleaned up (a
   * limit just lowered, a permit sent twice by two processes filling the queue).
   */
  readonly limit: number;
}

/** A stage's figures beyond its input queues; each is absent when the stage has no such queue. */
export interface StageLimits {
  /** Items for later: the messages of its queue of timers (delayed, visible and in flight). */
  readonly later?: number;
  /** Its `rateLimit`'s permits. */
  readonly rate?: PermitUse;
  /** Its `maxConcurrency`'s permits. */
  readonly slots?: PermitUse;
}

/** The figure a helper queue's counts give. */
export function helperFigure(role: HelperQueue['role'], depths: Depths): StageLimits {
  if (role === 'later') return { later: depths.visible + depths.inFlight + depths.delayed };
  const use: PermitUse = { inUse: depths.inFlight, limit: depths.visible + depths.inFlight };
  return role === 'rate' ? { rate: use } : { slots: use };
}

/** Reads the counts of `helpers` (at most `limit` at once): the figures of each stage that has some. */
export async function readStageLimits(
  sqs: SQSClient,
  helpers: readonly HelperQueue[],
  limit: LimitFunction,
): Promise<Map<string, StageLimits>> {
  const read = await Promise.all(
    helpers.map((h) => limit(async () => ({ h, depths: await queueDepths(sqs, h.url) }))),
  );
  const byStage = new Map<string, StageLimits>();
  for (const { h, depths } of read)
    byStage.set(h.stage, { ...byStage.get(h.stage), ...helperFigure(h.role, depths) });
  return byStage;
}

/**
 * `rows` (in pipeline order) with each stage's figures on its first row only, so that a sum over
 * rows counts them once. A stage with figures but no row (its input queues deleted) is left out.
 */
export function withStageLimits<R extends { readonly stage: string }>(
  rows: readonly R[],
  limits: ReadonlyMap<string, StageLimits>,
): (R & StageLimits)[] {
  const seen = new Set<string>();
  return rows.map((row) => {
    if (seen.has(row.stage)) return row;
    seen.add(row.stage);
    const figures = limits.get(row.stage);
    return figures === undefined ? row : { ...row, ...figures };
  });
}

/** The figures `row` carries (a stage's first row), without its other fields. */
export function limitsOf(row: StageLimits): StageLimits {
  const { later, rate, slots } = row;
  return {
    ...(later === undefined ? {} : { later }),
    ...(rate === undefined ? {} : { rate }),
    ...(slots === undefined ? {} : { slots }),
  };
}

/** The stages of `rows` that have figures, with them, in order. */
export function stagesWithLimits(
  rows: readonly (StageLimits & { readonly stage: string })[],
): (StageLimits & { readonly stage: string })[] {
  return rows.filter((r) => r.later !== undefined || r.rate !== undefined || r.slots !== undefined);
}

/**
 * The stages with figures as a table, `STAGE  LATER  RATE IN USE  SLOTS IN USE` (permits `in
 * use/limit`, `-` for none); undefined when no stage has any.
 */
export function renderStageLimits(
  rows: readonly (StageLimits & { readonly stage: string })[],
): string | undefined {
  const stages = stagesWithLimits(rows);
  if (stages.length === 0) return undefined;
  const columns: Column[] = [
    { header: 'STAGE' },
    { header: 'LATER', right: true },
    { header: 'RATE IN USE', right: true },
    { header: 'SLOTS IN USE', right: true },
  ];
  const cells = stages.map((s) => [
    s.stage,
    s.later === undefined ? '-' : String(s.later),
    permitsText(s.rate),
    permitsText(s.slots),
  ]);
  return formatTable(columns, cells);
}

/** `in use/limit`, or `-` without the limit. */
export function permitsText(use: PermitUse | undefined): string {
  return use === undefined ? '-' : `${use.inUse}/${use.limit}`;
}
