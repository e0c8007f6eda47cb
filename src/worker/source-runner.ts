import { setTimeout as sleep } from 'node:timers/promises';
import { SqspipesError, StageError } from '../errors.ts';
import { sourceCallId } from '../ids.ts';
import type { ResolvedRunOptions } from '../run-options.ts';
import type { Stage } from '../stage.ts';
import { callStage } from './call.ts';
import { emitOutputs } from './emit.ts';
import { Forwarder } from './forwarder.ts';
import type { OutputChannel } from './output-channel.ts';
import { RunControl } from './run-control.ts';
import type { RunDeps } from './stage-runner.ts';

/**
 * Runs the source (first) stage: `workers` loops, each calling `method(...args)`, forwarding
 * what it returns to the next stage, then waiting `interval` ms. `limit` counts calls.
 */
export class SourceRunner {
  readonly #stage: Stage;
  readonly #deps: RunDeps;
  readonly #options: ResolvedRunOptions;
  readonly #output: OutputChannel<unknown>;
  readonly #forwarder: Forwarder;
  readonly #control: RunControl;
  readonly #loops: Promise<void>[] = [];
  #calls = 0;
  #state: unknown;
  #started = false;
  #stopped: Promise<void> | undefined;

  constructor(stage: Stage, deps: RunDeps, options: ResolvedRunOptions, output: OutputChannel<unknown>) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
    this.#output = output;
    this.#forwarder = new Forwarder(stage, deps.queues, deps.io);
    this.#control = new RunControl(options);
  }

  async start(): Promise<void> {
    this.#state = await this.#deps.hooks.acquire(this.#stage);
    this.#started = true;
    this.#control.begin(() => void this.stop());
    for (let i = 0; i < this.#options.workers; i++) this.#loops.push(this.#loop());
    void Promise.all(this.#loops).then(() => this.#control.requestStop());
  }

  /** Calls running now. */
  get inHand(): number {
    return this.#control.runningCount;
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
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
      state: this.#state,
    };
    const info = { stage: stage.name, messageId: undefined, priority: 0, receiveCount: 1 };
    try {
      let result: unknown;
      try {
        result = await callStage(context, this.#control.callSignal, stage.timeout, () =>
          stage.method(...this.#options.args),
        );
      } catch (error) {
        throw new StageError(stage.name, undefined, error);
      }
      const { ignoreNone } = this.#deps;
      const lineage = { inputId: sourceCallId() };
      const emitted = await emitOutputs(
        result,
        ignoreNone,
        this.#forwarder,
        this.#output,
        lineage,
        this.#options.priority,
      );
      if (emitted.count > 0) this.#control.touch();
      this.#deps.events.safeEmit('processed', { ...info, outputs: emitted.count });
      return true;
    } catch (error) {
      const failure = error instanceof SqspipesError ? error : new StageError(stage.name, undefined, error);
      this.#deps.events.safeEmit('failed', failure, info);
      this.#control.fail(failure);
      return false;
    }
  }

  async #shutdown(): Promise<void> {
    this.#control.requestStop();
    const abandoned = await this.#control.drain(this.#options.shutdownTimeout);
    if (abandoned > 0) {
      const fields = { stage: this.#stage.name, calls: abandoned };
      this.#deps.logger.warn(fields, 'calls still running past shutdownTimeout were abandoned');
    }
    await this.#deps.io.flush(this.#options.shutdownTimeout);
    if (this.#started)
      await this.#deps.hooks.release(this.#stage).catch((error: unknown) => this.#control.fail(error));
    this.#output.end(this.#control.failed ? this.#control.error : undefined);
  }
}
