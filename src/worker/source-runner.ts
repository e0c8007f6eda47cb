import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { JoinReporter } from '../join/reporter.ts';
import { ConfigError, SqspipesError, StageError } from '../errors.ts';
import type { InputInfo } from '../events.ts';
import { sourceCallId } from '../ids.ts';
import type { ResolvedRunOptions } from '../run-options.ts';
import { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import { sleep } from '../time/timers.ts';
import { callStage } from './call.ts';
import { type Emission, type EmitTarget, produceOutputs } from './emit.ts';
import { Forwarder, type Lineage, maxBodyBytes } from './forwarder.ts';
import type { OutputChannel } from './output-channel.ts';
import { OUTPUT_WINDOW, OutputWindow } from './output-window.ts';
import { RunControl } from './run-control.ts';
import { STOP_CALLS, STOP_FLUSH, StopClock } from './stop-clock.ts';
import { logStop } from './stop-log.ts';
import type { RunDeps } from './run-deps.ts';

/**
 * Runs the source (first) stage: `workers` loops, each calling `method(...args)`, forwarding
 * what it returns to the next stage, then waiting `interval` ms. `limit` counts calls.
 *
 * An error ends its call, never the run: a source has no input to keep or dead-letter, so a call
 * that throws is tried again up to the stage's `retries` (after `retryDelay`, in its worker),
 * then reported (`failed` event, error log line) and skipped. A call whose outputs SQS did not
 * all accept (after the batcher's own retries) is reported and skipped too: its outputs were
 * produced already, so it is not called again. With `failFast` the run ends with the error of
 * such a call instead. An `interval` that throws ends the run with its error.
 */
export class SourceRunner {
  readonly #stage: Stage;
  readonly #deps: RunDeps;
  readonly #options: ResolvedRunOptions;
  readonly #output: OutputChannel<unknown>;
  readonly #io: RunIo;
  readonly #target: EmitTarget;
  readonly #control: RunControl;
  readonly #loops: Promise<void>[] = [];
  #calls = 0;
  /** Outputs of finished calls still on their way to SQS and the consumer. */
  readonly #delivering = new Set<Promise<void>>();
  #state: unknown;
  #started = false;
  /** The stage's setup as this run took it: given back once the run is done, even if it comes late. */
  #acquiring: Promise<unknown> | undefined;
  #stopLogged = false;
  /** Reports to the join this source opens scopes of (made on first use). */
  #joins: JoinReporter | undefined;
  /** Why the run failed, for the stop's log line. */
  #failedBecause: string | undefined;
  #stopped: Promise<void> | undefined;

  constructor(stage: Stage, deps: RunDeps, options: ResolvedRunOptions, output: OutputChannel<unknown>) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
    this.#output = output;
    this.#io = new RunIo(deps.io);
    this.#target = {
      forwarder: new Forwarder(stage, deps.queues, this.#io, maxBodyBytes(deps.io)),
      output,
      ignoreNone: deps.ignoreNone,
      withIds: options.withIds,
      window: new OutputWindow(OUTPUT_WINDOW),
      telemetry: deps.telemetry,
    };
    this.#control = new RunControl(options);
  }

  async start(): Promise<void> {
    await Promise.all([this.#target.forwarder.createQueues(), this.#ready()]);
    if (this.#control.stopping) return; // stopped while starting: no setup to run
    this.#acquiring = this.#deps.hooks.acquire(this.#stage); // the shutdown waits for it
    this.#state = await this.#acquiring;
    this.#started = true;
    this.#logStart();
    this.#control.begin(() => {
      this.#logStop();
      // The shutdown ends the run's output itself; whoever else awaits stop() sees this error too.
      this.stop().catch((error: unknown) => this.#deps.logger.error(this.#errorFields(error), 'stop failed'));
    });
    for (let i = 0; i < this.#options.workers; i++) this.#loops.push(this.#loop());
    // A loop does not reject (its errors fail the run); if one ever did, that too is a run error.
    Promise.all(this.#loops).then(
      () => this.#control.requestStop(),
      (error: unknown) => this.#fail(this.#failure(error), 'a worker loop failed'),
    );
  }

  /** The bucket check of `payloads` (none without), ended by a stop during the start. */
  async #ready(): Promise<void> {
    const starting = this.#control.startSignal;
    await this.#deps.io.payloads?.ready(this.#deps.logger, starting).catch((error: unknown) => {
      if (!starting.aborted) throw error;
    });
  }

  /** Calls running now. */
  get inHand(): number {
    return this.#control.runningCount;
  }

  stop(): Promise<void> {
    // A run that failed to start says nothing here: its error says it all.
    if (this.#stopped === undefined && !this.#control.stopping && this.#started) {
      this.#logStop('stop() was called (the consumer left the loop, or close())');
    }
    // Recorded before the shutdown starts: its stop request calls stop() again, synchronously.
    // A step of the shutdown that throws is a run error: the output ends with it all the same.
    this.#stopped ??= Promise.resolve()
      .then(() => this.#shutdown())
      .catch((error: unknown) => {
        this.#control.fail(error);
        this.#output.end(this.#control.error);
      });
    return this.#stopped;
  }

  async #loop(): Promise<void> {
    const stop = this.#control.stopSignal;
    while (!stop.aborted && this.#calls < this.#options.limit) {
      this.#calls++;
      const ok = await this.#control.track(this.#item());
      if (!ok || stop.aborted || this.#calls >= this.#options.limit) return;
      const wait = this.#interval();
      if (wait === undefined) return;
      if (wait > 0) await sleep(wait, stop);
      // No interval: the next call comes after pending I/O and timers, never before (a source that
      // finds nothing to do and returns at once would otherwise starve the process).
      else await yieldToEventLoop();
    }
  }

  /** The wait before a worker's next call; undefined (the run fails) if `interval` threw. */
  #interval(): number | undefined {
    try {
      return this.#stage.interval();
    } catch (error) {
      this.#fail(this.#failure(error), "the stage's `interval` threw");
      return undefined;
    }
  }

  /**
   * One call of the source with its retries. Every attempt has the same lineage, so outputs an
   * attempt sent before it failed are deduplicated when the next produces them again. Resolves
   * false when the run must stop (`failFast`).
   */
  async #item(): Promise<boolean> {
    const lineage = { inputId: sourceCallId() };
    const stop = this.#control.stopSignal;
    for (let attempt = 1; ; attempt++) {
      const info = this.#info(attempt);
      const failure = await this.#attempt(lineage, info);
      if (failure === undefined) return true;
      this.#deps.events.safeEmit('failed', failure, info);
      if (failure instanceof ConfigError) {
        // A run option is wrong (a `priority` function's level, say): every call would fail alike.
        this.#fail(failure, 'a run option is wrong');
        return false;
      }
      if (attempt > this.#stage.retries) return this.#giveUp(failure, info);
      if (stop.aborted) return this.#skip(failure, info, 'the run stops before its retry');
      const delayMs = this.#retryDelayMs(attempt);
      this.#deps.logger.warn(this.#errorFields(failure, info), 'call failed; it will be tried again');
      this.#deps.events.safeEmit('retried', { ...info, delaySeconds: delayMs / 1000 });
      if (delayMs > 0) await sleep(delayMs, stop);
      if (stop.aborted) return this.#skip(failure, info, 'the run stops before its retry');
    }
  }

  /** One attempt: resolves with its failure, or undefined once its outputs are on their way. */
  async #attempt(lineage: Lineage, info: InputInfo): Promise<SqspipesError | undefined> {
    const stage = this.#stage;
    const context = { ...info, inputs: [], state: this.#state };
    const trace = this.#deps.telemetry.sourceCall(stage.name);
    const call = trace.run(() =>
      callStage(context, [this.#control.callSignal], stage.timeout, async (stop) => {
        const result: unknown = await stage.method(...this.#options.args);
        return produceOutputs(result, this.#target, lineage, this.#options.priority, stop, trace);
      }),
    );
    call.result.then(
      () => trace.end(),
      (error: unknown) => trace.end(error),
    );
    try {
      const emission = await call.result;
      if (emission.count > 0) this.#control.touch();
      this.#deliver(emission, info);
      return undefined;
    } catch (error) {
      return this.#failure(error);
    } finally {
      await call.settled; // a timed-out call keeps its worker until it returns
    }
  }

  /** The worker goes on; the outputs travel (the output window bounds how many). */
  #deliver(emission: Emission, info: InputInfo): void {
    const joined = emission.joinReport;
    const reported =
      joined === undefined
        ? emission.delivered
        : // A split: the join hears of the branches once they are on their way. (A source has no
          // input to come back: a crash in between leaves the item's join waiting for its report.)
          emission.delivered.then(async (handed) => {
            await this.#joinReporter().ended(joined.frames, joined.children, 0);
            return handed;
          });
    const delivered = reported.then(
      () => this.#deps.events.safeEmit('processed', { ...info, outputs: emission.count }),
      (error: unknown) => {
        const failure = this.#failure(error);
        this.#deps.events.safeEmit('failed', failure, info);
        this.#giveUp(failure, info, 'its outputs could not all be sent');
      },
    );
    this.#delivering.add(delivered);
    const forget = () => this.#delivering.delete(delivered);
    delivered.then(forget, forget);
  }

  #joinReporter(): JoinReporter {
    this.#joins ??= new JoinReporter({
      stage: this.#stage.name,
      queues: this.#deps.queues,
      send: (url, message) => this.#io.send(url, message),
    });
    return this.#joins;
  }

  /**
   * A call failed for good (`what`): with `failFast` the run ends with its error (false), else
   * it is reported and skipped, since a source has no input to dead-letter (true).
   */
  #giveUp(failure: SqspipesError, info: InputInfo, what = 'its last attempt failed'): boolean {
    if (!this.#options.failFast)
      return this.#skip(failure, info, `${what}; a source has no input to dead-letter`);
    this.#fail(failure, 'a call failed (failFast)');
    return false;
  }

  /** Reports a call that will not be tried again, and lets its worker go on. */
  #skip(failure: SqspipesError, info: InputInfo, why: string): true {
    this.#deps.logger.error(this.#errorFields(failure, info), `call skipped: ${why}`);
    return true;
  }

  #retryDelayMs(attempt: number): number {
    try {
      return this.#stage.retryDelay(attempt);
    } catch (error) {
      this.#deps.logger.warn(this.#errorFields(error), 'retryDelay failed; retrying after 1 second');
      return 1000;
    }
  }

  /** Ends the run with `failure`; `reason` is what the stop's log line says. */
  #fail(failure: SqspipesError, reason: string): void {
    this.#failedBecause ??= reason;
    this.#control.fail(failure);
  }

  #failure(error: unknown): SqspipesError {
    return error instanceof SqspipesError ? error : new StageError(this.#stage.name, undefined, error);
  }

  #info(attempt: number): InputInfo {
    return { stage: this.#stage.name, messageId: undefined, priority: 0, receiveCount: 1, attempt };
  }

  #errorFields(error: unknown, info?: InputInfo): Record<string, unknown> {
    const err = error instanceof Error ? error.message : String(error);
    return { ...(info ?? { stage: this.#stage.name }), err };
  }

  /** What an operator needs to know of this run: where it sends, how many workers. */
  #logStart(): void {
    const { topology } = this.#deps.queues;
    const next = topology.next(this.#stage);
    const sendsTo = Array.from({ length: next?.priorities ?? 0 }, (_, level) =>
      next === undefined ? '' : topology.inputQueue(next, level).name,
    );
    const { workers, limit } = this.#options;
    const fields = {
      stage: this.#stage.name,
      sendsTo,
      workers,
      limit: limit === Number.MAX_SAFE_INTEGER ? undefined : limit,
    };
    this.#deps.logger.debug(fields, 'running (source: calls the stage, no input queue)');
  }

  /** Logs why the run stops, once (see {@link logStop}). */
  #logStop(external?: string): void {
    if (this.#stopLogged) return;
    this.#stopLogged = true;
    const { signal, limit, idleTimeout } = this.#options;
    logStop(this.#deps.logger, this.#stage.name, {
      external,
      failed: this.#control.failed ? (this.#failedBecause ?? 'a call failed') : undefined,
      signal,
      limitReached: this.#calls >= limit,
      limit,
      idleTimeout,
      idleOf: 'output',
    });
  }

  async #shutdown(): Promise<void> {
    this.#control.requestStop();
    // One clock for the whole stop (see StageRunner.stop): calls, then their outputs, then the flush.
    const clock = new StopClock(this.#options.shutdownTimeout);
    const say = (msg: string, fields: object) => (upToMs: number) =>
      this.#deps.logger.info({ stage: this.#stage.name, ...fields, upToMs }, msg);
    const calls = { calls: this.#control.runningCount };
    const drained = this.#control.drain(clock.forCalls(), clock.grace);
    const abandoned = await clock.waitSaying(drained, () => clock.forCalls(), say(STOP_CALLS, calls));
    if (abandoned > 0) {
      const fields = { stage: this.#stage.name, calls: abandoned };
      this.#deps.logger.warn(fields, 'calls still running past shutdownTimeout were abandoned');
    }
    // The wait for deliveries ends its timer when they settle first (else the timer alone would
    // keep the process up until the shutdown timeout).
    const settled = new AbortController();
    const delivered = Promise.race([
      Promise.allSettled([...this.#delivering]).finally(() => settled.abort()),
      sleep(clock.left(), AbortSignal.any([clock.signal, settled.signal])),
    ]).then(() => this.#io.flush(clock.left()));
    const requests = { requests: this.#io.pending };
    await clock.waitSaying(delivered, () => clock.left(), say(STOP_FLUSH, requests));
    clock.dispose();
    // The setup, if this run took it (a failed one is not given back), once it ended.
    const taken = await this.#acquiring?.then(
      () => true,
      () => false,
    );
    if (taken === true)
      await this.#deps.hooks.release(this.#stage).catch((error: unknown) => this.#control.fail(error));
    this.#output.end(this.#control.failed ? this.#control.error : undefined);
  }
}
