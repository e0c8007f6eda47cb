/** The `payloads` option: where bodies over a threshold are stored in S3, checked once. */
import type { S3Client } from '@aws-sdk/client-s3';
import { checkBoolean, checkInteger, checkKeys, fail, isPlainObject } from '../validate.ts';

/** Where and when sqspipes stores message bodies in S3 instead of sending them through SQS. */
export interface PayloadOptions {
  /** The S3 bucket, which must exist (sqspipes never creates it). */
  bucket: string;
  /**
   * Prefix of every key sqspipes writes: empty, or ending with `/` (e.g. `sqspipes/`). The IAM
   * grants and the lifecycle rule cover this prefix; an empty prefix means the whole bucket.
   * @default ''
   */
  prefix?: string;
  /**
   * A body larger than this many bytes (UTF-8, with its message attributes) is stored in S3 and
   * the message carries a pointer. An integer from 1 KiB to 1 MiB.
   * @default {@link DEFAULT_THRESHOLD_BYTES} (384 KiB)
   */
  threshold?: number;
  /**
   * Compress bodies (Brotli, then base64) when that saves at least a tenth and keeps them under
   * the threshold: JSON shrinks to about a fifth, so bodies up to about 1.8 MiB stay in SQS rather
   * than S3. Every sqspipes receiver decodes them; a consumer that is not sqspipes (AWS's Extended
   * Clients, a plain SQS reader) cannot, hence off by default. Objects in S3 are never compressed.
   * @default false
   */
  compress?: boolean;
  /**
   * A configured S3 client to use (not destroyed by sqspipes).
   * @default one sqspipes makes with the SQS client's region, endpoint and credentials
   */
  s3Client?: S3Client;
}

/** {@link PayloadOptions} checked, with defaults. */
export interface ResolvedPayloadOptions {
  readonly bucket: string;
  readonly prefix: string;
  readonly threshold: number;
  readonly compress: boolean;
  readonly s3Client: S3Client | undefined;
}

/**
 * SQS bills each 64 KiB chunk of a request as one request: a body of n chunks costs n sends and
 * n receives, at FIFO's $0.50 per million each ($1/M per chunk in all). Offloaded, it costs an S3
 * PUT ($5/M) and GET ($0.40/M) plus a one-chunk pointer sent and received ($1/M): $6.40/M. So a
 * body of 6 chunks or fewer is cheaper inline ($6/M) and one of 7 or more ($7/M) in S3; 384 KiB
 * is 6 chunks. (Standard queues, at $0.40/M, break even at 8 chunks; SSE-KMS without an S3 Bucket
 * Key adds a KMS request to each PUT and GET.) Prices: us-east-1, first tier.
 */
export const DEFAULT_THRESHOLD_BYTES = 384 * 1024;
/** SQS's largest message (body and attributes): above this, a body must go to S3. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** The smallest threshold: below it a pointer message would be about as large as the body. */
export const MIN_THRESHOLD_BYTES = 1024;
/** Room left in S3's 1024-byte keys after the prefix: the domain, kind and a 64-digit hash. */
export const MAX_PREFIX_BYTES = 512;

const KEYS = ['bucket', 'prefix', 'threshold', 'compress', 's3Client'] as const;

/** Checks `payloads` (undefined: payloads are off) and fills in the defaults. */
export function resolvePayloadOptions(value: unknown): ResolvedPayloadOptions | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) fail('`payloads`', 'an object with at least `bucket`', value);
  checkKeys('`payloads`', value, KEYS);
  return {
    bucket: checkBucket(value['bucket']),
    prefix: checkPrefix(value['prefix'] ?? ''),
    threshold: checkInteger(
      '`payloads.threshold`',
      value['threshold'] ?? DEFAULT_THRESHOLD_BYTES,
      MIN_THRESHOLD_BYTES,
      SQS_MAX_MESSAGE_BYTES,
    ),
    compress: checkBoolean('`payloads.compress`', value['compress'] ?? false),
    s3Client: checkS3Client(value['s3Client']),
  };
}

const BUCKET_FORMAT =
  "(3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)";

function checkBucket(value: unknown): string {
  const problem = typeof value === 'string' ? bucketNameProblem(value) : BUCKET_FORMAT;
  if (problem !== undefined) fail('`payloads.bucket`', `an S3 bucket name ${problem}`, value);
  return value as string;
}

/**
 * What S3's naming rules for general purpose buckets say of `name`, or undefined when it follows
 * them (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 */
export function bucketNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) return BUCKET_FORMAT;
  if (name.includes('..')) return 'without two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'not formatted as an IP address';
  const prefix = ['xn--', 'sthree-', 'amzn-s3-demo-'].find((p) => name.startsWith(p));
  if (prefix !== undefined) return `not starting with \`${prefix}\` (reserved by S3)`;
  const suffix = ['-s3alias', '--ol-s3', '.mrap', '--table-s3'].find((s) => name.endsWith(s));
  if (suffix !== undefined) return `not ending with \`${suffix}\` (reserved by S3)`;
  return undefined;
}

/**
 * Empty, or segments of letters, digits, `.`, `_` and `-` each followed by `/`, with no `.` or
 * `..` segment: the characters AWS's Java extended client allows, and none an IAM resource
 * pattern would read as a wildcard (`*`, `?`).
 */
function checkPrefix(value: unknown): string {
  const expectation = `empty or segments of letters, digits, '.', '_' and '-' each ending with '/' (e.g. "sqspipes/"), at most ${MAX_PREFIX_BYTES} characters`;
  if (typeof value !== 'string') fail('`payloads.prefix`', expectation, value);
  if (value === '') return value;
  const segments = value.split('/');
  const last = segments.pop();
  const ok =
    last === '' &&
    value.length <= MAX_PREFIX_BYTES &&
    segments.every((s) => /^[A-Za-z0-9._-]+$/.test(s) && s !== '.' && s !== '..');
  if (!ok) fail('`payloads.prefix`', expectation, value);
  return value;
}

/**
 * An S3Client, recognised by its shape: `@aws-sdk/client-s3` is loaded only when it is needed,
 * and a client made by another copy of the SDK would fail an `instanceof` test anyway.
 */
function checkS3Client(value: unknown): S3Client | undefined {
  if (value === undefined) return undefined;
  const client = value as { send?: unknown; config?: unknown; middlewareStack?: unknown };
  const ok =
    typeof value === 'object' &&
    value !== null &&
    typeof client.send === 'function' &&
    typeof client.config === 'object' &&
    typeof client.middlewareStack === 'object';
  if (!ok) fail('`payloads.s3Client`', 'an S3Client from @aws-sdk/client-s3', value);
  return value as S3Client;
}
