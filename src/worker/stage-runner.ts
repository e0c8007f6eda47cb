import type { Message } from '@aws-sdk/client-sqs';
import pLimit, { type LimitFunction } from 'p-limit';
import { decodeEnvelope } from '../envelope.ts';
import type { TaskEvents } from '../events.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { ResolvedRunOptions } from '../run-options.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Stage } from '../stage.ts';
import type { Logger } from '../types.ts';
import { Capacity } from './capacity.ts';
import { Dispatcher } from './dispatcher.ts';
import { Forwarder } from './forwarder.ts';
import { Heartbeat } from './heartbeat.ts';
import { LevelPoller, RECEIVE_MAX } from './poller.ts';

import type { StageHooks } from './hooks.ts';
import type { InHand } from './in-hand.ts';
import { InputHandler } from './input-handler.ts';
import type { OutputChannel } from './output-channel.ts';
import { RecentIds } from './recent-ids.ts';
import { RunControl } from './run-control.ts';

/** How many completed inputs a run remembers, to acknowledge (not redo) one delivered again. */
const COMPLETED_MEMORY = 10_000;

/** Most receives in flight at once per priority level. */
const MAX_LANES = 8;

/** What a stage run needs from its client. */
export interface RunDeps {
  readonly queues: PipelineQueues;
  readonly io: SqsIo;
  readonly logger: Logger;
  readonly events: TaskEvents;
  readonly hooks: StageHooks;
  /** Aborted when the client closes: ends even the receives a stop leaves running. */
  readonly closeSignal: AbortSignal;
  readonly ignoreNone: boolean;
}

/**
 * Runs one consuming stage in this process: long-polls its input levels, keeps what it holds
 * invisible (heartbeat), dispatches messages to `workers` concurrent calls (highest level first,
 * one at a time per group), and lets the {@link InputHandler} call, forward and acknowledge.
 * Stops gracefully, losing nothing.
 */
export class StageRunner {
  readonly #stage: Stage;
  readonly #deps: RunDeps;
  readonly #options: ResolvedRunOptions;
  readonly #output: OutputChannel<unknown>;
  readonly #control: RunControl;
  readonly #dispatcher = new Dispatcher<InHand>();
  readonly #capacity: Capacity;
  readonly #limit: LimitFunction;
  readonly #heartbeat: Heartbeat;
  #handler!: InputHandler;
  readonly #pollers = new Map<number, LevelPoller>();
  readonly #deferred: Pick<InHand, 'level' | 'url' | 'message' | 'beat'>[] = [];
  #pollersStopped = false;
  /** Messages in hand by SQS message id, to recognise one that SQS delivers again meanwhile. */
  readonly #byMessageId = new Map<string, InHand>();
  /** Envelope ids completed in this run (outputs forwarded and handed over), lest a lost delete redo one. */
  readonly #completed = new RecentIds(COMPLETED_MEMORY);
  /** Messages in hand by level, for the pollers' choice of wait. */
  readonly #levelCounts = new Map<number, number>();
  #started = 0;
  #receiveFailing = false;
  #idle = false;
  #stopped: Promise<void> | undefined;

  constructor(stage: Stage, deps: RunDeps, options: ResolvedRunOptions, output: OutputChannel<unknown>) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
    this.#output = output;
    this.#control = new RunControl(options);
    // Room for a batch of 10 beyond the workers, and one place per idle level's long poll.
    const levels = options.maxPriority - options.minPriority + 1;
    this.#capacity = new Capacity(options.workers * (stage.batch ?? 1) + RECEIVE_MAX + levels);
    this.#limit = pLimit(options.workers);
    this.#heartbeat = new Heartbeat(deps.io, stage.visibilityTimeout, (error) => {
      deps.logger.warn({ stage: stage.name, err: error }, 'heartbeat failed');
      deps.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Creates the input queues (and dead-letter queue) if needed and starts receiving. */
  async start(): Promise<void> {
    const { minPriority, maxPriority } = this.#options;
    const levels = Array.from({ length: maxPriority - minPriority + 1 }, (_, i) => maxPriority - i);
    const urls = await Promise.all(levels.map((level) => this.#deps.queues.inputUrl(this.#stage, level)));
    const state = await this.#deps.hooks.acquire(this.#stage);
    this.#handler = this.#createHandler(state);
    this.#control.begin(() => void this.stop());
    if (this.#control.stopping) return; // aborted already: receive nothing
    levels.forEach((level, i) => {
      const url = urls[i] as string;
      const poller = new LevelPoller(
        level,
        url,
        this.#deps.io,
        this.#capacity,
        {
          visibility: this.#stage.visibilityTimeout,
          lanes: Math.min(
            MAX_LANES,
            Math.ceil((this.#options.workers * (this.#stage.batch ?? 1)) / RECEIVE_MAX),
          ),
          closeSignal: this.#deps.closeSignal,
        },
        {
          inHand: () => this.#levelCounts.get(level) ?? 0,
          waiting: () => this.#dispatcher.waiting,
          messages: (messages) => this.#accept(level, url, messages),
          empty: () => this.#maybeIdle(),
          failed: (error) => this.#receiveFailed(url, error),
          recovered: () => this.#receiveRecovered(url),
        },
      );
      this.#pollers.set(level, poller);
      poller.start();
    });
  }

  #createHandler(state: unknown): InputHandler {
    const stage = this.#stage;
    const deps = this.#deps;
    const options = this.#options;
    return new InputHandler({
      stage,
      args: options.args,
      ignoreNone: deps.ignoreNone,
      queues: deps.queues,
      io: deps.io,
      forwarder: new Forwarder(stage, deps.queues, deps.io),
      heartbeat: this.#heartbeat,
      output: this.#output,
      control: this.#control,
      events: deps.events,
      logger: deps.logger,
      state,
      handBack: this.#handBack,
      completed: (id) => this.#completed.add(id),
    });
  }

  /**
   * Makes a message in hand visible again at once. While stopping, it waits until the short
   * receives ended, so that none of them takes it back.
   */
  readonly #handBack = (item: Pick<InHand, 'level' | 'url' | 'message' | 'beat'>): void => {
    this.#heartbeat.untrack(item.beat);
    if (this.#control.stopping && !this.#pollersStopped) {
      this.#deferred.push(item);
      return;
    }
    this.#deps.io.changeVisibility(item.url, item.message.ReceiptHandle ?? '', 0).catch((error: unknown) => {
      const fields = {
        stage: this.#stage.name,
        queue: item.url,
        messageId: item.message.MessageId,
        err: error,
      };
      this.#deps.logger.warn(fields, 'hand-back failed; the message comes back when its visibility expires');
    });
  };

  /** Inputs received and not yet finished: waiting for a worker, or running. */
  get inHand(): number {
    return this.#dispatcher.waiting + this.#control.runningCount;
  }

  /** Stops gracefully (idempotent): see the stop order in `#shutdown`. */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  #accept(level: number, url: string, messages: Message[]): void {
    const receivedAt = Date.now();
    if (this.#control.stopping) {
      // Arrived after the stop: hand them straight back.
      for (const message of messages)
        this.#handBack({
          level,
          url,
          message,
          beat: this.#heartbeat.track(url, message.ReceiptHandle ?? ''),
        });
      this.#capacity.release(messages.length);
      return;
    }
    this.#control.touch();
    this.#idle = false;
    const items: InHand[] = [];
    for (const message of messages) {
      if (this.#seenAgain(url, message, receivedAt)) continue;
      const beat = this.#heartbeat.track(url, message.ReceiptHandle ?? '', receivedAt);
      const decoded = decodeEnvelope(message.Body);
      if (decoded.ok) {
        const { envelope } = decoded;
        if (this.#completed.has(envelope.id)) {
          // Its outputs were forwarded and handed over already; only its delete was lost.
          this.#capacity.release(1);
          void this.#handler.acknowledge({ level, url, message, beat });
          continue;
        }
        items.push({
          level,
          url,
          message,
          envelope,
          beat,
          group: envelope.key ?? message.MessageId ?? envelope.id,
        });
        continue;
      }
      this.#capacity.release(1);
      void this.#handler.poison({ level, url, message, beat }, decoded.reason);
    }
    this.#count(level, items.length);
    for (const item of items) this.#byMessageId.set(item.message.MessageId ?? '', item);
    this.#dispatcher.push(...items);
    for (const _ of items) this.#schedule();
  }

  /** One slot ticket: when a worker is free it takes whichever message should run next. */
  #schedule(): void {
    void this.#limit(() => this.#runNext());
  }

  async #runNext(): Promise<void> {
    const items = this.#takeWork();
    if (items.length === 0) return;
    this.#started += items.length;
    const work =
      items.length === 1 && this.#stage.batch === undefined
        ? this.#handler.process(items[0] as InHand)
        : this.#handler.processBatch(items);
    try {
      await this.#control.track(work);
    } finally {
      for (const item of items) {
        this.#dispatcher.done(item);
        this.#count(item.level, -1);
        this.#byMessageId.delete(item.message.MessageId ?? '');
      }
      this.#capacity.release(items.length);
      if (this.#started >= this.#options.limit) this.#control.requestStop();
      if (this.#dispatcher.waiting > this.#limit.pendingCount) this.#schedule();
      this.#maybeIdle();
    }
  }

  /**
   * A message already in hand came again (its visibility expired while SQS was unreachable and the
   * heartbeat could not extend it): keep the one in hand, with the new receipt handle, which is
   * the only one SQS still accepts.
   */
  #seenAgain(url: string, message: Message, receivedAt: number): boolean {
    const held = this.#byMessageId.get(message.MessageId ?? '');
    if (held === undefined || held.url !== url) return false;
    held.message.ReceiptHandle = message.ReceiptHandle;
    this.#heartbeat.renew(held.beat, message.ReceiptHandle ?? '', receivedAt);
    this.#capacity.release(1);
    return true;
  }

  #count(level: number, delta: number): void {
    this.#levelCounts.set(level, (this.#levelCounts.get(level) ?? 0) + delta);
  }

  /** What one worker runs next: one input, or up to `batch` inputs of distinct groups. */
  #takeWork(): InHand[] {
    const items: InHand[] = [];
    const want = Math.min(this.#stage.batch ?? 1, this.#options.limit - this.#started);
    while (!this.#control.stopping && items.length < want) {
      const item = this.#dispatcher.take();
      if (item === undefined) break;
      items.push(item);
    }
    return items;
  }

  async #teardown(): Promise<void> {
    try {
      await this.#deps.hooks.release(this.#stage);
    } catch (error) {
      this.#control.fail(error);
    }
  }

  #maybeIdle(): void {
    if (this.#idle || this.#capacity.used > 0 || this.#control.stopping) return;
    this.#idle = true;
    this.#deps.events.safeEmit('idle', { stage: this.#stage.name });
  }

  #receiveFailed(url: string, error: unknown): void {
    if (this.#receiveFailing) return;
    this.#receiveFailing = true;
    this.#deps.logger.warn(
      { stage: this.#stage.name, queue: url, err: error },
      'receive failing; retrying every second',
    );
    this.#deps.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
  }

  #receiveRecovered(url: string): void {
    if (!this.#receiveFailing) return;
    this.#receiveFailing = false;
    this.#deps.logger.info({ stage: this.#stage.name, queue: url }, 'receive works again');
  }

  /**
   * Stop order: take no new work (end long polls, drop queued tickets) → release what waits →
   * let running calls finish (bounded) → flush pending sends, deletes and releases → end output.
   */
  async #shutdown(): Promise<void> {
    this.#control.requestStop();
    this.#limit.clearQueue();
    await Promise.all([...this.#pollers.values()].map((poller) => poller.stop()));
    this.#pollersStopped = true;
    for (const item of this.#dispatcher.drain()) {
      this.#handBack(item);
      this.#capacity.release(1);
    }
    for (const item of this.#deferred.splice(0)) this.#handBack(item);
    const abandoned = await this.#control.drain(this.#options.shutdownTimeout);
    if (abandoned > 0) {
      const fields = { stage: this.#stage.name, calls: abandoned };
      this.#deps.logger.warn(fields, 'calls still running past shutdownTimeout were abandoned');
    }
    await this.#deps.io.flush(this.#options.shutdownTimeout);
    this.#heartbeat.stop();
    if (this.#handler !== undefined) await this.#teardown();
    this.#output.end(this.#control.failed ? this.#control.error : undefined);
  }
}
