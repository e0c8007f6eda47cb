/**
 * S3's errors read for what they say about the setup: a missing bucket or object, a permission
 * denied, the bucket in another region, rejected credentials, S3 out of reach.
 */
import { describe, SqspipesError } from '../errors.ts';
import { PayloadStoreError, type PayloadStoreProblem } from './errors.ts';
import type { S3Sdk } from './s3-client.ts';

/** One S3 call, for the error message. */
export interface S3Call {
  /** The S3 action, e.g. `PutObject`. */
  readonly action: string;
  readonly bucket: string;
  readonly key?: string | undefined;
  /** The key prefix the IAM grants cover. */
  readonly prefix: string;
  readonly region: string | undefined;
  /** undefined: AWS's default for the region. */
  readonly endpoint: string | undefined;
}

/** The IAM permission each action needs, and whether it is granted on the objects or the bucket. */
const PERMISSIONS: Readonly<Record<string, { permission: string; on: 'objects' | 'bucket' }>> = {
  PutObject: { permission: 's3:PutObject', on: 'objects' },
  GetObject: { permission: 's3:GetObject', on: 'objects' },
  DeleteObjects: { permission: 's3:DeleteObject', on: 'objects' },
  GetBucketLifecycleConfiguration: { permission: 's3:GetLifecycleConfiguration', on: 'bucket' },
  PutBucketLifecycleConfiguration: { permission: 's3:PutLifecycleConfiguration', on: 'bucket' },
};

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** S3's codes for credentials it does not accept (no SDK class exists for them). */
const BAD_CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);
const WRONG_REGION = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);

/**
 * `key` when S3 said the object does not exist, `bucket` when the bucket does not. Names back the
 * classes up: a client passed in may come from another copy of the SDK, whose classes differ.
 */
export function missing(sdk: S3Sdk, error: unknown): 'key' | 'bucket' | undefined {
  if (error instanceof sdk.NoSuchKey || nameOf(error) === 'NoSuchKey') return 'key';
  if (error instanceof sdk.NoSuchBucket || nameOf(error) === 'NoSuchBucket') return 'bucket';
  return undefined;
}

/**
 * A {@link PayloadStoreError} naming the bucket, the action and the fix when `error` says the setup
 * is wrong (a missing bucket too); any other error (a missing object, throttling, aborts) as is.
 */
export function diagnoseS3(sdk: S3Sdk, error: unknown, call: S3Call): unknown {
  if (!(error instanceof Error) || error instanceof SqspipesError || error.name === 'AbortError')
    return error;
  const name = nameOf(error) ?? '';
  const status = statusOf(error);
  const found = (problem: PayloadStoreProblem, message: string) =>
    new PayloadStoreError(
      message,
      { problem, bucket: call.bucket, key: call.key, action: call.action },
      error,
    );
  const what = `${call.action} on ${call.key === undefined ? `bucket \`${call.bucket}\`` : `s3://${call.bucket}/${call.key}`}`;
  const where = `${call.endpoint ?? "AWS's default S3 endpoint"}, region ${call.region ?? 'not set'}`;
  if (missing(sdk, error) === 'bucket' || (error instanceof sdk.NotFound && call.key === undefined)) {
    return found(
      'no-bucket',
      `The S3 bucket \`${call.bucket}\` does not exist (${what} at ${where}): create it (\`aws s3 mb s3://${call.bucket}\` in that region) or correct \`payloads.bucket\``,
    );
  }
  if (status === 301 || WRONG_REGION.has(name)) {
    const actual = bucketRegion(error);
    const region = actual === undefined ? 'another region' : `region ${actual}`;
    return found(
      'wrong-region',
      `The S3 bucket \`${call.bucket}\` is in ${region}, not ${call.region ?? 'the one set'} (${what}): sqspipes makes its S3 client in the SQS client's region; pass \`payloads.s3Client\`, an S3Client made with \`region: '${actual ?? '<the bucket region>'}'\``,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return found(
      'bad-credentials',
      `S3 rejected the credentials for ${what} (${name}: ${describe(error)}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE, the clock, and that ${where} is where they belong`,
    );
  }
  if (status === 403 || name === 'AccessDenied') return found('access-denied', denied(error, call, what));
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return found(
      'unreachable',
      `Cannot reach S3 at ${where} (${what}: ${code}): check that it is running and reachable; sqspipes uses the SQS endpoint for S3 unless AWS_ENDPOINT_URL_S3 is set`,
    );
  }
  return error;
}

function denied(error: Error, call: S3Call, what: string): string {
  if (/\bkms:/i.test(error.message)) {
    return `S3 denied ${what}: the bucket's KMS key cannot be used (${describe(error)}): grant kms:GenerateDataKey and kms:Decrypt on that key to the identity in use`;
  }
  const grant = PERMISSIONS[call.action];
  const arn = `arn:${partition(call.region)}:s3:::${call.bucket}`;
  const fix =
    grant === undefined
      ? 'grant it to the identity in use'
      : `grant ${grant.permission} on ${grant.on === 'objects' ? `${arn}/${call.prefix}*` : arn} to the identity in use`;
  const missingToo =
    call.action === 'GetObject'
      ? ` (S3 answers the same for a missing object when the identity lacks s3:ListBucket on ${arn})`
      : '';
  return `S3 denied ${what}${missingToo}: ${fix}`;
}

function nameOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { Code?: unknown }).Code;
  return typeof code === 'string' ? code : error.name;
}

function statusOf(error: Error): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The bucket's region as S3 tells it: a header on a redirect, a field of the error's body. */
function bucketRegion(error: Error): string | undefined {
  const headers = (error as { $response?: { headers?: Record<string, string | undefined> } }).$response
    ?.headers;
  const region = headers?.['x-amz-bucket-region'] ?? (error as { Region?: unknown }).Region;
  return typeof region === 'string' && region !== '' ? region : undefined;
}

function partition(region: string | undefined): string {
  if (region?.startsWith('cn-') === true) return 'aws-cn';
  if (region?.startsWith('us-gov-') === true) return 'aws-us-gov';
  return 'aws';
}
