/**
 * The S3 client of the payload store: `@aws-sdk/client-s3` (an optional peer dependency) loaded on
 * first use, and a client made in the SQS client's region, with its credentials and endpoint.
 */
import type * as S3Module from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { checkEndpointUrl, httpHandler, type SqsTarget } from '../sqs/connect.ts';
import { PayloadStoreError } from './errors.ts';

export type S3Sdk = typeof S3Module;

/** Where sqspipes' own S3 client connects, and as whom. */
export interface S3Source {
  /** The region, as the SQS client's. */
  readonly region: string | undefined;
  /** An endpoint (an emulator's, usually the SQS one); undefined: AWS's default for the region. */
  readonly endpoint: string | undefined;
  /** The SQS client's credential provider (sharing its cache); undefined: the SDK's chain. */
  readonly credentials: S3Module.S3ClientConfig['credentials'];
}

/**
 * The S3 source of `sqs`, which talks to `target`: its region and credentials, and its endpoint
 * unless AWS_ENDPOINT_URL_S3 names another. Emulators (fauxqs, LocalStack) serve S3 on their SQS
 * endpoint, so one setting covers both.
 */
export function s3SourceOf(sqs: SQSClient, target: SqsTarget, env = process.env): S3Source {
  const ignored = env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS']?.toLowerCase() === 'true';
  const own = ignored ? undefined : env['AWS_ENDPOINT_URL_S3'];
  const endpoint =
    own === undefined || own === ''
      ? target.endpoint
      : checkEndpointUrl('AWS_ENDPOINT_URL_S3 (an environment variable)', own);
  return { region: target.region, endpoint, credentials: sqs.config.credentials };
}

let loading: Promise<S3Sdk> | undefined;

/** `@aws-sdk/client-s3`, loaded once; a {@link PayloadStoreError} when it is not installed. */
export function loadS3(bucket: string): Promise<S3Sdk> {
  loading ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    loading = undefined;
    throw new PayloadStoreError(
      'The `payloads` option stores large bodies in S3 through @aws-sdk/client-s3, which is not installed here: `npm i @aws-sdk/client-s3`',
      { problem: 'not-installed', bucket, action: 'import @aws-sdk/client-s3' },
      error,
    );
  });
  return loading;
}

/**
 * An S3 client for `source`: keep-alive sockets, a request timeout that fails a stalled transfer,
 * the SDK's retries, and path-style URLs on an endpoint (emulators serve no bucket subdomains).
 */
export function createS3Client(sdk: S3Sdk, source: S3Source): S3Module.S3Client {
  return new sdk.S3Client({
    requestHandler: httpHandler(64),
    maxAttempts: 5,
    ...(source.region === undefined ? {} : { region: source.region }),
    ...(source.endpoint === undefined ? {} : { endpoint: source.endpoint, forcePathStyle: true }),
    ...(source.credentials === undefined ? {} : { credentials: source.credentials }),
  });
}

/** The endpoint a client was configured with, as a URL; undefined for AWS's default. */
export async function endpointOf(s3: S3Module.S3Client): Promise<string | undefined> {
  const provider = s3.config.endpoint;
  if (provider === undefined) return undefined;
  const own = await provider().catch(() => undefined);
  if (own === undefined) return undefined;
  const port = own.port === undefined ? '' : `:${own.port}`;
  return `${own.protocol}//${own.hostname}${port}${own.path === '/' ? '' : own.path}`;
}

/** The SDK's send options for `signal` (the SDK's type takes no explicit undefined). */
export function withSignal(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}
