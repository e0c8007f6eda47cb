/** The errors of bodies stored in S3 (see store.ts and pointer.ts). */
import { SqspipesError } from '../errors.ts';

/**
 * A message carries a reserved size attribute (`ExtendedPayloadSize` or `SQSLargePayloadSize`) but
 * its body is not a pointer: the message is broken, not a plain body (AWS's clients fail on it too).
 */
export class PayloadPointerError extends SqspipesError {
  override name = 'PayloadPointerError';
  readonly attribute: string;
  constructor(attribute: string, problem: string) {
    super(
      `The message carries the attribute ${attribute}, which marks a body stored in S3 (AWS's Extended Client format), but ${problem}`,
    );
    this.attribute = attribute;
  }
}

/**
 * The object a pointer names does not exist (no such key, or no such bucket): the message cannot
 * be processed, ever. Its input is to be dead-lettered with this reason, never dropped.
 */
export class PayloadMissingError extends SqspipesError {
  override name = 'PayloadMissingError';
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, bucketMissing: boolean, cause: unknown) {
    const what = bucketMissing ? `the bucket \`${bucket}\` does not exist` : 'no object has that key';
    super(
      `The body stored in S3 at s3://${bucket}/${key} is missing (${what}): it was deleted, expired by a lifecycle rule or never written`,
      { cause },
    );
    this.bucket = bucket;
    this.key = key;
  }
}

/**
 * The object a pointer names is larger than one string can hold in this process: the message can
 * never be processed here (a foreign producer may store up to S3's 5 TiB).
 */
export class PayloadTooLargeError extends SqspipesError {
  override name = 'PayloadTooLargeError';
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  constructor(bucket: string, key: string, size: number, limit: number) {
    super(
      `The body stored in S3 at s3://${bucket}/${key} has ${size} bytes, more than the ${limit} a message body can have here`,
    );
    this.bucket = bucket;
    this.key = key;
    this.size = size;
  }
}

/** Why S3 cannot be used as configured (see {@link PayloadStoreError}). */
export type PayloadStoreProblem =
  | 'no-bucket'
  | 'access-denied'
  | 'wrong-region'
  | 'bad-credentials'
  | 'unreachable'
  | 'not-installed'
  | 'not-configured';

/**
 * S3 cannot be used as configured: the bucket does not exist, a permission is denied, the bucket
 * is in another region, the credentials are rejected, S3 cannot be reached,
 * `@aws-sdk/client-s3` is not installed, or a pointer came to a client without `payloads`. A setup problem, never a stage failure: the
 * message names the bucket, the S3 action and the fix. `cause` is the SDK's error.
 */
export class PayloadStoreError extends SqspipesError {
  override name = 'PayloadStoreError';
  readonly problem: PayloadStoreProblem;
  readonly bucket: string;
  /** The object's key, when the call was about one. */
  readonly key: string | undefined;
  /** The S3 action, e.g. `PutObject`. */
  readonly action: string;
  constructor(
    message: string,
    details: { problem: PayloadStoreProblem; bucket: string; key?: string | undefined; action: string },
    cause?: unknown,
  ) {
    super(message, { cause });
    this.problem = details.problem;
    this.bucket = details.bucket;
    this.key = details.key;
    this.action = details.action;
  }
}
