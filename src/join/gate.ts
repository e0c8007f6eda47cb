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

  /**
   * Folds the branch `envelope` (at `level`) carries into its item's state; says whether the item
   * is complete (or, for its timer's report, out of time).
   */
  async fold(envelope: Envelope | undefined, level: number, signal?: AbortSignal): Promise<Folded> {
    const { item, event } = this.#eventOf(envelope);
    const id = this.#stateId(item);
    let complete = false;
    const expire = event.kind === 'expire';
    const { state } = await updateState(
      this.#d.store,
      id,
      (body) => {
        complete = false; // each try decides anew (a conflict's re-read may find a tombstone)
        // No state: a timer of an item never folded (or whose tombstone expired): nothing to do.
        if (expire && body === undefined) return undefined;
        const current = body === undefined ? newJoinState(item) : decodeJoinState(body);
        if (current.done) return undefined; // joined already: a late duplicate, dropped
        if (expire) {
          // Out of time: the caller dead-letters it (and then finishes it). A complete one is not
          // done only when its join's call failed past its retries: it stays for a redrive.
          complete = !isComplete(current);
          return undefined;
        }
        foldEvents(current, [event]);
        addLink(current, envelope?.trace?.['traceparent']);
        complete = isComplete(current);
        return encodeJoinState(current);
      },
      signal,
      // The time limit exists before any state of the item does (a crash in between sets it again).
      async () => {
        if (!complete && envelope !== undefined) await this.#d.deadline(item, envelope, level);
      },
    );
    if (!complete || state === undefined) return { complete: false };
    const joined = decodeJoinState(state.body);
    const outcome = joinOutcome(joined);
    const links = joined.links.map((traceparent) => ({ traceparent }));
    const values = outcome.values.map((json): unknown =>
      secureJson.parse(json, undefined, { protoAction: 'remove', constructorAction: 'remove' }),
    );
    return { complete: true, item, values, dead: outcome.dead, missing: expire ? outcome.open : [], links };
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
