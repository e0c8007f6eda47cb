/**
 * The joins waiting, read from the payloads bucket (ListObjectsV2: s3:ListBucket on the bucket). A
 * join stage keeps each pending item's state as one object under `joinPrefix` (join-state-s3.ts),
 * rewritten on every branch it folds; a joined or dead-lettered item's state is replaced by an
 * empty tombstone under `joined/` instead. So under that prefix each object is an item waiting for
 * branches, and its LastModified the last time one of them was folded.
 */
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { joinPrefix, kindPrefix, type KeyLayout } from './keys.ts';
import type { PayloadStore, S3Connection } from './store.ts';
import { withSignal } from './s3-client.ts';

/** The most objects a listing reads: 10 calls of 1000. */
export const MAX_LISTED = 10_000;
/** S3's most keys per ListObjectsV2 answer. */
const PAGE = 1000;

/** What {@link listPendingJoins} found of one join stage. */
export interface PendingJoins {
  /** Items waiting for branches among the objects listed. */
  readonly waiting: number;
  /** The listing stopped at {@link MAX_LISTED} objects: `waiting` is a lower bound. */
  readonly capped: boolean;
  /** When the pending item folded longest ago was last folded; undefined when none waits. */
  readonly oldest: Date | undefined;
}

/** `waiting`, with `+` when the listing was capped: `3`, `10000+`. */
export function waitingText(joins: Pick<PendingJoins, 'waiting' | 'capped'>): string {
  return `${joins.waiting}${joins.capped ? '+' : ''}`;
}

/**
 * The items join stage `join` of `domain` holds waiting for branches, in the bucket of `store`:
 * one ListObjectsV2 call per 1000 waiting items, reading at most `max`.
 */
export async function listPendingJoins(
  store: PayloadStore,
  domain: string,
  join: string,
  signal?: AbortSignal,
  max = MAX_LISTED,
): Promise<PendingJoins> {
  const prefix = joinPrefix(layoutOf(store, domain), join);
  let waiting = 0;
  let listed = 0;
  let oldest: Date | undefined;
  let token: string | undefined;
  do {
    const page = await listPage(store, { prefix, token, maxKeys: Math.min(PAGE, max - listed) }, signal);
    for (const object of page.Contents ?? []) {
      listed++;
      if ((object.Size ?? 0) === 0) continue; // a tombstone (none here since they moved to joined/)
      waiting++;
      const at = object.LastModified;
      if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at;
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined && listed < max);
  return { waiting, capped: token !== undefined, oldest };
}

/**
 * The join stages of `domain` with states or tombstones in the bucket of `store` (the names under
 * `<prefix><domain>/join/` and `/joined/`), sorted; for a caller that cannot tell a join from its
 * queues (their tags do not say), such as the operator CLI.
 */
export async function listJoinStages(
  store: PayloadStore,
  domain: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const stages = new Set<string>();
  for (const kind of ['join', 'joined'] as const) {
    for (const name of await listNames(store, kindPrefix(layoutOf(store, domain), kind), signal))
      stages.add(name);
  }
  return [...stages].sort();
}

/** The names of the "folders" right under `prefix`. */
async function listNames(
  store: PayloadStore,
  prefix: string,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const stages = new Set<string>();
  let token: string | undefined;
  do {
    const page = await listPage(store, { prefix, token, delimiter: '/' }, signal);
    for (const common of page.CommonPrefixes ?? []) {
      const name = common.Prefix?.slice(prefix.length, -1);
      if (name !== undefined && name !== '') stages.add(name);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return [...stages].sort();
}

/** One ListObjectsV2 call of the store (counted, its error diagnosed). */
function listPage(
  store: PayloadStore,
  page: { prefix: string; token: string | undefined; delimiter?: string; maxKeys?: number },
  signal: AbortSignal | undefined,
): Promise<ListObjectsV2CommandOutput> {
  return store.call('ListObjectsV2', page.prefix, ({ sdk, s3 }: S3Connection) =>
    s3.send(
      new sdk.ListObjectsV2Command({
        Bucket: store.bucket,
        Prefix: page.prefix,
        ...(page.delimiter === undefined ? {} : { Delimiter: page.delimiter }),
        ...(page.maxKeys === undefined ? {} : { MaxKeys: page.maxKeys }),
        ...(page.token === undefined ? {} : { ContinuationToken: page.token }),
      }),
      withSignal(signal),
    ),
  );
}

function layoutOf(store: PayloadStore, domain: string): KeyLayout {
  return { prefix: store.prefix, domain };
}
