/**
 * Where a join keeps the partial state of each pending item X: one object per X, read and written
 * once per received batch, behind a small interface so that another store (DynamoDB) could follow
 * S3 (join-state-s3.ts).
 *
 * Glossary:
 * - state: the body of X's object, opaque here (the join stage's own encoding).
 * - version: what a conditional write names (S3's ETag); a write of another body changes it.
 * - conflict: a conditional write or delete was refused, because the object appeared, changed or
 *   went away since it was read (S3's 412 PreconditionFailed, 409 ConditionalRequestConflict, 404
 *   NoSuchKey). It always means: read again, merge again, write again.
 *
 * The fence, where the store honours conditions (AWS S3; LocalStack 4.14 on writes): a write based
 * on a version that is no longer the current one is refused, so no write is ever lost to a
 * concurrent one, and a process whose lease on X's group lapsed (its visibility timeout passed
 * while it held a batch) cannot overwrite what the next holder of the group wrote: it gets a
 * conflict, reads the newer state, and its merge repeats work at most. A conflict may answer the
 * caller's own write (the SDK retried a write whose first answer was lost), so a merge must be
 * idempotent (a join's union of decided branch ends is). A version is S3's ETag, for a plain PUT
 * the MD5 of the body: two writes of the same body have the same version, which is harmless, as a
 * write at a version is then based on the very body that is there.
 *
 * Where the store ignores conditions (fauxqs 2.4.1 ignores them all; LocalStack 4.14 answers 501 to
 * a conditional delete, which is then made without its condition): every write succeeds and the
 * last one wins. The only fence is then the FIFO group lock (one process holds X's group at a
 * time) kept by the heartbeat that extends the batch's visibility: a process that stalls past its
 * lease (a pause longer than the visibility timeout, a heartbeat that fails) and then writes
 * replaces the newer state, losing the branch ends merged since (X then waits until the join's
 * time limit dead-letters it), or brings back a state that was deleted. Use
 * {@link JoinStateStore.supportsConditionalWrites} to warn at start.
 */

/** The answer to a conditional write or delete that was refused: read again. */
export const CONFLICT = 'conflict';
export type Conflict = typeof CONFLICT;

/** A write made: the state's new version. */
export interface Versioned {
  /** Names this state in a conditional write ({@link JoinStateStore.update}). */
  readonly version: string;
}

/** X's state as read: its body and its version. */
export interface StoredState {
  readonly body: string;
  /** Names this state in a conditional write ({@link JoinStateStore.update}). */
  readonly version: string;
}

/** One object of state per pending X, named by `id` (stable for X: e.g. the join stage and X's id). */
export interface JoinStateStore {
  /** X's state, or undefined when there is none. */
  read(id: string, signal?: AbortSignal): Promise<StoredState | undefined>;
  /** Creates X's state if there is none yet: its version, or a conflict when there is one. */
  create(id: string, body: string, signal?: AbortSignal): Promise<Versioned | Conflict>;
  /** Replaces X's state if it is still at `version`: the new version, or a conflict. */
  update(id: string, body: string, version: string, signal?: AbortSignal): Promise<Versioned | Conflict>;
  /**
   * Deletes X's state: if it is still at `version` when one is given (and the store can check it),
   * else whatever it is. A missing state counts as deleted when no version is given.
   */
  delete(id: string, version?: string, signal?: AbortSignal): Promise<'deleted' | Conflict>;
  /**
   * Whether the store refuses a create over an existing state and an update at a stale version
   * (found out once); false means the FIFO group lock and the heartbeat are the only fence.
   */
  supportsConditionalWrites(signal?: AbortSignal): Promise<boolean>;
}

/** What {@link updateState} did. */
export interface StateUpdate {
  /** The state written, or the one read when `change` returned undefined (none: undefined). */
  readonly state: StoredState | undefined;
  /** Rounds of read, change and write: 1 plus the conflicts met. */
  readonly attempts: number;
}

/**
 * Reads X's state, passes its body (undefined when there is none) to `change` and writes what that
 * returns (nothing when it returns undefined), again from the read on every conflict. `change` may
 * run several times and must be pure. Each conflict means another write won, so the loop ends
 * unless `signal` aborts it first. `beforeCreate` runs (and is awaited) before each write that
 * would create the state: what must exist before any state does (e.g. X's time limit).
 */
export async function updateState(
  store: JoinStateStore,
  id: string,
  change: (body: string | undefined) => string | undefined,
  signal?: AbortSignal,
  beforeCreate?: () => Promise<void>,
): Promise<StateUpdate> {
  for (let attempts = 1; ; attempts++) {
    signal?.throwIfAborted();
    const current = await store.read(id, signal);
    const body = change(current?.body);
    if (body === undefined) return { state: current, attempts };
    if (current === undefined) await beforeCreate?.();
    const written =
      current === undefined
        ? await store.create(id, body, signal)
        : await store.update(id, body, current.version, signal);
    if (written !== CONFLICT) return { state: { body, version: written.version }, attempts };
  }
}
