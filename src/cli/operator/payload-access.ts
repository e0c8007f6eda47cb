/**
 * S3 for the commands that send or show messages (`enqueue`, `peek`, `dashboard`, `status` with
 * `--payload-bucket`): the payload store, and its errors in the CLI's words. The store only writes
 * (enqueue), reads (peek, dashboard) and lists join states (status, dashboard): the CLI never
 * deletes a stored body.
 */
import { PayloadStoreError } from '../../payloads/errors.ts';
import { resolvePayloadOptions } from '../../payloads/options.ts';
import { inS3Words, type S3SettingNames } from '../../payloads/s3-diagnose.ts';
import type { S3Source } from '../../payloads/s3-client.ts';
import { PayloadStore } from '../../payloads/store.ts';
import type { Logger } from '../../types.ts';
import type { PayloadLocation } from './payload-args.ts';

/** The payload store of a command, and how to say its errors. */
export interface PayloadAccess {
  readonly store: PayloadStore;
  /** Its prefix (`--payload-prefix`), empty or ending with `/`. */
  readonly prefix: string;
  /** Where S3 is, for a message: `region …, endpoint …`. */
  readonly where: string;
  /** A PayloadStoreError naming the CLI's flags instead of the `payloads` option; others as they are. */
  readonly explain: (error: unknown) => unknown;
}

/** The operator CLI's words for S3 fixes, the bucket named by `bucketFlag` (e.g. `--payload-bucket`). */
export function operatorS3Settings(bucketFlag: string): S3SettingNames {
  return {
    bucket: bucketFlag,
    otherRegion: () =>
      "the operator CLI makes its S3 client in the SQS client's region (--region, AWS_REGION), so it cannot use a bucket of another region",
    endpoint:
      'the operator CLI uses the SQS endpoint (--endpoint, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL) for S3 unless AWS_ENDPOINT_URL_S3 is set',
  };
}

/** The store of `--payload-bucket`/`--payload-prefix`, reached at `source` (see s3SourceOf). */
export function payloadAccess(location: PayloadLocation, source: S3Source, logger: Logger): PayloadAccess {
  const options = resolvePayloadOptions({ bucket: location.bucket, prefix: location.prefix });
  if (options === undefined) throw new Error('unreachable: the payloads option is given');
  const store = new PayloadStore({ options, source, logger });
  const at = { prefix: location.prefix, region: source.region, endpoint: source.endpoint };
  const settings = operatorS3Settings('--payload-bucket');
  const where = `region ${source.region ?? 'not set'}, endpoint ${source.endpoint ?? "AWS's default for S3"}`;
  return { store, prefix: location.prefix, where, explain: (error) => explainS3(error, at, settings) };
}

/** `error` in the CLI's words (see {@link PayloadAccess.explain}). */
export function explainS3(
  error: unknown,
  at: { prefix: string; region: string | undefined; endpoint: string | undefined },
  settings: S3SettingNames,
): unknown {
  if (error instanceof PayloadStoreError && error.problem === 'not-installed') {
    return new PayloadStoreError(
      `${settings.bucket} stores and reads bodies in S3 through @aws-sdk/client-s3, which is not installed here: \`npm i @aws-sdk/client-s3\` beside sqspipes`,
      { problem: error.problem, bucket: error.bucket, action: error.action },
      error.cause,
    );
  }
  return inS3Words(error, at, settings);
}
