import type { Message } from '@aws-sdk/client-sqs';
import { REDRIVE_SLACK } from '../../queues/topology.ts';

import { REASON_ATTRIBUTE } from '../../queues/naming.ts';

export { REASON_ATTRIBUTE };

/**
 * The fewest receives after which SQS's redrive policy moves a message of a sqspipes input queue:
 * its maxReceiveCount is `retries + 1 + REDRIVE_SLACK`, at least `1 + REDRIVE_SLACK`.
 */
const FEWEST_RECEIVES_MOVED = 1 + REDRIVE_SLACK;

/** Why a message is in a dead-letter queue. */
export interface DeadLetterReason {
  /** The reason sqspipes recorded, or what can be told without one. */
  readonly text: string;
  /** Whether sqspipes recorded it (false for a message SQS moved itself, or one sent by hand). */
  readonly recorded: boolean;
}

/**
 * Why `message`, just received from a dead-letter queue (that receive counts as one), is there:
 * the reason sqspipes recorded when it moved it, else, when it had been received often enough for
 * SQS's redrive policy, that SQS moved it (after its input's maxReceiveCount), else that no reason
 * was recorded. SQS keeps a message's receive count when it moves it, so the receives it shows
 * include the input's; earlier peeks of the dead-letter queue count as well.
 */
export function deadLetterReason(message: Message): DeadLetterReason {
  const recorded = message.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue;
  if (recorded !== undefined) return { text: recorded, recorded: true };
  const before = Number(message.Attributes?.ApproximateReceiveCount) - 1;
  if (Number.isInteger(before) && before >= FEWEST_RECEIVES_MOVED) {
    return { text: `moved by SQS after ${before} receives (no reason recorded)`, recorded: false };
  }
  return { text: 'no reason recorded', recorded: false };
}
