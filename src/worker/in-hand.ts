import type { Message } from '@aws-sdk/client-sqs';
import type { Envelope } from '../envelope.ts';
import type { Beat } from './heartbeat.ts';

/** A received message, decoded: waiting in the dispatcher or running. */
export interface InHand {
  readonly level: number;
  /** Serialisation key: the envelope's key, else the message id (unique: no serialisation). */
  readonly group: string;
  readonly url: string;
  readonly message: Message;
  readonly envelope: Envelope;
  readonly beat: Beat;
}

/** Deliveries of a message so far, this one included. */
export function receiveCount(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? 1);
}
