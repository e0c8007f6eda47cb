/**
 * The S3 side of stored bodies: write, read, delete in batches, check the bucket at start, and
 * check or install the lifecycle rule; join state (join-state-s3.ts) makes its calls through
 * `call()`, on the same client. Knows nothing of messages: the pointer format is pointer.ts, the
 * key layout keys.ts.
 */
import { constants as bufferConstants } from 'node:buffer';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError, describe } from '../errors.ts';
import { checkInteger } from '../validate.ts';
import type { Logger } from '../types.ts';
import { DeleteBatcher, MAX_KEYS_PER_DELETE } from './delete-batcher.ts';
import { PayloadMissingError, PayloadStoreError, PayloadTooLargeError } from './errors.ts';
import {
  evaluateLifecycle,
  LIFECYCLE_EXPIRY_DAYS,
  type LifecycleReport,
  mergeLifecycle,
} from './lifecycle.ts';
import type { ResolvedPayloadOptions } from './options.ts';
import { createS3Client, endpointOf, loadS3, type S3Sdk, type S3Source, withSignal } from './s3-client.ts';
import { diagnoseS3, missing } from './s3-diagnose.ts';

/** What a {@link PayloadStore} is made of. */
export interface PayloadStoreInit {
  readonly options: ResolvedPayloadOptions;
  /** Where sqspipes' own S3 client connects (see s3SourceOf); unused with `options.s3Client`. */
  readonly source: S3Source;
  readonly logger: Logger;
  /** How long a delete waits for others to share its call. @default 1000 */
  readonly deleteDelayMs?: number;
  /**
   * Where `deleteLater` sends its keys (the queue of pending deletes, delete-queue.ts), instead
   * of deleting them at once; must not reject.
   */
  readonly scheduleDeletes?: ((bucket: string, keys: readonly string[]) => Promise<void>) | undefined;
}

/** The object {@link PayloadStore.check} writes (and reads back) under the prefix. */
export const CHECK_KEY = 'sqspipes.check';
/** The largest body `get()` reads: a string of its bytes always fits in one JS string. */
export const MAX_READ_BYTES = bufferConstants.MAX_STRING_LENGTH;
/** A batched delete gives up after this long (the lifecycle rule deletes what is left). */
const DELETE_TIMEOUT_MS = 60_000;

/** The S3 client of a store, with what its errors are diagnosed with. */
export interface S3Connection {
  readonly sdk: S3Sdk;
  readonly s3: S3Client;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
}

export class PayloadStore {
  readonly bucket: string;
  readonly prefix: string;
  /** S3 calls made, by action (each call once, whatever the SDK's retries). */
  readonly requests = new Map<string, number>();
  readonly #options: ResolvedPayloadOptions;
  readonly #source: S3Source;
  readonly #logger: Logger;
  readonly #deletes: DeleteBatcher;
  #connection: Promise<S3Connection> | undefined;
  #closed: Promise<void> | undefined;

  constructor(init: PayloadStoreInit) {
    this.#options = init.options;
    this.bucket = init.options.bucket;
    this.prefix = init.options.prefix;
    this.#source = init.source;
    this.#logger = init.logger;
    const schedule = init.scheduleDeletes;
    this.#deletes = new DeleteBatcher(
      schedule ?? (async (bucket, keys) => void (await this.deleteKeys(bucket, keys))),
      init.deleteDelayMs,
    );
  }

  /** Stores `body` at `key` of the bucket, replacing what is there. */
  async put(key: string, body: string | Uint8Array, signal?: AbortSignal): Promise<void> {
    await this.#call('PutObject', this.bucket, key, ({ sdk, s3 }) =>
      s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'text/plain; charset=utf-8',
        }),
        withSignal(signal),
      ),
    );
  }

  /**
   * The body stored at `key` of `bucket` (a pointer may name another bucket), as UTF-8 text.
   * Throws {@link PayloadMissingError} when there is no such object or bucket,
   * {@link PayloadTooLargeError} above {@link MAX_READ_BYTES}, a PayloadStoreError for a setup
   * problem, and the SDK's error for anything else (after its retries).
   */
  async get(bucket: string, key: string, signal?: AbortSignal): Promise<string> {
    const connection = await this.#connect();
    const { sdk, s3 } = connection;
    this.#count('GetObject');
    let output;
    try {
      output = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), withSignal(signal));
    } catch (error) {
      const gone = missing(sdk, error);
      if (gone !== undefined) throw new PayloadMissingError(bucket, key, gone === 'bucket', error);
      throw this.#diagnose(connection, error, 'GetObject', bucket, key);
    }
    const size = output.ContentLength;
    if (size !== undefined && size > MAX_READ_BYTES) {
      (output.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new PayloadTooLargeError(bucket, key, size, MAX_READ_BYTES);
    }
    return (await output.Body?.transformToString('utf-8')) ?? '';
  }

  /**
   * Runs `run` with this store's S3 client, counted as `action`, its error diagnosed (as a
   * PayloadStoreError naming the bucket, the action and the fix): for the other users of this S3
   * layer, such as join state (join-state-s3.ts).
   */
  call<T>(
    action: string,
    key: string | undefined,
    run: (connection: S3Connection) => Promise<T>,
  ): Promise<T> {
    return this.#call(action, this.bucket, key, run);
  }

  /**
   * Deletes `key` of `bucket` later, batched with others: through the queue of pending deletes
   * when one is set (`scheduleDeletes`), else soon. Best effort (failures are logged).
   */
  deleteLater(bucket: string, key: string): void {
    if (this.#closed !== undefined) {
      this.#logger.warn({ bucket, key }, 'payload store closed: a stored body is left to the lifecycle rule');
      return;
    }
    this.#deletes.add(bucket, key);
  }

  /** Makes the deletes waiting now, and resolves when they ended. */
  flush(): Promise<void> {
    return this.#deletes.flush();
  }

  /**
   * Checks at start that the bucket can be used: writes a small object at `<prefix>sqspipes.check`
   * and, unless `read` is false (a producer only writes), reads it back. Throws a
   * PayloadStoreError naming the bucket, the action and the fix (missing bucket, permission or KMS
   * key denied, wrong region, credentials rejected, S3 unreachable). A write rather than
   * HeadBucket: it needs only the permissions the role uses (HeadBucket needs s3:ListBucket).
   */
  async check(access: { read?: boolean } = {}, signal?: AbortSignal): Promise<void> {
    const key = `${this.prefix}${CHECK_KEY}`;
    await this.put(
      key,
      'Written by sqspipes when it starts, to check that it can use this bucket.\n',
      signal,
    );
    if (access.read === false) return;
    await this.#call('GetObject', this.bucket, key, async ({ sdk, s3 }) => {
      const output = await s3.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }),
        withSignal(signal),
      );
      await output.Body?.transformToString();
    });
  }

  /**
   * Whether a lifecycle rule of the bucket expires the objects under the prefix, late enough (see
   * lifecycle.ts): a report to log as a warning unless its state is `ok`. A denied read is reported
   * (`unreadable`), not thrown; a missing bucket throws.
   */
  async lifecycle(signal?: AbortSignal): Promise<LifecycleReport> {
    const rules = await this.#rules(signal).catch((error: unknown) => {
      if (error instanceof PayloadStoreError && error.problem === 'access-denied') return error;
      throw error;
    });
    if (rules instanceof Error) {
      return { state: 'unreadable', description: `Cannot read the lifecycle rules: ${rules.message}` };
    }
    return evaluateLifecycle(rules, this.bucket, this.prefix);
  }

  /**
   * Adds sqspipes' rule for the prefix, expiring objects after `days` (at least
   * {@link LIFECYCLE_EXPIRY_DAYS}), to the bucket's lifecycle configuration (or brings it up to
   * date), keeping the other rules; does nothing when it is there already. Refuses an empty prefix,
   * whose rule would expire every object of the bucket. The configuration is read then replaced:
   * a change made by someone else in between is lost.
   */
  async installLifecycle(
    days = LIFECYCLE_EXPIRY_DAYS,
    signal?: AbortSignal,
  ): Promise<{ action: 'installed' | 'updated' | 'unchanged'; report: LifecycleReport }> {
    checkInteger('the lifecycle expiry in days', days, LIFECYCLE_EXPIRY_DAYS, 36_500);
    if (this.prefix === '') {
      throw new ConfigError(
        `A lifecycle rule for an empty \`payloads.prefix\` would expire every object of the S3 bucket \`${this.bucket}\` after ${days} days: set a prefix (e.g. "sqspipes/"), or add a rule of your own`,
      );
    }
    const merged = mergeLifecycle(await this.#rules(signal), this.prefix, days);
    if (merged.action !== 'unchanged') {
      await this.#call('PutBucketLifecycleConfiguration', this.bucket, undefined, ({ sdk, s3 }) =>
        s3.send(
          new sdk.PutBucketLifecycleConfigurationCommand({
            Bucket: this.bucket,
            LifecycleConfiguration: { Rules: merged.rules },
          }),
          withSignal(signal),
        ),
      );
    }
    return { action: merged.action, report: evaluateLifecycle(merged.rules, this.bucket, this.prefix) };
  }

  /** Flushes the deletes, then destroys the S3 client if sqspipes made it. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#deletes.flush();
      const connection = await this.#connection?.catch(() => undefined);
      if (connection !== undefined && this.#options.s3Client === undefined) connection.s3.destroy();
    })();
    return this.#closed;
  }

  async #rules(signal: AbortSignal | undefined) {
    return this.#call('GetBucketLifecycleConfiguration', this.bucket, undefined, async ({ sdk, s3 }) => {
      try {
        const output = await s3.send(
          new sdk.GetBucketLifecycleConfigurationCommand({ Bucket: this.bucket }),
          withSignal(signal),
        );
        return output.Rules ?? [];
      } catch (error) {
        // No class for it in the SDK: S3 answers 404 NoSuchLifecycleConfiguration for no rules.
        if (error instanceof Error && error.name === 'NoSuchLifecycleConfiguration') return [];
        throw error;
      }
    });
  }

  /**
   * Deletes `keys` of `bucket` now, in calls of up to 1000 keys; resolves with the keys that
   * could not be deleted (logged), never rejects. A missing key counts as deleted.
   */
  async deleteKeys(bucket: string, keys: readonly string[]): Promise<string[]> {
    const failed: string[] = [];
    for (let i = 0; i < keys.length; i += MAX_KEYS_PER_DELETE) {
      failed.push(...(await this.#deleteSome(bucket, keys.slice(i, i + MAX_KEYS_PER_DELETE))));
    }
    return failed;
  }

  async #deleteSome(bucket: string, keys: readonly string[]): Promise<string[]> {
    let connection: S3Connection | undefined;
    try {
      connection = await this.#connect();
      const { sdk, s3 } = connection;
      this.#count('DeleteObjects');
      const output = await s3.send(
        new sdk.DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal: AbortSignal.timeout(DELETE_TIMEOUT_MS) },
      );
      const errors = output.Errors ?? [];
      if (errors.length > 0) {
        const first = errors.slice(0, 3).map((e) => `${e.Key ?? '?'}: ${e.Code ?? '?'} ${e.Message ?? ''}`);
        this.#logger.warn(
          { bucket, failed: errors.length, of: keys.length, first },
          'some stored bodies could not be deleted; the lifecycle rule will expire them',
        );
      }
      return errors.flatMap((e) => (e.Key === undefined ? [] : [e.Key]));
    } catch (error) {
      const err =
        connection === undefined
          ? error
          : this.#diagnose(connection, error, 'DeleteObjects', bucket, undefined);
      this.#logger.warn(
        { bucket, keys: keys.length, err: describe(err) },
        'stored bodies could not be deleted; the lifecycle rule will expire them',
      );
      return [...keys];
    }
  }

  /** Runs one S3 call, counted, its error diagnosed. */
  async #call<T>(
    action: string,
    bucket: string,
    key: string | undefined,
    run: (connection: S3Connection) => Promise<T>,
  ): Promise<T> {
    const connection = await this.#connect();
    this.#count(action);
    try {
      return await run(connection);
    } catch (error) {
      throw this.#diagnose(connection, error, action, bucket, key);
    }
  }

  #diagnose(
    connection: S3Connection,
    error: unknown,
    action: string,
    bucket: string,
    key: string | undefined,
  ): unknown {
    const { sdk, region, endpoint } = connection;
    return diagnoseS3(sdk, error, { action, bucket, key, prefix: this.prefix, region, endpoint });
  }

  #count(action: string): void {
    this.requests.set(action, (this.requests.get(action) ?? 0) + 1);
  }

  /** The SDK and the client, made on first use (and again after a failed first use). */
  #connect(): Promise<S3Connection> {
    if (this.#connection === undefined) {
      const made = this.#makeConnection();
      this.#connection = made;
      made.catch(() => {
        if (this.#connection === made) this.#connection = undefined;
      });
    }
    return this.#connection;
  }

  async #makeConnection(): Promise<S3Connection> {
    const sdk = await loadS3(this.bucket);
    const given = this.#options.s3Client;
    const s3 = given ?? createS3Client(sdk, this.#source);
    const region = await s3.config.region().catch(() => undefined);
    const endpoint = given === undefined ? this.#source.endpoint : await endpointOf(given);
    return { sdk, s3, region, endpoint };
  }
}
