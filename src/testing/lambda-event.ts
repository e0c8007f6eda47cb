import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { LambdaContextLike, LambdaSqsMessageAttribute, LambdaSqsRecord } from '../lambda/types.ts';

/**
 * What Lambda's SQS event source mapping makes of a received message (a record of the event), the
 * context it invokes with, and how it reads the answer: the pure half of `localEventSource`.
 */

const DEFAULT_ACCOUNT = '000000000000';
/** The system attributes a record of the event carries (when SQS returns them). */
const RECORD_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageGroupId',
  'MessageDeduplicationId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
] as const;

/**
 * The ids an answer lists as failed, or undefined for an answer AWS treats as a failure of the
 * whole batch. As AWS documents it: no answer, `{}` or a null `batchItemFailures` is a success;
 * an answer that is not an object, a `batchItemFailures` that is not a list, or an entry whose
 * `itemIdentifier` is empty, missing or not a message of the batch fails the batch.
 */
export function batchItemFailures(answer: unknown, ids: ReadonlySet<string>): Set<string> | undefined {
  if (answer === undefined || answer === null) return new Set();
  if (typeof answer !== 'object' || Array.isArray(answer)) return undefined;
  const list: unknown = (answer as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return undefined;
  const failed = new Set<string>();
  for (const item of list as unknown[]) {
    const id: unknown =
      typeof item === 'object' && item !== null ? Reflect.get(item, 'itemIdentifier') : undefined;
    if (typeof id !== 'string' || !ids.has(id)) return undefined;
    failed.add(id);
  }
  return failed;
}

/** The event's record of a received message (see AWS's "Using Lambda with Amazon SQS"). */
export function toRecord(message: Message, arn: string, region: string): LambdaSqsRecord {
  const attributes: Record<string, string> = {};
  for (const name of RECORD_ATTRIBUTES) {
    const value = message.Attributes?.[name];
    if (value !== undefined) attributes[name] = value;
  }
  const messageAttributes: Record<string, LambdaSqsMessageAttribute> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {}))
    messageAttributes[name] = toAttribute(value);
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: attributes as unknown as LambdaSqsRecord['attributes'],
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes === undefined
      ? {}
      : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

/** A message attribute in the event's camelCase form, binary values base64-encoded. */
function toAttribute(value: MessageAttributeValue): LambdaSqsMessageAttribute {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  return {
    ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
    ...(value.BinaryValue === undefined ? {} : { binaryValue: base64(value.BinaryValue) }),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}

/** `arn:aws:sqs:<region>:<account>:<queue name>`, the account from the URL unless given. */
export function queueArn(url: string, region: string, accountId?: string): string {
  // The path alone (an emulator's host may be no valid URL host, as fauxqs' `sqs.<region>.<ip>`).
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').split(/[?#]/)[0] ?? '';
  const segments = path.split('/').filter((s) => s !== '');
  const name = segments.at(-1) ?? '';
  const fromUrl = segments.at(-2);
  const account =
    accountId ?? (fromUrl !== undefined && /^\d{12}$/.test(fromUrl) ? fromUrl : DEFAULT_ACCOUNT);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** The context of one invocation: its remaining time counts down from the timeout. */
export function lambdaContext(
  functionName: string,
  at: { awsRequestId: string; region: string; account: string; timeoutMs: number },
): LambdaContextLike & Record<string, unknown> {
  const deadline = performance.now() + at.timeoutMs;
  return {
    awsRequestId: at.awsRequestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${at.region}:${at.account}:function:${functionName}`,
    memoryLimitInMB: '128',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${at.awsRequestId}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - performance.now())),
  };
}
