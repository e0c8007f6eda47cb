import type { Message } from '@aws-sdk/client-sqs';
import { derivedId } from '../ids.ts';
import { unreadPointerAttributes } from '../payloads/payload-io.ts';
import { REASON_ATTRIBUTE } from '../queues/naming.ts';
import type { RunIo } from '../sqs/run-io.ts';

/**
 * Sends `message`, body untouched, to a dead-letter queue with why and where it failed as message
 * attributes (`sqspipes-reason`, `-stage`, `-level`), in its group, under an id derived from its
 * own: sending it again (a retry of this send, another process) is deduplicated by SQS.
 */
export async function sendToDeadLetterQueue(
  io: RunIo,
  dlqUrl: string,
  message: Message,
  where: { readonly stage: string; readonly level: number },
  reason: string,
): Promise<void> {
  const id = derivedId(message.MessageId ?? '', `dead-letter\0${where.stage}`);
  await io.send(dlqUrl, {
    body: message.Body ?? '',
    groupId: message.Attributes?.MessageGroupId ?? id,
    deduplicationId: id,
    attributes: {
      [REASON_ATTRIBUTE]: reason.slice(0, 1000),
      'sqspipes-stage': where.stage,
      'sqspipes-level': String(where.level),
    },
    // A pointer to a body in S3 that was not read (resolved ones are the body itself): it stays
    // a pointer, so that a redrive once S3 is right reads it.
    messageAttributes: unreadPointerAttributes(message),
  });
}
