import type { JsonOutput } from './json-check.ts';
import type { Jsonified } from './jsonified.ts';
import type { BatchItemError, Delayed, EmptyTaskOutput, FanOut, Identified } from './outputs.ts';
import type { Submission } from './replies/submission.ts';
import { TaskClient } from './task-client.ts';
import type {
  EnqueueOptions,
  RunOptions,
  StageCliDefaults,
  StageMethod,
  StageOptions,
  SubmitOptions,
  TaskClientOptions,
} from './types.ts';

/** The values one call of a method stands for, as `run()` yields them (with `ignoreNone`, the default). */
export type OutputOf<R> =
  Awaited<R> extends infer A
    ? A extends EmptyTaskOutput | BatchItemError | null | undefined
      ? never
      : A extends FanOut<infer T> | Identified<infer T> | Delayed<infer T>
        ? OutputOf<T>
        : A extends AsyncGenerator<infer T, unknown, unknown> | Generator<infer T, unknown, unknown>
          ? OutputOf<T>
          : A
    : never;

/**
 * Input and output types of one stage of a typed pipeline: `input` as it arrives (after JSON),
 * `output` as the method returns it (what `run()` yields in its process).
 */
export interface StageTypes {
  readonly input: unknown;
  readonly output: unknown;
}

/** Stage options of the builder: those of `registerTasks`, with `group` and `teardown` typed. */
export type TypedStageOptions<In, State> = Omit<
  StageOptions,
  'method' | 'name' | 'group' | 'setup' | 'teardown' | 'join'
> & {
  /** Key of an input (first stage: of an output): same key, processed in order. */
  group?: (input: In) => string;
  setup?: () => State | Promise<State>;
  teardown?: (state: State) => unknown;
};

/** The method a stage may have, given the previous stage's output (`never` for the first stage). */
export type MethodFor<Prev> = [Prev] extends [never]
  ? StageMethod
  : (input: Prev, ...args: never[]) => unknown;

/**
 * The `join` option of {@link Pipeline.stage}: the name of a stage already added (the split). A
 * join stage has no `group` (sqspipes orders it per joined item) and no `batch`.
 */
type JoinOption<Join extends string> = { join?: Join } & ([Join] extends [never]
  ? unknown
  : { group?: never; batch?: never });

/** What a stage's method takes: the previous stage's output; a join's, an array of them. */
type JoinedInput<Last, Join> = [Join] extends [never] ? Last : Last[];

/** The first parameter of a method (what a first stage with `input: true` is fed). */
type FirstParameter<M> = M extends (input: infer I, ...args: never[]) => unknown ? I : never;

/**
 * What a new stage consumes: the previous stage's output; for the first stage, its method's
 * first parameter when it has `input: true` (fed by `enqueue()`/`submit()`), else nothing (a source).
 */
type InputOf<Last, M, HasInput> = [Last] extends [never]
  ? HasInput extends true
    ? FirstParameter<M>
    : never
  : Last;

/** What the new stage's `group` keys: its input, or a source's output. */
type KeyedOf<Last, M extends (...args: never[]) => unknown, HasInput> = [InputOf<Last, M, HasInput>] extends [
  never,
]
  ? OutputOf<ReturnType<M>>
  : InputOf<Last, M, HasInput>;

/**
 * A pipeline whose stage types chain: stage n + 1 takes the awaited output of stage n as it
 * arrives after JSON ({@link Jsonified}: a `Date` is a string), and `run()` and `enqueue()` are
 * typed by stage name. `Last` is what the last stage's outputs become on the wire (the next
 * stage's input, a submission's results). Built with {@link pipeline}.
 */
export class Pipeline<Stages extends Record<string, StageTypes>, Last, Entry = never> {
  /** The untyped client underneath (events, stats, queues, purge, destroy, close, …). */
  readonly client: TaskClient;
  readonly #options: TaskClientOptions;
  readonly #entries: readonly StageOptions[];

  constructor(options: TaskClientOptions, entries: readonly StageOptions[] = []) {
    this.#options = options;
    this.#entries = entries;
    this.client = new TaskClient(options);
    if (entries.length > 0) this.client.registerTasks(entries);
  }

  /**
   * Appends a stage; its method takes the previous stage's output as it arrives after JSON (the
   * first stage: a source's arguments, or with `input: true` the values `enqueue()`/`submit()` feed). Its outputs travel as JSON: one whose type holds a Map, Set,
   * function, bigint, symbol, typed array or RegExp fails to compile (and any such value is
   * refused at run time); what `toJSON()` returns is what the next stage gets (a `Date`: a string).
   *
   * With `join: '<stage added before>'` it is a join stage: its method takes an array of the
   * previous stage's outputs, those that reached it from the branches of one input of that stage.
   *
   * @example
   * pipeline({ domain: 'words' })
   *   .stage('lines', readLines)
   *   .stage('split', (line: string) => fanOut(line.split(' ')))
   *   .stage('length', (word: string) => word.length)
   *   .stage('sum', (lengths: number[]) => lengths.reduce((a, b) => a + b, 0), { join: 'split' });
   */
  stage<
    Name extends string,
    M extends MethodFor<JoinedInput<Last, Join>>,
    State = undefined,
    HasInput extends boolean = false,
    Join extends keyof Stages & string = never,
  >(
    name: Name,
    method: M & JsonOutput<OutputOf<ReturnType<M>>>,
    options: TypedStageOptions<KeyedOf<Last, M, HasInput>, State> & {
      input?: HasInput;
    } & JoinOption<Join> = {},
  ): Pipeline<
    Stages &
      Record<
        Name,
        {
          // A value fed straight to a join belongs to no split's item: a join takes none.
          input: [Join] extends [never] ? InputOf<Last, M, HasInput> : never;
          output: OutputOf<ReturnType<M>>;
        }
      >,
    Jsonified<OutputOf<ReturnType<M>>>,
    [Last] extends [never]
      ? HasInput extends true
        ? FirstParameter<M>
        : Jsonified<OutputOf<ReturnType<M>>>
      : Entry
  > {
    const entry = { ...options, method, name } as StageOptions;
    return new Pipeline(this.#options, [...this.#entries, entry]);
  }

  /**
   * Appends a batch-handler stage, the typed form of the `batch` option of `registerTasks`:
   * `method` gets an array of up to `options.batch` inputs and returns an array of as many
   * results, in the same order. Each result is its input's output, `EmptyTaskOutput` (none),
   * `fanOut(...)` (several), or `itemError(e)`: that input alone fails (retried, then sent to the
   * dead-letter queue) while the others go on. A thrown error, or an array of another length,
   * fails every input of the call. One call holds at most one input per `group` key, so order
   * per key holds. Its outputs must be JSON, as those of {@link stage}.
   *
   * @example
   * pipeline({ domain: 'logs' })
   *   .stage('lines', readLines) // outputs strings
   *   .batchStage('parse', (lines: string[]) => lines.map((l) => parseLine(l) ?? itemError(new Error(l))), {
   *     batch: 10,
   *   });
   */
  batchStage<Name extends string, R, State = undefined>(
    name: Name,
    method: ((inputs: Last[], ...args: never[]) => readonly R[] | Promise<readonly R[]>) &
      JsonOutput<OutputOf<R>>,
    options: TypedStageOptions<Last, State> & { batch: number },
  ): Pipeline<Stages & Record<Name, { input: Last; output: OutputOf<R> }>, Jsonified<OutputOf<R>>, Entry> {
    const entry = { ...options, method, name } as StageOptions;
    return new Pipeline(this.#options, [...this.#entries, entry]);
  }

  /** Runs a stage in this process, yielding its outputs (see {@link TaskClient.run}). */
  run<Name extends keyof Stages & string>(
    name: Name,
    options?: RunOptions,
  ): AsyncGenerator<Stages[Name]['output'], void, undefined> {
    return this.client.run(name, options);
  }

  /** Feeds a value into a stage's input (not the first stage's: it has none). */
  enqueue<Name extends keyof Stages & string>(
    name: Name,
    value: Stages[Name]['input'],
    options?: EnqueueOptions,
  ): Promise<void> {
    return this.client.enqueue(name, value, options);
  }

  /**
   * Feeds a value into the first stage with an input (or `options.stage`) and follows it: the
   * submission's `result()` gives the last stage's outputs derived from it (see
   * {@link TaskClient.submit}).
   */
  submit(value: Entry, options?: Omit<SubmitOptions, 'stage'>): Promise<Submission<Last>>;
  submit<Name extends keyof Stages & string>(
    value: Stages[Name]['input'],
    options: SubmitOptions & { stage: Name },
  ): Promise<Submission<Last>>;
  submit(value: unknown, options?: SubmitOptions): Promise<Submission<Last>> {
    return this.client.submit(value, options) as Promise<Submission<Last>>;
  }

  /** The stage CLI (see {@link TaskClient.main}). */
  main(argv?: readonly string[], defaults?: StageCliDefaults): Promise<number> {
    return this.client.main(argv, defaults);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Starts a typed pipeline: `pipeline({ domain }).stage('generate', gen).stage('reduce', reduce)`.
 * A stage whose method does not take the previous stage's output fails to compile.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no stages yet.
export function pipeline(options: TaskClientOptions): Pipeline<{}, never> {
  return new Pipeline(options);
}
