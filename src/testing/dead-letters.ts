import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../envelope.ts';
import type { QueueInfo } from '../index.ts';

/** An input a stage gave up on, as its dead-letter queue holds it. */
export interface DeadLetter {
  /** The stage whose dead-letter queue held it. */
  readonly stage: string;
  /** The input, decoded (the raw body when it was not a sqspipes message). */
  readonly value: unknown;
  /** Why it ended there, e.g. `failed 3 times: Error: boom`. */
  readonly reason: string;
}

/**
 * Takes every message out of the dead-letter queues in `queues` (receives, then deletes), until
 * at least `expected` were taken and a receive comes back empty (at most 5 empty receives while
 * fewer than `expected`: a queue's count can lag its send).
 */
export async function drainDeadLetters(
  sqs: SQSClient,
  queues: readonly QueueInfo[],
  expected: number,
): Promise<DeadLetter[]> {
  const taken: DeadLetter[] = [];
  const dlqs = queues.filter((q) => q.level === 'dlq' && q.url !== undefined);
  for (let empty = 0; empty < (taken.length < expected ? 5 : 1);) {
    let received = 0;
    for (const queue of dlqs) {
      const messages = await receive(sqs, queue.url ?? '');
      received += messages.length;
      taken.push(...messages.map((m) => deadLetter(queue.stage, m)));
    }
    empty = received === 0 ? empty + 1 : 0;
  }
  return taken;
}

async function receive(sqs: SQSClient, url: string): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 30,
      MessageAttributeNames: ['All'],
    }),
  );
  if (Messages.length > 0) {
    const Entries = Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries }));
  }
  return Messages;
}

function deadLetter(stage: string, message: Message): DeadLetter {
  const decoded = decodeEnvelope(message.Body);
  const attributes = message.MessageAttributes ?? {};
  return {
    stage: attributes['sqspipes-stage']?.StringValue ?? stage,
    value: decoded.ok ? decoded.envelope.value : message.Body,
    reason: attributes['sqspipes-reason']?.StringValue ?? 'unknown (no sqspipes-reason attribute)',
  };
}
