/**
 * What a message carries on its way from a split to the join that gathers its branches (the
 * `join` stage option), in its envelope:
 *
 * - `"j"`: the join scopes it is in, outermost first, each `[join stage, item, branch token]`:
 *   the item is the id of the split's input whose call opened the scope; the token names the
 *   branch (the item's id for the split's call itself, then an output's id wherever a call fans
 *   out or filters; a call with one output carries its branch on).
 * - `"je"`: a report to the join (such a message carries no value): a call on a branch ended,
 *   opening `children` (none: filtered), or the branch was dead-lettered; or, from the join's
 *   timer (its token the item's), the item's time limit has passed.
 *
 * The join's queue receives the branches' values and these reports in the item's message group,
 * one after another, and folds them (src/join/fold.ts) until every branch has ended.
 */
import { createHash } from 'node:crypto';

/** One join scope a message is in. */
export interface JoinFrame {
  /** The join stage that gathers the scope's branches. */
  readonly join: string;
  /** Id of the split's input whose call opened the scope: the joined item. */
  readonly item: string;
  /** The branch of the item this message is on. */
  readonly token: string;
}

/** A report to a join about one of its item's branches. */
export type JoinEvent =
  | {
      readonly kind: 'end';
      readonly token: string;
      readonly stage: string;
      /** One per call attempt: the parts of one report share it. */
      readonly nonce: string;
      readonly part: number;
      readonly parts: number;
      /** The branches the call opened (its outputs' ids); none: it filtered the branch out. */
      readonly children: readonly string[];
    }
  | { readonly kind: 'dead'; readonly token: string; readonly stage: string; readonly reason: string }
  /** The item's time limit (`after` ms, from its first branch at the join) has passed. */
  | { readonly kind: 'expire'; readonly token: string; readonly stage: string; readonly after: number };

/** The frames as the envelope carries them (`"j"`). */
export function encodeFrames(frames: readonly JoinFrame[]): string {
  return JSON.stringify(frames.map((f) => [f.join, f.item, f.token]));
}

/** The frames of an envelope's `"j"`: undefined when absent, null when malformed. */
export function decodeFrames(raw: unknown): readonly JoinFrame[] | undefined | null {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) return null;
  const frames: JoinFrame[] = [];
  for (const entry of raw as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) return null;
    const [join, item, token] = entry as unknown[];
    if (typeof join !== 'string' || typeof item !== 'string' || typeof token !== 'string') return null;
    frames.push({ join, item, token });
  }
  return frames;
}

/** The event as the envelope carries it (`"je"`). */
export function encodeEvent(event: JoinEvent): string {
  return JSON.stringify(event);
}

/** The event of an envelope's `"je"`: undefined when absent, null when malformed. */
export function decodeEvent(raw: unknown): JoinEvent | undefined | null {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null) return null;
  const e = raw as Record<string, unknown>;
  if (typeof e['token'] !== 'string' || typeof e['stage'] !== 'string') return null;
  if (e['kind'] === 'dead') {
    if (typeof e['reason'] !== 'string') return null;
    return { kind: 'dead', token: e['token'], stage: e['stage'], reason: e['reason'] };
  }
  if (e['kind'] === 'expire') {
    if (typeof e['after'] !== 'number') return null;
    return { kind: 'expire', token: e['token'], stage: e['stage'], after: e['after'] };
  }
  const { nonce, part, parts, children } = e;
  const ok =
    e['kind'] === 'end' &&
    typeof nonce === 'string' &&
    Number.isInteger(part) &&
    Number.isInteger(parts) &&
    (part as number) >= 0 &&
    (part as number) < (parts as number) &&
    Array.isArray(children) &&
    children.every((c) => typeof c === 'string');
  if (!ok) return null;
  return {
    kind: 'end',
    token: e['token'],
    stage: e['stage'],
    nonce: nonce,
    part: part as number,
    parts: parts as number,
    children: children,
  };
}

/**
 * The message group of an item's messages in its join's queue: every branch value and report of
 * the item, folded one after another, while other items' go in parallel.
 */
export function joinGroupId(join: string, item: string): string {
  return `j:${createHash('sha256').update(`${join}\0${item}`).digest('base64url')}`;
}

/**
 * The join scopes a call of `stage` on an input with `frames` is in: all of them, but at a join,
 * the one it closes (its outputs go on in the scopes around it).
 */
export function scopeOf(
  stage: { readonly name: string; readonly join: string | undefined },
  frames: readonly JoinFrame[] | undefined,
): readonly JoinFrame[] | undefined {
  if (frames === undefined || stage.join === undefined) return frames;
  return frames.at(-1)?.join === stage.name ? frames.slice(0, -1) : frames;
}
