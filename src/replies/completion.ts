import { getOrCreate } from '../maps.ts';
import type { EndReport } from './report.ts';

/**
 * Knows when a submitted item is complete, from its end reports alone (no store but SQS).
 *
 * An item is a tree of branches, each named by a token. The item starts as one branch (token =
 * item id). A call whose single output goes on keeps its token (nothing to report). A call that
 * fans out, filters, or ends the pipeline reports its token's end, naming the branches it opened
 * (its outputs' ids, already accepted by SQS when the report is sent) and its results. The item
 * is complete when every branch opened has ended.
 *
 * Reports may arrive in any order, twice, and from two attempts of one call: the first complete
 * report of a token decides it (later ones are ignored), and a report of a branch not opened yet
 * waits until its parent names it. Branches that a failed attempt opened and a later attempt did
 * not (a stage that is not deterministic) never count: they were not named by the report that
 * decided their parent.
 */
export class Completion {
  readonly #root: string;
  /** Opened, not yet ended. */
  readonly #open = new Set<string>();
  /** Ended: what each decided report said. */
  readonly #ended = new Map<string, Decided>();
  /** Decided reports of branches not opened (yet). */
  readonly #early = new Map<string, Decided>();
  /** Parts received, by token, then by nonce (one call's report). */
  readonly #parts = new Map<string, Map<string, Map<number, EndReport>>>();

  constructor(root: string) {
    this.#root = root;
    this.#open.add(root);
  }

  /** True once every opened branch has ended. */
  get complete(): boolean {
    return this.#open.size === 0;
  }

  /** Adds one part of an end report. */
  add(report: EndReport): void {
    const token = report.token;
    if (this.#ended.has(token) || this.#early.has(token)) return;
    const byNonce = getOrCreate(this.#parts, token, () => new Map<string, Map<number, EndReport>>());
    const parts = getOrCreate(byNonce, report.nonce, () => new Map<number, EndReport>());
    parts.set(report.part, report);
    if (parts.size < report.parts) return;
    this.#parts.delete(token);
    const ordered = [...parts.values()].sort((a, b) => a.part - b.part);
    const decided: Decided = {
      stage: report.stage,
      children: ordered.flatMap((p) => p.children),
      results: ordered.flatMap((p) => p.results),
      error: ordered.find((p) => p.error !== undefined)?.error,
    };
    if (this.#open.has(token)) this.#end(token, decided);
    else this.#early.set(token, decided);
  }

  /**
   * The results, in the tree's order (a fan-out's outputs in the order produced), and the stages
   * that ended a branch without results (filtered). Meaningful once {@link complete}.
   */
  outcome(): { results: unknown[]; filteredAt: string[]; errors: { stage: string; error: string }[] } {
    const results: unknown[] = [];
    const filteredAt = new Set<string>();
    const errors: { stage: string; error: string }[] = [];
    const stack = [this.#root];
    while (stack.length > 0) {
      const token = stack.pop() as string;
      const decided = this.#ended.get(token);
      if (decided === undefined) continue;
      results.push(...decided.results);
      if (decided.error !== undefined) errors.push({ stage: decided.stage, error: decided.error });
      if (decided.children.length === 0 && decided.results.length === 0) filteredAt.add(decided.stage);
      for (let i = decided.children.length - 1; i >= 0; i--) stack.push(decided.children[i] as string);
    }
    return { results, filteredAt: [...filteredAt], errors };
  }

  #end(token: string, decided: Decided): void {
    const pending: [string, Decided][] = [[token, decided]];
    while (pending.length > 0) {
      const [t, d] = pending.pop() as [string, Decided];
      this.#open.delete(t);
      this.#ended.set(t, d);
      for (const child of d.children) {
        if (this.#ended.has(child) || this.#open.has(child)) continue;
        const early = this.#early.get(child);
        if (early === undefined) {
          this.#open.add(child);
        } else {
          this.#early.delete(child);
          pending.push([child, early]);
        }
      }
    }
  }
}

interface Decided {
  readonly stage: string;
  readonly children: readonly string[];
  readonly results: readonly unknown[];
  readonly error: string | undefined;
}
