/**
 * Join state in S3 (see join-state.ts): one object per pending X at
 * `<prefix><domain>/join/<join stage>/<sha256 of X's id>`, and once X was joined its tombstone (an
 * empty body) at `<prefix><domain>/joined/<join stage>/<sha256>` instead, made through the payload store (its client, bucket,
 * request counts and diagnosis of setup errors), with S3's conditional writes as the fence:
 * `If-None-Match: *` to create, `If-Match: <etag>` to update and delete. The permissions are those of
 * stored bodies (a conditional delete on AWS needs s3:GetObject besides s3:DeleteObject).
 */
import { SqspipesError } from '../errors.ts';
import type { Logger } from '../types.ts';
import {
  CONFLICT,
  type Conflict,
  type JoinStateStore,
  type StoredState,
  type Versioned,
} from './join-state.ts';
import { joinedKey, joinStateKey, type KeyLayout } from './keys.ts';

/** How the join's encoding writes a tombstone (src/join/fold.ts): an empty body. */
const TOMBSTONE = '';
import { missing } from './s3-diagnose.ts';
import type { PayloadStore, S3Connection } from './store.ts';
import { withSignal } from './s3-client.ts';

/** The object {@link S3JoinStateStore.supportsConditionalWrites} writes under the prefix. */
export const CONDITIONS_CHECK_KEY = 'sqspipes.check-conditions';

const PROBE_BODY = 'Written by sqspipes to find out whether this S3 honours conditional writes.\n';
/** An ETag no object has (S3's are quoted hex digits). */
const NO_SUCH_ETAG = '"sqspipes-no-such-etag"';

/** What an {@link S3JoinStateStore} is made of. */
export interface S3JoinStateInit {
  /** Its bucket, prefix and S3 client. */
  readonly store: PayloadStore;
  /** The pipeline's domain (its queue-name prefix), as in the keys of stored bodies. */
  readonly domain: string;
  /** The join stage whose items' states it keeps. */
  readonly join: string;
  readonly logger: Logger;
}

export class S3JoinStateStore implements JoinStateStore {
  readonly #store: PayloadStore;
  readonly #layout: KeyLayout;
  readonly #logger: Logger;
  readonly #join: string;
  /** false once S3 answered 501 to a conditional delete: deletes are then plain. */
  #conditionalDeletes = true;
  #conditional: Promise<boolean> | undefined;

  constructor(init: S3JoinStateInit) {
    this.#store = init.store;
    this.#layout = { prefix: init.store.prefix, domain: init.domain };
    this.#logger = init.logger;
    this.#join = init.join;
  }

  /** The S3 key of X's state. */
  keyOf(id: string): string {
    return joinStateKey(this.#layout, this.#join, id);
  }

  /** The S3 key of X's tombstone (an empty state: X was joined). */
  doneKeyOf(id: string): string {
    return joinedKey(this.#layout, this.#join, id);
  }

  /** X's state; once X was joined, its tombstone (an empty body). */
  async read(id: string, signal?: AbortSignal): Promise<StoredState | undefined> {
    const state = await this.#get(this.keyOf(id), signal);
    if (state !== undefined) return state;
    const tombstone = await this.#get(this.doneKeyOf(id), signal);
    return tombstone === undefined ? undefined : { body: TOMBSTONE, version: tombstone.version };
  }

  async #get(key: string, signal: AbortSignal | undefined): Promise<StoredState | undefined> {
    const bucket = this.#store.bucket;
    return this.#store.call('GetObject', key, async ({ sdk, s3 }) => {
      let output;
      try {
        output = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), withSignal(signal));
      } catch (error) {
        if (missing(sdk, error) === 'key') return undefined;
        throw error;
      }
      const body = (await output.Body?.transformToString('utf-8')) ?? '';
      return { body, version: etagOf(output.ETag, 'GetObject', bucket, key) };
    });
  }

  create(id: string, body: string, signal?: AbortSignal): Promise<Versioned | Conflict> {
    if (body === TOMBSTONE) return this.#bury(id, undefined, signal);
    return this.#put(this.keyOf(id), body, { IfNoneMatch: '*' }, signal);
  }

  update(id: string, body: string, version: string, signal?: AbortSignal): Promise<Versioned | Conflict> {
    if (body === TOMBSTONE) return this.#bury(id, version, signal);
    return this.#put(this.keyOf(id), body, { IfMatch: version }, signal);
  }

  /**
   * X was joined: its tombstone is written apart (listing `join/<stage>/` then counts pending
   * items only), then its state deleted if still at `version`. A crash in between leaves both:
   * reads find the state first, and the message whose join is being finished (not acknowledged
   * yet) comes back and finishes it again.
   */
  async #bury(id: string, version: string | undefined, signal?: AbortSignal): Promise<Versioned | Conflict> {
    const written = await this.#put(this.doneKeyOf(id), TOMBSTONE, {}, signal);
    if (written === CONFLICT || version === undefined) return written;
    const deleted = await this.delete(id, version, signal);
    return deleted === CONFLICT ? CONFLICT : written;
  }

  /**
   * An S3 that does not implement conditional deletes (501: LocalStack 4.14) gets plain deletes
   * from then on, with one warning.
   */
  async delete(id: string, version?: string, signal?: AbortSignal): Promise<'deleted' | Conflict> {
    const key = this.keyOf(id);
    const condition = version !== undefined && this.#conditionalDeletes ? { IfMatch: version } : {};
    const outcome = await this.#conditionalCall('DeleteObject', key, async ({ sdk, s3 }) => {
      try {
        const command = new sdk.DeleteObjectCommand({ Bucket: this.#store.bucket, Key: key, ...condition });
        await s3.send(command, withSignal(signal));
        return 'deleted' as const;
      } catch (error) {
        if (condition.IfMatch !== undefined && statusOf(error) === 501) return 'unsupported' as const;
        throw error;
      }
    });
    if (outcome !== 'unsupported') return outcome;
    if (this.#conditionalDeletes) {
      this.#conditionalDeletes = false;
      this.#logger.warn(
        { bucket: this.#store.bucket, key },
        'S3 does not implement conditional deletes (If-Match on DeleteObject answered 501): join state is deleted without checking its version',
      );
    }
    return this.delete(id, undefined, signal);
  }

  /**
   * Found out once (again after a failure), in 3 requests: writes `<prefix>sqspipes.check-conditions`
   * plainly, then creates it again with If-None-Match: * and updates it with an ETag it does not
   * have; true when S3 refuses both. Processes may probe at once: the object only ever holds the
   * same text.
   */
  supportsConditionalWrites(signal?: AbortSignal): Promise<boolean> {
    if (this.#conditional === undefined) {
      const probe = this.#probe(signal);
      this.#conditional = probe;
      probe.catch(() => {
        if (this.#conditional === probe) this.#conditional = undefined;
      });
    }
    return this.#conditional;
  }

  async #probe(signal: AbortSignal | undefined): Promise<boolean> {
    const key = `${this.#store.prefix}${CONDITIONS_CHECK_KEY}`;
    await this.#store.put(key, PROBE_BODY, signal);
    const created = await this.#put(key, PROBE_BODY, { IfNoneMatch: '*' }, signal);
    const updated = await this.#put(key, PROBE_BODY, { IfMatch: NO_SUCH_ETAG }, signal);
    return created === CONFLICT && updated === CONFLICT;
  }

  #put(
    key: string,
    body: string,
    condition: { IfNoneMatch: string } | { IfMatch: string } | Record<string, never>,
    signal: AbortSignal | undefined,
  ): Promise<Versioned | Conflict> {
    const bucket = this.#store.bucket;
    return this.#conditionalCall('PutObject', key, async ({ sdk, s3 }) => {
      const output = await s3.send(
        new sdk.PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          // Given, so that an empty body (a tombstone) is not taken for a stream of unknown length.
          ContentLength: Buffer.byteLength(body),
          ContentType: 'text/plain; charset=utf-8',
          ...condition,
        }),
        withSignal(signal),
      );
      return { version: etagOf(output.ETag, 'PutObject', bucket, key) };
    });
  }

  /** One S3 call of the store whose refused condition is a conflict, not an error. */
  #conditionalCall<T>(
    action: string,
    key: string,
    run: (c: S3Connection) => Promise<T>,
  ): Promise<T | Conflict> {
    return this.#store.call(action, key, async (connection) => {
      try {
        return await run(connection);
      } catch (error) {
        if (isConflict(connection, error)) return CONFLICT;
        throw error;
      }
    });
  }
}

/**
 * S3 refused a condition: 412 PreconditionFailed (the ETag differs, or an object exists), 409
 * ConditionalRequestConflict (a concurrent write won), 404 NoSuchKey (If-Match on a missing
 * object). The SDK has no class for the first two.
 */
function isConflict({ sdk }: S3Connection, error: unknown): boolean {
  if (statusOf(error) === 412 || missing(sdk, error) === 'key') return true;
  const name = error instanceof Error ? error.name : undefined;
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function etagOf(etag: string | undefined, action: string, bucket: string, key: string): string {
  if (etag === undefined)
    throw new SqspipesError(`S3 answered ${action} on s3://${bucket}/${key} without an ETag`);
  return etag;
}
