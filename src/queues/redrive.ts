import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../envelope.ts';
import { derivedId } from '../ids.ts';
import type { ReceiptSource, SqsIo } from '../sqs/sqs-io.ts';

/** How long redrive waits for more messages before it considers the dead-letter queue empty. */
const EMPTY_WAIT_SECONDS = 1;

/** Visibility timeout of what redrive receives: what it leaves stays hidden until it hands it back. */
const VISIBILITY_SECONDS = 60;

/**
 * Moves the messages that were in a dead-letter queue when redrive started back to a stage's
 * input: each goes to the level recorded in its envelope (level 0 when it is not an envelope), is
 * sent with a deduplication id derived from its message id (a redrive run again after a crash
 * sends no second copy within SQS's 5-minute window), and is deleted from the dead-letter queue
 * only once SQS accepted it. Resolves with the number of messages moved.
 *
 * A message sent to the dead-letter queue after the start (by SQS's clock, `SentTimestamp`), such
 * as a redriven input that failed again, is not moved: it stays hidden while redrive goes on and
 * is handed back (visibility 0) at the end, for the next redrive. Redrive stops at an empty
 * receive, or at the second receive in a row that brings nothing older than its start, so it
 * ends even while inputs keep failing.
 * The start is read on this machine's clock: one ahead of SQS's by some seconds may move a message
 * that came back within those seconds once more; one behind leaves what arrived just before.
 */
export async function redriveQueue(
  io: SqsIo,
  dlqUrl: string,
  targetUrl: (level: number) => Promise<string>,
  maxLevel: number,
): Promise<number> {
  const start = Date.now();
  /** Messages received but not to be moved, by message id: the latest receipt handle of each. */
  const left = new Map<string, ReceiptSource>();
  const leave = (message: Message) => {
    const receiptHandle = message.ReceiptHandle ?? '';
    left.set(message.MessageId ?? randomUUID(), { receiptHandle });
  };
  let moved = 0;
  let withoutOld = 0;
  try {
    while (true) {
      const messages = await io.receive(dlqUrl, 10, EMPTY_WAIT_SECONDS, VISIBILITY_SECONDS);
      const old = messages.filter((m) => sentBefore(m, start));
      for (const m of messages) if (!old.includes(m)) leave(m);
      // SQS chooses which groups a receive returns: one answer with only newer messages does not
      // prove that none older is left, two in a row (the newer ones hidden meanwhile) do.
      withoutOld = old.length === 0 ? withoutOld + 1 : 0;
      if (messages.length === 0 || withoutOld === 2) return moved;
      if (old.length === 0) continue;
      const results = await Promise.allSettled(
        old.map((m) => moveMessage(io, dlqUrl, m, targetUrl, maxLevel)),
      );
      let failure: PromiseRejectedResult | undefined;
      for (const [i, result] of results.entries()) {
        if (result.status === 'fulfilled') {
          moved++;
          continue;
        }
        failure ??= result;
        const message = old[i];
        if (message !== undefined) leave(message);
      }
      if (failure !== undefined) throw failure.reason;
    }
  } finally {
    // A hand-back that fails is harmless: the message shows again when its visibility expires.
    await Promise.allSettled([...left.values()].map((m) => io.changeVisibility(dlqUrl, m, 0)));
  }
}

/** Whether SQS took `message` at or before `start` (ms); one without a timestamp counts as old. */
function sentBefore(message: Message, start: number): boolean {
  const sent = Number(message.Attributes?.SentTimestamp);
  return !Number.isFinite(sent) || sent <= start;
}

async function moveMessage(
  io: SqsIo,
  dlqUrl: string,
  message: Message,
  targetUrl: (level: number) => Promise<string>,
  maxLevel: number,
): Promise<void> {
  const decoded = decodeEnvelope(message.Body);
  const level = Math.min(maxLevel, decoded.ok ? (decoded.envelope.level ?? 0) : 0);
  const id = derivedId(message.MessageId ?? randomUUID(), 'redrive');
  const groupId = message.Attributes?.MessageGroupId ?? id;
  await io.send(await targetUrl(level), { body: message.Body ?? '', groupId, deduplicationId: id });
  await io.delete(dlqUrl, { receiptHandle: message.ReceiptHandle ?? '' });
}
