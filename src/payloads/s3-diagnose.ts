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

/**
 * How a fix names what to set: the `payloads` option (the library's words) or the operator CLI's
 * flags. The AWS SDK's environment variables work for both.
 */
export interface S3SettingNames {
  /** Where the bucket is named, e.g. `` `payloads.bucket` ``, `--payload-bucket`. */
  readonly bucket: string;
  /** The fix for a bucket in `region` (undefined: S3 did not say), not the S3 client's. */
  readonly otherRegion: (region: string | undefined) => string;
  /** Where S3's endpoint comes from, said after "check that it is running and reachable; ". */
  readonly endpoint: string;
}

/** The words of the `payloads` option. */
export const LIBRARY_S3_SETTINGS: S3SettingNames = {
  bucket: '`payloads.bucket`',
  otherRegion: (region) =>
    `sqspipes makes its S3 client in the SQS client's region; pass \`payloads.s3Client\`, an S3Client made with \`region: '${region ?? '<the bucket region>'}'\``,
  endpoint: 'sqspipes uses the SQS endpoint for S3 unless AWS_ENDPOINT_URL_S3 is set',
};

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
 * is wrong (a missing bucket too), the fix in `settings`' words; any other error (a missing
 * object, throttling, aborts) as is.
 */
export function diagnoseS3(
  sdk: S3Sdk,
  error: unknown,
  call: S3Call,
  settings: S3SettingNames = LIBRARY_S3_SETTINGS,
): unknown {
  if (!(error instanceof Error) || error instanceof SqspipesError || error.name === 'AbortError')
    return error;
  const name = nameOf(error) ?? '';
  const status = statusOf(error);
  let problem: DiagnosedProblem | undefined;
  if (missing(sdk, error) === 'bucket' || (error instanceof sdk.NotFound && call.key === undefined)) {
    problem = 'no-bucket';
  } else if (status === 301 || WRONG_REGION.has(name)) problem = 'wrong-region';
  else if (BAD_CREDENTIALS.has(name)) problem = 'bad-credentials';
  else if (status === 403 || name === 'AccessDenied') problem = 'access-denied';
  else {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) problem = 'unreachable';
  }
  if (problem === undefined) return error;
  return new PayloadStoreError(
    messageOf(problem, error, call, settings),
    { problem, bucket: call.bucket, key: call.key, action: call.action },
    error,
  );
}

/** The problems {@link diagnoseS3} finds. */
type DiagnosedProblem = Exclude<PayloadStoreProblem, 'not-installed' | 'not-configured'>;
const DIAGNOSED: ReadonlySet<PayloadStoreProblem> = new Set<DiagnosedProblem>([
  'no-bucket',
  'wrong-region',
  'bad-credentials',
  'access-denied',
  'unreachable',
]);

/**
 * `error`, one {@link diagnoseS3} made, with its fix in `settings`' words (`at`: what the call was
 * made with besides what the error holds); any other error as is.
 */
export function inS3Words(
  error: unknown,
  at: Pick<S3Call, 'prefix' | 'region' | 'endpoint'>,
  settings: S3SettingNames,
): unknown {
  if (!(error instanceof PayloadStoreError) || !(error.cause instanceof Error)) return error;
  if (!DIAGNOSED.has(error.problem)) return error;
  const { problem, bucket, key, action } = error;
  const call = { ...at, action, bucket, key };
  const message = messageOf(problem as DiagnosedProblem, error.cause, call, settings);
  return new PayloadStoreError(message, { problem, bucket, key, action }, error.cause);
}

function messageOf(problem: DiagnosedProblem, error: Error, call: S3Call, settings: S3SettingNames): string {
  const what = `${call.action} on ${call.key === undefined ? `bucket \`${call.bucket}\`` : `s3://${call.bucket}/${call.key}`}`;
  const where = `${call.endpoint ?? "AWS's default S3 endpoint"}, region ${call.region ?? 'not set'}`;
  switch (problem) {
    case 'no-bucket':
      return `The S3 bucket \`${call.bucket}\` does not exist (${what} at ${where}): create it (\`aws s3 mb s3://${call.bucket}\` in that region) or correct ${settings.bucket}`;
    case 'wrong-region': {
      const actual = bucketRegion(error);
      const region = actual === undefined ? 'another region' : `region ${actual}`;
      return `The S3 bucket \`${call.bucket}\` is in ${region}, not ${call.region ?? 'the one set'} (${what}): ${settings.otherRegion(actual)}`;
    }
    case 'bad-credentials':
      return `S3 rejected the credentials for ${what} (${nameOf(error) ?? ''}: ${describe(error)}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE, the clock, and that ${where} is where they belong`;
    case 'access-denied':
      return denied(error, call, what);
    case 'unreachable':
      return `Cannot reach S3 at ${where} (${what}: ${String((error as { code?: unknown }).code)}): check that it is running and reachable; ${settings.endpoint}`;
  }
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
