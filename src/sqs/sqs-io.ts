import { randomUUID } from 'node:crypto';
import {
  type BatchResultErrorEntry,
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  MessageSystemAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqsError } from '../errors.ts';
import { getOrCreate } from '../maps.ts';
import { Batcher, type EntryResult } from './batcher.ts';
import { type Diagnose, passThrough, type SqsCall } from './diagnose.ts';
import { isTransient } from './transient.ts';
import { withSignal } from './call-signal.ts';
import { ENCODING_ATTRIBUTE, isEncoded } from '../payloads/compression.ts';
import {
  decodeReceived,
  markUnreadable,
  type PayloadIo,
  type StoredPayload,
} from '../payloads/payload-io.ts';
import { POINTER_ATTRIBUTES } from '../payloads/pointer.ts';
import type { Timer } from '../time/domain-timers.ts';

/** One message to send to a FIFO queue. */
export interface OutgoingMessage {
  readonly body: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  /** String message attributes (e.g. why a message was dead-lettered). */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Message attributes of any type, as the SDK takes them (a stored body's size). */
  readonly messageAttributes?: Readonly<Record<string, MessageAttributeValue>> | undefined;
  /**
   * When to deliver it (epoch ms): later than now, it goes through the domain's timers
   * (src/time/domain-timers.ts), which send it to its queue once due.
   */
  readonly due?: number | undefined;
}

/** Where a message for later goes (the domain's timers). */
export interface LaterSink {
  at(timer: Timer, signal?: AbortSignal): Promise<unknown>;
}

/**
 * Whatever holds a received message's receipt handle. SQS accepts only the latest handle of a
 * message, so batched deletes and visibility changes read it when the batch is built.
 */
export interface ReceiptSource {
  readonly receiptHandle: string;
  /** Where its body was stored in S3: deleted once the message is (see PayloadIo). */
  readonly payload?: StoredPayload | undefined;
}

/** A visibility change: the message and its new timeout in seconds (0 releases it at once). */
interface VisibilityChange {
  readonly source: ReceiptSource;
  readonly seconds: number;
}

/**
 * A receive's lease shorter than this (an idle long poll's 2 s) is extended to
 * {@link RESOLVE_LEASE_SECONDS} for a message whose stored body must be read first.
 */
const SHORT_LEASE_SECONDS = 10;
const RESOLVE_LEASE_SECONDS = 30;

/**
 * The system attributes every receive asks for: attempts are counted by the receive count, and a
 * message that is no envelope goes to the dead-letter queue in its group.
 */
const SYSTEM_ATTRIBUTES = [
  MessageSystemAttributeName.ApproximateReceiveCount,
  MessageSystemAttributeName.MessageGroupId,
];
const WITH_SENT_TIMESTAMP = [...SYSTEM_ATTRIBUTES, MessageSystemAttributeName.SentTimestamp];
/** The message attributes every receive asks for: a stored or compressed body is known by them. */
const MESSAGE_ATTRIBUTES = [...POINTER_ATTRIBUTES, ENCODING_ATTRIBUTE];

/** Per-entry error codes of a batch that mean "not now" rather than "never". */
const THROTTLED = /thrott|RequestThrottled|TooManyRequests|ServiceUnavailable|InternalError/i;

export interface SqsIoOptions {
  /** How long a lone send waits for company in a batch, in ms. @default 2 */
  sendLingerMs?: number;
  /** How long a lone delete or visibility change waits for company, in ms. @default 5 */
  ackLingerMs?: number;
  /**
   * Turns the error of a call that failed for good (retries done) into the one to surface: a
   * ConnectionError for a setup problem. @default the error as it is
   */
  diagnose?: Diagnose;
  /** Bodies over a threshold through S3 (the client's `payloads` option). @default none */
  payloads?: PayloadIo | undefined;
  /** Where messages with a `due` go. @default none: a message with one is refused */
  timers?: LaterSink | undefined;
  /**
   * The client of receives and batched calls, made by createSqsClients: its middleware cached, a
   * call's signal carried in its input (see call-signal.ts). @default the client, the signal
   * passed as the SDK's per-call option
   */
  messages?: SQSClient | undefined;
}

/**
 * The runner's only door to SQS for messages: receives, and batched sends, deletes and
 * visibility changes (one {@link Batcher} per queue and action). Every call carries `signal`.
 */
export class SqsIo {
  readonly #client: SQSClient;
  readonly #messages: SQSClient | undefined;
  readonly #options: Required<Omit<SqsIoOptions, 'payloads' | 'timers' | 'messages'>>;
  readonly #payloads: PayloadIo | undefined;
  readonly #timers: LaterSink | undefined;
  readonly #senders = new Map<string, Batcher<OutgoingMessage, unknown>>();
  readonly #deleters = new Map<string, Batcher<ReceiptSource, unknown>>();
  readonly #hiders = new Map<string, Batcher<VisibilityChange, unknown>>();

  constructor(client: SQSClient, options: SqsIoOptions = {}) {
    this.#client = client;
    const { payloads, timers, messages, ...rest } = options;
    this.#messages = messages;
    this.#options = { sendLingerMs: 2, ackLingerMs: 5, diagnose: passThrough, ...rest };
    this.#payloads = payloads;
    this.#timers = timers;
  }

  /** The store of bodies over the threshold, when the client has `payloads`. */
  get payloads(): PayloadIo | undefined {
    return this.#payloads;
  }

  /**
   * Long-polls one queue, then reads the bodies stored in S3 of what it brought. Aborting `signal`
   * ends the wait (messages SQS had picked come back later) or the reads (the messages brought are
   * handed back, none marked unreadable): either way the receive rejects.
   * `also`: the message attributes to return too (none by default), and whether to return the
   * `SentTimestamp` system attribute (each message's attributes are parsed: only when read).
   */
  async receive(
    url: string,
    max: number,
    waitSeconds: number,
    visibilityTimeout: number,
    signal?: AbortSignal,
    also: {
      readonly messageAttributes?: readonly string[] | undefined;
      readonly sentTimestamp?: boolean;
    } = {},
  ): Promise<Message[]> {
    const input = {
      QueueUrl: url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: also.sentTimestamp === true ? WITH_SENT_TIMESTAMP : SYSTEM_ATTRIBUTES,
      // A stored body's pointer is known by its attribute (ours or a Java or Python client's).
      MessageAttributeNames:
        also.messageAttributes === undefined
          ? MESSAGE_ATTRIBUTES
          : [...MESSAGE_ATTRIBUTES, ...also.messageAttributes],
      // Same id on the SDK's own retries of this call: SQS then returns the same messages.
      ReceiveRequestAttemptId: randomUUID(),
    };
    let messages: Message[];
    try {
      const calls = this.#messages;
      const out =
        calls === undefined
          ? await this.#client.send(new ReceiveMessageCommand(input), abortOption(signal))
          : await calls.send(new ReceiveMessageCommand(withSignal(input, signal)));
      messages = out.Messages ?? [];
    } catch (error) {
      throw this.#options.diagnose(error, { step: 'receiving', action: 'ReceiveMessage', queue: url });
    }
    // A compressed body is decoded here, whoever receives it (with `payloads` or not).
    if (messages.some(isEncoded)) await decodeReceived(messages);
    const pointers = messages.filter(hasPointer);
    if (pointers.length === 0) return messages;
    if (this.#payloads !== undefined && visibilityTimeout < SHORT_LEASE_SECONDS) {
      // A short lease (an idle long poll's) could run out while a large body downloads: another
      // consumer would get the message meanwhile. The caller sets its own lease after this.
      await Promise.all(
        pointers.map((m) =>
          this.changeVisibility(url, { receiptHandle: m.ReceiptHandle ?? '' }, RESOLVE_LEASE_SECONDS).catch(
            () => {}, // the body is read all the same; the lease is the caller's to keep
          ),
        ),
      );
    }
    try {
      await resolvePointers(this.#payloads, messages, signal);
    } catch (error) {
      // Aborted while reading stored bodies: abandoned like a receive aborted on the wire, but
      // these handles are known, so the messages go back at once rather than after their lease.
      for (const m of messages) {
        this.changeVisibility(url, { receiptHandle: m.ReceiptHandle ?? '' }, 0).catch(() => {});
      }
      throw error;
    }
    return messages;
  }

  /**
   * Decodes the compressed bodies of messages received elsewhere (Lambda's event source mapping)
   * and reads those stored in S3, as {@link receive} does with what it receives; one that cannot
   * be read records why (payloadErrorOf).
   */
  async readBodies(messages: readonly Message[], signal?: AbortSignal): Promise<void> {
    if (messages.some(isEncoded)) await decodeReceived(messages);
    if (messages.some(hasPointer)) await resolvePointers(this.#payloads, messages, signal);
  }

  /**
   * Sends one message (batched); resolves once SQS accepted it (or dropped it as a duplicate).
   * Aborting `signal` withdraws it unless it is already on the wire.
   */
  send(url: string, message: OutgoingMessage, signal?: AbortSignal, abandon = false): Promise<unknown> {
    const payloads = this.#payloads;
    const extra = payloads === undefined ? 0 : attributeBytes(message);
    if (payloads?.transforms(message.body, extra) === true) {
      // Compressed, or its body in S3 first, then through the batcher. The store's errors name
      // the bucket and S3's action themselves: not diagnosed as SQS's.
      const prepared = payloads.prepare(queueNameOf(url), message, extra, signal);
      return prepared.then((ready) => this.#send(url, ready, signal, abandon));
    }
    return this.#send(url, message, signal, abandon);
  }

  #send(
    url: string,
    message: OutgoingMessage,
    signal: AbortSignal | undefined,
    abandon: boolean,
  ): Promise<unknown> {
    if (message.due !== undefined && message.due > Date.now())
      return this.#later(url, message, message.due, signal);
    const batcher = getOrCreate(
      this.#senders,
      url,
      () =>
        new Batcher({
          lingerMs: this.#options.sendLingerMs,
          // What SQS counts against a message's and a batch's 1 MiB: the body and the attributes.
          sizeOf: (m: OutgoingMessage) =>
            Buffer.byteLength(m.body) + attributeBytes(m) + m.groupId.length + m.deduplicationId.length,
          call: (entries, signal) => this.#sendBatch(url, entries, signal),
          retryCall: isTransient,
        }),
    );
    return this.#surface(batcher.add(message, signal, abandon), {
      step: 'sending',
      action: 'SendMessageBatch',
      queue: url,
    });
  }

  /** A message for later: to the domain's timers, with what it carries to its queue. */
  #later(
    url: string,
    message: OutgoingMessage,
    due: number,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const timers = this.#timers;
    if (timers === undefined)
      return Promise.reject(new Error('this client has no timers for a message for later'));
    const attributes =
      message.attributes === undefined && message.messageAttributes === undefined
        ? undefined
        : { ...stringAttributes(message.attributes ?? {}), ...message.messageAttributes };
    const timer = {
      due,
      url,
      groupId: message.groupId,
      deduplicationId: message.deduplicationId,
      body: message.body,
      attributes,
    };
    return this.#surface(timers.at(timer, signal), {
      step: 'sending for later',
      action: 'SendMessageBatch',
      queue: url,
    });
  }

  /** Deletes one message (batched): the acknowledgement. Its latest handle is read at send time. */
  delete(url: string, message: ReceiptSource, signal?: AbortSignal): Promise<unknown> {
    const batcher = getOrCreate(
      this.#deleters,
      url,
      () =>
        new Batcher({
          lingerMs: this.#options.ackLingerMs,
          call: (messages: readonly ReceiptSource[], signal) => this.#deleteBatch(url, messages, signal),
          retryCall: isTransient,
        }),
    );
    const deleted = this.#surface(batcher.add(message, signal), {
      step: 'deleting',
      action: 'DeleteMessageBatch',
      queue: url,
    });
    if (message.payload === undefined) return deleted;
    // Its stored body goes once SQS deleted the message (never before: a copy may still need it).
    return deleted.then((result) => {
      this.#payloads?.acknowledged(message.payload);
      return result;
    });
  }

  /** Changes the visibility timeout of one message (batched); 0 releases it at once. */
  changeVisibility(
    url: string,
    message: ReceiptSource,
    seconds: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const batcher = getOrCreate(
      this.#hiders,
      url,
      () =>
        new Batcher({
          lingerMs: this.#options.ackLingerMs,
          call: (changes: readonly VisibilityChange[], signal) => this.#visibilityBatch(url, changes, signal),
          retryCall: isTransient,
        }),
    );
    const call = { step: 'changing visibility', action: 'ChangeMessageVisibilityBatch', queue: url };
    return this.#surface(batcher.add({ source: message, seconds }, signal), call);
  }

  /** A batched request's failure for good (the batcher retried what was transient), diagnosed. */
  #surface<T>(request: Promise<T>, call: SqsCall): Promise<T> {
    return request.catch((error: unknown) => {
      throw this.#options.diagnose(error, call);
    });
  }

  /**
   * Sends everything pending and waits for every batch call in flight, retries included. After
   * `timeoutMs` (SQS unreachable), gives up: what is left is rejected, as if the process had died.
   * Resolves with what was given up, in words (`2 sends to <queue url>`); empty when all went.
   */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    const maps = [
      ['send', this.#senders],
      ['delete', this.#deleters],
      ['visibility change', this.#hiders],
    ] as const;
    const all = Promise.all(maps.flatMap(([, m]) => [...m.values()].map((b) => b.flush())));
    if (timeoutMs === Number.POSITIVE_INFINITY) {
      await all;
      return [];
    }
    const timer = new AbortController();
    const late = sleep(timeoutMs, 'late' as const, { signal: timer.signal }).catch(() => 'done' as const);
    const outcome = await Promise.race([all.then(() => 'done' as const), late]);
    timer.abort();
    const unsent: string[] = [];
    if (outcome === 'late') {
      const error = new SqsError(
        `SQS did not accept pending requests within ${timeoutMs} ms; giving up on them`,
      );
      for (const [what, map] of maps) {
        for (const [url, batcher] of map) {
          const count = batcher.abort(error);
          if (count > 0) unsent.push(`${count} ${what}${count === 1 ? '' : 's'} to ${url}`);
        }
        map.clear();
      }
    }
    return unsent;
  }

  async #sendBatch(
    url: string,
    entries: readonly OutgoingMessage[],
    signal: AbortSignal | undefined,
  ): Promise<EntryResult<unknown>[]> {
    const input = {
      QueueUrl: url,
      Entries: entries.map((m, i) => ({
        Id: String(i),
        MessageBody: m.body,
        MessageGroupId: m.groupId,
        MessageDeduplicationId: m.deduplicationId,
        ...(m.attributes === undefined && m.messageAttributes === undefined
          ? {}
          : { MessageAttributes: { ...stringAttributes(m.attributes ?? {}), ...m.messageAttributes } }),
      })),
    };
    const calls = this.#messages;
    const out =
      calls === undefined
        ? await this.#client.send(new SendMessageBatchCommand(input), abortOption(signal))
        : await calls.send(new SendMessageBatchCommand(withSignal(input, signal)));
    return results(url, 'SendMessageBatch', entries.length, out.Successful ?? [], out.Failed ?? []);
  }

  async #deleteBatch(
    url: string,
    messages: readonly ReceiptSource[],
    signal: AbortSignal | undefined,
  ): Promise<EntryResult<unknown>[]> {
    const input = {
      QueueUrl: url,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })),
    };
    const calls = this.#messages;
    const out =
      calls === undefined
        ? await this.#client.send(new DeleteMessageBatchCommand(input), abortOption(signal))
        : await calls.send(new DeleteMessageBatchCommand(withSignal(input, signal)));
    return results(url, 'DeleteMessageBatch', messages.length, out.Successful ?? [], out.Failed ?? []);
  }

  async #visibilityBatch(
    url: string,
    changes: readonly VisibilityChange[],
    signal: AbortSignal | undefined,
  ): Promise<EntryResult<unknown>[]> {
    const input = {
      QueueUrl: url,
      Entries: changes.map((c, i) => ({
        Id: String(i),
        ReceiptHandle: c.source.receiptHandle,
        VisibilityTimeout: c.seconds,
      })),
    };
    const calls = this.#messages;
    const out =
      calls === undefined
        ? await this.#client.send(new ChangeMessageVisibilityBatchCommand(input), abortOption(signal))
        : await calls.send(new ChangeMessageVisibilityBatchCommand(withSignal(input, signal)));
    return results(
      url,
      'ChangeMessageVisibilityBatch',
      changes.length,
      out.Successful ?? [],
      out.Failed ?? [],
    );
  }
}

/** Maps a batch response to one result per entry: a 200 can still carry per-entry failures. */
function results(
  url: string,
  action: string,
  count: number,
  successful: readonly { Id?: string | undefined }[],
  failed: readonly BatchResultErrorEntry[],
): EntryResult<unknown>[] {
  const out = new Array<EntryResult<unknown> | undefined>(count);
  for (const s of successful) out[Number(s.Id)] = { ok: true, value: s };
  for (const f of failed) {
    out[Number(f.Id)] = {
      ok: false,
      error: new SqsError(
        `${action} entry failed on ${url}: ${f.Code ?? 'unknown'} ${f.Message ?? ''}`.trim(),
        {
          queue: url,
          ...(f.Code === undefined ? {} : { code: f.Code }),
        },
      ),
      // Throttling is reported per entry too, sometimes as the sender's fault: try it again.
      retryable: f.SenderFault !== true || THROTTLED.test(f.Code ?? ''),
    };
  }
  // An entry SQS said nothing about (never seen, but cheap to guard) is tried again.
  for (let i = 0; i < count; i++) {
    out[i] ??= {
      ok: false,
      error: new SqsError(`${action} on ${url} returned no result for an entry`, { queue: url }),
      retryable: true,
    };
  }
  return out as EntryResult<unknown>[];
}

/** The SDK's per-call option that aborts the request with `signal`; none without one. */
function abortOption(signal: AbortSignal | undefined): { abortSignal: AbortSignal } | undefined {
  return signal === undefined ? undefined : { abortSignal: signal };
}

/** Bytes of a message's attributes as SQS counts them: names, types and values. */
function attributeBytes(message: OutgoingMessage): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(message.attributes ?? {}))
    bytes += name.length + 'String'.length + Buffer.byteLength(value);
  for (const [name, value] of Object.entries(message.messageAttributes ?? {}))
    bytes += name.length + (value.DataType ?? '').length + Buffer.byteLength(value.StringValue ?? '');
  return bytes;
}

function hasPointer(message: Message): boolean {
  return POINTER_ATTRIBUTES.some((name) => message.MessageAttributes?.[name] !== undefined);
}

/**
 * Reads the stored bodies; without `payloads`, each pointer is an input that cannot be read.
 * Rejects only when `signal` aborts.
 */
async function resolvePointers(
  payloads: PayloadIo | undefined,
  messages: readonly Message[],
  signal: AbortSignal | undefined,
): Promise<void> {
  if (payloads !== undefined) return payloads.resolve(messages, signal);
  for (const message of messages.filter(hasPointer)) markUnreadable(message);
}

/** The queue's name, the last part of its URL. */
function queueNameOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function stringAttributes(
  attributes: Readonly<Record<string, string>>,
): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}
