import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../envelope.ts';
import { producerError } from '../feed.ts';
import { derivedId } from '../ids.ts';
import type { SqsCall } from '../sqs/diagnose.ts';
import type { ReceiptSource, SqsIo } from '../sqs/sqs-io.ts';
import { deadline, untilAborted } from '../time/deadline.ts';
import { storedPayloadOf, unreadPointerAttributes } from '../payloads/payload-io.ts';

/** How long redrive waits for more messages before it considers the dead-letter queue empty. */
const EMPTY_WAIT_SECONDS = 1;

/** Visibility timeout of what redrive receives: what it leaves stays hidden until it hands it back. */
const VISIBILITY_SECONDS = 60;

/** How long one step of a redrive may take by default, in ms (as `TaskClientOptions.sendTimeout`). */
export const REDRIVE_STEP_MS = 30_000;

/** What bounds a redrive. */
export interface RedriveBounds {
  /**
   * Longest one step may take, in ms: a receive of up to 10 messages (beyond its 1 s wait) and
   * their moves, or the hand-back at the end. `Infinity`: no bound. @default REDRIVE_STEP_MS
   */
  readonly stepMs?: number;
  /** Ends the redrive when aborted (it rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Turns a failure into the error to surface (a ConnectionError naming the endpoint). */
  readonly diagnose?: (error: unknown, call: SqsCall) => unknown;
}

/**
 * Said of a move given up while its send or delete was on the wire. Its deduplication id is
 * derived from the dead-letter message: a redrive within 5 minutes sends no second copy.
 */
const MOVE_UNKNOWN =
  ' A move was on its way when the redrive gave up: its message may have reached the input, and may still be in the dead-letter queue. Redriving again within 5 minutes is safe (SQS drops the repeated send).';

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
 *
 * Each step (a receive and the moves of what it brought; the hand-back at the end) must end within
 * `bounds.stepMs`, so that a redrive settles while SQS is unreachable: it rejects with the step's
 * error (a ConnectionError through `bounds.diagnose`), and what it had received shows again in the
 * dead-letter queue when its visibility (60 s) expires.
 */
export async function redriveQueue(
  io: SqsIo,
  dlqUrl: string,
  targetUrl: (level: number) => Promise<string>,
  maxLevel: number,
  bounds: RedriveBounds = {},
): Promise<number> {
  const stepMs = bounds.stepMs ?? REDRIVE_STEP_MS;
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
      // The receive's own wait does not count against the step's bound.
      const step = deadline('redrive', stepMs + EMPTY_WAIT_SECONDS * 1000, bounds.signal);
      let call: SqsCall = { step: 'redriving', action: 'ReceiveMessage', queue: dlqUrl };
      try {
        const receive = io.receive(dlqUrl, 10, EMPTY_WAIT_SECONDS, VISIBILITY_SECONDS, step.signal, {
          sentTimestamp: true,
        });
        const messages = await untilAborted(receive, step.signal);
        const old = messages.filter((m) => sentBefore(m, start));
        for (const m of messages) if (!old.includes(m)) leave(m);
        // SQS chooses which groups a receive returns: one answer with only newer messages does not
        // prove that none older is left, two in a row (the newer ones hidden meanwhile) do.
        withoutOld = old.length === 0 ? withoutOld + 1 : 0;
        if (messages.length === 0 || withoutOld === 2) return moved;
        if (old.length === 0) continue;
        call = { ...call, action: 'SendMessageBatch' };
        moved += await moveAll(io, dlqUrl, old, { targetUrl, maxLevel, signal: step.signal }, leave);
      } catch (error) {
        throw producerError(error, step, (e) => (bounds.diagnose ?? asItIs)(e, call), MOVE_UNKNOWN);
      } finally {
        step.dispose();
      }
    }
  } finally {
    // A hand-back that fails (or is given up) is harmless: the message shows again when its
    // visibility expires. A redrive its caller aborted hands nothing back.
    const handBack = deadline('redrive', stepMs, bounds.signal);
    await Promise.allSettled(
      [...left.values()].map((m) => io.changeVisibility(dlqUrl, m, 0, handBack.signal)),
    );
    handBack.dispose();
  }
}

const asItIs = (error: unknown): unknown => error;

/** Whether SQS took `message` at or before `start` (ms); one without a timestamp counts as old. */
function sentBefore(message: Message, start: number): boolean {
  const sent = Number(message.Attributes?.SentTimestamp);
  return !Number.isFinite(sent) || sent <= start;
}

/**
 * Moves `messages` at once; resolves with their number. If any move fails, each that failed is
 * left (to be handed back) and the first failure is thrown once all have ended.
 */
async function moveAll(
  io: SqsIo,
  dlqUrl: string,
  messages: readonly Message[],
  to: MoveTarget,
  leave: (message: Message) => void,
): Promise<number> {
  const results = await Promise.allSettled(messages.map((m) => moveMessage(io, dlqUrl, m, to)));
  let failure: PromiseRejectedResult | undefined;
  for (const [i, result] of results.entries()) {
    if (result.status === 'fulfilled') continue;
    failure ??= result;
    const message = messages[i];
    if (message !== undefined) leave(message);
  }
  if (failure !== undefined) throw failure.reason;
  return messages.length;
}

/** Where a moved message goes, and the step's signal. */
interface MoveTarget {
  readonly targetUrl: (level: number) => Promise<string>;
  readonly maxLevel: number;
  readonly signal: AbortSignal;
}

async function moveMessage(io: SqsIo, dlqUrl: string, message: Message, to: MoveTarget): Promise<void> {
  const decoded = decodeEnvelope(message.Body);
  const level = Math.min(to.maxLevel, decoded.ok ? (decoded.envelope.level ?? 0) : 0);
  const id = derivedId(message.MessageId ?? randomUUID(), 'redrive');
  const groupId = message.Attributes?.MessageGroupId ?? id;
  const url = await untilAborted(to.targetUrl(level), to.signal);
  // A pointer this client could not read (it has no `payloads`) moves as the pointer it is.
  const messageAttributes = unreadPointerAttributes(message);
  await io.send(
    url,
    { body: message.Body ?? '', groupId, deduplicationId: id, messageAttributes },
    to.signal,
  );
  await io.delete(
    dlqUrl,
    { receiptHandle: message.ReceiptHandle ?? '', payload: storedPayloadOf(message) },
    to.signal,
  );
}
