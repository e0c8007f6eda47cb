import { setTimeout as sleep } from 'node:timers/promises';
import { SqspipesError, StageError } from '../errors.ts';
import { sourceCallId } from '../ids.ts';
import type { ResolvedRunOptions } from '../run-options.ts';
import { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import { callStage } from './call.ts';
import { type EmitTarget, produceOutputs } from './emit.ts';
import { Forwarder } from './forwarder.ts';
import type { OutputChannel } from './output-channel.ts';
import { OUTPUT_WINDOW, OutputWindow } from './output-window.ts';
import { RunControl } from './run-control.ts';
import { logStop } from './stop-log.ts';
import type { RunDeps } from './run-deps.ts';

/**
 * Runs the source (first) stage: `workers` loops, each calling `method(...args)`, forwarding
 * what it returns to the next stage, then waiting `interval` ms. `limit` counts calls.
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
  #stopLogged = false;
  #stopped: Promise<void> | undefined;

  constructor(stage: Stage, deps: RunDeps, options: ResolvedRunOptions, output: OutputChannel<unknown>) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
    this.#output = output;
    this.#io = new RunIo(deps.io);
    this.#target = {
      forwarder: new Forwarder(stage, deps.queues, this.#io),
      output,
      ignoreNone: deps.ignoreNone,
      withIds: options.withIds,
      window: new OutputWindow(OUTPUT_WINDOW),
      telemetry: deps.telemetry,
    };
    this.#control = new RunControl(options);
  }

  async start(): Promise<void> {
    await this.#target.forwarder.createQueues();
    this.#state = await this.#deps.hooks.acquire(this.#stage);
    this.#started = true;
    this.#logStart();
    this.#control.begin(() => {
      this.#logStop();
      void this.stop();
    });
    for (let i = 0; i < this.#options.workers; i++) this.#loops.push(this.#loop());
    void Promise.all(this.#loops).then(() => this.#control.requestStop());
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
    this.#stopped ??= Promise.resolve().then(() => this.#shutdown());
    return this.#stopped;
  }

  async #loop(): Promise<void> {
    const stop = this.#control.stopSignal;
    while (!stop.aborted && this.#calls < this.#options.limit) {
      this.#calls++;
      const ok = await this.#control.track(this.#call());
      if (!ok || stop.aborted || this.#calls >= this.#options.limit) return;
      const wait = this.#stage.interval();
      if (wait > 0) await sleep(wait, undefined, { signal: stop }).catch(() => {});
    }
  }

  async #call(): Promise<boolean> {
    const stage = this.#stage;
    const context = {
      stage: stage.name,
      priority: 0,
      messageId: undefined,
      receiveCount: 1,
      attempt: 1,
      inputs: [],
      state: this.#state,
    };
    const info = { stage: stage.name, messageId: undefined, priority: 0, receiveCount: 1, attempt: 1 };
    const lineage = { inputId: sourceCallId() };
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
    const failed = (error: unknown) => {
      const failure = error instanceof SqspipesError ? error : new StageError(stage.name, undefined, error);
      this.#deps.events.safeEmit('failed', failure, info);
      this.#control.fail(failure);
    };
    try {
      const emission = await call.result;
      if (emission.count > 0) this.#control.touch();
      // The worker goes on; the outputs travel (the output window bounds how many).
      const delivered = emission.delivered.then(
        () => this.#deps.events.safeEmit('processed', { ...info, outputs: emission.count }),
        failed,
      );
      this.#delivering.add(delivered);
      void delivered.then(() => this.#delivering.delete(delivered));
      return true;
    } catch (error) {
      failed(error);
      return false;
    } finally {
      await call.settled; // a timed-out call keeps its worker until it returns
    }
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
      failed: this.#control.failed ? 'a call failed' : undefined,
      signal,
      limitReached: this.#calls >= limit,
      limit,
      idleTimeout,
      idleOf: 'output',
    });
  }

  async #shutdown(): Promise<void> {
    this.#control.requestStop();
    const abandoned = await this.#control.drain(this.#options.shutdownTimeout);
    if (abandoned > 0) {
      const fields = { stage: this.#stage.name, calls: abandoned };
      this.#deps.logger.warn(fields, 'calls still running past shutdownTimeout were abandoned');
    }
    const timer = new AbortController();
    const late = sleep(this.#options.shutdownTimeout, undefined, { signal: timer.signal }).catch(() => {});
    await Promise.race([Promise.allSettled([...this.#delivering]), late]);
    timer.abort();
    await this.#io.flush(this.#options.shutdownTimeout);
    if (this.#started)
      await this.#deps.hooks.release(this.#stage).catch((error: unknown) => this.#control.fail(error));
    this.#output.end(this.#control.failed ? this.#control.error : undefined);
  }
}
