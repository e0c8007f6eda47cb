import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { LambdaSqsMessageAttribute, LambdaSqsRecord } from './types.ts';

/**
 * A record of Lambda's SQS event as the message a receive would have brought (the shape the
 * engine reads): body, receipt handle, system attributes (the receive count first of all) and
 * message attributes (a stored body's pointer, a compressed body's encoding, a timer's target).
 */
export function messageOfRecord(record: LambdaSqsRecord): Message {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.attributes)) {
    if (typeof value === 'string') attributes[name] = value;
  }
  const messageAttributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    messageAttributes[name] = attributeValue(value);
  }
  return {
    MessageId: record.messageId,
    ReceiptHandle: record.receiptHandle,
    Body: record.body,
    MD5OfBody: record.md5OfBody,
    Attributes: attributes,
    MessageAttributes: messageAttributes,
  };
}

/** The queue a record came from: the last part of its `eventSourceARN`. */
export function queueNameOfRecord(record: Pick<LambdaSqsRecord, 'eventSourceARN'>): string {
  const arn = record.eventSourceARN;
  return arn.slice(arn.lastIndexOf(':') + 1);
}

function attributeValue(value: LambdaSqsMessageAttribute): MessageAttributeValue {
  const binary = (b64: string) => Buffer.from(b64, 'base64');
  return {
    DataType: value.dataType,
    ...(value.stringValue === undefined ? {} : { StringValue: value.stringValue }),
    ...(value.binaryValue === undefined ? {} : { BinaryValue: binary(value.binaryValue) }),
    ...(value.stringListValues === undefined || value.stringListValues.length === 0
      ? {}
      : { StringListValues: [...value.stringListValues] }),
    ...(value.binaryListValues === undefined || value.binaryListValues.length === 0
      ? {}
      : { BinaryListValues: value.binaryListValues.map(binary) }),
  };
}
