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
import {
  compressBody,
  decodeBody,
  ENCODING_ATTRIBUTE,
  ENCODING_ATTRIBUTE_BYTES,
  isEncoded,
  MIN_COMPRESSED_BYTES,
  worthCompressing,
} from './compression.ts';
import { decodePointer, encodePointer, POINTER_ATTRIBUTES } from './pointer.ts';
import type { Logger } from '../types.ts';
import type { PayloadStore } from './store.ts';
import { untilAborted } from '../time/deadline.ts';

/** The one bucket check of a client's runs, and the runs waiting for it. */
interface BucketCheck {
  readonly done: Promise<void>;
  /** Aborts the check's S3 requests: every run waiting for it gave up. */
  readonly abandon: AbortController;
  /** Runs waiting for it with a signal (Infinity: one without, which never gives up). */
  waiting: number;
}

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

/** Where a read body came from, and its size in bytes (see {@link storedBytesOf}). */
const stored = new WeakMap<Message, StoredPayload & { readonly bytes: number }>();
const failed = new WeakMap<Message, unknown>();

/** Where the body of a received message was read from (undefined: it came in the message). */
export function storedPayloadOf(message: Message): StoredPayload | undefined {
  return stored.get(message);
}

/**
 * The bytes of the body read from S3 for a received message: the pointer's size attribute, else
 * the body's length; 0 for a body that came in the message (or could not be read).
 */
export function storedBytesOf(message: Message): number {
  return stored.get(message)?.bytes ?? 0;
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
    [...POINTER_ATTRIBUTES, ENCODING_ATTRIBUTE].flatMap((name) =>
      all[name] === undefined ? [] : [[name, all[name]]],
    ),
  );
}

/**
 * Decodes the compressed bodies of received `messages` (see compression.ts) in place; one that
 * cannot be decoded keeps its body and records why ({@link payloadErrorOf}). Needs no `payloads`:
 * every receiver decodes.
 */
export async function decodeReceived(messages: readonly Message[]): Promise<void> {
  await Promise.all(
    messages.filter(isEncoded).map(async (message) => {
      try {
        message.Body = await decodeBody(message);
      } catch (error) {
        failed.set(message, error);
      }
    }),
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
  /** The bucket check: made once, by the first run to start (see {@link ready}). */
  #check: BucketCheck | undefined;

  readonly #compress: boolean;

  /** `compress`: bodies are compressed when that keeps them in SQS (see compression.ts). */
  constructor(store: PayloadStore, layout: KeyLayout, threshold: number, compress = false) {
    this.store = store;
    this.#layout = layout;
    this.#threshold = threshold;
    this.#compress = compress;
    this.#ours = kindPrefix(layout, 'payload');
  }

  /**
   * Checks once, as a run starts, that the bucket can be written and read (a PayloadStoreError
   * naming the bucket, the action and the fix otherwise), and warns when no lifecycle rule
   * expires what a crash leaves behind. A failed check is tried again by the next run.
   * `signal` is the caller's (its run's start): aborting it rejects this call with its reason;
   * the check itself is abandoned once every caller waiting for it gave up.
   */
  ready(logger: Logger, signal?: AbortSignal): Promise<void> {
    const check = (this.#check ??= this.#startCheck(logger));
    if (signal === undefined) {
      check.waiting = Number.POSITIVE_INFINITY; // a caller that never gives up
      return check.done;
    }
    check.waiting++;
    const done = untilAborted(check.done, signal);
    done.catch(() => {
      if (--check.waiting === 0 && this.#check === check) check.abandon.abort(signal.reason);
    });
    return done;
  }

  #startCheck(logger: Logger): BucketCheck {
    const abandon = new AbortController();
    const done = (async () => {
      await this.store.check({ read: true }, abandon.signal);
      const lifecycle = await this.store.lifecycle(abandon.signal);
      if (lifecycle.state !== 'ok') {
        logger.warn(
          { bucket: this.store.bucket, prefix: this.store.prefix, lifecycle: lifecycle.state },
          `${lifecycle.description} (${lifecycleFix(this.store.bucket, this.store.prefix)})`,
        );
      }
    })();
    const check: BucketCheck = { done, abandon, waiting: 0 };
    done.catch(() => {
      if (this.#check === check) this.#check = undefined;
    });
    return check;
  }

  /** True when `body` (with message attributes of `attributeBytes`) is stored in S3 rather than sent. */
  offloads(body: string, attributeBytes = 0): boolean {
    // A UTF-16 code unit is at most 3 bytes in UTF-8: most bodies are decided without counting.
    const room = this.#threshold - attributeBytes;
    return body.length * 3 > room && Buffer.byteLength(body) > room;
  }

  /**
   * True when `body` may be sent otherwise than as it is: stored in S3 ({@link offloads}), or
   * compressed (with `compress`). Then {@link prepare} says how.
   */
  transforms(body: string, attributeBytes = 0): boolean {
    if (this.offloads(body, attributeBytes)) return true;
    if (!this.#compress || body.length * 3 < MIN_COMPRESSED_BYTES) return false;
    return worthCompressing(Buffer.byteLength(body), this.#threshold);
  }

  /**
   * The message to send to `queue` (its name) for `message` (one {@link transforms} chose): its
   * body compressed, when that saves a tenth and fits under the threshold; else, over the
   * threshold, a pointer to its body (as it is), written to S3 first; else the message itself.
   */
  async prepare<M extends PayloadMessage>(
    queue: string,
    message: M,
    attributeBytes: number,
    signal?: AbortSignal,
  ): Promise<M> {
    const bytes = Buffer.byteLength(message.body);
    if (this.#compress && worthCompressing(bytes, this.#threshold)) {
      const packed = await compressBody(message.body, bytes);
      if (packed !== undefined && !this.offloads(packed.body, attributeBytes + ENCODING_ATTRIBUTE_BYTES)) {
        return {
          ...message,
          body: packed.body,
          messageAttributes: { ...message.messageAttributes, ...packed.attributes },
        };
      }
    }
    return this.offloads(message.body, attributeBytes) ? this.offload(queue, message, signal) : message;
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

  /**
   * Reads the bodies the received `messages` point to, replacing each Body in place. Aborting
   * `signal` rejects with its reason, and a read it cut short marks nothing unreadable: the
   * receive is abandoned, its messages come back from SQS.
   */
  async resolve(messages: readonly Message[], signal?: AbortSignal): Promise<void> {
    await Promise.all(messages.map((message) => this.#resolveOne(message, signal)));
    signal?.throwIfAborted();
  }

  async #resolveOne(message: Message, signal: AbortSignal | undefined): Promise<void> {
    try {
      const pointer = decodePointer(message.Body ?? '', message.MessageAttributes);
      if (pointer === undefined) return;
      const body = await this.store.get(pointer.bucket, pointer.key, signal);
      message.Body = body;
      stored.set(message, { bucket: pointer.bucket, key: pointer.key, bytes: pointer.size ?? body.length });
    } catch (error) {
      if (signal?.aborted !== true) failed.set(message, error); // an abort says nothing of the body
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

/** How to install sqspipes' lifecycle rule: a rule needs a prefix (the whole bucket is not ours). */
export function lifecycleFix(bucket: string, prefix: string): string {
  if (prefix === '')
    return `give \`payloads\` a \`prefix\` (e.g. "sqspipes/"), then \`sqspipes payloads --bucket ${bucket} --prefix <prefix> --install-lifecycle\` installs one`;
  return `\`sqspipes payloads --bucket ${bucket} --prefix ${prefix} --install-lifecycle\` installs one`;
}
