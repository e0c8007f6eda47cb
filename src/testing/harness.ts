import { randomBytes } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  type EnqueueOptions,
  type Pipeline,
  type StageEntry,
  type StageTypes,
  type Submission,
  type SubmitOptions,
  TaskClient,
  type TaskClientOptions,
} from '../index.ts';
import { SETTLE_MS_OPTION } from '../queues/provisioner.ts';
import { type DeadLetter, drainDeadLetters } from './dead-letters.ts';
import { type Failure, Round, type StageRunPlan } from './round.ts';
import { startSqs, type TestSqs } from './start-sqs.ts';

/** Where the client of a test pipeline connects, and its unique domain: spread it into the client's options. */
export interface TestClientOptions {
  readonly domain: string;
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Options of {@link testPipeline}. */
export interface TestPipelineOptions {
  /** The SQS to use (e.g. one `startSqs()` shared by a file). @default one `startSqs()` of its own, stopped by `close()` */
  sqs?: TestSqs;
  /** Start of the unique domain: letters, digits, `-`, at most 20. @default `test` */
  label?: string;
  /** More client options for a list of stages (a factory sets its own). @default none */
  client?: Omit<TaskClientOptions, keyof TestClientOptions | 'sqs'>;
}

/** What `run()` feeds: the entry's type, or the named stage's input (unknown for a source, which has none). */
type InputOf<Stages extends Record<string, StageTypes>, Entry, Name extends keyof Stages> = [Name] extends [
  never,
]
  ? Entry
  : [Stages[Name]['input']] extends [never]
    ? unknown
    : Stages[Name]['input'];

/** Options of {@link PipelineHarness.run}. */
export interface RunPipelineOptions<
  Stages extends Record<string, StageTypes>,
  Entry,
  Name extends keyof Stages & string = never,
> {
  /** Values fed, in order, to `stage`. @default none */
  inputs?: readonly InputOf<Stages, Entry, Name>[];
  /** The stage fed with `inputs`. @default the first stage with an input */
  stage?: Name;
  /** The stages to run. @default every stage with an input (and the source, with `source`) */
  stages?: readonly (keyof Stages & string)[];
  /** Runs the source stage too, for `limit` calls (with `args`). @default the source does not run */
  source?: { readonly limit: number; readonly args?: readonly unknown[] };
  /** Workers of every stage, or per stage name. @default each stage's own */
  workers?: number | Readonly<Partial<Record<keyof Stages & string, number>>>;
  /** Milliseconds to wait for the pipeline to be idle before rejecting with what is left. @default 30000 */
  timeout?: number;
}

/** What one {@link PipelineHarness.run} saw. */
export interface PipelineRun<Stages extends Record<string, StageTypes>, Last> {
  /** What the last stage produced, as JSON carries it (what `submit()`'s `result()` gives). */
  readonly outputs: Last[];
  /** Every stage's outputs as its run yielded them (in this process, before JSON). */
  readonly byStage: { readonly [K in keyof Stages]: Stages[K]['output'][] };
  /** Inputs a stage gave up on, with why; taken out of the dead-letter queues. */
  readonly deadLetters: DeadLetter[];
  /** Every failed call (each attempt), with its error. */
  readonly failures: Failure[];
  /** Failed inputs that were tried again. */
  readonly retried: number;
}

/** A pipeline on a test SQS, under a domain of its own; `close()` (or `await using`) removes its queues. */
export interface PipelineHarness<
  Stages extends Record<string, StageTypes> = Record<string, StageTypes>,
  Last = unknown,
  Entry = unknown,
> extends AsyncDisposable {
  readonly client: TaskClient;
  readonly domain: string;
  readonly sqs: TestSqs;
  /**
   * Runs the stages in this process, feeds `inputs` (or lets the source run), waits until the
   * pipeline is idle, stops the stages and resolves with what happened.
   */
  run<Name extends keyof Stages & string = never>(
    options?: RunPipelineOptions<Stages, Entry, Name>,
  ): Promise<PipelineRun<Stages, Last>>;
  /**
   * Starts the stages (as `run()` does) without feeding or waiting: then `submit()`, `enqueue()`,
   * `settle()`. Stages that already run with the same stages and workers are kept; others are
   * stopped first (a stop waits up to 2 s for its last receives). The source, with `source`, runs
   * beside them for its `limit` calls.
   */
  start(options?: StartOptions<Stages>): Promise<void>;
  /**
   * Waits until the started stages are idle and resolves with what happened since the last
   * `settle()`. The stages stay running for the next `run()` of this harness until `close()`.
   */
  settle(options?: { timeout?: number }): Promise<PipelineRun<Stages, Last>>;
  enqueue<Name extends keyof Stages & string>(
    stage: Name,
    value: Stages[Name]['input'],
    options?: EnqueueOptions,
  ): Promise<void>;
  submit(value: Entry, options?: SubmitOptions): Promise<Submission<Last>>;
  /** Stops the stages, deletes the test's queues, closes the client (and the SQS it started). Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link PipelineHarness.start}: which stages run, and how. */
export type StartOptions<Stages extends Record<string, StageTypes>> = Pick<
  RunPipelineOptions<Stages, unknown>,
  'stages' | 'source' | 'workers'
>;

type Define<P> = (options: TestClientOptions) => P;

/**
 * A harness for a pipeline under test: a list of stages (as `registerTasks` takes), or a function
 * that builds the pipeline (typed `pipeline()` or a `TaskClient`) from the options it is given.
 */
export function testPipeline<Stages extends Record<string, StageTypes>, Last, Entry>(
  define: Define<Pipeline<Stages, Last, Entry>>,
  options?: TestPipelineOptions,
): Promise<PipelineHarness<Stages, Last, Entry>>;
export function testPipeline(
  define: readonly StageEntry[] | Define<TaskClient>,
  options?: TestPipelineOptions,
): Promise<PipelineHarness>;
export async function testPipeline(
  define: readonly StageEntry[] | Define<Pipeline<Record<string, StageTypes>, unknown, unknown> | TaskClient>,
  options: TestPipelineOptions = {},
): Promise<PipelineHarness> {
  const sqs = options.sqs ?? (await startSqs());
  const connection: TestClientOptions = {
    domain: uniqueDomain(options.label ?? 'test'),
    endpoint: sqs.endpoint,
    region: sqs.region,
    credentials: sqs.credentials,
  };
  // The emulators the kit starts answer CreateQueue once the queue is usable: no second's wait
  // (AWS asks for it). Spread with the options, this key reaches the client.
  if (sqs.backend !== 'endpoint') Object.assign(connection, { [SETTLE_MS_OPTION]: 0 });
  try {
    const client =
      typeof define === 'function'
        ? clientOf(define(connection))
        : new TaskClient({ ...options.client, ...connection }).registerTasks(define);
    return new Harness(client, sqs, options.sqs === undefined);
  } catch (error) {
    if (options.sqs === undefined) await sqs.close();
    throw error;
  }
}

function clientOf(built: unknown): TaskClient {
  if (built instanceof TaskClient) return built;
  if (
    typeof built === 'object' &&
    built !== null &&
    'client' in built &&
    built.client instanceof TaskClient
  ) {
    return built.client;
  }
  throw new TypeError('testPipeline(define): `define` must return a pipeline() or a TaskClient');
}

/** `<label>-<time><random>`: no other test (or earlier run) uses it. */
function uniqueDomain(label: string): string {
  if (!/^[A-Za-z0-9-]{1,20}$/.test(label)) {
    throw new TypeError(`Expected \`label\` to be 1 to 20 letters, digits or -, got \`${label}\``);
  }
  return `${label}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

class Harness implements PipelineHarness {
  readonly client: TaskClient;
  readonly sqs: TestSqs;
  readonly #ownsSqs: boolean;
  readonly #raw: SQSClient;
  #round: Round | undefined;
  /** The plans of `#round`, as JSON: a run with the same ones reuses it. */
  #planned = '';
  #closed: Promise<void> | undefined;

  constructor(client: TaskClient, sqs: TestSqs, ownsSqs: boolean) {
    this.client = client;
    this.sqs = sqs;
    this.#ownsSqs = ownsSqs;
    const { endpoint, region, credentials } = sqs;
    this.#raw = new SQSClient({ endpoint, region, credentials });
  }

  get domain(): string {
    return this.client.domain;
  }

  async run(
    options: RunPipelineOptions<Record<string, StageTypes>, unknown> = {},
  ): Promise<PipelineRun<Record<string, StageTypes>, unknown>> {
    const { inputs = [], timeout } = options;
    const stage = options.stage ?? this.#entryStage();
    await this.start(options);
    try {
      // All at once: the client sends the inputs of one `group` key in the order given.
      await Promise.all(inputs.map((input) => this.client.enqueue(stage, input)));
    } catch (error) {
      await this.#stopRound().catch(() => {});
      throw error;
    }
    return this.settle(timeout === undefined ? {} : { timeout });
  }

  async start(
    options: Omit<
      RunPipelineOptions<Record<string, StageTypes>, unknown>,
      'inputs' | 'stage' | 'timeout'
    > = {},
  ): Promise<void> {
    if (this.#closed !== undefined) throw new Error('testPipeline: this harness is closed');
    const plans = this.#plans(options);
    const consumers = plans.filter((plan) => plan.limit === undefined);
    const planned = JSON.stringify(consumers);
    if (this.#round === undefined || planned !== this.#planned) {
      await this.#stopRound(); // other stages or workers: a stop waits up to 2 s for its receives
      this.#round = new Round(this.client, consumers);
      this.#planned = planned;
    }
    for (const plan of plans) if (plan.limit !== undefined) this.#round.runSource(plan);
  }

  async settle(
    options: { timeout?: number } = {},
  ): Promise<PipelineRun<Record<string, StageTypes>, unknown>> {
    const round = this.#round;
    if (round === undefined) throw new Error('testPipeline: settle() needs start() first');
    try {
      await round.idle(options.timeout ?? 30_000);
    } catch (error) {
      await this.#stopRound().catch(() => {});
      throw error;
    }
    const seen = round.take();
    const deadLetters = await drainDeadLetters(this.#raw, await this.client.queues(), seen.deadLettered);
    const byStage: Record<string, unknown[]> = {};
    for (const name of this.client.stageNames) byStage[name] = seen.byStage.get(name) ?? [];
    const last = this.client.stageNames.at(-1) ?? '';
    const outputs = (byStage[last] ?? []).map(asJson);
    return { outputs, byStage, deadLetters, failures: seen.failures, retried: seen.retried };
  }

  /** Stops the running stages, if any; rejects with a stage run's error. */
  async #stopRound(): Promise<void> {
    const round = this.#round;
    this.#round = undefined;
    await round?.stop();
  }

  enqueue(stage: string, value: unknown, options?: EnqueueOptions): Promise<void> {
    return this.client.enqueue(stage, value, options);
  }

  submit(value: unknown, options?: SubmitOptions): Promise<Submission<unknown>> {
    return this.client.submit(value, options);
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    const steps: (() => Promise<unknown>)[] = [
      // destroy() stops the runs first, abandoning their last receives (their queues go away).
      () => this.client.destroy(),
      () => this.#stopRound(),
      () => this.client.close(),
      () => Promise.resolve(this.#raw.destroy()),
      () => (this.#ownsSqs ? this.sqs.close() : Promise.resolve()),
    ];
    const errors: unknown[] = [];
    for (const step of steps) await step().catch((error: unknown) => errors.push(error));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'testPipeline: close() failed in several steps');
  }

  #entryStage(): string {
    const source = this.client.sourceStage;
    const entry = this.client.stageNames.find((name) => name !== source);
    if (entry === undefined)
      throw new Error('testPipeline: this pipeline has no stage with an input to feed');
    return entry;
  }

  #plans(options: StartOptions<Record<string, StageTypes>>): StageRunPlan[] {
    const source = this.client.sourceStage;
    const names =
      options.stages ??
      this.client.stageNames.filter((name) => name !== source || options.source !== undefined);
    const workersOf = (name: string): number | undefined =>
      typeof options.workers === 'number' ? options.workers : options.workers?.[name];
    return names.map((stage) =>
      stage === source
        ? {
            stage,
            workers: workersOf(stage),
            limit: options.source?.limit ?? 1,
            args: options.source?.args,
          }
        : { stage, workers: workersOf(stage) },
    );
  }
}

/** A value as JSON carries it (a Date as its string); the value itself when JSON cannot hold it. */
function asJson(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value ?? null)) as unknown;
  } catch {
    return value;
  }
}
