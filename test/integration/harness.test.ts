import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';

// Proves the harness: the backend chosen by the global setup speaks SQS FIFO.
describe('SQS backend smoke test', () => {
  const client = rawClient();
  const prefix = uniquePrefix('smoke');
  afterAll(async () => {
    await deleteQueuesWithPrefix(client, prefix);
    client.destroy();
  });

  it('creates a FIFO queue, sends a batch, receives it and deletes it', async () => {
    const created = await client.send(
      new CreateQueueCommand({ QueueName: `${prefix}.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    const QueueUrl = created.QueueUrl ?? '';
    const Entries = Array.from({ length: 10 }, (_, i) => ({
      Id: `m${i}`,
      MessageBody: `body ${i}`,
      MessageGroupId: `g${i}`,
      MessageDeduplicationId: `${prefix}-${i}`,
    }));
    const sent = await client.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    expect(sent.Failed ?? []).toEqual([]);
    expect(sent.Successful).toHaveLength(10);

    const bodies = new Set<string>();
    while (bodies.size < 10) {
      const got = await client.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const messages = got.Messages ?? [];
      for (const m of messages) bodies.add(m.Body ?? '');
      if (messages.length === 0) continue;
      const deleted = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
      expect(deleted.Failed ?? []).toEqual([]);
    }
    expect([...bodies].sort()).toEqual(Entries.map((e) => e.MessageBody).sort());
  });
});
