/**
 * What a join knows of one item X while X's branches arrive: a plain JSON state, folded from the
 * events the join's queue receives in X's message group, stored between batches (a
 * JoinStateStore body), and the join's input once every branch has ended. Pure: no I/O.
 *
 * Events (the root token is X's id): `end`, a call on a branch ended, opening its children (none:
 * filtered), maybe in parts; `value`, a branch reached the join with a value (an end with that
 * value and no children); `dead`, the branch was dead-lettered on the way. The rules of which
 * report counts are the branch tree's (branch-tree.ts): first complete report decides, any order,
 * duplicates and other attempts ignored.
 *
 * Once the join has been called, {@link markDone} turns the state into a tombstone (stored as an
 * empty body): events that come later (duplicates, branches of an attempt that did not decide)
 * are then ignored instead of starting a new state that would never complete.
 */
import { SqspipesError } from '../errors.ts';
import { addPart, type BranchTree, decide, newBranchTree, record } from './branch-tree.ts';
import type { JoinEvent } from './frames.ts';

export const JOIN_STATE_VERSION = 1;

/** A branch reached the join with a value (its JSON text). */
export interface JoinValue {
  readonly kind: 'value';
  readonly token: string;
  readonly value: string;
}

/** What a join folds: a branch value, or a report about a branch. */
export type FoldEvent = JoinEvent | JoinValue;

/**
 * How a branch ended, compactly: children (a call ended it, opening these branches in order;
 * none: filtered), a value's JSON text (it reached the join), or where and why it was
 * dead-lettered.
 */
export type BranchEnd = readonly string[] | string | DeadEnd;

export interface DeadEnd {
  readonly stage: string;
  readonly reason: string;
}

/** X's state: plain JSON (every record with a null prototype). */
export interface JoinState extends BranchTree<BranchEnd, readonly string[]> {
  readonly v: typeof JOIN_STATE_VERSION;
  /** X's id: the root branch's token. */
  readonly root: string;
  /** The join was called: a tombstone, every event ignored. */
  done: boolean;
  /**
   * Trace contexts (`traceparent`) of the messages folded, first ones first, up to
   * {@link MAX_LINKS}: the join's span links to them (none when nothing is traced).
   */
  links: string[];
}

/** Most trace links a join keeps (OpenTelemetry's default limit of links per span). */
export const MAX_LINKS = 128;

/** What the join is called with: meaningful once {@link isComplete} (else: so far). */
export interface JoinOutcome {
  /** The values' JSON texts, in fan-out order (depth first, children in the order named). */
  readonly values: string[];
  /** Dead-lettered branches; `position`: how many values come before it in fan-out order. */
  readonly dead: { token: string; stage: string; reason: string; position: number }[];
  /** Calls that ended a branch with no children (filtered it out). */
  readonly filtered: number;
  /** Branches still awaited, in fan-out order: none once complete. */
  readonly open: string[];
}

/** Most characters of a dead branch's reason kept in the state. */
const MAX_REASON = 1000;

/** The state before any event: X's root branch open. */
export function newJoinState(root: string): JoinState {
  const tree = newBranchTree<BranchEnd, readonly string[]>(root);
  return { v: JOIN_STATE_VERSION, root, done: false, ...tree, links: [] };
}

/** Keeps the trace context of a message folded (while fewer than {@link MAX_LINKS} are kept). */
export function addLink(state: JoinState, traceparent: string | undefined): void {
  if (traceparent === undefined || state.done || state.links.length >= MAX_LINKS) return;
  if (!state.links.includes(traceparent)) state.links.push(traceparent);
}

/**
 * Folds `events` into `state`, which it changes in place and returns (O(events + children named);
 * decode a fresh state for each try of a conditional write). A tombstone is returned unchanged.
 */
export function foldEvents(state: JoinState, events: Iterable<FoldEvent>): JoinState {
  if (state.done) return state;
  for (const event of events) {
    switch (event.kind) {
      case 'end':
        addPart(state, event, event.children, joinParts, childrenOf);
        break;
      case 'value':
        decide(state, event.token, event.value, childrenOf);
        break;
      case 'dead':
        decide(
          state,
          event.token,
          { stage: event.stage, reason: event.reason.slice(0, MAX_REASON) },
          childrenOf,
        );
        break;
      case 'expire':
        break; // decides no branch: the gate dead-letters an item still incomplete
    }
  }
  return state;
}

/** True once every branch opened has ended (false for a tombstone). */
export function isComplete(state: JoinState): boolean {
  return !state.done && state.openCount === 0;
}

/** The values, dead branches and filtered count, in fan-out order; empty for a tombstone. */
export function joinOutcome(state: JoinState): JoinOutcome {
  const values: string[] = [];
  const dead: JoinOutcome['dead'] = [];
  const open: string[] = [];
  let filtered = 0;
  const seen = new Set<string>();
  const stack = state.done ? [] : [state.root];
  for (let token = stack.pop(); token !== undefined; token = stack.pop()) {
    if (seen.has(token)) continue; // a token named twice (never by our ids): counted once, no loop
    seen.add(token);
    const end = state.decided[token];
    if (end === undefined) open.push(token);
    else if (typeof end === 'string') values.push(end);
    else if (isChildren(end)) {
      if (end.length === 0) filtered++;
      for (let i = end.length - 1; i >= 0; i--) stack.push(end[i] as string);
    } else dead.push({ token, stage: end.stage, reason: end.reason, position: values.length });
  }
  return { values, dead, filtered, open };
}

/** Turns `state` into a tombstone (in place, and returns it): keeps only X's id and `done`. */
export function markDone(state: JoinState): JoinState {
  state.done = true;
  state.openCount = 0;
  state.open = record();
  state.decided = record();
  state.early = record();
  state.parts = record();
  state.links = [];
  return state;
}

/** A tombstone is the empty text (listed by its size: see the state store's `pending`). */
export function encodeJoinState(state: JoinState): string {
  return state.done ? '' : JSON.stringify(state);
}

/** A body that is not a join state of this version. */
export class JoinStateError extends SqspipesError {
  override name = 'JoinStateError';
  constructor(body: string, problem: string, cause?: unknown) {
    const start = JSON.stringify(body.slice(0, 60)) + (body.length > 60 ? '…' : '');
    const message = `A join's stored state is not a state of version ${JOIN_STATE_VERSION}: ${problem} (body: ${start})`;
    super(message, { cause });
  }
}

/** The state `text` encodes; a {@link JoinStateError} for anything else. O(size). */
export function decodeJoinState(text: string): JoinState {
  if (text === '') return markDone(newJoinState(''));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new JoinStateError(text, 'it is not JSON', error);
  }
  const fail = (problem: string): never => {
    throw new JoinStateError(text, problem);
  };
  if (!isObject(raw)) return fail('it is not an object');
  if (raw['v'] !== JOIN_STATE_VERSION) return fail(`its version is ${JSON.stringify(raw['v'])}`);
  const { root, done } = raw;
  if (typeof root !== 'string') return fail('`root` is not a string');
  if (typeof done !== 'boolean') return fail('`done` is not a boolean');
  const state = newJoinState(root);
  state.done = done;
  state.open = copy(raw['open'], (v) => (v === 1 ? v : undefined)) ?? fail('`open` is not a record of 1s');
  state.openCount = Object.keys(state.open).length;
  if (raw['openCount'] !== state.openCount) return fail('`openCount` is not the number of `open` branches');
  state.decided = copy(raw['decided'], asBranchEnd) ?? fail('`decided` is not a record of branch ends');
  state.early = copy(raw['early'], asBranchEnd) ?? fail('`early` is not a record of branch ends');
  state.parts =
    copy(raw['parts'], (byNonce) => copy(byNonce, asSlots)) ??
    fail('`parts` is not a record of slots by nonce');
  const links = raw['links'] ?? [];
  if (!isStrings(links) || links.length > MAX_LINKS) return fail('`links` is not a list of trace contexts');
  state.links = links;
  return state;
}

function joinParts(parts: (readonly string[])[]): readonly string[] {
  return parts.length === 1 ? (parts[0] as readonly string[]) : parts.flat();
}

function childrenOf(end: BranchEnd): readonly string[] {
  return isChildren(end) ? end : NO_CHILDREN;
}

const NO_CHILDREN: readonly string[] = [];

function isChildren(end: BranchEnd): end is readonly string[] {
  return Array.isArray(end);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function asBranchEnd(value: unknown): BranchEnd | undefined {
  if (typeof value === 'string' || isStrings(value)) return value;
  const dead = isObject(value) && typeof value['stage'] === 'string' && typeof value['reason'] === 'string';
  return dead ? { stage: value['stage'] as string, reason: value['reason'] as string } : undefined;
}

function asSlots(value: unknown): (string[] | null)[] | undefined {
  return Array.isArray(value) && value.every((slot) => slot === null || isStrings(slot))
    ? (value as (string[] | null)[])
    : undefined;
}

/** `value`'s entries, each through `valid`, in a null-prototype record; undefined if one fails. */
function copy<T>(value: unknown, valid: (entry: unknown) => T | undefined): Record<string, T> | undefined {
  if (!isObject(value)) return undefined;
  const out = record<T>();
  for (const key of Object.keys(value)) {
    const entry = valid(value[key]);
    if (entry === undefined) return undefined;
    out[key] = entry;
  }
  return out;
}
