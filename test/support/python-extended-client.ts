/**
 * AWS's Extended Client for Python (`amazon-sqs-extended-client` 1.0.1 with boto3), for interop tests
 * of large payloads through S3: the scripts of test/support/python/ run in the venv that
 * .ci/python-extended-client.sh builds (or that $SQSPIPES_PYTHON_EXTENDED_CLIENT names), against the
 * test backend's SQS and S3 (one endpoint, path-style S3).
 */
import { execFile } from 'node:child_process';
import { devNull } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backendEnv } from './sqs.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('../../.ci/python-extended-client.sh', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('./python/', import.meta.url));
const AWS_CONFIG = `${SCRIPTS}aws-config`;

/** The Python Extended Client, or the one sentence saying why tests that need it are skipped. */
export type PythonExtendedClientLookup =
  { readonly client: PythonExtendedClient } | { readonly skip: string };

export interface ExtendedSendOptions {
  readonly queueUrl: string;
  readonly bucket: string;
  /** An ASCII body of this many bytes, made from `seed`; or `bodyFile`. */
  readonly size?: number;
  readonly seed?: string;
  /** A file whose bytes (UTF-8 text) are the body. */
  readonly bodyFile?: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** The S3 key (the client's `S3Key` message attribute, which it sends as well); else a UUID. */
  readonly s3Key?: string;
  /** The legacy pointer class `com.amazon.sqs.javamessaging.MessageS3Pointer` and `SQSLargePayloadSize`. */
  readonly legacy?: boolean;
  /** String message attributes. */
  readonly attributes?: Readonly<Record<string, string>>;
}

export interface MessageAttributeJson {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export interface ExtendedSent {
  readonly messageId: string;
  readonly sequenceNumber: string | null;
  /** sha256 (hex) and byte length of the body given to the client. */
  readonly sha256: string;
  readonly length: number;
  /** The SendMessage request as the client sent it to SQS: the pointer and its attributes. */
  readonly sentBody: string;
  readonly sentAttributes: Readonly<Record<string, MessageAttributeJson>>;
}

export interface ExtendedReceiveOptions {
  readonly queueUrl: string;
  /** Receive until this many messages arrived. @default 1 */
  readonly count?: number;
  /** Fail when they have not arrived by then. @default 30 */
  readonly timeoutSeconds?: number;
  readonly visibilityTimeout?: number;
  /** Delete each message through the client. @default false */
  readonly delete?: boolean;
  /** With `delete`, the client deletes the S3 object too (its `delete_payload_from_s3`). @default false */
  readonly deletePayload?: boolean;
  /** Write each body to `outDir/N.body` (N from 1, in order received). */
  readonly outDir?: string;
}

export interface ExtendedReceived {
  readonly messageId: string;
  /** sha256 (hex) and byte length of the body the client returned (resolved from S3 if a pointer). */
  readonly sha256: string;
  readonly length: number;
  /** As the client returns them: without `ExtendedPayloadSize`. */
  readonly messageAttributes: Readonly<Record<string, MessageAttributeJson>>;
  /** System attributes (MessageGroupId, ApproximateReceiveCount...). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The client read the body from S3 (the message had `ExtendedPayloadSize` or `SQSLargePayloadSize`). */
  readonly offloaded: boolean;
  readonly deleted: boolean;
  readonly file?: string;
}

/** A script that reported an exception (its type, and the AWS error code of a ClientError). */
export class PythonScriptError extends Error {
  override readonly name = 'PythonScriptError';
  readonly type: string;
  readonly code: string | null;
  constructor(message: string, type: string, code: string | null) {
    super(message);
    this.type = type;
    this.code = code;
  }
}

export class PythonExtendedClient {
  readonly python: string;
  constructor(python: string) {
    this.python = python;
  }

  /** Sends one message through the Extended Client, its body always offloaded to S3. */
  async send(options: ExtendedSendOptions): Promise<ExtendedSent> {
    const args = [options.queueUrl, options.bucket];
    if (options.bodyFile !== undefined) args.push('--body-file', options.bodyFile);
    if (options.size !== undefined) args.push('--size', String(options.size));
    optional(args, '--seed', options.seed);
    optional(args, '--group-id', options.groupId);
    optional(args, '--dedup-id', options.deduplicationId);
    optional(args, '--s3-key', options.s3Key);
    if (options.legacy === true) args.push('--legacy');
    for (const [name, value] of Object.entries(options.attributes ?? {}))
      args.push(`--attribute=${name}=${value}`);
    const [sent] = await this.run('extended_send.py', args);
    return sent as unknown as ExtendedSent;
  }

  /** Receives `count` messages through the Extended Client, which resolves their pointers. */
  async receive(options: ExtendedReceiveOptions): Promise<ExtendedReceived[]> {
    const args = [options.queueUrl, '--count', String(options.count ?? 1)];
    optional(args, '--timeout', options.timeoutSeconds);
    optional(args, '--visibility-timeout', options.visibilityTimeout);
    if (options.delete === true) args.push('--delete');
    if (options.deletePayload === true) args.push('--delete-payload');
    optional(args, '--out-dir', options.outDir);
    return (await this.run('extended_receive.py', args)) as unknown as ExtendedReceived[];
  }

  /** Runs a script of test/support/python/; resolves with its stdout's JSON lines (each an object). */
  async run(script: string, args: readonly string[]): Promise<Record<string, unknown>[]> {
    const { code, stdout, stderr } = await execFileResult(this.python, [`${SCRIPTS}${script}`, ...args], {
      env: pythonEnv(),
      timeout: 120_000,
    });
    const lines = stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => parseObject(line, script, stderr));
    const error = lines.at(-1)?.['error'];
    if (code === 3 && isRecord(error)) {
      const type = String(error['type']);
      const awsCode = typeof error['code'] === 'string' ? error['code'] : null;
      throw new PythonScriptError(`${script}: ${type}: ${String(error['message'])}`, type, awsCode);
    }
    if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${code}:\n${stderr}`);
    return lines;
  }
}

/** Finds (or builds, the first time, in a few seconds) the venv; memoized for the process. */
export function pythonExtendedClient(): Promise<PythonExtendedClientLookup> {
  lookup ??= findOrBuild();
  return lookup;
}
let lookup: Promise<PythonExtendedClientLookup> | undefined;

async function findOrBuild(): Promise<PythonExtendedClientLookup> {
  const given = process.env['SQSPIPES_PYTHON_EXTENDED_CLIENT'];
  if (given !== undefined && given !== '') return { client: new PythonExtendedClient(given) };
  const { code, stdout, stderr } = await execFileResult('bash', [BUILD_SCRIPT], { timeout: 600_000 });
  const python = stdout.trim().split('\n').at(-1);
  if (code === 0 && python !== undefined) return { client: new PythonExtendedClient(python) };
  if (code === 1) {
    return {
      skip: 'No Python >= 3.10 here (.ci/python-extended-client.sh looked on PATH, in pyenv and /usr/bin), so the tests with AWS\u2019s Python Extended Client are skipped.',
    };
  }
  const last = stderr.trim().split('\n').at(-1)?.trim() ?? '';
  return {
    skip: `pip could not install amazon-sqs-extended-client 1.0.1 (is PyPI reachable? "${last}"), so the tests with AWS\u2019s Python Extended Client are skipped.`,
  };
}

/** The environment of the Python processes: the test backend for SQS and S3, and nothing of the user's AWS setup. */
export function pythonEnv(): NodeJS.ProcessEnv {
  const { endpoint, region, credentials } = backendEnv();
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_CONFIG_FILE: AWS_CONFIG,
    AWS_SHARED_CREDENTIALS_FILE: devNull,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** `--flag=value`: a value starting with `-` (a base64url id) is never taken for a flag. */
function optional(args: string[], flag: string, value: string | number | undefined): void {
  if (value !== undefined) args.push(`${flag}=${String(value)}`);
}

function execFileResult(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeout: number },
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code =
        error === null
          ? 0
          : typeof error.code === 'number'
            ? error.code
            : (error.signal ?? String(error.code));
      resolve({ code, stdout, stderr });
    });
  });
}

function parseObject(line: string, script: string, stderr: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`${script} printed a line that is not JSON: ${line}\n${stderr}`);
  }
  if (!isRecord(value)) throw new Error(`${script} printed a line that is not a JSON object: ${line}`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
