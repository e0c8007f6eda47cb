import type { Message } from '@aws-sdk/client-sqs';
import { SqspipesError } from '../errors.ts';
import { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import { JOIN_FOLD_MAX } from '../join/gate.ts';
import { Forwarder, maxBodyBytes } from '../worker/forwarder.ts';
import { OUTPUT_WINDOW, OutputWindow } from '../worker/output-window.ts';
import type { RunDeps } from '../worker/run-deps.ts';
import { stageReporters } from '../worker/stage-parts.ts';
import { batchResponse, type RecordEnd } from './batch-response.ts';
import { type InvocationInput, type InvocationParts, runInvocation } from './invocation.ts';
import { messageOfRecord, queueNameOfRecord } from './records.ts';
import type { LambdaBatchResponse, LambdaContextLike, LambdaSqsEvent, LambdaSqsRecord } from './types.ts';

/** `LambdaOptions` with their defaults applied (see TaskClient.lambda). */
export interface ResolvedLambdaOptions {
  readonly workers: number;
  readonly reserveMs: number | undefined;
  readonly args: readonly unknown[];
}

/** Default reserve for reporting, in ms (at most a fifth of the invocation's time). */
export const DEFAULT_RESERVE_MS = 2000;

/** What a container keeps between invocations: the stage's queues and parts, made on its first. */
interface Container {
  readonly parts: InvocationParts;
  /** The stage's input queues by name: their URL and level. */
  readonly inputs: ReadonlyMap<string, { readonly url: string; readonly level: number }>;
  /** The name of the stage's queue of timers. */
  readonly later: string;
}

/** What the output of a stage run on Lambda goes to: nothing waits for a consumer there. */
const NO_CONSUMER = { push: () => Promise.resolve(true) };

/**
 * A stage run on Lambda, behind SQS event source mappings: one per input level queue, and one on
 * the stage's queue of timers. Its first invocation in a container does what a run's start does
 * (the stage's queues found and checked, the queues it sends to created, `setup()`, the permits of
 * its limits); each invocation then runs its records (see {@link runInvocation}) and answers with
 * the records to leave on the queue (ReportBatchItemFailures). `teardown()` never runs: Lambda
 * freezes and ends containers without a word.
 */
export class LambdaStage {
  readonly #stage: Stage;
  readonly #deps: () => Promise<RunDeps>;
  readonly #options: ResolvedLambdaOptions;
  #container: Promise<Container> | undefined;

  constructor(stage: Stage, deps: () => Promise<RunDeps>, options: ResolvedLambdaOptions) {
    this.#stage = stage;
    this.#deps = deps;
    this.#options = options;
  }

  /** The function Lambda invokes. */
  readonly handler = (event: LambdaSqsEvent, context: LambdaContextLike): Promise<LambdaBatchResponse> =>
    this.#handle(event, context);

  async #handle(event: LambdaSqsEvent, context: LambdaContextLike): Promise<LambdaBatchResponse> {
    const startedAt = Date.now();
    const remaining = context.getRemainingTimeInMillis();
    const reserve = this.#options.reserveMs ?? Math.min(DEFAULT_RESERVE_MS, remaining / 5);
    const clock = {
      callsUntil: startedAt + remaining - reserve,
      answerBy: startedAt + remaining - Math.min(500, reserve / 4),
    };
    // The container's start (queue checks, setup) goes on for the next invocation if this one's
    // time runs out first: the batch then fails whole, and SQS delivers it again.
    const container = await beforeDeadline(
      this.#ready(),
      clock.callsUntil,
      "the stage's start (its queue checks and setup)",
    );
    const { deps } = container.parts;
    const records = event.Records ?? [];
    const inputs: (InvocationInput & { record: LambdaSqsRecord })[] = [];
    const timers: { record: LambdaSqsRecord; message: Message }[] = [];
    const strangers: RecordEnd[] = [];
    for (const record of records) {
      const name = queueNameOfRecord(record);
      const input = container.inputs.get(name);
      const message = messageOfRecord(record);
      if (input !== undefined) inputs.push({ ...input, message, record });
      else if (name === container.later) timers.push({ record, message });
      else strangers.push({ messageId: record.messageId, group: undefined, end: 'failed' });
    }
    if (strangers.length > 0) {
      deps.logger.error(
        {
          stage: this.#stage.name,
          queues: [...new Set(records.map(queueNameOfRecord))],
          expected: [...container.inputs.keys(), container.later],
        },
        "records from a queue that is not this stage's were left on their queue: check the function's event source mappings",
      );
    }
    const reading = AbortSignal.timeout(Math.max(0, Math.floor(clock.callsUntil - Date.now())));
    await beforeDeadline(
      deps.io.readBodies(
        inputs.map((input) => input.message),
        reading,
      ),
      clock.callsUntil,
      'reading the bodies stored in S3',
    );
    const [ends, timersDone] = await Promise.all([
      runInvocation(container.parts, inputs, clock),
      // Timers not done by the answer count as not done (sent again later: their ids drop copies).
      beforeDeadline(deps.later.handle(timers.map((timer) => timer.message)), clock.answerBy, '').catch(
        () => [] as Message[],
      ),
    ]);
    const done = new Set(timersDone);
    const timerEnds: RecordEnd[] = timers.map(({ record, message }) => ({
      messageId: record.messageId,
      group: undefined,
      end: done.has(message) ? 'done' : 'failed',
    }));
    return batchResponse([...ends, ...timerEnds, ...strangers]);
  }

  /** The container's parts, made by its first invocation (again by the next if that one failed). */
  #ready(): Promise<Container> {
    const ready = (this.#container ??= this.#start());
    ready.catch(() => {
      if (this.#container === ready) this.#container = undefined;
    });
    return ready;
  }

  async #start(): Promise<Container> {
    const stage = this.#stage;
    const deps = await this.#deps();
    const io = new RunIo(deps.io);
    const forwarder = new Forwarder(stage, deps.queues, io, maxBodyBytes(deps.io));
    const limits = deps.limitsFor(stage);
    const levels = Array.from({ length: stage.priorities }, (_, level) => level);
    const [urls] = await Promise.all([
      Promise.all(levels.map((level) => deps.queues.inputUrl(stage, level))),
      forwarder.createQueues(),
      deps.io.payloads?.ready(deps.logger),
      deps.later.url('own'),
      limits.start(),
    ]);
    const state = await deps.hooks.acquire(stage);
    const { reporter, joinReporter, joinGate } = stageReporters(stage, deps, io);
    const inputs = new Map(
      levels.map((level, i) => [
        deps.queues.topology.inputQueue(stage, level).name,
        { url: urls[i] ?? '', level },
      ]),
    );
    const parts: InvocationParts = {
      stage,
      deps,
      processor: {
        stage,
        args: this.#options.args,
        state,
        target: {
          forwarder,
          output: NO_CONSUMER,
          ignoreNone: deps.ignoreNone,
          withIds: false,
          window: new OutputWindow(OUTPUT_WINDOW),
          telemetry: deps.telemetry,
        },
        reporter,
        joinReporter,
        joinGate,
        limits,
      },
      workers: this.#options.workers,
      follow: stage.join === undefined ? 0 : JOIN_FOLD_MAX - 1,
    };
    return { parts, inputs, later: deps.later.name };
  }
}

/**
 * `work`, or a rejection naming `what` once `until` (epoch ms) has passed first: a wait of the
 * invocation never outlasts its time (`work` may go on; its failure is then ignored here).
 */
async function beforeDeadline<T>(work: Promise<T>, until: number, what: string): Promise<T> {
  work.catch(() => {}); // a late failure is not this invocation's
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SqspipesError(`${what} did not end within the invocation's time`)),
      Math.max(0, until - Date.now()),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
