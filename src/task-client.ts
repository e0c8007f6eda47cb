import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type ResolvedClientOptions, resolveClientOptions } from './client-options.ts';
import { encodeEnvelope } from './envelope.ts';
import { ConfigError, OutputError, UnknownStageError } from './errors.ts';
import { enqueueId } from './ids.ts';
import { Provisioner } from './queues/provisioner.ts';
import { Topology } from './queues/topology.ts';
import { resolveRunOptions } from './run-options.ts';
import { countRequests, createSqsClient, type RequestCounts } from './sqs/connect.ts';
import { SqsIo } from './sqs/sqs-io.ts';
import { resolveStages, type Stage } from './stage.ts';
import type {
  EnqueueOptions,
  Logger,
  QueueInfo,
  RunOptions,
  StageCliDefaults,
  StageEntry,
  TaskClientOptions,
} from './types.ts';
import { checkInteger, checkKeys, fail, isPlainObject } from './validate.ts';
import { OutputChannel } from './worker/output-channel.ts';
import { SourceRunner } from './worker/source-runner.ts';
import { type RunDeps, StageRunner } from './worker/stage-runner.ts';

/** Connection state, made on first use. */
interface Connection {
  readonly sqs: SQSClient;
  readonly owned: boolean;
  readonly io: SqsIo;
  readonly provisioner: Provisioner;
}

/** Counters of one client, for monitoring and the benchmark. */
export interface ClientStats {
  /** SQS HTTP requests made through this client, by action (each SDK retry counts). */
  readonly requests: Readonly<Record<string, number>>;
}

/**
 * A pipeline of stages over SQS FIFO queues. Register the stages in order, then run one stage
 * per process (`run()` or the stage CLI `main()`); SQS carries each stage's outputs to the next.
 */
export class TaskClient {
  readonly #options: ResolvedClientOptions;
  #logger: Logger;
  #topology: Topology | undefined;
  #connection: Promise<Connection> | undefined;
  readonly #requests: RequestCounts = new Map();
  #closed: Promise<void> | undefined;

  constructor(options: TaskClientOptions) {
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

  /**
   * Registers the pipeline's stages, in order: bare functions (named by their name) or stage
   * objects. Validates everything now, queue names included: a problem is a ConfigError here.
   */
  registerTasks(entries: readonly StageEntry[]): this {
    const stages = resolveStages(this.#options.domain, entries);
    this.#topology = new Topology(this.#options.domain, stages, {
      highThroughput: this.#options.highThroughput,
    });
    return this;
  }

  /**
   * Runs `stage` in this process and yields each output it produces here. Stops on `limit`,
   * `idleTimeout`, `signal` or when the loop is left, gracefully: nothing received is lost.
   * Rejects with a StageError when the stage throws (that input is not deleted).
   */
  run(stage: string, options?: RunOptions): AsyncGenerator<unknown, void, undefined> {
    const found = this.#stage(stage);
    const resolved = resolveRunOptions(found, this.#requireTopology().next(found), options);
    return this.#run(found, resolved);
  }

  async *#run(
    stage: Stage,
    options: ReturnType<typeof resolveRunOptions>,
  ): AsyncGenerator<unknown, void, undefined> {
    const deps = await this.#deps();
    const output = new OutputChannel<unknown>();
    const runner =
      stage.index === 0
        ? new SourceRunner(stage, deps, options, output)
        : new StageRunner(stage, deps, options, output);
    await runner.start();
    try {
      yield* output;
    } finally {
      await runner.stop();
    }
  }

  /** Feeds `value` into the input of `stage` (any stage but the first) from outside. */
  async enqueue(stage: string, value: unknown, options: EnqueueOptions = {}): Promise<void> {
    const found = this.#stage(stage);
    if (found.index === 0) {
      throw new ConfigError(
        `Stage \`${stage}\` is the first stage: it has no input queue to enqueue into`,
      );
    }
    const raw: unknown = options;
    if (!isPlainObject(raw)) fail('`enqueue` options', 'an object', raw);
    checkKeys('`enqueue` options', raw, ['priority', 'id']);
    const level = checkInteger(
      `\`priority\` of enqueue('${stage}')`,
      raw['priority'] ?? 0,
      0,
      found.priorities - 1,
    );
    const key = raw['id'];
    if (key !== undefined && (typeof key !== 'string' || key === ''))
      fail(`\`id\` of enqueue('${stage}')`, 'a non-empty string', key);
    const id = enqueueId(key);
    let body: string;
    try {
      body = encodeEnvelope({ id, value });
    } catch (error) {
      throw new OutputError(
        `enqueue:${stage}`,
        error instanceof Error ? error.message : String(error),
        error,
      );
    }
    const { provisioner, io } = await this.#connect();
    const url = await provisioner.ensure(this.#requireTopology().inputQueue(found, level));
    await io.send(url, { body, groupId: id, deduplicationId: id });
  }

  /** This pipeline's input queues with approximate depths (queues not created yet show `exists: false`). */
  async queues(): Promise<QueueInfo[]> {
    const { sqs, provisioner } = await this.#connect();
    return Promise.all(
      this.#requireTopology()
        .inputQueues()
        .map(async ({ stage, level, spec }) => {
          const url = await provisioner.find(spec.name);
          const info = {
            stage: stage.name,
            level,
            name: spec.name,
            url,
            exists: url !== undefined,
            visible: 0,
            inFlight: 0,
          };
          if (url === undefined) return info;
          const out = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
              ],
            }),
          );
          const attributes = out.Attributes ?? {};
          info.visible = Number(attributes.ApproximateNumberOfMessages ?? 0);
          info.inFlight = Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
          return info;
        }),
    );
  }

  /** Deletes every message in this pipeline's queues (exact names; never by prefix). */
  async purge(): Promise<void> {
    const { sqs } = await this.#connect();
    const existing = (await this.queues()).filter((q) => q.url !== undefined);
    await Promise.all(existing.map((q) => sqs.send(new PurgeQueueCommand({ QueueUrl: q.url }))));
  }

  /** Deletes this pipeline's queues (exact names; never by prefix). */
  async destroy(): Promise<void> {
    const { sqs, provisioner } = await this.#connect();
    const existing = (await this.queues()).filter((q) => q.url !== undefined);
    await Promise.all(existing.map((q) => sqs.send(new DeleteQueueCommand({ QueueUrl: q.url }))));
    provisioner.forget(existing.map((q) => q.name));
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
    if (this.#options.loggerGiven === false) {
      const { stderrLogger } = await import('./cli/stderr-logger.ts');
      this.#logger = stderrLogger(argv.includes('--verbose'));
    }
    return runStageCli(this, argv, defaults);
  }

  /** Counters since this client was made. */
  stats(): ClientStats {
    return { requests: Object.fromEntries(this.#requests) };
  }

  /** Closes the SQS client sqspipes made (not one you passed in). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#connection === undefined) return;
      const connection = await this.#connection.catch(() => undefined);
      await connection?.io.flush();
      if (connection?.owned === true) connection.sqs.destroy();
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
    const topology = this.#requireTopology();
    const stage = topology.stages.find((s) => s.name === name);
    if (stage === undefined)
      throw new UnknownStageError(
        name,
        topology.stages.map((s) => s.name),
      );
    return stage;
  }

  async #deps(): Promise<RunDeps> {
    const { provisioner, io } = await this.#connect();
    const { ignoreNone } = this.#options;
    return { topology: this.#requireTopology(), provisioner, io, logger: this.#logger, ignoreNone };
  }

  #connect(): Promise<Connection> {
    if (this.#closed !== undefined)
      return Promise.reject(new ConfigError('This TaskClient is closed'));
    this.#connection ??= (async () => {
      const { sqs: given, region, endpoint, credentials, maxSockets } = this.#options;
      const sqs = given ?? (await createSqsClient({ region, endpoint, credentials, maxSockets }));
      countRequests(sqs, this.#requests);
      return {
        sqs,
        owned: given === undefined,
        io: new SqsIo(sqs),
        provisioner: new Provisioner(sqs),
      };
    })();
    return this.#connection;
  }
}
