import { describe, expect, it } from 'vitest';
import { batchResponse, type RecordEnd } from '../../src/lambda/batch-response.ts';
import { messageOfRecord, queueNameOfRecord } from '../../src/lambda/records.ts';

const end = (messageId: string, group: string | undefined, e: RecordEnd['end']): RecordEnd => ({
  messageId,
  group,
  end: e,
});
const ids = (records: readonly RecordEnd[]) =>
  batchResponse(records).batchItemFailures.map((f) => f.itemIdentifier);

describe('the answer to the event source mapping', () => {
  it('reports nothing when every record is done or dead-lettered', () => {
    expect(ids([end('1', 'a', 'done'), end('2', 'a', 'dead-lettered'), end('3', 'b', 'done')])).toEqual([]);
  });

  it('reports a failed record and every later record of its group (FIFO), not other groups', () => {
    const records = [
      end('1', 'a', 'done'),
      end('2', 'a', 'failed'),
      end('3', 'b', 'done'),
      end('4', 'a', 'done'),
      end('5', 'a', 'failed'),
      end('6', 'b', 'done'),
    ];
    expect(ids(records)).toEqual(['2', '4', '5']);
  });

  it('never reports a record dead-lettered, even after a failure of its group (it was moved with its reason)', () => {
    expect(ids([end('1', 'a', 'failed'), end('2', 'a', 'dead-lettered'), end('3', 'a', 'done')])).toEqual([
      '1',
      '3',
    ]);
  });

  it('on a standard queue (no group), reports only the failed records', () => {
    expect(ids([end('1', undefined, 'failed'), end('2', undefined, 'done')])).toEqual(['1']);
  });
});

describe('a record as a received message', () => {
  it('carries the body, handle, system attributes and message attributes (binary decoded)', () => {
    const message = messageOfRecord({
      messageId: 'm1',
      receiptHandle: 'rh',
      body: '{"v":1}',
      attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1', MessageGroupId: 'g' },
      messageAttributes: {
        s: { stringValue: 'x', dataType: 'String' },
        b: { binaryValue: Buffer.from('hi').toString('base64'), dataType: 'Binary' },
      },
      md5OfBody: 'md5',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:d-stage-p0.fifo',
      awsRegion: 'eu-west-1',
    });
    expect(message).toMatchObject({
      MessageId: 'm1',
      ReceiptHandle: 'rh',
      Body: '{"v":1}',
      Attributes: { ApproximateReceiveCount: '3', MessageGroupId: 'g' },
      MessageAttributes: { s: { StringValue: 'x', DataType: 'String' } },
    });
    expect(Buffer.from(message.MessageAttributes?.['b']?.BinaryValue ?? []).toString()).toBe('hi');
    expect(queueNameOfRecord({ eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:d-stage-p0.fifo' })).toBe(
      'd-stage-p0.fifo',
    );
  });
});
