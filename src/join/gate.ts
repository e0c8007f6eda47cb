/**
 * A join stage's side (the `join` stage option): each message of its queue is a branch of some
 * item X (a value, or a report on branches: see frames.ts), and arrives in X's message group, so
 * X's messages are folded one after another while other items' go on in parallel. A fold reads
 * X's state, adds the message and writes it back (a conditional write: a process whose lease
 * lapsed meets a conflict and reads again); once every branch of X has ended, the join's function
 * is called with the values in fan-out order, and after its outputs were accepted X's state
 * becomes a tombstone (a few bytes), so that a late duplicate, or a branch of an attempt that did
 * not count, finds it and is dropped rather than starting a state that would never complete. The
 * tombstone stays until the bucket's lifecycle rule expires it (15 days: longer than any message
 * lives in a queue).
 */
import secureJson from 'secure-json-parse';
import type { Envelope } from '../envelope.ts';
import { SqspipesError } from '../errors.ts';
import { type JoinStateStore, updateState } from '../payloads/join-state.ts';
import type { TraceCarrier } from '../observe/telemetry.ts';
import type { Stage } from '../stage.ts';
import type { SetDeadline } from './deadline.ts';
import {
  addLink,
  decodeJoinState,
  encodeJoinState,
  type FoldEvent,
  foldEvents,
  isComplete,
  joinOutcome,
  markDone,
  newJoinState,
} from './fold.ts';

/** What folding one message made of its item. */
export type Folded =
  /** Branches are still awaited (or the item was joined already). */
  | { readonly complete: false }
  | {
      /** Every branch ended; or, with `missing`, the item's time limit passed first. */
      readonly complete: true;
      readonly item: string;
      /** The branches' values, in fan-out order. */
      readonly values: unknown[];
      /** Branches dead-lettered on the way, in fan-out order. */
      readonly dead: readonly DeadBranch[];
      /** Branches still awaited when the time limit passed (else none), in fan-out order. */
      readonly missing: readonly string[];
      /** Trace contexts of the messages folded (up to 128): the join's span links to them. */
      readonly links: readonly TraceCarrier[];
    };

/** A branch dead-lettered on the way; `position`: how many values come before it. */
export interface DeadBranch {
  readonly token: string;
  readonly stage: string;
  readonly reason: string;
  readonly position: number;
}

/** What folding messages of one item made of it. */
export interface FoldedBatch {
  /** Per message: why it is no branch of the item folded (it fails alone), or undefined. */
  readonly errors: readonly (NotABranchError | undefined)[];
  /** The message that completed the item (or found it out of time); undefined: none did. */
  readonly by: number | undefined;
  readonly folded: Folded;
}

const NOT_COMPLETE: Folded = { complete: false };

/** Most messages of one item folded at once (one read and write of its state). */
export const JOIN_FOLD_MAX = 100;

/** A message in a join's queue that is no branch of it: it is dead-lettered. */
export class NotABranchError extends SqspipesError {
  override name = 'NotABranchError';
}

export interface JoinGateDeps {
  readonly stage: Stage;
  readonly store: JoinStateStore;
  /** Sets an item's time limit, before its state is first written. */
  readonly deadline: SetDeadline;
}

export class JoinGate {
  readonly #d: JoinGateDeps;

  constructor(deps: JoinGateDeps) {
    this.#d = deps;
  }

  /** Folds one message: {@link foldAll} of it alone (a message that is no branch throws). */
  async fold(envelope: Envelope | undefined, level: number, signal?: AbortSignal): Promise<Folded> {
    const { errors, folded } = await this.foldAll([envelope], level, signal);
    if (errors[0] !== undefined) throw errors[0];
    return folded;
  }

  /**
   * Folds the branches that `envelopes` (messages of one item's group, in order, at `level`)
   * carry into the item's state, with one read and one write; says which message, if any,
   * completed the item (or, its timer's report, found it out of time). Messages after that one
   * change nothing (the item has all it waits for). A message that is no branch of the item
   * fails alone; the others are folded.
   */
  async foldAll(
    envelopes: readonly (Envelope | undefined)[],
    level: number,
    signal?: AbortSignal,
  ): Promise<FoldedBatch> {
    const errors: (NotABranchError | undefined)[] = [];
    const events: { index: number; event: FoldEvent; traceparent: string | undefined }[] = [];
    let item: string | undefined;
    let first: Envelope | undefined;
    for (const [index, envelope] of envelopes.entries()) {
      try {
        const of = this.#eventOf(envelope);
        item ??= of.item;
        first ??= envelope;
        // Another item in the same group (a hash collision, in theory): it fails, and comes back alone.
        if (of.item !== item) throw new NotABranchError(`item ${of.item} waits for ${item}'s fold`);
        events.push({ index, event: of.event, traceparent: envelope?.trace?.['traceparent'] });
        errors.push(undefined);
      } catch (error) {
        if (!(error instanceof NotABranchError)) throw error;
        errors.push(error);
      }
    }
    if (item === undefined || first === undefined) return { errors, by: undefined, folded: NOT_COMPLETE };
    const joined = item;
    const creator = first;
    let by: number | undefined;
    let expired = false;
    const { state } = await updateState(
      this.#d.store,
      this.#stateId(joined),
      (body) => {
        by = undefined; // each try decides anew (a conflict's re-read may find a tombstone)
        expired = false;
        // No state: a timer of an item never folded (or whose tombstone expired): nothing to do.
        if (body === undefined && events.every((e) => e.event.kind === 'expire')) return undefined;
        const current = body === undefined ? newJoinState(joined) : decodeJoinState(body);
        if (current.done) return undefined; // joined already: late duplicates, dropped
        for (const { index, event, traceparent } of events) {
          if (event.kind === 'expire') {
            // Out of time: the caller dead-letters it (then finishes it). A complete item is not
            // done only when its join's call failed past its retries: it stays for a redrive.
            if (isComplete(current)) continue;
            by = index;
            expired = true;
            break;
          }
          foldEvents(current, [event]);
          addLink(current, traceparent);
          if (isComplete(current)) {
            by = index;
            break;
          }
        }
        const text = encodeJoinState(current);
        return text === body ? undefined : text; // nothing new (duplicates): no write
      },
      signal,
      // The time limit exists before any state of the item does (a crash in between sets it again).
      async () => {
        if (by === undefined) await this.#d.deadline(joined, creator, level);
      },
    );
    if (by === undefined || state === undefined) return { errors, by: undefined, folded: NOT_COMPLETE };
    const done = decodeJoinState(state.body);
    const outcome = joinOutcome(done);
    const links = done.links.map((traceparent) => ({ traceparent }));
    const values = outcome.values.map((json): unknown =>
      secureJson.parse(json, undefined, { protoAction: 'remove', constructorAction: 'remove' }),
    );
    const missing = expired ? outcome.open : [];
    return {
      errors,
      by,
      folded: { complete: true, item: joined, values, dead: outcome.dead, missing, links },
    };
  }

  /**
   * The join of `item` is done (its outputs accepted, or it was dead-lettered): its state becomes
   * a tombstone.
   */
  async finish(item: string, signal?: AbortSignal): Promise<void> {
    const id = this.#stateId(item);
    await updateState(
      this.#d.store,
      id,
      (body) => {
        const current = body === undefined ? newJoinState(item) : decodeJoinState(body);
        return current.done ? undefined : encodeJoinState(markDone(current));
      },
      signal,
    );
  }

  /** The item and the event a message of the join's queue carries. */
  #eventOf(envelope: Envelope | undefined): { item: string; event: FoldEvent } {
    const stage = this.#d.stage.name;
    const scope = envelope?.frames?.at(-1);
    if (envelope === undefined || scope === undefined || scope.join !== stage) {
      throw new NotABranchError(
        `a message in the queue of join stage \`${stage}\` must be a branch of one of its items (sent by the stages between \`${this.#d.stage.join ?? '?'}\` and \`${stage}\`); this one is in no scope of \`${stage}\``,
      );
    }
    if (envelope.event !== undefined) {
      if (envelope.event.token !== scope.token) {
        throw new NotABranchError(`a report to join stage \`${stage}\` names another branch than its scope`);
      }
      return { item: scope.item, event: envelope.event };
    }
    return {
      item: scope.item,
      event: { kind: 'value', token: scope.token, value: JSON.stringify(envelope.value ?? null) },
    };
  }

  /** Names X's state: the join stage and X's id (a stage name has no `:`). */
  #stateId(item: string): string {
    return `${this.#d.stage.name}:${item}`;
  }
}
