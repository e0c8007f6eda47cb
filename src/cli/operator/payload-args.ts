/**
 * The flags that name where large bodies are stored in S3: `payloads --bucket --prefix`,
 * `enqueue`/`peek`/`dashboard`/`status --payload-bucket --payload-prefix` and
 * `iam-policy --payload-bucket --payload-prefix --payload-kms-key`. The values are checked by the
 * library's own check of the `payloads` option, reworded in the flag's words.
 */
import type { Options } from 'yargs';
import { ConfigError } from '../../errors.ts';
import { LIFECYCLE_EXPIRY_DAYS } from '../../payloads/lifecycle.ts';
import { resolvePayloadOptions } from '../../payloads/options.ts';
import { UsageError } from './errors.ts';
import { kmsKeyFlag, onlyWith, optionalString, type Parsed, quote } from './flag-values.ts';
import type { PayloadGrant } from './iam-roles.ts';
import { sqsTimeout } from './sqs-timeout.ts';

/** A bucket and a key prefix, as the `payloads` option takes them. */
export interface PayloadLocation {
  readonly bucket: string;
  /** Empty or ending with `/`. */
  readonly prefix: string;
}

/**
 * `--<bucket>` (required) and `--<prefix>` (not given: empty, the whole bucket), checked as the
 * `payloads` option's `bucket` and `prefix`.
 */
export function payloadLocation(parsed: Parsed, flags: { bucket: string; prefix: string }): PayloadLocation {
  const bucket = optionalString(parsed, flags.bucket);
  if (bucket === undefined) {
    throw new UsageError(`--${flags.bucket} is required: the S3 bucket of the \`payloads\` option`);
  }
  const prefix = optionalString(parsed, flags.prefix) ?? '';
  try {
    resolvePayloadOptions({ bucket, prefix });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw reworded(error, { bucket: [flags.bucket, bucket], prefix: [flags.prefix, prefix] });
  }
  return { bucket, prefix };
}

/** `sqspipes payloads`: the bucket and prefix to check, and whether to install the lifecycle rule. */
export interface PayloadsRequest extends PayloadLocation {
  /** `--install-lifecycle`: add sqspipes' lifecycle rule for the prefix. */
  readonly installLifecycle: boolean;
  /** `--timeout`: the whole command's bound, in ms. */
  readonly timeoutMs: number;
}

/** The flags of `payloads`, all checked before S3 is called. */
export function payloadsRequest(parsed: Parsed): PayloadsRequest {
  const location = payloadLocation(parsed, { bucket: 'bucket', prefix: 'prefix' });
  const installLifecycle = parsed['install-lifecycle'] === true;
  if (installLifecycle && location.prefix === '') {
    throw new UsageError(
      `--install-lifecycle needs --prefix: a rule for the whole bucket would expire every object of \`${location.bucket}\` after ${LIFECYCLE_EXPIRY_DAYS} days (give sqspipes' objects a prefix, the \`payloads.prefix\` option, e.g. "sqspipes/")`,
    );
  }
  return { ...location, installLifecycle, timeoutMs: sqsTimeout(parsed) };
}

/** `iam-policy`'s S3 grants: none without `--payload-bucket`. */
export function payloadGrant(parsed: Parsed): PayloadGrant | undefined {
  const given = parsed['payload-bucket'] !== undefined;
  onlyWith(parsed, ['payload-prefix', 'payload-kms-key'], 'payload-bucket', given);
  if (!given) return undefined;
  const location = payloadLocation(parsed, { bucket: 'payload-bucket', prefix: 'payload-prefix' });
  return { ...location, kmsKey: kmsKeyFlag(parsed, 'payload-kms-key') };
}

/** The yargs options `--payload-bucket` and `--payload-prefix` of a command that `uses` the bucket so. */
export function payloadBucketOptions(uses: string): Record<string, Options> {
  return {
    'payload-bucket': {
      type: 'string',
      describe: `the S3 bucket of large bodies (the client's payloads.bucket): ${uses}`,
    },
    'payload-prefix': {
      type: 'string',
      describe: 'with --payload-bucket: the key prefix, payloads.prefix (default: empty)',
    },
  };
}

/**
 * `enqueue`/`peek`/`dashboard`/`status --payload-bucket [--payload-prefix]`: where large bodies are
 * stored, to write (enqueue) or read them (peek, dashboard), and joins keep their state (status,
 * dashboard); undefined without `--payload-bucket`.
 */
export function payloadBucket(parsed: Parsed): PayloadLocation | undefined {
  const given = parsed['payload-bucket'] !== undefined;
  onlyWith(parsed, ['payload-prefix'], 'payload-bucket', given);
  return given ? payloadLocation(parsed, { bucket: 'payload-bucket', prefix: 'payload-prefix' }) : undefined;
}

/**
 * The library's `Expected \`payloads.prefix\` to be …, got …` as `--prefix must be …, got "…"`
 * (the value as typed, not cut short).
 */
function reworded(error: ConfigError, flags: Record<string, [string, string]>): UsageError {
  const match = /^Expected `payloads\.(\w+)` to be (.*), got `.*` \(\w+\)$/s.exec(error.message);
  const [flag, value] = flags[match?.[1] ?? ''] ?? [];
  if (match === null || flag === undefined || value === undefined) {
    return new UsageError(error.message, { cause: error });
  }
  return new UsageError(`--${flag} must be ${match[2] ?? ''}, got ${quote(value)}`, { cause: error });
}
