/**
 * The network model's table (--rtt, --call-ms): sqspipes at each worker count beside the raw
 * batched SDK loop at its best concurrency at the same delay, and, with a slow relay, beside the
 * ideal rate of that stage (workers / call time).
 */
import type { RunResult } from './scenarios.ts';
import { fmt } from './stats.ts';

export interface ModelRow {
  readonly workers: number;
  readonly messagesPerSecond: number;
  /** workers / call-ms × 1000 (--call-ms > 0). */
  readonly idealMessagesPerSecond: number | undefined;
  readonly ofIdeal: number | undefined;
  /** msg/s over the raw loop's best (when (a) ran). */
  readonly ofRawBest: number | undefined;
  readonly p50Ms: number;
  readonly relayRequestsPerMessage: number | undefined;
  /** Mean delay the proxy added per request, and its CPU per request (--rtt > 0). */
  readonly proxyAddedMs: number | undefined;
  readonly proxyCpuUsPerRequest: number | undefined;
  readonly complete: boolean;
}

/** One row per run of `sqspipes` (best of each worker count, in order). */
export function modelRows(sqspipes: readonly RunResult[], rawBest: RunResult | undefined): ModelRow[] {
  return sqspipes.map((run) => {
    const ideal = run.idealMessagesPerSecond;
    return {
      workers: run.concurrency,
      messagesPerSecond: run.messagesPerSecond,
      idealMessagesPerSecond: ideal,
      ofIdeal: ideal === undefined ? undefined : run.messagesPerSecond / ideal,
      ofRawBest: rawBest === undefined ? undefined : run.messagesPerSecond / rawBest.messagesPerSecond,
      p50Ms: run.latencyMs.p50,
      relayRequestsPerMessage: run.processes[1]?.requestsPerMessage,
      proxyAddedMs: run.proxy?.meanAddedMs,
      proxyCpuUsPerRequest: run.proxy?.cpuUsPerRequest,
      complete: run.complete,
    };
  });
}

/** The rows as a table's header and cells; columns without a value in any row are left out. */
export function modelTable(rows: readonly ModelRow[]): { header: string[]; cells: string[][] } {
  const columns: [string, (r: ModelRow) => string, boolean][] = [
    ['workers', (r) => String(r.workers) + (r.complete ? '' : ' (incomplete)'), true],
    ['msg/s', (r) => fmt(r.messagesPerSecond), true],
    ['ideal relay msg/s', (r) => fmt(r.idealMessagesPerSecond), rows.some((r) => r.ofIdeal !== undefined)],
    ['of ideal', (r) => percent(r.ofIdeal), rows.some((r) => r.ofIdeal !== undefined)],
    ['of raw best', (r) => percent(r.ofRawBest), rows.some((r) => r.ofRawBest !== undefined)],
    ['p50 ms', (r) => fmt(r.p50Ms, 1), true],
    ['req/msg relay', (r) => fmt(r.relayRequestsPerMessage, 3), true],
    ['proxy added ms', (r) => fmt(r.proxyAddedMs, 1), rows.some((r) => r.proxyAddedMs !== undefined)],
    [
      'proxy CPU µs/req',
      (r) => fmt(r.proxyCpuUsPerRequest),
      rows.some((r) => r.proxyCpuUsPerRequest !== undefined),
    ],
  ];
  const shown = columns.filter(([, , show]) => show);
  return {
    header: shown.map(([name]) => name),
    cells: rows.map((r) => shown.map(([, cell]) => cell(r))),
  };
}

function percent(share: number | undefined): string {
  return share === undefined ? '–' : `${fmt(share * 100)} %`;
}
