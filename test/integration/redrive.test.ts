/**
 * redriveQueue against a real SQS-compatible server: it moves what the dead-letter queue held when
 * it started, and stops even when what it moves comes straight back into the dead-letter queue.
 */
import { CreateQueueCommand, type Message, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { queueDepths } from '../../src/queues/depths.ts';
import { redriveQueue } from '../../src/queues/redrive.ts';
import { SqsIo } from '../../src/sqs/sqs-io.ts';
import { rawClient, testDomain } from '../support/sqs.ts';

describe('redriveQueue', () => {
  const prefix = testDomain('redrive');
  const raw = rawClient();
  const io = new SqsIo(raw);

  afterAll(async () => {
    await io.flush();
    raw.destroy();
  });

  async function fifoQueue(name: string): Promise<string> {
    const out = await raw.send(
      new CreateQueueCommand({
        QueueName: `${prefix}-${name}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    );
    return out.QueueUrl ?? '';
  }

  /** `count` envelopes at level `level`, in groups of three (so that order within a group matters). */
  function envelopes(label: string, count: number, level = 0): string[] {
    return Array.from({ length: count }, (_, i) =>
      JSON.stringify({ v: 1, id: `${label}${i}`, p: level, d: i }),
    );
  }

  async function sendAll(url: string, bodies: readonly string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
      const Entries = bodies.slice(i, i + 10).map((MessageBody, j) => ({
        Id: String(j),
        MessageBody,
        MessageGroupId: `g${(i + j) % 3}`,
        MessageDeduplicationId: `${prefix}-${url.length}-${i + j}`,
      }));
      const out = await raw.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
      expect(out.Failed ?? []).toEqual([]);
    }
  }

  /** Receives (and deletes) every visible message of `url`, until a receive comes back empty. */
  async function drain(url: string): Promise<Message[]> {
    const all: Message[] = [];
    while (true) {
      const messages = await io.receive(url, 10, 1, 30);
      if (messages.length === 0) return all;
      all.push(...messages);
      await Promise.all(messages.map((m) => io.delete(url, { receiptHandle: m.ReceiptHandle ?? '' })));
    }
  }

  it('stops when every message it moves lands straight back in the dead-letter queue', async () => {
    const dlq = await fifoQueue('self-dlq');
    const bodies = envelopes('self', 25);
    await sendAll(dlq, bodies);
    // Its own target: each message it moves is at once a new arrival in the queue it reads.
    const moved = await redriveQueue(io, dlq, () => Promise.resolve(dlq), 0);
    expect(moved).toBe(bodies.length);
    // What came back was left for the next redrive, handed back at once (not held in flight).
    expect(await queueDepths(raw, dlq)).toMatchObject({ visible: bodies.length, inFlight: 0 });
    const back = await drain(dlq);
    expect(back.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    // Groups keep their order through the move.
    for (const group of ['g0', 'g1', 'g2']) {
      const ids = back
        .filter((m) => m.Attributes?.MessageGroupId === group)
        .map((m) => (JSON.parse(m.Body ?? '') as { d: number }).d);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it('stops while a failing stage keeps sending what it moves back to the dead-letter queue', async () => {
    const [dlq, p0, p1] = await Promise.all([fifoQueue('dlq'), fifoQueue('p0'), fifoQueue('p1')]);
    const bodies = [...envelopes('low', 12, 0), ...envelopes('high', 12, 1)];
    await sendAll(dlq, bodies);
    // A stage whose every input fails and is dead-lettered, running for as long as redrive does.
    let redriving = true;
    let bounced = 0;
    const failingStage = async (input: string) => {
      while (redriving) {
        const messages = await io.receive(input, 10, 1, 30);
        await Promise.all(
          messages.map(async (m) => {
            const id = `bounce-${m.MessageId ?? ''}`.slice(0, 128);
            await io.send(dlq, {
              body: m.Body ?? '',
              groupId: m.Attributes?.MessageGroupId ?? id,
              deduplicationId: id,
            });
            await io.delete(input, { receiptHandle: m.ReceiptHandle ?? '' });
            bounced++;
          }),
        );
      }
    };
    const stages = Promise.all([failingStage(p0), failingStage(p1)]);
    const moved = await redriveQueue(io, dlq, (level) => Promise.resolve(level === 0 ? p0 : p1), 1);
    redriving = false;
    await stages;
    expect(moved).toBe(bodies.length);
    // Each message is either back in the dead-letter queue or still waiting in its input level.
    const [inDlq, low, high] = await Promise.all([drain(dlq), drain(p0), drain(p1)]);
    expect(inDlq).toHaveLength(bounced);
    expect([...inDlq, ...low, ...high].map((m) => m.Body).sort()).toEqual([...bodies].sort());
    expect(low.every((m) => m.Body?.includes('"p":0') === true)).toBe(true);
    expect(high.every((m) => m.Body?.includes('"p":1') === true)).toBe(true);
  });
});
