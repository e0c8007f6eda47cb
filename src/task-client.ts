import { type ResolvedClientOptions, resolveClientOptions } from './client-options.ts';
import type { TimerStats } from './time/domain-timers.ts';
import { DeleteQueueCommand, QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { permitQueueName } from './time/permit-queue.ts';
import { CallLimits, type LimitStats } from './worker/call-limits.ts';
import { type ClientStats, countOutcomes } from './client-stats.ts';
import { type Connection, connect, disconnect } from './connection.ts';
import type { Envelope } from './envelope.ts';
import { ConfigError, SqsError, UnknownStageError } from './errors.ts';
import { TaskEvents } from './events.ts';
import { encodeOrThrow, feed, producerError, whileTransient } from './feed.ts';
import { enqueueId } from './ids.ts';
import { listPendingJoins, type PendingJoins } from './payloads/join-listing.ts';
import { observeClient } from './observe/client-metrics.ts';
import { createAllQueues, deleteQueues, describeQueues, purgeQueues, redriveStage } from './queues/admin.ts';
import { PipelineQueues, Topology } from './queues/topology.ts';
import type { ReplyListener } from './replies/listener.ts';
import type { Submission } from './replies/submission.ts';
import {
  type ResolvedRunOptions,
  resolveEnqueueOptions,
  resolveRedriveOptions,
  resolveRunOptions,
  resolveSubmitOptions,
} from './run-options.ts';
import type { RequestCounts } from './sqs/connect.ts';
import { resolveStages, type Stage } from './stage.ts';
import type {
  EnqueueOptions,
  Logger,
  QueueInfo,
  RedriveOptions,
  RunOptions,
  StageCliDefaults,
  StageEntry,
  SubmitOptions,
  TaskClientOptions,
} from './types.ts';
import { KeyTurns } from './key-turns.ts';
import { LambdaStage } from './lambda/handler.ts';
import { resolveLambdaOptions } from './lambda/options.ts';
import { lambdaMappings } from './lambda/mappings.ts';
import type { LambdaMapping, LambdaOptions, LambdaSqsHandler } from './lambda/types.ts';
import { type Deadline, deadline } from './time/deadline.ts';
import { OutputChannel } from './worker/output-channel.ts';
import { StageHooks } from './worker/hooks.ts';
import type { RunDeps } from './worker/run-deps.ts';
import { SourceRunner } from './worker/source-runner.ts';
import { StageRunner } from './worker/stage-runner.ts';
import type { StopOptions } from './worker/stop-clock.ts';

/**
 * A pipeline of stages over SQS FIFO queues. Register the stages in order, then run one stage
 * per process (`run()`, or the stage CLI `main()`); SQS carries each stage's outputs to the next.
 * Emits {@link TaskClientEvents} for watching.
 */
export class TaskClient extends TaskEvents {
  readonly #options: ResolvedClientOptions;
  #logger: Logger;
  #topology: Topology | undefined;
  #connection: Promise<Connection> | undefined;
  readonly #requests: RequestCounts = new Map();
  readonly #hooks = new StageHooks();
  /** Active runs, with the stage each runs. */
  /** Producer calls of one key, in call order. */
  readonly #turns = new KeyTurns();
  readonly #active = new Map<
    {
      readonly inHand: number;
      readonly limitStats?: LimitStats | undefined;
      readonly timerStats?: TimerStats | undefined;
      stop(options?: StopOptions): Promise<void>;
    },
    string
  >();
  readonly #counts = countOutcomes(this);
  #closed: Promise<void> | undefined;
  #replies: ReplyListener | undefined;

  constructor(options: TaskClientOptions) {
    super();
    this.#options = resolveClientOptions(options);
    this.#logger = this.#options.logger;
  }

  /** The pipeline's domain (prefix of every queue name). */
  get domain(): string {
    return this.#options.domain;
  }

  /** Registered stage names, in pipeline order. */
  get stageNames(): string[] {
    return this.#topology?.stages.map((s) => s.name) ?? [];
  }

  /** The source stage (the first, unless registered with `input: true`); undefined if none. */
  get sourceStage(): string | undefined {
    return this.#topology?.stages.find((s) => !s.consumes)?.name;
  }

  /**
   * Registers the pipeline's stages, in order: bare functions (named by their name) or stage
   * objects. Validates everything now, queue names included: a problem is a ConfigError here.
   */
  registerTasks(entries: readonly StageEntry[]): this {
    const stages = resolveStages(this.#options.domain, entries);
    const { domain, highThroughput, kmsKeyId } = this.#options;
    this.#topology = new Topology(domain, stages, { highThroughput, kmsKeyId });
    return this;
  }

  /**
   * Runs `stage` in this process and yields each output it produces here. Stops on `limit`,
   * `idleTimeout`, `signal`, `close()` or when the loop is left, gracefully: nothing received is
   * lost. An input that fails its last attempt goes to the dead-letter queue and the run goes on;
   * with `failFast` the run then rejects with its StageError. An unknown stage or a bad option
   * throws here, before anything is iterated.
   */
  run(stage: string, options?: RunOptions): AsyncGenerator<unknown, void, undefined> {
    const found = this.#stage(stage);
    if (found.join !== undefined && this.#options.payloads === undefined) throw joinWithoutPayloads(found);
    const resolved = resolveRunOptions(found, this.#requireTopology().next(found), options);
    return this.#run(found, resolved);
  }

  async *#run(stage: Stage, options: ResolvedRunOptions): AsyncGenerator<unknown, void, undefined> {
    const deps = await this.#deps(stage);
    const output = new OutputChannel<unknown>();
    const runner = stage.consumes
      ? new StageRunner(stage, deps, options, output)
      : new SourceRunner(stage, deps, options, output);
    this.#active.set(runner, stage.name);
    try {
      await runner.start();
      yield* output;
    } finally {
      await runner.stop();
      this.#active.delete(runner);
    }
  }

  /**
   * The handler that runs `stage` on AWS Lambda, behind SQS event source mappings (one per input
   * level queue, one on the stage's queue of timers: `sqspipes lambda` prints them): export it as
   * the function's handler. Each record is run as a stage process runs what it receives (same
   * envelope, ids, hooks, context, outputs, reports, traces); the answer lists the records to leave
   * on the queue (ReportBatchItemFailures). A source, a scheduled stage or a bad option throws here.
   */
  lambda(stage: string, options?: LambdaOptions): LambdaSqsHandler {
    const found = this.#stage(stage);
    if (found.join !== undefined && this.#options.payloads === undefined) throw joinWithoutPayloads(found);
    const resolved = resolveLambdaOptions(found, options);
    return new LambdaStage(found, () => this.#deps(found), resolved).handler;
  }

  /**
   * The SQS event source mappings `stage` needs on Lambda (one per input level, one on its queue
   * of timers), each with its queue's URL; the queues are created if needed. What `sqspipes
   * lambda` prints, for a deployment script or a test's `localEventSource`.
   */
  async lambdaMappings(stage: string): Promise<(LambdaMapping & { readonly queueUrl: string })[]> {
    const found = this.#stage(stage);
    resolveLambdaOptions(found, {}); // a source or a scheduled stage has none
    const { later } = await this.#connect();
    const queues = await this.#queues((s) => s === found);
    return Promise.all(
      lambdaMappings(this.#options.domain, found).map(async (mapping) => ({
        ...mapping,
        queueUrl:
          mapping.role === 'later'
            ? await later(found.name).url('own')
            : await queues.inputUrl(found, mapping.level ?? 0),
      })),
    );
  }

  /**
   * Feeds `value` into the input of `stage` (any stage but a source) from outside. With `id`,
   * enqueueing the same id again within SQS's 5-minute deduplication window is a no-op.
   */
  async enqueue(stage: string, value: unknown, options: EnqueueOptions = {}): Promise<void> {
    const found = this.#consuming(stage, 'enqueue into');
    const { level, key, signal, due } = resolveEnqueueOptions(found, options);
    const id = enqueueId(key);
    const group = found.group === undefined ? undefined : String(found.group(value));
    const json = encodeOrThrow(stage, value); // bad input fails before any request
    const limit = deadline('enqueue()', this.#options.sendTimeout, signal);
    try {
      await this.#feed(found, { id, level, key: group }, json, limit, due);
    } finally {
      limit.dispose();
    }
  }

  /**
   * Feeds `value` into the pipeline (by default into the first stage with an input) and follows
   * it: the {@link Submission}'s `result()` resolves with every final output derived from it,
   * through fan-outs too, once all its branches have ended, or rejects with an ItemError saying
   * where and why it ended otherwise (dead-lettered, filtered out, timed out). Results come back
   * over SQS to this process's reply queue (created on the first submit, deleted by `close()`);
   * the item flows on without the sender. Resolves once SQS accepted the item.
   */
  async submit(value: unknown, options: SubmitOptions = {}): Promise<Submission> {
    const topology = this.#requireTopology();
    const stage = options.stage ?? topology.stages.find((s) => s.consumes)?.name;
    if (stage === undefined) {
      throw new ConfigError(
        'submit() needs a stage with an input, and this pipeline has only its source: register a later stage, or give the first stage `input: true`',
      );
    }
    const found = this.#consuming(stage, 'submit to');
    const { level, key, signal, due, timeoutMs, status } = resolveSubmitOptions(found, options);
    const id = enqueueId(key);
    const group = found.group === undefined ? undefined : String(found.group(value));
    const json = encodeOrThrow(stage, value);
    const limit = deadline('submit()', this.#options.sendTimeout, signal);
    try {
      const { replies, diagnose } = await this.#connect();
      const queue = await whileTransient(() => replies.queueName(), limit.signal).catch((error: unknown) => {
        const call = { step: 'creating the reply queue', action: 'CreateQueue' };
        throw producerError(error, limit, (e) => diagnose(e, call));
      });
      // The same idempotency key again, in flight or settled within SQS's deduplication window:
      // SQS would drop the message, so this is the same item.
      const known = replies.known(id);
      if (known !== undefined) return known.submission;
      const follow = { timeoutMs, statuses: status, keyed: key !== undefined };
      const item = replies.follow(id, stage, follow);
      try {
        const reply = { queue, item: id, token: id, status };
        await this.#feed(found, { id, level, key: group, reply }, json, limit, due);
      } catch (error) {
        replies.forget(item);
        throw error;
      }
      replies.listen();
      return item.submission;
    } finally {
      limit.dispose();
    }
  }

  /**
   * Sends a value (its JSON) in an envelope to a stage's input, within `limit`; after the calls
   * of the same key made before it (see KeyTurns).
   */
  #feed(
    stage: Stage,
    envelope: Omit<Envelope, 'value'>,
    json: string,
    limit: Deadline,
    due: number | undefined,
  ): Promise<void> {
    const { key, level = 0 } = envelope;
    const slot = key === undefined ? undefined : `${stage.name}\0${level}\0${key}`;
    return this.#turns.inTurn(slot, async (earlier) => {
      await feed(await this.#connect(), await this.#queues(), stage, envelope, json, limit, earlier, due);
    });
  }

  /** A stage with an input queue (any but a source). */
  #consuming(name: string, doing: string): Stage {
    const found = this.#stage(name);
    if (!found.consumes) {
      throw new ConfigError(
        `Stage \`${name}\` is the source: it has no input queue to ${doing} (register it with \`input: true\` to feed it)`,
      );
    }
    return found;
  }

  /**
   * Moves every message of `stage`'s dead-letter queue back to its input, at the level it was
   * sent at. Resolves with the number moved. Each step (finding the queue; a receive of up to 10
   * messages and their moves) is bounded by `sendTimeout`: while SQS is unreachable it rejects
   * with a ConnectionError. `options.signal` ends it early.
   */
  async redrive(stage: string, options: RedriveOptions = {}): Promise<number> {
    const found = this.#stage(stage);
    if (!found.consumes) {
      throw new ConfigError(`Stage \`${stage}\` is the source: it has no dead-letter queue`);
    }
    const { signal } = resolveRedriveOptions(stage, options);
    const bounds = { stepMs: this.#options.sendTimeout, signal };
    return redriveStage(await this.#connect(), await this.#queues(), found, bounds);
  }

  /**
   * Creates every queue of the pipeline now (they are otherwise created on first use): a
   * deployment step, or a way to fail early on missing permissions or attribute drift. Each
   * consuming stage's queue of timers (`<domain>-<stage>-later`) too: an event source mapping of a
   * stage on Lambda reads it, and needs it to exist.
   */
  async createQueues(): Promise<void> {
    const { later } = await this.#connect();
    const consuming = this.#requireTopology().stages.filter((stage) => stage.consumes);
    await Promise.all([
      createAllQueues(await this.#queues(() => true)),
      ...consuming.map((stage) => later(stage.name).url('own')),
    ]);
  }

  /** This pipeline's queues (inputs by level, dead-letter queues) with approximate depths. */
  async queues(): Promise<QueueInfo[]> {
    return describeQueues(await this.#connect(), await this.#queues());
  }

  /**
   * The items join stage `stage` holds waiting for branches, listed from their states in the
   * `payloads` bucket (s3:ListBucket): up to 10,000 (past that, `capped`). Undefined when `stage`
   * is not a join.
   */
  async joinsWaiting(stage: string, signal?: AbortSignal): Promise<PendingJoins | undefined> {
    const found = this.#stage(stage);
    if (found.join === undefined) return undefined;
    const store = (await this.#connect()).io.payloads?.store;
    if (store === undefined) throw joinWithoutPayloads(found);
    return listPendingJoins(store, this.#options.domain, stage, signal);
  }

  /** Deletes every message in this pipeline's queues (exact names; never by prefix). */
  async purge(): Promise<void> {
    await purgeQueues(await this.#connect(), await this.queues());
  }

  /**
   * Deletes this pipeline's queues (exact names; never by prefix), and with `payloads` the
   * domain's queue of pending deletes of stored bodies (what it still holds is left to the
   * bucket's lifecycle rule). This client's active runs stop first, without waiting for their
   * receives in flight (the queues are going away).
   */
  async destroy(): Promise<void> {
    await Promise.allSettled(
      [...this.#active.keys()].map((runner) => runner.stop({ abandonReceives: true })),
    );
    const connection = await this.#connect();
    const deleted = await deleteQueues(connection, await this.queues());
    (await this.#queues()).forget(deleted);
    if (connection.io.payloads !== undefined) await connection.timers.destroy();
    const topology = this.#requireTopology();
    const permits = (s: Stage) => [
      ...(s.rateLimit === undefined ? [] : [permitQueueName(topology.domain, s.name, 'rate')]),
      ...(s.maxConcurrency === undefined ? [] : [permitQueueName(topology.domain, s.name, 'slots')]),
    ];
    await Promise.all(
      topology.stages.flatMap((s) => [
        ...(s.consumes ? [connection.later(s.name).destroy()] : []),
        ...permits(s).map((name) => deleteNamed(connection, name)),
      ]),
    );
  }

  /**
   * The stage CLI: `node script.js <stage> [workers] [--limit N] …`. Prints each output as a JSON
   * line on stdout, sets `process.exitCode` and resolves with it. `defaults.run` gives per-stage
   * run options (e.g. `{ generate: { args: [10] } }`); command-line flags override them.
   */
  async main(
    argv: readonly string[] = process.argv.slice(2),
    defaults: StageCliDefaults = {},
  ): Promise<number> {
    const { runStageCli } = await import('./cli/stage-cli.ts');
    if (!this.#options.loggerGiven) {
      const { stderrLogger } = await import('./cli/stderr-logger.ts');
      this.#logger = stderrLogger(argv.includes('--verbose'));
    }
    return runStageCli(this, argv, defaults);
  }

  /** Counters since this client was made. */
  stats(): ClientStats {
    let inHand = 0;
    for (const runner of this.#active.keys()) inHand += runner.inHand;
    const awaiting = this.#replies?.pending ?? 0;
    return { requests: Object.fromEntries(this.#requests), ...this.#counts, inHand, awaiting };
  }

  /**
   * Stops this client's active runs gracefully and waits for them (see `run()`), flushes pending
   * requests and closes the SQS client sqspipes made (not one you passed in). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#active.keys()].map((runner) => runner.stop()));
      if (this.#connection === undefined) return;
      const connection = await this.#connection.catch(() => undefined);
      if (connection === undefined) return;
      const { sendTimeout } = this.#options;
      const unsent = await disconnect(connection, sendTimeout, this.#logger);
      if (unsent.length > 0) {
        throw new SqsError(
          `close(): SQS did not accept these requests within sendTimeout (${sendTimeout} ms), so they were given up: ${unsent.join('; ')}. A message given up was not sent; an input whose delete was given up comes back from SQS`,
        );
      }
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requireTopology(): Topology {
    if (this.#topology === undefined)
      throw new ConfigError('No stages registered: call registerTasks([...]) first');
    return this.#topology;
  }

  #stage(name: string): Stage {
    const stage = this.#requireTopology().stages.find((s) => s.name === name);
    if (stage === undefined) throw new UnknownStageError(name, this.stageNames);
    return stage;
  }

  /** The pipeline's queues; those of the stages it `owns` get their attributes updated in place. */
  async #queues(owns?: (stage: Stage) => boolean): Promise<PipelineQueues> {
    const { provisioner } = await this.#connect();
    return new PipelineQueues(this.#requireTopology(), provisioner, owns);
  }

  /** What a run of `stage` needs; it owns the stage's queues. */
  async #deps(stage: Stage): Promise<RunDeps> {
    const { io, telemetry, timers, later, sqs, provisioner } = await this.#connect();
    const { domain, kmsKeyId } = this.#options;
    const { ignoreNone, pollWaitSeconds } = this.#options;
    return {
      queues: await this.#queues((s) => s === stage),
      io,
      logger: this.#logger,
      events: this,
      hooks: this.#hooks,
      ignoreNone,
      pollWaitSeconds,
      telemetry,
      timers,
      later: later(stage.name),
      sqs,
      limitsFor: (s) => new CallLimits(s, { sqs, provisioner, domain, kmsKeyId, logger: this.#logger }),
    };
  }

  #connect(): Promise<Connection> {
    if (this.#closed !== undefined) return Promise.reject(new ConfigError('This TaskClient is closed'));
    this.#connection ??= connect(this.#options, this.#logger, this.#requests).then((connection) => {
      this.#replies = connection.replies;
      observeClient(connection.telemetry, this, this.#active);
      return connection;
    });
    return this.#connection;
  }
}

/** A join stage run, or listed, by a client without `payloads`. */
function joinWithoutPayloads(stage: Stage): ConfigError {
  return new ConfigError(
    `Stage \`${stage.name}\` joins the branches of \`${stage.join ?? ''}\` and keeps each item's partial state in S3: give the client \`payloads: { bucket }\` (see "Large payloads through S3")`,
  );
}

/** Deletes the queue named `name` if it exists (one deleted meanwhile counts as deleted). */
async function deleteNamed({ sqs, provisioner }: Connection, name: string): Promise<void> {
  const url = await provisioner.find(name);
  if (url !== undefined) {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch((error: unknown) => {
      if (!(error instanceof QueueDoesNotExist)) throw error;
    });
  }
  provisioner.forget([name]);
}
