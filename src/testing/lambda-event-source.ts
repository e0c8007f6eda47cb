import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { LambdaContextLike, LambdaSqsEvent, LambdaSqsRecord } from '../lambda/types.ts';
import { batchItemFailures, lambdaContext, queueArn, toRecord } from './lambda-event.ts';

/**
 * A local stand-in for Lambda's SQS event source mapping (ESM) with `ReportBatchItemFailures`:
 * pollers receive batches from each queue, invoke a handler with the event Lambda would build,
 * and delete what the answer does not list as failed. Everything else is left to SQS, as Lambda
 * does: a record left on the queue comes back after the queue's visibility timeout, a FIFO group
 * stays locked while one of its records is in flight, and the queue's redrive policy counts the
 * receives. The source never changes a message's visibility.
 */

/** A handler the source invokes: `client.lambda(stage)`, or any function of an SQS event. */
export type LocalLambdaHandler = (event: LambdaSqsEvent, context: LambdaContextLike) => unknown;

/** Options of {@link localEventSource}. */
export interface LocalEventSourceOptions {
  /** An SQS client (left open by `stop()`), or where to connect (a `TestSqs` fits). */
  sqs:
    | SQSClient
    | {
        readonly endpoint: string;
        readonly region: string;
        readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
      };
  /** The queue(s) read: one mapping per queue, each with its own pollers. */
  queueUrls: string | readonly string[];
  handler: LocalLambdaHandler;
  /** Records per invocation at most (the ESM's BatchSize), 1 to 10. @default 10 */
  batchSize?: number;
  /** Invocations in flight per queue at most (ScalingConfig.MaximumConcurrency). @default 2 */
  maximumConcurrency?: number;
  /** The function's timeout: an invocation not answered by then failed (its late answer is ignored). @default 30_000 */
  timeoutMs?: number;
  /** Wait of each long poll, 0 to 20 seconds; `stop()` lets the polls in flight end. @default 20 */
  waitSeconds?: number;
  /** Region of the ARNs and of `awsRegion`. @default the client's region */
  region?: string;
  /** Account of the ARNs. @default the queue URL's account segment, else `000000000000` */
  accountId?: string;
  /** The function's name in the context. @default `local-function` */
  functionName?: string;
  /** Called once an invocation is settled (its deletes done). @default none */
  onInvocation?: (invocation: LocalInvocation) => void;
  /** Called when a receive, a delete or `onInvocation` fails (the source goes on; a receive retries after 1 s). @default none */
  onError?: (error: unknown, queueUrl: string) => void;
}

/**
 * How an invocation ended: `succeeded` (nothing reported failed), `partial` (the answer listed
 * some), `invalid` (an answer AWS rejects: the whole batch failed), `threw`, `timedOut`.
 */
export type InvocationOutcome = 'succeeded' | 'partial' | 'invalid' | 'threw' | 'timedOut';

/** One settled invocation. */
export interface LocalInvocation {
  readonly queueUrl: string;
  readonly awsRequestId: string;
  readonly event: LambdaSqsEvent;
  readonly outcome: InvocationOutcome;
  /** Message ids deleted (a delete SQS refused is reported to `onError` and not listed). */
  readonly deleted: readonly string[];
  /** Message ids left on the queue as failed. */
  readonly failed: readonly string[];
  /** What the handler answered, or threw. */
  readonly answer?: unknown;
}

/** Counts since `start()`, over every queue. */
export interface LocalEventSourceStats {
  invocations: number;
  inFlight: number;
  /** The most invocations in flight at once, over all queues. */
  maxInFlight: number;
  recordsReceived: number;
  recordsDeleted: number;
  /** Records left on the queue as failed (listed, or of a batch that failed whole). */
  recordsFailed: number;
  timedOut: number;
  threw: number;
  invalid: number;
  /** Receives and deletes that failed, and `onInvocation` calls that threw (each also given to `onError`). */
  errors: number;
}

/** A running stand-in for one event source mapping per queue (see {@link localEventSource}). */
export interface LocalEventSource {
  readonly stats: Readonly<LocalEventSourceStats>;
  /** Every settled invocation, in the order they settled. */
  readonly invocations: readonly LocalInvocation[];
  start(): Promise<void>;
  /** No new receives; the polls in flight end (what they bring is invoked); resolves once every invocation settled. Idempotent. */
  stop(): Promise<void>;
  /**
   * Resolves with the stats once `predicate` holds (checked now and after each settled
   * invocation); rejects if the source stops first.
   */
  until(predicate: (stats: Readonly<LocalEventSourceStats>) => boolean): Promise<LocalEventSourceStats>;
  [Symbol.asyncDispose](): Promise<void>;
}

const RECEIVE_RETRY_MS = 1000;

/** Starts nothing: call `start()`. See {@link LocalEventSourceOptions}. */
export function localEventSource(options: LocalEventSourceOptions): LocalEventSource {
  return new EventSource(options);
}

class EventSource implements LocalEventSource {
  readonly stats: LocalEventSourceStats = {
    invocations: 0,
    inFlight: 0,
    maxInFlight: 0,
    recordsReceived: 0,
    recordsDeleted: 0,
    recordsFailed: 0,
    timedOut: 0,
    threw: 0,
    invalid: 0,
    errors: 0,
  };
  readonly invocations: LocalInvocation[] = [];
  readonly #options: LocalEventSourceOptions;
  readonly #urls: readonly string[];
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #waitSeconds: number;
  readonly #stopping = new AbortController();
  readonly #waiters = new Set<() => void>();
  #sqs: SQSClient | undefined;
  #region = '';
  #pollers: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  /** Stopped: every poller ended. */
  #over = false;

  constructor(options: LocalEventSourceOptions) {
    this.#options = options;
    this.#urls = [options.queueUrls].flat();
    if (this.#urls.length === 0 || !this.#urls.every((url) => typeof url === 'string' && url !== ''))
      refuse('queueUrls', 'a queue URL or a non-empty array of them', options.queueUrls);
    if (typeof options.handler !== 'function') refuse('handler', 'a function', options.handler);
    this.#batchSize = whole('batchSize', options.batchSize ?? 10, 1, 10);
    this.#concurrency = whole('maximumConcurrency', options.maximumConcurrency ?? 2, 1, 1000);
    this.#timeoutMs = whole('timeoutMs', options.timeoutMs ?? 30_000, 1, 900_000);
    this.#waitSeconds = whole('waitSeconds', options.waitSeconds ?? 20, 0, 20);
  }

  start(): Promise<void> {
    if (this.#pollers !== undefined || this.#stopping.signal.aborted) return Promise.resolve();
    const given = this.#options.sqs;
    const client =
      'send' in given
        ? given
        : new SQSClient({ endpoint: given.endpoint, region: given.region, credentials: given.credentials });
    this.#sqs = client;
    const started = (async () => {
      this.#region = this.#options.region ?? (await client.config.region());
    })();
    // The pollers start once the region is known; stop() awaits them (and a failed start).
    this.#pollers = started.then(async () => {
      const loops = this.#urls.flatMap((url) =>
        Array.from({ length: this.#concurrency }, () => this.#poll(url, client)),
      );
      await Promise.all(loops);
    });
    // A poller's failure is told now (stop() rejects with it too), never left unhandled.
    this.#pollers.catch((error: unknown) => this.#options.onError?.(error, ''));
    return started;
  }

  stop(): Promise<void> {
    return (this.#stopped ??= this.#stop());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  until(predicate: (stats: Readonly<LocalEventSourceStats>) => boolean): Promise<LocalEventSourceStats> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate(this.stats)) resolve({ ...this.stats });
        else if (this.#over) reject(new Error('localEventSource stopped before the awaited condition held'));
        else return;
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  async #stop(): Promise<void> {
    this.#stopping.abort();
    try {
      await this.#pollers;
    } finally {
      if (this.#sqs !== undefined && !('send' in this.#options.sqs)) this.#sqs.destroy();
      this.#over = true;
      this.#notify();
    }
  }

  /** One poller: receive, invoke, settle, again: at most one invocation in flight. */
  async #poll(url: string, sqs: SQSClient): Promise<void> {
    const arn = queueArn(url, this.#region, this.#options.accountId);
    while (!this.#stopping.signal.aborted) {
      let messages: Message[];
      try {
        // No VisibilityTimeout: the queue's own applies, as for Lambda's pollers.
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: this.#batchSize,
            WaitTimeSeconds: this.#waitSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = out.Messages ?? [];
      } catch (error) {
        this.#fail(error, url);
        await sleep(RECEIVE_RETRY_MS, undefined, { signal: this.#stopping.signal }).catch(() => {});
        continue;
      }
      if (messages.length > 0) await this.#invoke(url, sqs, messages, arn);
    }
  }

  async #invoke(url: string, sqs: SQSClient, messages: Message[], arn: string): Promise<void> {
    const event: LambdaSqsEvent = { Records: messages.map((m) => toRecord(m, arn, this.#region)) };
    const awsRequestId = randomUUID();
    const stats = this.stats;
    stats.invocations += 1;
    stats.recordsReceived += messages.length;
    stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
    const { outcome, answer, failed } = await this.#run(event, awsRequestId, arn.split(':')[4] ?? '');
    const failedIds = new Set(failed);
    const done = event.Records.filter((r) => !failedIds.has(r.messageId));
    const deleted = await this.#delete(url, sqs, done);
    stats.inFlight -= 1;
    stats.recordsDeleted += deleted.length;
    stats.recordsFailed += failed.length;
    if (outcome === 'timedOut' || outcome === 'threw' || outcome === 'invalid') stats[outcome] += 1;
    const invocation = { queueUrl: url, awsRequestId, event, outcome, deleted, failed, answer };
    this.invocations.push(invocation);
    try {
      this.#options.onInvocation?.(invocation);
    } catch (error) {
      this.#fail(error, url);
    }
    this.#notify();
  }

  /** Invokes the handler under the timeout; `failed`: the ids to leave on the queue. */
  async #run(
    event: LambdaSqsEvent,
    awsRequestId: string,
    account: string,
  ): Promise<{ outcome: InvocationOutcome; answer?: unknown; failed: string[] }> {
    const all = event.Records.map((r) => r.messageId);
    const context = lambdaContext(this.#options.functionName ?? 'local-function', {
      awsRequestId,
      region: this.#region,
      account,
      timeoutMs: this.#timeoutMs,
    });
    const timeout = new AbortController();
    const answered = Promise.resolve()
      .then(() => this.#options.handler(event, context))
      .then(
        (answer) => ({ threw: false, answer }),
        (error: unknown) => ({ threw: true, answer: error }),
      );
    const expired = sleep(this.#timeoutMs, undefined, { signal: timeout.signal }).then(
      () => undefined,
      () => undefined,
    );
    const result = await Promise.race([answered, expired]);
    timeout.abort();
    if (result === undefined) return { outcome: 'timedOut', failed: all };
    if (result.threw) return { outcome: 'threw', answer: result.answer, failed: all };
    const listed = batchItemFailures(result.answer, new Set(all));
    if (listed === undefined) return { outcome: 'invalid', answer: result.answer, failed: all };
    const failed = all.filter((id) => listed.has(id));
    return { outcome: failed.length === 0 ? 'succeeded' : 'partial', answer: result.answer, failed };
  }

  /** Deletes `records` in one DeleteMessageBatch; returns the message ids SQS deleted. */
  async #delete(url: string, sqs: SQSClient, records: LambdaSqsRecord[]): Promise<string[]> {
    if (records.length === 0) return [];
    const entries = records.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle }));
    try {
      const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }));
      for (const failure of out.Failed ?? [])
        this.#fail(
          new Error(`DeleteMessageBatch refused an entry: ${failure.Code}: ${failure.Message}`),
          url,
        );
      return (out.Successful ?? []).map((s) => records[Number(s.Id)]?.messageId ?? '');
    } catch (error) {
      this.#fail(error, url);
      return [];
    }
  }

  #fail(error: unknown, url: string): void {
    this.stats.errors += 1;
    this.#options.onError?.(error, url);
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }
}

function whole(field: string, value: unknown, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    refuse(field, `a whole number from ${min} to ${max}`, value);
  return value as number;
}

function refuse(field: string, expected: string, got: unknown): never {
  throw new TypeError(
    `localEventSource: \`${field}\` must be ${expected}, got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`,
  );
}
