import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from './errors.ts';
import { DELETE_TIMING_OPTION, deleteQueueName, type DeleteTiming } from './time/domain-timers.ts';
import { resolvePayloadOptions, type ResolvedPayloadOptions } from './payloads/options.ts';
import { MAX_QUEUE_NAME } from './queues/naming.ts';
import { SETTLE_MS_OPTION } from './queues/provisioner.ts';
import { checkEndpointUrl } from './sqs/connect.ts';
import { checkDuration, DURATION_RANGES } from './time/duration.ts';
import type { Logger, TaskClientOptions } from './types.ts';
import { checkBoolean, checkInteger, checkKeys, checkName, fail, isPlainObject } from './validate.ts';

export interface ResolvedClientOptions {
  readonly domain: string;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly credentials: TaskClientOptions['credentials'];
  readonly sqs: SQSClient | undefined;
  readonly ignoreNone: boolean;
  readonly logger: Logger;
  readonly loggerGiven: boolean;
  readonly highThroughput: boolean;
  readonly maxSockets: number;
  readonly kmsKeyId: string | undefined;
  readonly pollWaitSeconds: number;
  readonly sendTimeout: number;
  readonly payloads: ResolvedPayloadOptions | undefined;
  /** Wait after creating a queue (see SETTLE_MS_OPTION); undefined: the provisioner's. */
  readonly settleMs: number | undefined;
  /** Hold and sweep period of the deletes of stored bodies (see DELETE_TIMING_OPTION); undefined: theirs. */
  readonly payloadDeleteTiming: DeleteTiming | undefined;
}

const CLIENT_KEYS = [
  'domain',
  'region',
  'endpoint',
  'credentials',
  'sqs',
  'ignoreNone',
  'logger',
  'highThroughput',
  'maxSockets',
  'kmsKeyId',
  'pollWaitSeconds',
  'sendTimeout',
  'payloads',
] as const;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function resolveClientOptions(options: unknown): ResolvedClientOptions {
  if (!isPlainObject(options)) fail('TaskClient options', 'an object with at least `domain`', options);
  checkKeys('TaskClient options', options, CLIENT_KEYS);
  const domain = checkName('`domain`', options['domain']);
  const region = optionalString('`region`', options['region']);
  const endpoint =
    options['endpoint'] === undefined ? undefined : checkEndpointUrl('`endpoint`', options['endpoint']);
  const sqs = options['sqs'];
  if (sqs !== undefined && !(sqs instanceof SQSClient))
    fail('`sqs`', 'an SQSClient from @aws-sdk/client-sqs', sqs);
  const logger = options['logger'] ?? silent;
  if (!isLogger(logger)) fail('`logger`', 'an object with debug, info, warn and error methods', logger);
  return {
    domain,
    region,
    endpoint,
    credentials: options['credentials'] as TaskClientOptions['credentials'],
    sqs,
    ignoreNone: checkBoolean('`ignoreNone`', options['ignoreNone'] ?? true),
    logger,
    loggerGiven: options['logger'] !== undefined,
    highThroughput: checkBoolean('`highThroughput`', options['highThroughput'] ?? true),
    maxSockets: checkInteger('`maxSockets`', options['maxSockets'] ?? 500, 1, 100_000),
    kmsKeyId: optionalString('`kmsKeyId`', options['kmsKeyId']),
    pollWaitSeconds: checkInteger('`pollWaitSeconds`', options['pollWaitSeconds'] ?? 20, 1, 20),
    sendTimeout: checkSendTimeout(options['sendTimeout'] ?? 30_000),
    payloads: checkPayloadDomain(resolvePayloadOptions(options['payloads']), domain),
    settleMs: settleMsOf(options),
    payloadDeleteTiming: deleteTimingOf(options),
  };
}

/** With `payloads`, the domain's queue of work for later (`<domain>-timers`) needs a name SQS takes. */
function checkPayloadDomain(
  payloads: ResolvedPayloadOptions | undefined,
  domain: string,
): ResolvedPayloadOptions | undefined {
  const name = deleteQueueName(domain);
  if (payloads !== undefined && name.length > MAX_QUEUE_NAME) {
    throw new ConfigError(
      `With \`payloads\`, the domain's queue of work for later \`${name}\` is ${name.length} characters, over SQS's limit of ${MAX_QUEUE_NAME}: shorten the domain (\`${domain}\`) to at most ${MAX_QUEUE_NAME - (name.length - domain.length)} characters`,
    );
  }
  return payloads;
}

function deleteTimingOf(options: object): DeleteTiming | undefined {
  const value = (options as Record<symbol, unknown>)[DELETE_TIMING_OPTION];
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) fail('payload delete timing', 'an object { holdSeconds, everyMs }', value);
  return {
    holdSeconds: checkInteger('payload delete hold', value['holdSeconds'], 0, 900),
    everyMs: checkInteger('payload delete sweep period', value['everyMs'], 1, 3_600_000),
  };
}

function settleMsOf(options: object): number | undefined {
  const value = (options as Record<symbol, unknown>)[SETTLE_MS_OPTION];
  return value === undefined ? undefined : checkInteger('queue settle time', value, 0, 10_000);
}

/** A positive duration in Node's timer range, or Infinity. */
function checkSendTimeout(value: unknown): number {
  return checkDuration('`sendTimeout`', value, DURATION_RANGES.sendTimeout);
}

function optionalString(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') fail(field, 'a non-empty string', value);
  return value;
}

function isLogger(value: unknown): value is Logger {
  return isPlainObject(value) || (typeof value === 'object' && value !== null)
    ? ['debug', 'info', 'warn', 'error'].every(
        (m) => typeof (value as Record<string, unknown>)[m] === 'function',
      )
    : false;
}
