import { randomUUID } from 'node:crypto';
import { decodeEnvelope } from '../envelope.ts';
import { outputId } from '../ids.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';

/** How long redrive waits for more messages before it considers the dead-letter queue empty. */
const EMPTY_WAIT_SECONDS = 1;

/**
 * Moves every message of a dead-letter queue back to a stage's input: each goes to the level
 * recorded in its envelope (level 0 when it is not an envelope), is sent with a fresh
 * deduplication id (the old one may still be in SQS's 5-minute window), and is deleted from the
 * dead-letter queue only once SQS accepted it. A crash mid-way can duplicate the at most 10
 * messages in hand. Resolves with the number of messages moved.
 */
export async function redriveQueue(
  io: SqsIo,
  dlqUrl: string,
  targetUrl: (level: number) => Promise<string>,
  maxLevel: number,
): Promise<number> {
  const run = randomUUID();
  let moved = 0;
  while (true) {
    const messages = await io.receive(dlqUrl, 10, EMPTY_WAIT_SECONDS, 60);
    if (messages.length === 0) return moved;
    await Promise.all(
      messages.map(async (message) => {
        const decoded = decodeEnvelope(message.Body);
        const level = Math.min(maxLevel, decoded.ok ? (decoded.envelope.level ?? 0) : 0);
        const id = outputId(`${message.MessageId ?? ''}\0${run}`, 'redrive', 0);
        const groupId = message.Attributes?.MessageGroupId ?? id;
        await io.send(await targetUrl(level), { body: message.Body ?? '', groupId, deduplicationId: id });
        await io.delete(dlqUrl, message.ReceiptHandle ?? '');
        moved++;
      }),
    );
  }
}
