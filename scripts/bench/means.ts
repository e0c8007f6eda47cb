/**
 * Throughput by concurrency as the mean of every round (with --repeat R > 1), beside the best.
 * On a shared 2-core machine single rounds vary by ±15 %: the best of the raw loop's four levels
 * over R rounds is the largest of 4 × R noisy samples, while one sqspipes level is the largest of
 * R, so best-against-best leans towards the raw loop. Means compare like with like: sqspipes'
 * mean at each worker count over the raw loop's mean at its best level (the level with the highest
 * mean).
 */
import type { RunResult } from './scenarios.ts';
import { fmt } from './stats.ts';

export interface LevelMean {
  readonly concurrency: number;
  readonly rounds: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Mean, min and max msg/s of each concurrency level of complete runs, in level order. */
export function levelMeans(runs: readonly RunResult[]): LevelMean[] {
  const levels = [...new Set(runs.map((r) => r.concurrency))].sort((x, y) => x - y);
  return levels.flatMap((concurrency) => {
    const rates = runs
      .filter((r) => r.concurrency === concurrency && r.complete)
      .map((r) => r.messagesPerSecond);
    if (rates.length === 0) return [];
    const mean = rates.reduce((sum, x) => sum + x, 0) / rates.length;
    return [{ concurrency, rounds: rates.length, mean, min: Math.min(...rates), max: Math.max(...rates) }];
  });
}

/** The level with the highest mean. */
export function bestMean(means: readonly LevelMean[]): LevelMean | undefined {
  return means.reduce<LevelMean | undefined>(
    (a, m) => (a === undefined || m.mean > a.mean ? m : a),
    undefined,
  );
}

/** One row per sqspipes worker count: its mean, its spread, and its share of the raw best mean. */
export function meansTable(
  sqspipes: readonly LevelMean[],
  raw: readonly LevelMean[],
): { header: string[]; cells: string[][] } {
  const rawBest = bestMean(raw);
  const spread = (m: LevelMean) => `${fmt(m.min)}–${fmt(m.max)}`;
  const rows: string[][] = [];
  for (const m of raw)
    rows.push(['raw', String(m.concurrency), String(m.rounds), fmt(m.mean), spread(m), '']);
  for (const m of sqspipes) {
    const share = rawBest === undefined ? '–' : `${fmt((m.mean / rawBest.mean) * 100)} %`;
    rows.push(['sqspipes', String(m.concurrency), String(m.rounds), fmt(m.mean), spread(m), share]);
  }
  return {
    header: ['scenario', 'conc.', 'rounds', 'mean msg/s', 'min–max', 'of raw best mean'],
    cells: rows,
  };
}
