import { InvalidSecurity, KmsAccessDenied, SQSServiceException } from '@aws-sdk/client-sqs';
import { type ConnectionProblem, ConnectionError, describe, SqspipesError } from '../errors.ts';
import type { SqsTarget } from './connect.ts';

/** What sqspipes was doing when an SQS call failed for good. */
export interface SqsCall {
  /** e.g. `creating queues`, `receiving`, `sending`, `deleting`. */
  readonly step: string;
  /** The SQS action, e.g. `CreateQueue`. */
  readonly action: string;
  /** Name or URL of the queue. */
  readonly queue?: string | undefined;
}

/** Turns the error of a failed SQS call into the error to surface. */
export type Diagnose = (error: unknown, call: SqsCall) => unknown;

/**
 * How the one who reads a fix sets what it names: the library's options (TaskClientOptions) or
 * the operator CLI's flags. The environment variables and profiles of the AWS SDK work for both.
 */
export interface SettingNames {
  /** e.g. the `endpoint` option, `--endpoint`. */
  readonly endpoint: string;
  readonly region: string;
  /** Where credentials can be given besides the SDK's chain; undefined: only the SDK's chain. */
  readonly credentials: string | undefined;
  /** Where the queues' KMS key was named. */
  readonly kmsKey: string;
}

/** The words of TaskClientOptions. */
export const LIBRARY_SETTINGS: SettingNames = {
  endpoint: 'the `endpoint` option',
  region: 'the `region` option',
  credentials: 'the `credentials` option (or pass your own SQSClient as `sqs`)',
  kmsKey: 'the `kmsKeyId` option',
};

/** The words of the operator CLI (`sqspipes`): its flags; credentials come from the SDK's chain only. */
export const OPERATOR_CLI_SETTINGS: SettingNames = {
  endpoint: '--endpoint',
  region: '--region',
  credentials: undefined,
  kmsKey: "the queue's KmsMasterKeyId",
};

/** Surfaces errors as they are (no target known). */
export const passThrough: Diagnose = (error) => error;

/** A {@link Diagnose} for the client that talks to `target`, with fixes in `settings`' words. */
export function diagnoser(target: SqsTarget, settings: SettingNames = LIBRARY_SETTINGS): Diagnose {
  return (error, call) => diagnose(error, target, call, settings);
}

/** Network error codes: the endpoint cannot be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);
const UNRESOLVED = new Set(['ENOTFOUND', 'EAI_AGAIN']);
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout']);
/** SQS answers with these codes when it does not accept the credentials (no SDK class exists). */
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);
/** Names the SDK gives an answer it could not read as an SQS error. */
const UNKNOWN_ANSWERS = new Set(['Unknown', 'UnknownOperationException', 'InvalidAction']);

/** A problem found: what went wrong (and the SDK's words for it), and what to do. */
interface Finding {
  readonly problem: ConnectionProblem;
  readonly what: string;
  readonly detail?: string;
  readonly fix: string;
  readonly code: string | undefined;
}

/**
 * A {@link ConnectionError} for a failure that says the setup is wrong (unreachable endpoint,
 * something other than SQS answering, no region, missing or rejected credentials, a permission
 * denied), naming the endpoint, its source, the region, the step and the likely fix; any other
 * error (SQS's own answers, sqspipes errors, aborts) unchanged. Fixes name the settings in the
 * words of `settings`: the library's options by default.
 */
export function diagnose(
  error: unknown,
  target: SqsTarget,
  call: SqsCall,
  settings: SettingNames = LIBRARY_SETTINGS,
): unknown {
  if (!(error instanceof Error) || error instanceof SqspipesError || error.name === 'AbortError') {
    return error;
  }
  const found = findProblem(error, target, call, settings);
  if (found === undefined) return error;
  const { endpoint, source, region } = target;
  const on = call.queue === undefined ? '' : ` on ${call.queue}`;
  const detail = found.detail === undefined ? '' : `: ${found.detail}`;
  const where =
    endpoint === undefined
      ? `AWS's default for the region (no ${settings.endpoint.replace(/^the /, '')}, AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL is set)`
      : `${endpoint} (from ${sourceLabel(source, settings)})`;
  const message = `${found.what} while ${call.step} (${call.action}${on})${detail}. Endpoint: ${where}; region: ${region ?? 'not set'}. ${found.fix}`;
  const details = {
    problem: found.problem,
    endpoint,
    endpointSource: source,
    region,
    step: call.step,
    action: call.action,
    queue: call.queue,
    code: found.code,
  };
  return new ConnectionError(message, details, error);
}

function findProblem(
  error: Error,
  target: SqsTarget,
  call: SqsCall,
  settings: SettingNames,
): Finding | undefined {
  if (error instanceof SQSServiceException) return serviceProblem(error, target, call, settings);
  const code = stringField(error, 'code');
  if (code !== undefined && (UNREACHABLE.has(code) || UNRESOLVED.has(code) || isTls(code))) {
    return network(error, code, target, settings);
  }
  if (TIMEOUTS.has(error.name)) return network(error, error.name, target, settings);
  // No class to narrow with: the credential chain's error is not a dependency of ours, and the
  // region check throws a plain Error.
  if (error.name === 'CredentialsProviderError') return noCredentials(error, settings);
  if (error.message === 'Region is missing') return noRegion(settings);
  // The SDK could not read the answer (an HTML page, say): it attaches the response's metadata.
  const status = httpStatus(error);
  if (status !== undefined) return notSqs(status, target, settings);
  return undefined;
}

function serviceProblem(
  error: SQSServiceException,
  target: SqsTarget,
  call: SqsCall,
  settings: SettingNames,
): Finding | undefined {
  const code = stringField(error, 'Code') ?? error.name;
  if (error instanceof InvalidSecurity || BAD_CREDENTIALS.has(code)) {
    return badCredentials(error, code, settings);
  }
  if (error instanceof KmsAccessDenied) return kmsDenied(error, call, settings);
  if (DENIED.has(code)) return denied(error, code, call);
  if (UNKNOWN_ANSWERS.has(error.name)) return notSqs(error.$metadata.httpStatusCode, target, settings);
  return undefined;
}

function network(error: Error, code: string, target: SqsTarget, settings: SettingNames): Finding {
  const found = { problem: 'unreachable', detail: describe(error), code } as const;
  if (isTls(code)) {
    const fix =
      'If the server speaks plain HTTP (local emulators do), use an http:// endpoint; else check its certificate (NODE_EXTRA_CA_CERTS).';
    return { ...found, what: 'The TLS handshake with SQS failed', fix };
  }
  if (target.endpoint === undefined) {
    const fix = `Check the network connection (and any proxy) to AWS and the region; for a local emulator, set ${settings.endpoint} or AWS_ENDPOINT_URL_SQS.`;
    return { ...found, what: 'Cannot reach SQS', fix };
  }
  const label = sourceLabel(target.source, settings);
  if (UNRESOLVED.has(code)) {
    return {
      ...found,
      what: "Cannot resolve the SQS endpoint's host name",
      fix: `Check the host in ${label}.`,
    };
  }
  const what = TIMEOUTS.has(code) ? 'SQS did not answer in time' : 'Cannot connect to SQS';
  return {
    ...found,
    what,
    fix: `Check that the SQS server is running and listening there, or correct ${label}.`,
  };
}

function notSqs(status: number | undefined, target: SqsTarget, settings: SettingNames): Finding {
  const fix =
    target.endpoint === undefined
      ? 'A proxy may have answered instead of AWS: check HTTPS_PROXY and the region.'
      : `Something other than SQS listens there: check the host, port and path in ${sourceLabel(target.source, settings)} (LocalStack, for one, is http://localhost:4566).`;
  const shown = status === undefined ? '' : ` (HTTP ${status})`;
  return {
    problem: 'not-sqs',
    what: `Got an answer that is not an SQS response${shown}`,
    fix,
    code: undefined,
  };
}

function noRegion(settings: SettingNames): Finding {
  return {
    problem: 'no-region',
    what: 'No AWS region is set',
    fix: `Without a region there is no SQS endpoint to call: set ${settings.region} or AWS_REGION (e.g. us-east-1), or a region in your AWS profile; for a local emulator, set ${settings.endpoint} (the region then defaults to us-east-1).`,
    code: undefined,
  };
}

function noCredentials(error: Error, settings: SettingNames): Finding {
  const option = settings.credentials === undefined ? '' : `${settings.credentials}, `;
  return {
    problem: 'no-credentials',
    what: 'No AWS credentials were found',
    detail: describe(error),
    fix: `Set ${option}AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile of ~/.aws/config, e.g. after aws sso login); a local emulator accepts any values (e.g. test and test).`,
    code: error.name,
  };
}

function badCredentials(error: SQSServiceException, code: string, settings: SettingNames): Finding {
  const option = settings.credentials === undefined ? '' : ` (or ${settings.credentials})`;
  const fix = /Expired/.test(code)
    ? 'The session token has expired: get fresh credentials (e.g. aws sso login) and run again.'
    : /Signature/.test(code)
      ? `The secret access key does not match the access key id: check AWS_SECRET_ACCESS_KEY${option} and the system clock.`
      : `The access key id is unknown at this endpoint: check AWS_ACCESS_KEY_ID or AWS_PROFILE${option}, and that the endpoint and region are the ones these credentials are for.`;
  const detail = `${code}: ${error.message}`;
  return { problem: 'bad-credentials', what: 'SQS rejected the credentials', detail, fix, code };
}

function denied(error: SQSServiceException, code: string, call: SqsCall): Finding {
  // IAM authorizes a batch action under its single action's name.
  const permission = `sqs:${call.action.replace(/Batch$/, '')}`;
  const queue = call.queue ?? "the pipeline's queues";
  return {
    problem: 'access-denied',
    what: `SQS denied ${call.action}`,
    detail: `${code}: ${error.message}`,
    fix: `Grant ${permission} on ${queue} to the identity in use; \`sqspipes iam-policy\` prints a policy covering the whole pipeline.`,
    code,
  };
}

function kmsDenied(error: KmsAccessDenied, call: SqsCall, settings: SettingNames): Finding {
  return {
    problem: 'access-denied',
    what: `SQS refused ${call.action}: the queue's KMS key cannot be used`,
    detail: `${error.name}: ${error.message}`,
    fix: `Grant kms:GenerateDataKey and kms:Decrypt on the key (${settings.kmsKey}) to the identity in use.`,
    code: error.name,
  };
}

function sourceLabel(source: SqsTarget['source'], settings: SettingNames): string {
  switch (source) {
    case 'option':
      return settings.endpoint;
    case 'client':
      return 'the SQSClient passed as `sqs`';
    case 'default':
      return "AWS's default";
    default:
      return `the environment variable ${source}`;
  }
}

/** OpenSSL's and Node's codes for a failed handshake or an untrusted certificate. */
function isTls(code: string): boolean {
  return (
    code === 'EPROTO' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    /^ERR_(SSL|TLS)_/.test(code) ||
    code.includes('CERT')
  );
}

function httpStatus(error: Error): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function stringField(error: Error, field: string): string | undefined {
  const value = (error as unknown as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}
