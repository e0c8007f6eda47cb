import { setTimeout as sleep } from 'node:timers/promises';
import type { OperatorContext } from '../context.ts';
import type { TagCache } from '../discover.ts';
import { failureText } from '../errors.ts';
import { statusRows } from '../status.ts';
import { JoinWatch } from '../status-joins.ts';
import { History } from './history.ts';
import { type PipelineSnapshot, pipelineView, rateBase, type Sample } from './snapshot.ts';

/** Rates are computed over this many sampling intervals (fewer until there are that many). */
const RATE_WINDOW_INTERVALS = 5;

/**
 * Reads the domain's queue counts every `intervalMs` (as `status --watch` does; with
 * `--payload-bucket`, the joins waiting too, every 10 s at most) and keeps the latest snapshot,
 * with the last minutes of counts for the charts (history.ts), so that every open page shares one
 * set of SQS calls. A failed sample keeps the previous counts and says why in `error`.
 */
export class Sampler {
  readonly #ctx: OperatorContext;
  readonly #intervalMs: number;
  readonly #cache: TagCache = new Map();
  #history: Sample[] = [];
  readonly #charts: History;
  #snapshot: PipelineSnapshot;
  readonly #joins: JoinWatch | undefined;

  constructor(ctx: OperatorContext, intervalMs: number, actions: boolean) {
    const said = new Set<string>(); // a note (an ignored queue) once, not on every sample
    this.#ctx = {
      ...ctx,
      note: (text) => {
        if (said.has(text)) return;
        said.add(text);
        ctx.note(text);
      },
    };
    this.#intervalMs = intervalMs;
    this.#charts = new History(intervalMs);
    const history = this.#charts.view();
    this.#joins = ctx.payloads === undefined ? undefined : new JoinWatch(ctx.payloads, ctx.domain);
    this.#snapshot = {
      domain: ctx.domain,
      at: null,
      intervalMs,
      actions,
      stages: [],
      error: null,
      history,
      joins: null,
      joinsError: null,
    };
  }

  /** The latest snapshot. */
  get snapshot(): PipelineSnapshot {
    return this.#snapshot;
  }

  /** Takes one sample now. */
  async sample(): Promise<void> {
    await Promise.all([this.#sampleQueues(), this.#sampleJoins()]);
  }

  /** The joins waiting, listed again every 10 s at most; the last ones kept when a listing fails. */
  async #sampleJoins(): Promise<void> {
    const seen = await this.#joins?.seen();
    if (seen === undefined) return;
    const joins = 'rows' in seen ? { joins: seen.rows, joinsError: null } : { joinsError: seen.error };
    this.#snapshot = { ...this.#snapshot, ...joins };
  }

  async #sampleQueues(): Promise<void> {
    try {
      const rows = await statusRows(this.#ctx, this.#cache);
      const now = Date.now();
      const windowMs = this.#intervalMs * RATE_WINDOW_INTERVALS;
      const stages = pipelineView(rows, rateBase(this.#history, now, windowMs), now);
      this.#history = [...this.#history.filter((s) => now - s.at <= windowMs), { rows, at: now }];
      this.#charts.add(rows, now);
      const history = this.#charts.view();
      this.#snapshot = { ...this.#snapshot, at: new Date(now).toISOString(), stages, error: null, history };
    } catch (error) {
      this.#snapshot = { ...this.#snapshot, error: failureText(error, false) };
    }
  }

  /** Samples every interval until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sample();
      try {
        await sleep(this.#intervalMs, undefined, { signal });
      } catch {
        return; // aborted
      }
    }
  }
}
