/**
 * Message bodies through S3, at SqsIo's door, so that every path that sends or receives through
 * it (stage outputs, enqueue, submit, replies, dead-letter copies, redrives) does it the same way:
 *
 * - A body over the threshold is written to S3 first, at a key fixed by its queue and
 *   deduplication id (a repeated send rewrites the same object), and the message carries AWS's
 *   pointer instead: what an Extended Client for Java or Python reads.
 * - A received pointer is read back before anyone sees the message: its Body is replaced in
 *   place, and where it came from is remembered ({@link storedPayloadOf}). A pointer that cannot
 *   be read leaves the body as it came and records why ({@link payloadErrorOf}).
 * - The object is deleted only once the message that points to it is deleted from SQS (the
 *   acknowledgement), batched and best effort: what is left, the lifecycle rule expires.
 */
import { Buffer } from 'node:buffer';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { type KeyLayout, kindPrefix, payloadKey } from './keys.ts';
import { PayloadStoreError } from './errors.ts';
import { decodePointer, encodePointer, POINTER_ATTRIBUTES } from './pointer.ts';
import type { Logger } from '../types.ts';
import type { PayloadStore } from './store.ts';

/** Where a received body was stored. */
export interface StoredPayload {
  readonly bucket: string;
  readonly key: string;
}

/** A message to send, as SqsIo takes it (the fields read or replaced here). */
export interface PayloadMessage {
  readonly body: string;
  readonly deduplicationId: string;
  readonly messageAttributes?: Readonly<Record<string, MessageAttributeValue>> | undefined;
}

const stored = new WeakMap<Message, StoredPayload>();
const failed = new WeakMap<Message, unknown>();

/** Where the body of a received message was read from (undefined: it came in the message). */
export function storedPayloadOf(message: Message): StoredPayload | undefined {
  return stored.get(message);
}

/** Why the stored body of a received message could not be read (undefined: it was, or there was none). */
export function payloadErrorOf(message: Message): unknown {
  return failed.get(message);
}

/**
 * The pointer attributes of a received message whose stored body was not read (a client without
 * `payloads`, or S3 failing), for a copy of it that must stay a pointer (a dead-letter copy, a
 * redrive); undefined for any other message, whose body is its own.
 */
export function unreadPointerAttributes(message: Message): Record<string, MessageAttributeValue> | undefined {
  if (!failed.has(message)) return undefined;
  const all = message.MessageAttributes ?? {};
  return Object.fromEntries(
    POINTER_ATTRIBUTES.flatMap((name) => (all[name] === undefined ? [] : [[name, all[name]]])),
  );
}

/** A received pointer, read by a client without `payloads`: the input cannot be processed here. */
export function markUnreadable(message: Message): void {
  const error = new PayloadStoreError(
    'The message carries a pointer to a body stored in S3 (sent by an Extended Client, or by sqspipes with `payloads`), and this client has no `payloads` option to read it: give it `payloads: { bucket }`',
    { problem: 'not-configured', bucket: '', action: 'GetObject' },
  );
  failed.set(message, error);
}

export class PayloadIo {
  readonly store: PayloadStore;
  readonly #layout: KeyLayout;
  readonly #threshold: number;
  /** The prefix of the objects sqspipes writes for this pipeline. */
  readonly #ours: string;
  #ready: Promise<void> | undefined;

  constructor(store: PayloadStore, layout: KeyLayout, threshold: number) {
    this.store = store;
    this.#layout = layout;
    this.#threshold = threshold;
    this.#ours = kindPrefix(layout, 'payload');
  }

  /**
   * Checks once, as a run starts, that the bucket can be written and read (a PayloadStoreError
   * naming the bucket, the action and the fix otherwise), and warns when no lifecycle rule
   * expires what a crash leaves behind. A failed check is tried again by the next run.
   */
  ready(logger: Logger): Promise<void> {
    this.#ready ??= (async () => {
      await this.store.check({ read: true });
      const lifecycle = await this.store.lifecycle();
      if (lifecycle.state !== 'ok') {
        logger.warn(
          { bucket: this.store.bucket, prefix: this.store.prefix, lifecycle: lifecycle.state },
          `${lifecycle.description} (\`sqspipes payloads --bucket ${this.store.bucket} --install-lifecycle\` installs one)`,
        );
      }
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  /** True when `body` (with message attributes of `attributeBytes`) is stored in S3 rather than sent. */
  offloads(body: string, attributeBytes = 0): boolean {
    // A UTF-16 code unit is at most 3 bytes in UTF-8: most bodies are decided without counting.
    const room = this.#threshold - attributeBytes;
    return body.length * 3 > room && Buffer.byteLength(body) > room;
  }

  /**
   * The message to send to `queue` (its name) instead of `message` (one {@link offloads} chose):
   * a pointer to its body, written to S3 first.
   */
  async offload<M extends PayloadMessage>(queue: string, message: M, signal?: AbortSignal): Promise<M> {
    const key = payloadKey(this.#layout, queue, message.deduplicationId);
    await this.store.put(key, message.body, signal);
    const pointer = encodePointer(this.store.bucket, key, Buffer.byteLength(message.body));
    return {
      ...message,
      body: pointer.body,
      messageAttributes: { ...message.messageAttributes, ...pointer.attributes },
    };
  }

  /** Reads the bodies the received `messages` point to, replacing each Body in place. */
  async resolve(messages: readonly Message[], signal?: AbortSignal): Promise<void> {
    await Promise.all(messages.map((message) => this.#resolveOne(message, signal)));
  }

  async #resolveOne(message: Message, signal: AbortSignal | undefined): Promise<void> {
    try {
      const pointer = decodePointer(message.Body ?? '', message.MessageAttributes);
      if (pointer === undefined) return;
      message.Body = await this.store.get(pointer.bucket, pointer.key, signal);
      stored.set(message, { bucket: pointer.bucket, key: pointer.key });
    } catch (error) {
      failed.set(message, error);
    }
  }

  /**
   * The message that pointed to `payload` was deleted from SQS: its object may go, if sqspipes
   * wrote it (under this pipeline's prefix); another producer's objects are left to their owner.
   */
  acknowledged(payload: StoredPayload | undefined): void {
    if (payload === undefined || payload.bucket !== this.store.bucket) return;
    if (payload.key.startsWith(this.#ours)) this.store.deleteLater(payload.bucket, payload.key);
  }
}
