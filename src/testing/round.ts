import type { InputInfo, TaskClient } from '../index.ts';
import { now, pause } from './clock.ts';

/** A failed call seen while the stages ran. */
export interface Failure {
  readonly stage: string;
  /** The attempt that failed: 1, 2, … */
  readonly attempt: number;
  readonly error: Error;
}

/** What one stage run is asked to do. */
export interface StageRunPlan {
  readonly stage: string;
  readonly workers: number | undefined;
  /** The source only: calls to make, then its run ends. */
  readonly limit?: number | undefined;
  readonly args?: readonly unknown[] | undefined;
}

/** What the stages did since the last {@link Round.take}. */
export interface Seen {
  readonly byStage: ReadonlyMap<string, unknown[]>;
  readonly failures: Failure[];
  readonly retried: number;
  readonly deadLettered: number;
}

/**
 * Stages running in this process for a test: their outputs as yielded, the failures and
 * dead-letter events seen, and the wait for "nothing left to do". It serves several runs of the
 * test (`take()` after each) until it is stopped; a source run with a limit joins it for one run
 * ({@link Round.runSource}) and ends by itself.
 */
export class Round {
  #seen = { byStage: new Map<string, unknown[]>(), failures: [] as Failure[], retried: 0, deadLettered: 0 };
  readonly #client: TaskClient;
  readonly #stop = new AbortController();
  readonly #runs: Promise<void>[] = [];
  /** Runs still going that end by themselves (a source with a limit). */
  readonly #finite: Promise<void>[] = [];
  readonly #errors: unknown[] = [];
  readonly #consumers: Set<string>;
  #activity = 0;
  #wake = () => {};
  #errored = () => {};
  /** Resolves when a run fails. */
  readonly #errorSeen = new Promise<void>((resolve) => (this.#errored = resolve));
  readonly #detach: () => void;

  /** Runs the stages of `plans` (those with an input) until {@link Round.stop}. */
  constructor(client: TaskClient, plans: readonly StageRunPlan[]) {
    this.#client = client;
    this.#consumers = new Set(plans.map((p) => p.stage));
    for (const plan of plans) this.#seen.byStage.set(plan.stage, []);
    this.#detach = this.#watch();
    for (const plan of plans) this.#runs.push(this.#consume(plan));
  }

  /** Runs the source for `plan.limit` calls beside the running stages; `idle()` waits for its end. */
  runSource(plan: StageRunPlan): void {
    if (!this.#seen.byStage.has(plan.stage)) this.#seen.byStage.set(plan.stage, []);
    const run = this.#consume(plan);
    this.#runs.push(run);
    this.#finite.push(run);
  }

  /**
   * Resolves once the pipeline is idle: the runs that end by themselves have ended, nothing is
   * in hand, the input queues of the running stages are empty (visible, in flight and delayed),
   * and no event came in between, twice in a row. Rejects when a run failed, or after `timeoutMs`.
   */
  async idle(timeoutMs: number): Promise<void> {
    const end = now() + timeoutMs;
    await Promise.race([Promise.all(this.#finite), this.#errorSeen]);
    for (let quiet = 0; quiet < 2;) {
      this.#throwIfFailed();
      if (now() > end) throw new Error(await this.#notIdle(timeoutMs));
      const wait = pause(quiet === 0 ? 20 : 5);
      this.#wake = wait.wake;
      await wait.done;
      quiet = (await this.#quiet()) ? quiet + 1 : 0;
    }
    this.#throwIfFailed();
  }

  /** What the stages did since the last call (or the start), and starts counting afresh. */
  take(): Seen {
    const seen = this.#seen;
    const byStage = new Map([...seen.byStage.keys()].map((stage): [string, unknown[]] => [stage, []]));
    this.#seen = { byStage, failures: [], retried: 0, deadLettered: 0 };
    return seen;
  }

  /** Stops every run gracefully and waits for them; rejects with the first run's error. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#runs);
    this.#detach();
    this.#throwIfFailed();
  }

  async #consume(plan: StageRunPlan): Promise<void> {
    const options = {
      ...(plan.workers === undefined ? {} : { workers: plan.workers }),
      ...(plan.limit === undefined ? { signal: this.#stop.signal } : { limit: plan.limit }),
      ...(plan.args === undefined ? {} : { args: plan.args }),
    };
    try {
      for await (const output of this.#client.run(plan.stage, options)) {
        this.#seen.byStage.get(plan.stage)?.push(output);
      }
    } catch (error) {
      this.#errors.push(error);
      this.#errored();
      this.#wake();
    }
  }

  async #quiet(): Promise<boolean> {
    const before = this.#activity;
    if (this.#client.stats().inHand > 0) return false;
    const queues = await this.#client.queues();
    const busy = queues.some(
      (q) => q.level !== 'dlq' && this.#consumers.has(q.stage) && q.visible + q.inFlight + q.delayed > 0,
    );
    return !busy && this.#client.stats().inHand === 0 && this.#activity === before;
  }

  #watch(): () => void {
    const client = this.#client;
    const active = () => {
      this.#activity++;
    };
    const failed = (error: Error, info: InputInfo) => {
      this.#activity++;
      this.#seen.failures.push({ stage: info.stage, attempt: info.attempt, error });
    };
    const retried = () => {
      this.#activity++;
      this.#seen.retried++;
    };
    const deadLettered = () => {
      this.#activity++;
      this.#seen.deadLettered++;
    };
    const idle = () => this.#wake();
    client.on('processed', active).on('failed', failed).on('retried', retried);
    client.on('deadLettered', deadLettered).on('idle', idle);
    return () => {
      client.off('processed', active).off('failed', failed).off('retried', retried);
      client.off('deadLettered', deadLettered).off('idle', idle);
    };
  }

  #throwIfFailed(): void {
    if (this.#errors.length > 0) throw this.#errors[0];
  }

  async #notIdle(timeoutMs: number): Promise<string> {
    const queues = await this.#client.queues().catch(() => []);
    const busy = queues
      .filter((q) => q.level !== 'dlq' && q.visible + q.inFlight + q.delayed > 0)
      .map((q) => `${q.name}: ${q.visible} visible, ${q.inFlight} in flight, ${q.delayed} delayed`);
    return `testPipeline: the pipeline was not idle after ${timeoutMs} ms (in hand: ${this.#client.stats().inHand}; ${busy.length === 0 ? 'input queues empty' : busy.join('; ')}); raise \`timeout\`, or check that every stage it feeds is run`;
  }
}
