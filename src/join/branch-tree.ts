/**
 * The branch tree of one item, as plain JSON: which branches are open, how each ended, in what
 * order, whatever order their reports arrive in. The rules are those of `submit()`'s completion
 * (src/replies/completion.ts), on records instead of Maps so that a tree can be stored:
 *
 * - The item starts as one open branch (its root token). A decided report of a branch ends it and
 *   opens the branches it names (its children, in order; none: filtered).
 * - The first complete report of a token decides it; later ones (duplicates, another attempt) are
 *   ignored, so branches only a non-deciding attempt named never count.
 * - A report of a branch not opened yet is kept (early) until its parent names it.
 * - A report may come in `parts` sharing a `nonce` (one per call attempt): it counts once all its
 *   parts are in; parts of two attempts never mix.
 *
 * Every record has a null prototype (any token is a safe key). Each step is O(its children).
 */

/** A record with a null prototype: no inherited keys, `__proto__` an ordinary key. */
export function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** One item's branches. `D`: how a branch ended (a decision); `P`: what one part of a report carries. */
export interface BranchTree<D, P> {
  /** How many branches are open (the keys of {@link open}): 0 is complete. */
  openCount: number;
  /** Opened, not yet ended (the value means nothing). */
  open: Record<string, 1>;
  /** Ended: the decision of each, by token. */
  decided: Record<string, D>;
  /** Decisions of branches not opened (yet). */
  early: Record<string, D>;
  /** Parts of reports not whole yet: by token, then nonce, one slot per part (null: not in yet). */
  parts: Record<string, Record<string, (P | null)[]>>;
}

/** Most parts of one report (a part carries up to 256 KiB): a larger count is not one of ours. */
const MAX_PARTS = 65_536;

/** Where a part belongs. */
export interface PartOf {
  readonly token: string;
  readonly nonce: string;
  readonly part: number;
  readonly parts: number;
}

/** A tree with its root open. */
export function newBranchTree<D, P>(root: string): BranchTree<D, P> {
  const tree: BranchTree<D, P> = {
    openCount: 1,
    open: record(),
    decided: record(),
    early: record(),
    parts: record(),
  };
  tree.open[root] = 1;
  return tree;
}

/** Whether `token` has a decision already (then any further report of it is ignored). */
export function isDecided(tree: BranchTree<unknown, unknown>, token: string): boolean {
  return tree.decided[token] !== undefined || tree.early[token] !== undefined;
}

/**
 * Adds one part of a report; once the report is whole, decides its token with `whole(parts in
 * order)`. A part of a decided token, a part number out of range, or a `parts` count other than
 * the one the first part of its nonce gave, is ignored.
 */
export function addPart<D, P>(
  tree: BranchTree<D, P>,
  at: PartOf,
  payload: P,
  whole: (parts: P[]) => D,
  childrenOf: (decision: D) => readonly string[],
): void {
  if (isDecided(tree, at.token)) return;
  if (at.parts === 1 && at.part === 0) {
    decide(tree, at.token, whole([payload]), childrenOf);
    return;
  }
  const valid = Number.isInteger(at.part) && Number.isInteger(at.parts) && at.parts <= MAX_PARTS;
  if (!valid || at.part < 0 || at.part >= at.parts) return;
  let byNonce = tree.parts[at.token];
  if (byNonce === undefined) tree.parts[at.token] = byNonce = record();
  let slots = byNonce[at.nonce];
  if (slots === undefined) byNonce[at.nonce] = slots = new Array<P | null>(at.parts).fill(null);
  if (slots.length !== at.parts) return;
  slots[at.part] = payload;
  if (slots.includes(null)) return;
  decide(tree, at.token, whole(slots as P[]), childrenOf);
}

/**
 * Decides `token` (unless it has a decision already): if it is open, it ends and opens its
 * children, each of which ends at once if its decision came early; else the decision waits.
 */
export function decide<D>(
  tree: BranchTree<D, unknown>,
  token: string,
  decision: D,
  childrenOf: (decision: D) => readonly string[],
): void {
  if (isDecided(tree, token)) return;
  delete tree.parts[token];
  if (tree.open[token] === undefined) {
    tree.early[token] = decision;
    return;
  }
  delete tree.open[token];
  tree.openCount--;
  const pending: [string, D][] = [[token, decision]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [t, d] = next;
    tree.decided[t] = d;
    for (const child of childrenOf(d)) {
      if (tree.decided[child] !== undefined || tree.open[child] !== undefined) continue;
      const early = tree.early[child];
      if (early === undefined) {
        tree.open[child] = 1;
        tree.openCount++;
      } else {
        delete tree.early[child];
        pending.push([child, early]);
      }
    }
  }
}
