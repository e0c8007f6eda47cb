/**
 * Queues of work for later (standard queues: they delay each message up to 15 minutes, FIFO queues
 * cannot delay one message at all), long-polled by runs while they run, so that no extra process
 * is needed:
 * - each stage's queue of timers, `<domain>-<stage>-later`, swept by that stage's runs, which send
 *   its timers on to the stage's own input (so a role needs no right on other stages' queues);
 * - the domain's queue of deletes of stored bodies, `<domain>-timers`, swept by every run of a
 *   client with `payloads`.
 *
 * - **Timers**: a message for a FIFO queue, to send once its time has come (`enqueue()` or
 *   `submit()` with `delay`/`at`, a stage's `delayed()` output, a join's time limit). The body is
 *   the message's own, untouched; a message attribute ({@link TIMER_ATTRIBUTE}) names the target
 *   queue, group, deduplication id and due time. Each time it becomes visible before it is due it
 *   is re-sent with a new delay (at most 15 minutes a hop), so any time away works; once due it is
 *   sent to its queue with its own deduplication id (a repeated fire within SQS's 5-minute window
 *   is dropped there), then deleted here. Never sent before its due time (by the clock of the run
 *   that fires it); late by the hop's rounding to a second plus a round trip while a run of the
 *   stage polls, by up to {@link SWEEP_VISIBILITY_SECONDS} more when the run that took it died
 *   before sending it on.
 * - **Deletes of stored bodies** (with `payloads`). A body may go only after its message was
 *   acknowledged, and only once SQS's 5-minute deduplication window has passed: a producer that
 *   repeats a send after a crash rewrites the object (same key) and SQS drops the repeated
 *   message, so a delete made sooner could come before that rewrite and leave the object with
 *   nothing pointing to it. Held in memory for those minutes, the deletes would die with a killed
 *   process. So, right after the acknowledgement, the keys come here as one message per batch of
 *   keys, delayed by the hold; a run deletes the keys of a message that became visible
 *   (DeleteObjects), then the message. A process killed between the acknowledgement and that send
 *   (a round trip) leaves its objects to the lifecycle rule, as does a delete that keeps failing.
 */
import {
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  type Message,
  type MessageAttributeValue,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe } from '../errors.ts';
import { TAG } from '../queues/naming.ts';
import type { Provisioner, QueueRole, QueueSpec } from '../queues/provisioner.ts';
import { Batcher, type EntryResult } from '../sqs/batcher.ts';
import { isTransient } from '../sqs/transient.ts';
import type { Logger } from '../types.ts';
import { sleep } from './timers.ts';

/** How long a stored body is kept after its message was acknowledged: past the dedup window. */
export const DELETE_HOLD_SECONDS = 360;
/** A message whose keys could not be deleted (or timer not sent) this many times is dropped. */
const MAX_SWEEPS_PER_MESSAGE = 5;
/**
 * Visibility of a message a run took from the queue: its time to send a timer on (or delete keys;
 * a slower delete is made again, harmlessly). A run killed meanwhile, or a long poll of a killed
 * run that SQS still answers, leaves it to another run after this long.
 */
export const SWEEP_VISIBILITY_SECONDS = 10;
/**
 * Longest wait of a run's receive on this queue: a poll left behind by a killed process may take a
 * message that becomes visible until it ends (SQS does not know the caller left).
 */
const SWEEP_WAIT_SECONDS = 5;
/** Standard queues keep messages up to 14 days; a delete not swept by then is the lifecycle rule's. */
const RETENTION_SECONDS = String(14 * 24 * 3600);
const ROLE = 'timers';
/** The role of a stage's queue of timers (`<domain>-<stage>-later`). */
const LATER_ROLE = 'later';
/** SQS's longest delay of one message of a standard queue. */
const MAX_DELAY_SECONDS = 900;
/** The message attribute that makes a message of the queue a timer (see the module). */
export const TIMER_ATTRIBUTE = 'sqspipes-timer';

/**
 * A client option under this key (not part of the typed API) shortens the delete hold, the
 * backoff after a failed sweep and the longest hop of a timer, so that tests see them work:
 * `{ holdSeconds, everyMs, hopSeconds? }`.
 */
export const DELETE_TIMING_OPTION: unique symbol = Symbol.for('sqspipes.payloadDeleteTiming');

export interface DeleteTiming {
  /** 0 to 900 (SQS's longest delay). */
  readonly holdSeconds: number;
  /** The pause after a sweep failed, before the next. */
  readonly everyMs: number;
  /** The longest delay of one hop of a timer (1 to 900). @default 900 */
  readonly hopSeconds?: number | undefined;
}

/** The queue of `domain`'s work for later: `<domain>-timers` (a standard queue). */
export function deleteQueueName(domain: string): string {
  return `${domain}-${ROLE}`;
}

/** True when queue tags say it is a domain's queue of work for later. */
export function isDeleteQueueRole(role: string | undefined): boolean {
  return role === ROLE;
}

/** The queue of timers for `stage` (messages to send to its input later): `<domain>-<stage>-later`. */
export function laterQueueName(domain: string, stage: string): string {
  return `${domain}-${stage}-${LATER_ROLE}`;
}

/** True when queue tags say it is a stage's queue of timers. */
export function isLaterQueueRole(role: string | undefined): boolean {
  return role === LATER_ROLE;
}

/** What one delete message carries: keys of one bucket. */
interface DeleteBody {
  readonly v: 1;
  readonly bucket: string;
  readonly keys: readonly string[];
}

/** A message to send to a FIFO queue once `due` (epoch ms) has come. */
export interface Timer {
  readonly due: number;
  /** The FIFO queue's URL. */
  readonly url: string;
  readonly groupId: string;
  readonly deduplicationId: string;
  readonly body: string;
  /** Message attributes the message carries to its queue (a stored body's pointer). */
  readonly attributes?: Readonly<Record<string, MessageAttributeValue>> | undefined;
}

/** What {@link TIMER_ATTRIBUTE} holds (JSON). */
interface TimerTarget {
  readonly v: 1;
  readonly due: number;
  readonly url: string;
  readonly group: string;
  readonly dedup: string;
}

/** The store of stored bodies, which a run with `payloads` lends to delete their keys. */
export interface KeyDeleter {
  /** Deletes keys of a bucket; resolves with the keys it could not delete (never rejects). */
  readonly deleteKeys: (bucket: string, keys: readonly string[]) => Promise<readonly string[]>;
  /** True for a key sqspipes wrote for this domain (a message naming others is dropped). */
  readonly owns: (bucket: string, key: string) => boolean;
}

export interface DomainTimersInit {
  readonly sqs: SQSClient;
  readonly provisioner: Provisioner;
  readonly domain: string;
  readonly kmsKeyId: string | undefined;
  readonly logger: Logger;
  /**
   * The stage whose timers it holds (`<domain>-<stage>-later`, swept by that stage's runs, which
   * send them on to its own input); undefined: the domain's queue of deletes of stored bodies.
   */
  readonly stage?: string | undefined;
  /** How long a run's receive waits for a message (long polling), in seconds. @default 20 */
  readonly waitSeconds?: number | undefined;
  readonly timing?: DeleteTiming | undefined;
}

/** One entry of a SendMessageBatch to this queue. */
interface Outgoing {
  readonly body: string;
  readonly delaySeconds: number;
  readonly attributes: Readonly<Record<string, MessageAttributeValue>> | undefined;
}

/** What a queue of timers holds, as the runs of this process saw it in the last hop. */
export interface TimerStats {
  /** Timers seen waiting (each comes by at least once a hop, 15 minutes). */
  readonly waiting: number;
  /** The earliest due time among them (epoch ms); undefined: none seen. */
  readonly nextDue: number | undefined;
}

export class DomainTimers {
  readonly name: string;
  readonly #init: DomainTimersInit;
  readonly #timing: { readonly holdSeconds: number; readonly everyMs: number; readonly hopSeconds: number };
  #deleter: KeyDeleter | undefined;
  #url: Promise<string> | undefined;
  /** Runs that asked for sweeping; the sweep runs while there is one. */
  #sweepers = 0;
  #sweep: { stop: AbortController; done: Promise<void> } | undefined;
  #sender: Batcher<Outgoing, unknown> | undefined;
  /**
   * Timers seen by this process's sweeps, by target and id: their due time, and when seen. Kept
   * only once someone reads {@link timerStats} (the metrics, which read it, and so prune it,
   * at each collection): else it would grow with every timer another process sends on.
   */
  readonly #seen = new Map<string, { due: number; at: number }>();
  #tracking = false;

  constructor(init: DomainTimersInit) {
    this.#init = init;
    this.name =
      init.stage === undefined ? deleteQueueName(init.domain) : laterQueueName(init.domain, init.stage);
    const timing = init.timing ?? { holdSeconds: DELETE_HOLD_SECONDS, everyMs: 60_000 };
    this.#timing = { ...timing, hopSeconds: timing.hopSeconds ?? MAX_DELAY_SECONDS };
  }

  /**
   * Timers waiting as this process's sweeps saw them within the last hop (a delayed message is
   * invisible, but every timer comes by at least once a hop): for metrics. Other processes' sweeps
   * see the others.
   */
  timerStats(now = Date.now()): TimerStats {
    this.#tracking = true;
    const since = now - (this.#timing.hopSeconds + SWEEP_VISIBILITY_SECONDS) * 1000;
    let nextDue: number | undefined;
    for (const [key, seen] of this.#seen) {
      if (seen.at < since) this.#seen.delete(key);
      else nextDue = Math.min(nextDue ?? seen.due, seen.due);
    }
    return { waiting: this.#seen.size, nextDue };
  }

  /** Lends the store that deletes stored bodies (a client with `payloads`). */
  deleteWith(deleter: KeyDeleter): void {
    this.#deleter = deleter;
  }

  /**
   * The queue's URL, creating it the first time. Runs, which sweep it, own it (its attributes
   * are brought up to date); a producer (`enqueue()` with a delay) only sends to it.
   */
  url(role: QueueRole = 'use'): Promise<string> {
    if (role === 'own') return this.#init.provisioner.ensure(this.#spec(), 'own');
    if (this.#url === undefined) {
      const url = this.#init.provisioner.ensure(this.#spec(), 'use');
      url.catch(() => {
        if (this.#url === url) this.#url = undefined;
      });
      this.#url = url;
    }
    return this.#url;
  }

  /**
   * Schedules the delete of `keys` of `bucket` after the hold. Never rejects: a failure leaves
   * the objects to the lifecycle rule, and says so.
   */
  async schedule(bucket: string, keys: readonly string[]): Promise<void> {
    const body: DeleteBody = { v: 1, bucket, keys };
    try {
      await this.#send({
        body: JSON.stringify(body),
        delaySeconds: this.#timing.holdSeconds,
        attributes: undefined,
      });
    } catch (error) {
      this.#init.logger.warn(
        { bucket, keys: keys.length, queue: this.name, err: describe(error) },
        'could not schedule the delete of stored bodies; the lifecycle rule will expire them',
      );
    }
  }

  /**
   * Sends `timer`'s message to its FIFO queue once it is due, surviving any process: it waits in
   * this queue (batched with other sends), re-sent with a new delay until then. Resolves once SQS
   * accepted it here; rejects when it could not be (its caller's `signal` aborted, or SQS refused).
   */
  at(timer: Timer, signal?: AbortSignal): Promise<unknown> {
    const target: TimerTarget = {
      v: 1,
      due: timer.due,
      url: timer.url,
      group: timer.groupId,
      dedup: timer.deduplicationId,
    };
    return this.#send(
      {
        body: timer.body,
        delaySeconds: this.#delaySeconds(timer.due),
        attributes: { ...timer.attributes, [TIMER_ATTRIBUTE]: stringValue(JSON.stringify(target)) },
      },
      signal,
    );
  }

  /** Seconds to wait before `due` comes, in one hop (at least 0, at most the longest hop). */
  #delaySeconds(due: number): number {
    const seconds = Math.ceil((due - Date.now()) / 1000);
    return Math.max(0, Math.min(this.#timing.hopSeconds, seconds));
  }

  async #send(entry: Outgoing, signal?: AbortSignal): Promise<unknown> {
    const url = await this.url();
    this.#sender ??= new Batcher<Outgoing, unknown>({
      lingerMs: 2,
      sizeOf: (e) => Buffer.byteLength(e.body) + attributesBytes(e.attributes),
      call: (entries, batchSignal) => this.#sendBatch(url, entries, batchSignal),
      retryCall: isTransient,
    });
    return this.#sender.add(entry, signal);
  }

  async #sendBatch(
    url: string,
    entries: readonly Outgoing[],
    signal: AbortSignal | undefined,
  ): Promise<EntryResult<unknown>[]> {
    const out = await this.#init.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: entries.map(toEntry) }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    const results: EntryResult<unknown>[] = entries.map(() => ({
      ok: false,
      error: new Error('SQS returned no result for this entry'),
      retryable: true,
    }));
    for (const ok of out.Successful ?? []) results[Number(ok.Id)] = { ok: true, value: ok.MessageId };
    for (const failed of out.Failed ?? []) {
      results[Number(failed.Id)] = {
        ok: false,
        error: new Error(
          `SQS refused a message for ${this.name}: ${failed.Code ?? ''} ${failed.Message ?? ''}`,
        ),
        retryable: failed.SenderFault !== true,
      };
    }
    return results;
  }

  /**
   * Sweeps the queue while at least one caller holds the returned stop function uncalled: one
   * long poll after another. Stopping abandons a receive at once.
   */
  keepSweeping(): () => Promise<void> {
    this.#sweepers++;
    if (this.#sweep === undefined) {
      const stop = new AbortController();
      this.#sweep = { stop, done: this.#loop(stop.signal) };
    }
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      if (--this.#sweepers > 0 || this.#sweep === undefined) return;
      const { stop, done } = this.#sweep;
      this.#sweep = undefined;
      stop.abort();
      await done;
    };
  }

  /**
   * Deletes the queue with the pipeline's (`destroy()`): the timers and deletes still pending in
   * it are lost (deletes are left to the lifecycle rule).
   */
  async destroy(): Promise<void> {
    await this.close();
    const { sqs, provisioner } = this.#init;
    const url = await provisioner.find(this.name);
    if (url !== undefined) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch((error: unknown) => {
        if (!(error instanceof QueueDoesNotExist)) throw error;
      });
    }
    provisioner.forget([this.name]);
    this.#url = undefined;
  }

  /** Stops sweeping, whoever asked for it, and sends what is pending (the connection closes). */
  async close(): Promise<void> {
    const sweep = this.#sweep;
    this.#sweep = undefined;
    this.#sweepers = 0;
    sweep?.stop.abort();
    await sweep?.done;
    await this.#sender?.flush();
  }

  async #loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.sweepOnce(signal, Math.min(SWEEP_WAIT_SECONDS, this.#init.waitSeconds ?? 20));
      } catch (error) {
        if (signal.aborted) return;
        this.#init.logger.warn(
          { queue: this.name, err: describe(error) },
          'could not sweep the queue of work for later; trying again soon',
        );
        await sleep(this.#timing.everyMs, signal);
      }
    }
  }

  /**
   * Receives one page (waiting up to `waitSeconds` for one) and does what it asks: timers due
   * are sent on, others delayed again; deletes are made. True when the page came full.
   */
  async sweepOnce(signal?: AbortSignal, waitSeconds = 0): Promise<boolean> {
    const { sqs } = this.#init;
    const QueueUrl = await this.url('own');
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: SWEEP_VISIBILITY_SECONDS,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        MessageAttributeNames: ['All'],
      }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    const messages = out.Messages ?? [];
    const done = await this.handle(messages);
    if (done.length > 0) {
      const entries = done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
      // Not deleted (a failure): it comes back and is done again, harmlessly (a timer's repeat is
      // dropped by its FIFO queue within 5 minutes; deleting keys twice is no harm).
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: entries }));
    }
    return messages.length === 10;
  }

  /**
   * Does what received `messages` ask (timers due sent on, others delayed again, deletes made) and
   * resolves with those done, to be deleted: by the sweep, or by Lambda's event source mapping
   * for a stage run there (see src/lambda/).
   */
  async handle(messages: readonly Message[]): Promise<Message[]> {
    const done: Message[] = [];
    const due: { message: Message; target: TimerTarget }[] = [];
    await Promise.all(
      messages.map(async (message) => {
        const work = this.#parse(message);
        if (work === undefined) return done.push(message);
        if ('dedup' in work) {
          if (this.#tracking) this.#seen.set(`${work.url} ${work.dedup}`, { due: work.due, at: Date.now() });
          if (work.due <= Date.now()) return due.push({ message, target: work });
          return (await this.#again(message, work)) ? done.push(message) : undefined;
        }
        return (await this.#deleteKeys(message, work)) ? done.push(message) : undefined;
      }),
    );
    done.push(...(await this.#fire(due)));
    return done;
  }

  /** A timer not yet due: sent here again with a new delay. True once SQS accepted it. */
  async #again(message: Message, target: TimerTarget): Promise<boolean> {
    try {
      await this.#send({
        body: message.Body ?? '',
        delaySeconds: Math.max(1, this.#delaySeconds(target.due)),
        attributes: {
          ...message.MessageAttributes,
          [TIMER_ATTRIBUTE]: stringValue(JSON.stringify(target)),
        },
      });
      return true;
    } catch (error) {
      this.#init.logger.warn(
        { queue: this.name, err: describe(error) },
        'could not delay a timer again; trying again',
      );
      return false;
    }
  }

  /** Sends due timers to their queues, batched by queue; resolves with those SQS accepted. */
  async #fire(due: readonly { message: Message; target: TimerTarget }[]): Promise<Message[]> {
    const byQueue = new Map<string, { message: Message; target: TimerTarget }[]>();
    for (const d of due) byQueue.set(d.target.url, [...(byQueue.get(d.target.url) ?? []), d]);
    const sent: Message[] = [];
    await Promise.all(
      [...byQueue].map(async ([url, timers]) => {
        try {
          const out = await this.#init.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: timers.map(({ message, target }, i) => ({
                Id: String(i),
                MessageBody: message.Body ?? '',
                MessageGroupId: target.group,
                MessageDeduplicationId: target.dedup,
                ...carried(message.MessageAttributes),
              })),
            }),
          );
          for (const ok of out.Successful ?? []) {
            const timer = timers[Number(ok.Id)];
            if (timer === undefined) continue;
            sent.push(timer.message);
            this.#seen.delete(`${url} ${timer.target.dedup}`);
          }
          for (const failed of out.Failed ?? []) {
            const timer = timers[Number(failed.Id)];
            if (timer !== undefined)
              this.#notSent(timer.message, url, `${failed.Code ?? ''} ${failed.Message ?? ''}`, sent);
          }
        } catch (error) {
          for (const timer of timers) this.#notSent(timer.message, url, describe(error), sent);
        }
      }),
    );
    return sent;
  }

  /** A timer SQS did not take: tried again after its visibility, dropped after many tries. */
  #notSent(message: Message, url: string, why: string, dropped: Message[]): void {
    const count = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
    const fields = { queue: this.name, target: url, err: why, tries: count };
    if (count >= MAX_SWEEPS_PER_MESSAGE) {
      this.#init.logger.error(fields, 'gave up sending a timer on: its message is lost');
      dropped.push(message);
      return;
    }
    this.#init.logger.warn(fields, 'could not send a timer on; trying again');
  }

  /** Deletes a message's keys; true when it is done (deleted, or given up). */
  async #deleteKeys(message: Message, body: DeleteBody): Promise<boolean> {
    const deleter = this.#deleter;
    if (deleter === undefined) {
      this.#init.logger.warn(
        { queue: this.name, bucket: body.bucket },
        'a delete of stored bodies came to a run without `payloads`; left to a run with them',
      );
      return false;
    }
    const failed = await deleter.deleteKeys(body.bucket, body.keys);
    const count = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
    if (failed.length === 0) return true;
    if (count >= MAX_SWEEPS_PER_MESSAGE) {
      this.#init.logger.warn(
        { queue: this.name, bucket: body.bucket, keys: failed.length, sweeps: count },
        'gave up deleting stored bodies; the lifecycle rule will expire them',
      );
      return true;
    }
    return false; // back after its visibility, for another sweep
  }

  /** What a message asks for, or undefined (with a warning) for one that is not ours. */
  #parse(message: Message): DeleteBody | TimerTarget | undefined {
    const target = parseTarget(message.MessageAttributes?.[TIMER_ATTRIBUTE]?.StringValue);
    if (target !== undefined) return target;
    let body: unknown;
    try {
      body = JSON.parse(message.Body ?? '');
    } catch {
      body = undefined;
    }
    const legacy = legacyTimer(body, message);
    if (legacy !== undefined) return legacy;
    const owns = this.#deleter?.owns ?? (() => true);
    const valid =
      typeof body === 'object' &&
      body !== null &&
      (body as DeleteBody).v === 1 &&
      typeof (body as DeleteBody).bucket === 'string' &&
      Array.isArray((body as DeleteBody).keys) &&
      (body as DeleteBody).keys.every(
        (key) => typeof key === 'string' && owns((body as DeleteBody).bucket, key),
      );
    if (valid) return body as DeleteBody;
    this.#init.logger.warn(
      { queue: this.name, messageId: message.MessageId },
      'dropped a message of the queue of work for later that is neither a timer nor names a stored body of this domain',
    );
    return undefined;
  }

  #spec(): QueueSpec {
    const { domain, kmsKeyId } = this.#init;
    return {
      name: this.name,
      attributes: {
        MessageRetentionPeriod: RETENTION_SECONDS,
        // A sweep sets its own visibility per receive. A stage's queue of timers keeps SQS's
        // default (30 s): a Lambda event source mapping on it allows a function timeout that long.
        ...(this.#init.stage === undefined ? { VisibilityTimeout: String(SWEEP_VISIBILITY_SECONDS) } : {}),
        ...(kmsKeyId === undefined ? { SqsManagedSseEnabled: 'true' } : { KmsMasterKeyId: kmsKeyId }),
      },
      tags:
        this.#init.stage === undefined
          ? { [TAG.domain]: domain, [TAG.role]: ROLE }
          : { [TAG.domain]: domain, [TAG.stage]: this.#init.stage, [TAG.role]: LATER_ROLE },
    };
  }
}

function toEntry(entry: Outgoing, i: number): SendMessageBatchRequestEntry {
  return {
    Id: String(i),
    MessageBody: entry.body,
    DelaySeconds: entry.delaySeconds,
    ...(entry.attributes === undefined ? {} : { MessageAttributes: { ...entry.attributes } }),
  };
}

/** The message attributes a timer carries on to its queue: all but the timer's own. */
function carried(attributes: Record<string, MessageAttributeValue> | undefined): {
  MessageAttributes?: Record<string, MessageAttributeValue>;
} {
  if (attributes === undefined) return {};
  const rest = Object.fromEntries(Object.entries(attributes).filter(([name]) => name !== TIMER_ATTRIBUTE));
  return Object.keys(rest).length === 0 ? {} : { MessageAttributes: rest };
}

function stringValue(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/** What SQS counts of message attributes against a message's size: names, types and values. */
function attributesBytes(attributes: Readonly<Record<string, MessageAttributeValue>> | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes ?? {})) {
    bytes += name.length + (value.DataType?.length ?? 0) + Buffer.byteLength(value.StringValue ?? '');
    bytes += value.BinaryValue?.byteLength ?? 0;
  }
  return bytes;
}

function parseTarget(json: string | undefined): TimerTarget | undefined {
  if (json === undefined) return undefined;
  let t: Record<string, unknown>;
  try {
    t = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const valid =
    typeof t === 'object' &&
    t !== null &&
    t['v'] === 1 &&
    typeof t['due'] === 'number' &&
    typeof t['url'] === 'string' &&
    typeof t['group'] === 'string' &&
    typeof t['dedup'] === 'string';
  return valid ? (t as unknown as TimerTarget) : undefined;
}

/**
 * A timer in the body (as a version before the timer attribute sent it: `{ v, kind: 'timer',
 * due, url, groupId, deduplicationId, body }`), as a target whose message body is `body`'s.
 */
function legacyTimer(body: unknown, message: Message): TimerTarget | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const t = body as Record<string, unknown>;
  const valid =
    t['v'] === 1 &&
    t['kind'] === 'timer' &&
    typeof t['due'] === 'number' &&
    typeof t['url'] === 'string' &&
    typeof t['groupId'] === 'string' &&
    typeof t['deduplicationId'] === 'string' &&
    typeof t['body'] === 'string';
  if (!valid) return undefined;
  message.Body = t['body'] as string;
  return {
    v: 1,
    due: t['due'] as number,
    url: t['url'] as string,
    group: t['groupId'] as string,
    dedup: t['deduplicationId'] as string,
  };
}
