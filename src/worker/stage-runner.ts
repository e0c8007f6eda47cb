import type { Message } from '@aws-sdk/client-sqs';
import type { TimerStats } from '../time/domain-timers.ts';
import type { Envelope } from '../envelope.ts';
import type { ResolvedRunOptions } from '../run-options.ts';
import { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import { Capacity } from './capacity.ts';
import { Delivery, type DeliveryDeps, laterThan, type Outcome } from './delivery.ts';
import { DlqSweeper } from './dlq-sweep.ts';
import { Forwarder, maxBodyBytes } from './forwarder.ts';
import { Heartbeat } from './heartbeat.ts';
import { Intake } from './intake.ts';
import type { OutputChannel } from './output-channel.ts';
import { BUSY_WAIT_SECONDS, RECEIVE_MAX } from './poller.ts';
import { OUTPUT_WINDOW, OutputWindow } from './output-window.ts';
import { Processor } from './processor.ts';
import { JOIN_FOLD_MAX } from '../join/gate.ts';
import type { JoinReporter } from '../join/reporter.ts';
import type { Reporter } from '../replies/reporter.ts';
import { stageReporters } from './stage-parts.ts';
import { RunControl } from './run-control.ts';
import { logStop } from './stop-log.ts';
import type { RunDeps } from './run-deps.ts';
import type { CallLimits, LimitStats } from './call-limits.ts';
import { startTicks, type TickDeps } from '../time/ticks.ts';
import { Scheduler } from './scheduler.ts';
import { STORED_BYTES_BUDGET, StoredBytes } from './stored-bytes.ts';
import { STOP_CALLS, STOP_FLUSH, STOP_RECEIVES, StopClock, type StopOptions } from './stop-clock.ts';

/** Most receives in flight at once per priority level. */
const MAX_LANES = 8;

/**
 * Runs one consuming stage in this process. The parts, each with one job:
 * - {@link Intake}: receives from the input levels and makes one {@link Delivery} per message;
 * - {@link Scheduler}: gives deliveries to worker slots (highest level first, groups serial);
 * - {@link Processor}: calls the stage and gives each delivery its verdict;
 * - {@link Delivery}: carries out that verdict (acknowledge, retry, dead-letter, release), once.
 * This class wires them and owns the stop, which loses nothing (see {@link StageRunner.stop}).
 */
export class StageRunner {
  readonly #stage: Stage;
  readonly #deps: RunDeps;
  readonly #options: ResolvedRunOptions;
  readonly #output: OutputChannel<unknown>;
  readonly #control: RunControl;
  readonly #io: RunIo;
  readonly #heartbeat: Heartbeat;
  #capacity: Capacity | undefined;
  #scheduler: Scheduler | undefined;
  #intake: Intake | undefined;
  /** Looks for messages SQS moved to the dead-letter queue by itself (see {@link DlqSweeper}). */
  #sweeper: DlqSweeper | undefined;
  /** The stage's fleet-wide limits, waited for before each call (see CallLimits). */
  #limits: CallLimits | undefined;
  /** A scheduled source's clock (see src/time/ticks.ts), stopped first on stop. */
  #ticks: (() => Promise<void>) | undefined;
  /** Ends this run's part in sweeping the domain's work for later (see DomainTimers). */
  #stopTimers: (() => Promise<void>) | undefined;
  #acquired = false;
  /** The stage's setup as this run took it: given back once the run is done, even if it comes late. */
  #acquiring: Promise<unknown> | undefined;
  #receiveFailing = false;
  #idle = false;
  #stopLogged = false;
  #stopped: Promise<void> | undefined;
  /** Aborts when the stop may abandon even busy receives (their queues are being deleted). */
  readonly #abandonReceives = new AbortController();

  constructor(stage: Stage, deps: RunDeps, options: ResolvedRunOptions, output: OutputChannel<unknown>) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
    this.#output = output;
    this.#control = new RunControl(options);
    this.#io = new RunIo(deps.io);
    this.#heartbeat = new Heartbeat(this.#io, stage.visibilityTimeout, (error) => {
      deps.logger.warn({ stage: stage.name, err: error }, 'heartbeat failed');
      deps.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** Its stage's fleet-wide limits as this run sees them (permits held, calls waiting); none before start. */
  get limitStats(): LimitStats | undefined {
    return this.#limits?.stats();
  }

  /** Its stage's timers as this process's sweeps saw them (for metrics). */
  get timerStats(): TimerStats {
    return this.#deps.later.timerStats();
  }

  /** Creates the input queues (and dead-letter queue) if needed and starts receiving. */
  async start(): Promise<void> {
    const { minPriority, maxPriority, workers } = this.#options;
    const stage = this.#stage;
    const levels = Array.from({ length: maxPriority - minPriority + 1 }, (_, i) => maxPriority - i);
    const forwarder = new Forwarder(stage, this.#deps.queues, this.#io, maxBodyBytes(this.#deps.io));
    const limits = this.#deps.limitsFor(stage);
    this.#limits = limits;
    // Checked (attributes compared, fixed by this owner) and made ready before any call: the
    // input queues, the next stage's, the queues of timers, the permits of its limits.
    const setUp = Promise.all([
      Promise.all(levels.map((level) => this.#deps.queues.inputUrl(stage, level))),
      forwarder.createQueues(),
      this.#deps.later.url('own'), // its queue of timers, which its runs sweep
      this.#deps.io.payloads === undefined ? undefined : this.#deps.timers.url('own'), // deletes of stored bodies
      limits.start(), // the permit queues of its fleet-wide limits, filled
    ]);
    setUp.catch(() => {}); // awaited below, once receiving started (or its failure is the start's)
    // Receiving starts once the input queues are found (and the bucket checked, before any input
    // is taken: a stored body is read as it is received), beside those checks and the stage's
    // setup: what comes is held, kept invisible, until they are done, or handed back if they fail.
    const [urls] = await Promise.all([
      Promise.all(levels.map((level) => this.#deps.queues.locatedInputUrl(stage, level))),
      this.#ready(),
    ]);
    // Stopped while starting (stop(), or the run's signal): nothing received, no setup to run.
    if (this.#control.stopping) return;
    if (this.#options.signal?.aborted === true) {
      await setUp;
      this.#control.begin(this.#onStop); // stops at once, as the signal says
      return;
    }
    const batch = stage.batch ?? 1;
    const limit = this.#options.limit;
    const drained = () => this.#intake?.wake();
    // A join folds the messages of an item in hand at once (one read and write of its state).
    const follow = this.#stage.join === undefined ? 0 : JOIN_FOLD_MAX - 1;
    const options = { workers, batch, follow, limit, drained, levels };
    const scheduler = new Scheduler(options, this.#control);
    const { reporter, joinReporter, joinGate } = stageReporters(stage, this.#deps, this.#io);
    // A worker is free as soon as its call returns, while its input waits for its outputs to be
    // accepted (a round trip): room in hand for the workers, plus two batches of 10 per receive
    // lane (one arriving while the one before completes), plus one place per idle level's long poll.
    const lanes = MAX_LANES;
    const room = workers * batch + 2 * RECEIVE_MAX * lanes + levels.length;
    // With `payloads`, bodies read from S3 are held within a budget of bytes too.
    const stored =
      this.#deps.io.payloads === undefined
        ? undefined
        : new StoredBytes(STORED_BYTES_BUDGET, workers * batch);
    const capacity = new Capacity(room, () => scheduler.quota, stored);
    const deliveryDeps = this.#deliveryDeps(scheduler, reporter, joinReporter);
    this.#scheduler = scheduler;
    this.#capacity = capacity;
    this.#intake = new Intake({
      io: this.#io,
      extend: (url, messages) => this.#extend(url, messages),
      capacity,
      queues: levels.map((level, i) => ({ level, url: urls[i] as string })),
      visibility: stage.visibilityTimeout,
      lanes,
      waitSeconds: (busy) => this.#waitSeconds(busy),
      deliver: (url: string, level: number, message: Message, envelope: Envelope | undefined) => {
        const delivery = new Delivery(url, level, message, envelope, deliveryDeps);
        capacity.hold(delivery.storedBytes); // given back when it ends (#ended)
        return delivery;
      },
      schedule: (deliveries) => {
        const fields = { stage: stage.name, level: deliveries[0]?.level, count: deliveries.length };
        this.#deps.logger.debug(
          stored === undefined ? fields : { ...fields, storedBytes: stored.inHand },
          'received',
        );
        scheduler.push(deliveries);
      },
      stopping: () => this.#control.stopping,
      quota: () => scheduler.quota,
      waiting: (level) => scheduler.waitingFrom(level),
      caughtUp: (level) => scheduler.caughtUp(level),
      on: {
        received: () => {
          this.#control.touch();
          this.#idle = false;
        },
        empty: () => this.#maybeIdle(),
        failed: (error) => this.#receiveFailed(error),
        recovered: () => this.#receiveRecovered(),
      },
    });
    this.#intake.start();
    await setUp;
    if (this.#control.stopping) return; // stopped while starting: no setup to run
    this.#acquiring = this.#deps.hooks.acquire(stage); // the shutdown waits for it (see #release)
    const state = await this.#acquiring;
    this.#acquired = true;
    this.#logStart(levels, workers, batch);
    const processor = new Processor({
      stage,
      args: this.#options.args,
      state,
      target: {
        forwarder,
        output: this.#output,
        ignoreNone: this.#deps.ignoreNone,
        withIds: this.#options.withIds,
        window: new OutputWindow(OUTPUT_WINDOW),
        telemetry: this.#deps.telemetry,
      },
      callSignal: this.#control.callSignal,
      reporter,
      joinReporter,
      joinGate,
      limits,
      stopSignal: this.#control.stopSignal,
    });
    // Idle: nothing received for `idleTimeout` while nothing was in hand (running, retrying, …).
    this.#control.begin(this.#onStop, () => this.inHand > 0);
    if (this.#control.stopping) return; // aborted already: what was received goes back
    scheduler.start(processor);
    this.#sweeper = new DlqSweeper({
      stage,
      io: this.#io,
      deadLetterUrl: () => this.#deps.queues.deadLetterUrl(stage),
      reporter,
      events: this.#deps.events,
      logger: this.#deps.logger,
    });
    this.#sweeper.start();
    const sweeping = [this.#deps.later.keepSweeping()];
    if (this.#deps.io.payloads !== undefined) sweeping.push(this.#deps.timers.keepSweeping());
    this.#stopTimers = async () => {
      await Promise.all(sweeping.map((stop) => stop()));
    };
    if (stage.schedule !== undefined)
      this.#ticks = startTicks(stage, stage.schedule, this.#tickDeps(urls[0]));
  }

  /** A stop was requested (signal, limit, idle timeout, failure): says why, and stops. */
  readonly #onStop = (): void => {
    this.#logStop();
    // The shutdown ends the run's output itself; a failure of it is logged, never unhandled.
    this.stop().catch((error: unknown) =>
      this.#deps.logger.error({ stage: this.#stage.name, err: error }, 'stop failed'),
    );
  };

  /** What a scheduled source's clock needs: where its ticks go, and their last one done. */
  #tickDeps(url: string | undefined): TickDeps {
    return {
      sqs: this.#deps.sqs,
      url: url ?? '',
      io: this.#io,
      logger: this.#deps.logger,
    };
  }

  #deliveryDeps(
    scheduler: Scheduler,
    reporter: Reporter,
    joinReporter: JoinReporter | undefined,
  ): DeliveryDeps {
    const { stage, deps } = { stage: this.#stage, deps: this.#deps };
    return {
      stage,
      io: this.#io,
      heartbeat: this.#heartbeat,
      events: deps.events,
      logger: deps.logger,
      stopping: () => this.#control.stopping,
      failFast: this.#options.failFast ? (error) => this.#control.fail(error) : undefined,
      deadLetterUrl: () => deps.queues.deadLetterUrl(stage),
      ended: (delivery, outcome) => this.#ended(delivery, outcome),
      retry: (delivery) => scheduler.resume(delivery),
      reporter,
      joinReporter,
    };
  }

  /** A delivery ended: free its place and its group (releasing the rest of a released group). */
  #ended(delivery: Delivery, outcome: Outcome): void {
    this.#capacity?.release(1, delivery.storedBytes);
    this.#intake?.ended(delivery, outcome);
    if (this.inHand === 0) this.#control.touch();
    const after = laterThan(delivery);
    for (const later of this.#scheduler?.ended(delivery, outcome) ?? []) later.release(after);
    if (this.#scheduler?.limitDone === true) this.#control.requestStop();
    this.#maybeIdle();
  }

  /**
   * The bucket check of `payloads` (none without), ended by a stop during the start: the run then
   * starts stopped, and takes no input.
   */
  async #ready(): Promise<void> {
    const starting = this.#control.startSignal;
    await this.#deps.io.payloads?.ready(this.#deps.logger, starting).catch((error: unknown) => {
      if (!starting.aborted) throw error;
    });
  }

  /** Extends messages an idle long poll brought with a short lease to the stage's visibility. */
  #extend(url: string, messages: readonly Message[]): void {
    const seconds = this.#stage.visibilityTimeout;
    for (const message of messages) {
      const receipt = { receiptHandle: message.ReceiptHandle ?? '' };
      this.#io.changeVisibility(url, receipt, seconds).catch((error: unknown) => {
        const fields = { stage: this.#stage.name, messageId: message.MessageId, err: error };
        this.#deps.logger.warn(fields, 'could not extend a received message; it may be delivered again');
      });
    }
  }

  /** A busy level's short wait; an idle level's long poll, never past the run's idle timeout. */
  #waitSeconds(busy: boolean): number {
    if (busy) return BUSY_WAIT_SECONDS;
    const idleSeconds = Math.ceil(this.#control.idleRemainingMs / 1000);
    return Math.max(1, Math.min(this.#deps.pollWaitSeconds, idleSeconds));
  }

  /** Inputs received and not yet ended: waiting for a worker, running, or between retries. */
  get inHand(): number {
    return this.#intake?.live ?? 0;
  }

  /**
   * Stops gracefully (idempotent), within one clock, `shutdownTimeout`: no new receives (idle
   * long polls are abandoned at once, busy receives of 2 s waited out) → what waits for a worker
   * or for a retry is handed back → running calls finish (their signal aborts when the clock
   * leaves just enough time to flush) → every delivery's verdict is carried out and this run's
   * requests flushed → the output ends. What it waits for is logged (`info`) as it starts waiting.
   * `abandonReceives`: busy receives are abandoned too (what they bring stays invisible for the
   * stage's visibility timeout: only for queues about to be deleted, as `destroy()` does).
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (options.abandonReceives === true) this.#abandonReceives.abort();
    // A run that failed to start says nothing here: its error says it all.
    if (this.#stopped === undefined && !this.#control.stopping && this.#acquired) {
      this.#logStop('stop() was called (the consumer left the loop, or close())');
    }
    // Recorded before the shutdown starts: its stop request calls stop() again, synchronously.
    this.#stopped ??= Promise.resolve().then(() => this.#shutdown());
    return this.#stopped;
  }

  async #shutdown(): Promise<void> {
    this.#control.requestStop();
    const clock = new StopClock(this.#options.shutdownTimeout);
    // Its receive is abandoned at once; what it found is ended, within the clock, before the flush.
    const swept = Promise.all([this.#sweeper?.stop(clock.signal), this.#stopTimers?.(), this.#ticks?.()]);
    const say = (msg: string, fields: object) => (upToMs: number) =>
      this.#deps.logger.info({ stage: this.#stage.name, ...fields, upToMs }, msg);
    const waiting = this.#scheduler?.drain() ?? [];
    const receives = { receives: this.#intake?.busyReceiving ?? 0 };
    const upToReceives = () => clock.leftFor(BUSY_WAIT_SECONDS * 1000);
    const receivesUntil = AbortSignal.any([clock.signal, this.#abandonReceives.signal]);
    const received = this.#intake?.stop(receivesUntil) ?? Promise.resolve();
    await clock.waitSaying(received, upToReceives, say(STOP_RECEIVES, receives));
    // Inputs between retries go back with their delay, and what waits behind them in their
    // group for longer: nothing of a group becomes visible before its first.
    const notBefore = new Map<string, number>();
    for (const delivery of this.#intake?.inBackoff() ?? []) {
      delivery.release();
      notBefore.set(delivery.group, Math.max(notBefore.get(delivery.group) ?? 0, laterThan(delivery)));
    }
    for (const delivery of waiting) delivery.release(notBefore.get(delivery.group) ?? 0);
    const calls = { calls: this.#control.runningCount };
    const drained = this.#control.drain(clock.forCalls(), clock.grace);
    const abandoned = await clock.waitSaying(drained, () => clock.forCalls(), say(STOP_CALLS, calls));
    if (abandoned > 0) {
      const fields = { stage: this.#stage.name, calls: abandoned };
      this.#deps.logger.warn(fields, 'calls still running past shutdownTimeout were abandoned');
    }
    await this.#intake?.allEnded(clock.left());
    await swept;
    await this.#limits?.close(); // the slots its calls held go back at once
    const requests = { requests: this.#io.pending };
    await clock.waitSaying(this.#io.flush(clock.left()), () => clock.left(), say(STOP_FLUSH, requests));
    clock.dispose();
    this.#heartbeat.stop();
    await this.#release();
    this.#output.end(this.#control.failed ? this.#control.error : undefined);
  }

  /**
   * Gives back the stage's setup, if this run took it (waiting for a setup still running: a stop
   * may come while it does); a failed setup is not given back.
   */
  async #release(): Promise<void> {
    const taken = await this.#acquiring?.then(
      () => true,
      () => false,
    );
    if (taken === true) {
      await this.#deps.hooks.release(this.#stage).catch((error: unknown) => this.#control.fail(error));
    }
  }

  /** What an operator needs to know of this run: what it consumes, where it sends, how many workers. */
  #logStart(levels: readonly number[], workers: number, batch: number): void {
    const { topology } = this.#deps.queues;
    const next = topology.next(this.#stage);
    const sendsTo = Array.from({ length: next?.priorities ?? 0 }, (_, level) =>
      next === undefined ? '' : topology.inputQueue(next, level).name,
    );
    this.#deps.logger.debug(
      {
        stage: this.#stage.name,
        consumes: levels.map((level) => topology.inputQueue(this.#stage, level).name),
        sendsTo,
        deadLetters: topology.deadLetterQueue(this.#stage).name,
        workers,
        batch,
      },
      'running',
    );
  }

  /** Logs why the run stops, once (see {@link logStop}). */
  #logStop(external?: string): void {
    if (this.#stopLogged) return;
    this.#stopLogged = true;
    const { signal, limit, idleTimeout } = this.#options;
    logStop(this.#deps.logger, this.#stage.name, {
      external,
      failed: this.#control.failed ? 'an input failed its last attempt (failFast)' : undefined,
      signal,
      limitReached: this.#scheduler?.limitDone === true,
      limit,
      idleTimeout,
      idleOf: 'input',
    });
  }

  #maybeIdle(): void {
    if (this.#idle || this.inHand > 0 || this.#control.stopping) return;
    this.#idle = true;
    this.#deps.events.safeEmit('idle', { stage: this.#stage.name });
  }

  #receiveFailed(error: unknown): void {
    if (this.#receiveFailing) return;
    this.#receiveFailing = true;
    this.#deps.logger.warn({ stage: this.#stage.name, err: error }, 'receive failing; retrying every second');
    this.#deps.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
  }

  #receiveRecovered(): void {
    if (!this.#receiveFailing) return;
    this.#receiveFailing = false;
    this.#deps.logger.info({ stage: this.#stage.name }, 'receive works again');
  }
}
