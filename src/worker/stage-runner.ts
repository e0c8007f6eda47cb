import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@aws-sdk/client-sqs';
import pLimit, { type LimitFunction } from 'p-limit';
import { runInContext } from '../context.ts';
import { outputsOf } from '../empty.ts';
import { decodeEnvelope, type Envelope } from '../envelope.ts';
import { SqspipesError, StageError } from '../errors.ts';
import type { Provisioner } from '../queues/provisioner.ts';
import type { Topology } from '../queues/topology.ts';
import type { ResolvedRunOptions } from '../run-options.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Stage } from '../stage.ts';
import type { Logger } from '../types.ts';
import { Capacity } from './capacity.ts';
import { Dispatcher } from './dispatcher.ts';
import { Forwarder } from './forwarder.ts';
import type { OutputChannel } from './output-channel.ts';
import { RunControl } from './run-control.ts';

/** What a stage run needs from its client. */
export interface RunDeps {
  readonly topology: Topology;
  readonly provisioner: Provisioner;
  readonly io: SqsIo;
  readonly logger: Logger;
  readonly ignoreNone: boolean;
}

/** A received message, decoded, waiting or running. */
interface InHand {
  readonly level: number;
  readonly group: string;
  readonly url: string;
  readonly message: Message;
  readonly envelope: Envelope;
}

/** Messages one receive asks for at most (SQS's limit). */
const RECEIVE_MAX = 10;
const LONG_POLL_SECONDS = 20;

/**
 * Runs one consuming stage in this process: long-polls its input levels, dispatches messages to
 * `workers` concurrent calls (highest level first, one at a time per group), forwards outputs,
 * hands them to the consumer, then acknowledges the input. Stops gracefully, losing nothing.
 */
export class StageRunner {
  readonly #stage: Stage;
  readonly #deps: RunDeps;
  readonly #options: ResolvedRunOptions;
  readonly #output: OutputChannel<unknown>;
  readonly #forwarder: Forwarder;
  readonly #control: RunControl;
  readonly #dispatcher = new Dispatcher<InHand>();
  readonly #capacity: Capacity;
  readonly #limit: LimitFunction;
  readonly #pollers: Promise<void>[] = [];
  #started = 0;
  #stopped: Promise<void> | undefined;

  constructor(
    stage: Stage,
    deps: RunDeps,
    options: ResolvedRunOptions,
    output: OutputChannel<unknown>,
  ) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
    this.#output = output;
    this.#forwarder = new Forwarder(stage, deps.topology, deps.provisioner, deps.io);
    this.#control = new RunControl(options);
    this.#capacity = new Capacity(options.workers + RECEIVE_MAX);
    this.#limit = pLimit(options.workers);
  }

  /** Creates the input queues if needed and starts receiving. */
  async start(): Promise<void> {
    const { minPriority, maxPriority } = this.#options;
    const levels = Array.from({ length: maxPriority - minPriority + 1 }, (_, i) => maxPriority - i);
    const urls = await Promise.all(
      levels.map((level) =>
        this.#deps.provisioner.ensure(this.#deps.topology.inputQueue(this.#stage, level)),
      ),
    );
    this.#control.begin(() => void this.stop());
    levels.forEach((level, i) => {
      this.#pollers.push(this.#poll(level, urls[i] as string));
    });
  }

  /** Stops gracefully (idempotent): see the shutdown order in {@link StageRunner.#shutdown}. */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  async #poll(level: number, url: string): Promise<void> {
    const stop = this.#control.stopSignal;
    while (!stop.aborted) {
      const room = await this.#capacity.reserve(level, RECEIVE_MAX, stop);
      if (room === 0) break;
      let messages: Message[];
      try {
        messages = await this.#deps.io.receive(
          url,
          room,
          LONG_POLL_SECONDS,
          this.#stage.visibilityTimeout,
          stop,
        );
      } catch (error) {
        this.#capacity.release(room);
        if (stop.aborted) break;
        this.#deps.logger.warn(
          { stage: this.#stage.name, queue: url, err: error },
          'receive failed; retrying',
        );
        await sleep(1000, undefined, { signal: stop }).catch(() => {});
        continue;
      }
      this.#capacity.release(room - messages.length);
      if (messages.length > 0) this.#accept(level, url, messages);
    }
  }

  #accept(level: number, url: string, messages: Message[]): void {
    if (this.#control.stopping) {
      // Arrived after the stop: hand them straight back.
      for (const message of messages) this.#release(url, message);
      this.#capacity.release(messages.length);
      return;
    }
    this.#control.touch();
    const items: InHand[] = [];
    for (const message of messages) {
      const decoded = decodeEnvelope(message.Body);
      if (!decoded.ok) {
        // Not ours to process; left in hand until its visibility expires, never deleted unseen.
        this.#deps.logger.error(
          {
            stage: this.#stage.name,
            queue: url,
            messageId: message.MessageId,
            reason: decoded.reason,
          },
          'message is not a sqspipes envelope; left on the queue',
        );
        this.#capacity.release(1);
        continue;
      }
      const { envelope } = decoded;
      items.push({
        level,
        url,
        message,
        envelope,
        group: envelope.key ?? message.MessageId ?? envelope.id,
      });
    }
    this.#dispatcher.push(...items);
    for (const _ of items) this.#schedule();
  }

  /** One slot ticket: when a worker is free it takes whichever message should run next. */
  #schedule(): void {
    void this.#limit(() => this.#runNext());
  }

  async #runNext(): Promise<void> {
    if (this.#control.stopping || this.#started >= this.#options.limit) return;
    const item = this.#dispatcher.take();
    if (item === undefined) return;
    this.#started++;
    try {
      await this.#control.track(this.#process(item));
    } finally {
      this.#dispatcher.done(item);
      this.#capacity.release(1);
      if (this.#started >= this.#options.limit && !this.#control.stopping)
        this.#control.requestStop();
      if (this.#dispatcher.waiting > this.#limit.pendingCount) this.#schedule();
    }
  }

  async #process(item: InHand): Promise<void> {
    const { message, envelope, url, level } = item;
    const context = {
      stage: this.#stage.name,
      signal: this.#control.callSignal,
      priority: level,
      messageId: message.MessageId,
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    };
    let result: unknown;
    try {
      result = await runInContext(context, () =>
        this.#stage.method(envelope.value, ...this.#options.args),
      );
    } catch (error) {
      this.#release(url, message);
      this.#control.fail(new StageError(this.#stage.name, message.MessageId, error));
      return;
    }
    try {
      const outputs = outputsOf(result, this.#deps.ignoreNone);
      await this.#forwarder.forward(
        outputs,
        { inputId: envelope.id, key: envelope.key },
        outputs.map(() => level),
      );
      const handled = await Promise.all(outputs.map((output) => this.#output.push(output)));
      if (handled.every(Boolean)) await this.#ack(url, message);
      else this.#release(url, message);
    } catch (error) {
      this.#release(url, message);
      this.#control.fail(
        error instanceof SqspipesError
          ? error
          : new StageError(this.#stage.name, message.MessageId, error),
      );
    }
  }

  async #ack(url: string, message: Message): Promise<void> {
    try {
      await this.#deps.io.delete(url, message.ReceiptHandle ?? '');
    } catch (error) {
      // Its visibility expired first: SQS delivers it again, and the outputs' ids make that harmless.
      this.#deps.logger.warn(
        { stage: this.#stage.name, queue: url, messageId: message.MessageId, err: error },
        'delete failed',
      );
    }
  }

  #release(url: string, message: Message): void {
    this.#deps.io.changeVisibility(url, message.ReceiptHandle ?? '', 0).catch((error: unknown) => {
      this.#deps.logger.warn(
        { stage: this.#stage.name, queue: url, messageId: message.MessageId, err: error },
        'release failed',
      );
    });
  }

  /**
   * Stop order: take no new work (end long polls, drop queued tickets) → release what waits →
   * let running calls finish (bounded) → flush pending sends, deletes and releases → end output.
   */
  async #shutdown(): Promise<void> {
    this.#control.requestStop();
    this.#limit.clearQueue();
    for (const item of this.#dispatcher.drain()) {
      this.#release(item.url, item.message);
      this.#capacity.release(1);
    }
    await Promise.allSettled(this.#pollers);
    const abandoned = await this.#control.drain(this.#options.shutdownTimeout);
    if (abandoned > 0) {
      const fields = { stage: this.#stage.name, calls: abandoned };
      this.#deps.logger.warn(fields, 'calls still running past shutdownTimeout were abandoned');
    }
    await this.#deps.io.flush();
    this.#output.end(this.#control.failed ? this.#control.error : undefined);
  }
}
