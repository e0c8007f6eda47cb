import { getOrCreate } from '../maps.ts';
import type { Stage } from '../stage.ts';
import { deadLetterQueueName, inputQueueName, queueTags } from './naming.ts';
import type { Provisioner, QueueRole, QueueSpec } from './provisioner.ts';

export interface TopologyOptions {
  /** High-throughput FIFO: deduplication and throughput limit per message group. */
  readonly highThroughput: boolean;
  /** KMS key for server-side encryption; undefined: SQS-managed encryption. */
  readonly kmsKeyId?: string | undefined;
}

/**
 * Deliveries SQS allows beyond the stage's attempts before its redrive policy moves a message to
 * the dead-letter queue. sqspipes itself counts attempts in hand and moves a failed input there
 * after `retries + 1` of them; the policy is the safety net for inputs that never report (a call
 * that kills its process). Receives that are not attempts (hand-backs on a stop or past a `limit`,
 * `peek`s) spend it too: the slack keeps them from reaching it in practice, and a message received
 * for the last time it allows is never handed back (see `Delivery.lastReceive`).
 */
export const REDRIVE_SLACK = 99;

/** The maxReceiveCount of `stage`'s input queues: SQS moves a message received more often to its DLQ. */
export function maxReceiveCount(stage: Pick<Stage, 'retries'>): number {
  return stage.retries + 1 + REDRIVE_SLACK;
}

/** 14 days, SQS's maximum: a pipeline paused over a long weekend loses nothing. */
const RETENTION_SECONDS = '1209600';

/** The queues of one pipeline: which exist for which stage and level, and how they are made. */
export class Topology {
  readonly domain: string;
  readonly stages: readonly Stage[];
  readonly #options: TopologyOptions;

  constructor(domain: string, stages: readonly Stage[], options: TopologyOptions) {
    this.domain = domain;
    this.stages = stages;
    this.#options = options;
  }

  /** The stage after `stage`, which receives its outputs; undefined for the last. */
  next(stage: Stage): Stage | undefined {
    return this.stages[stage.index + 1];
  }

  /** Input queue of `stage` at `level`; it redrives to the dead-letter queue `dlqArn`. */
  inputQueue(stage: Stage, level: number, dlqArn?: string): QueueSpec {
    const redrive =
      dlqArn === undefined
        ? {}
        : {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqArn,
              maxReceiveCount: maxReceiveCount(stage),
            }),
          };
    return {
      name: inputQueueName(this.domain, stage.name, level),
      attributes: { ...this.#fifoAttributes(), ...redrive },
      tags: queueTags(this.domain, stage, 'input', level),
    };
  }

  /** Dead-letter queue of `stage` (every stage that consumes has one; a source has none). */
  deadLetterQueue(stage: Stage): QueueSpec {
    return {
      name: deadLetterQueueName(this.domain, stage.name),
      attributes: this.#fifoAttributes(),
      tags: queueTags(this.domain, stage, 'dlq'),
    };
  }

  /** Every queue of the pipeline, stage by stage: input levels, then the dead-letter queue. */
  queues(): { stage: Stage; level: number | 'dlq'; spec: QueueSpec }[] {
    return this.stages
      .filter((stage) => stage.consumes)
      .flatMap((stage) => [
        ...Array.from({ length: stage.priorities }, (_, level) => ({
          stage,
          level,
          spec: this.inputQueue(stage, level),
        })),
        { stage, level: 'dlq' as const, spec: this.deadLetterQueue(stage) },
      ]);
  }

  #fifoAttributes(): Record<string, string> {
    return {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      MessageRetentionPeriod: RETENTION_SECONDS,
      ...(this.#options.kmsKeyId === undefined
        ? { SqsManagedSseEnabled: 'true' }
        : { KmsMasterKeyId: this.#options.kmsKeyId }),
      ...(this.#options.highThroughput
        ? { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' }
        : {}),
    };
  }
}

/**
 * Queue URLs of one pipeline, creating queues on first use (a stage's DLQ before its inputs, which
 * are looked up and read meanwhile: a pipeline whose queues exist takes two round trips). The
 * queues of the stages it `owns` (the stage a run consumes for; every stage for `createQueues()`)
 * get their changeable attributes updated in place when they differ from the stage's options.
 */
export class PipelineQueues {
  readonly topology: Topology;
  readonly #provisioner: Provisioner;
  readonly #owns: (stage: Stage) => boolean;
  /** URLs by stage and level (or `dlq`). */
  readonly #urls = new Map<string, Promise<string>>();
  /** Input URLs found, by stage and level: read without a promise by every output sent. */
  readonly #found = new Map<Stage, string[]>();

  constructor(topology: Topology, provisioner: Provisioner, owns: (stage: Stage) => boolean = () => false) {
    this.topology = topology;
    this.#provisioner = provisioner;
    this.#owns = owns;
  }

  /** URL of one of the stage's input queues (created if needed); asked once, then remembered. */
  inputUrl(stage: Stage, level: number): Promise<string> {
    // Every output sent asks for its queue: answer from memory, without rebuilding the spec.
    const key = `${stage.name}\0${level}`;
    return this.#remember(key, () => {
      // Looked up and read beside the dead-letter queue; compared, or created, once its ARN is known.
      const spec = this.#deadLetter(stage).then((dlq) => this.topology.inputQueue(stage, level, dlq.arn));
      const { name } = this.topology.inputQueue(stage, level);
      const url = this.#provisioner.ensureWith(name, spec, this.#role(stage));
      url.then(
        (found) => {
          // Unless forgotten meanwhile (the queues were deleted).
          if (this.#urls.get(key) === url) getOrCreate(this.#found, stage, () => [])[level] = found;
        },
        () => {},
      );
      return url;
    });
  }

  /**
   * URL of one of the stage's input queues as soon as it is known (see Provisioner.located): an
   * existing queue's once found, while {@link inputUrl} still checks it.
   */
  locatedInputUrl(stage: Stage, level: number): Promise<string> {
    const checked = this.inputUrl(stage, level);
    return this.#provisioner.located(this.topology.inputQueue(stage, level).name) ?? checked;
  }

  /** URL of one of the stage's input queues if {@link inputUrl} found it already, else undefined. */
  foundInputUrl(stage: Stage, level: number): string | undefined {
    return this.#found.get(stage)?.[level];
  }

  /** URL of the stage's dead-letter queue (created if needed). */
  deadLetterUrl(stage: Stage): Promise<string> {
    return this.#remember(`${stage.name}\0dlq`, async () => (await this.#deadLetter(stage)).url);
  }

  async #deadLetter(stage: Stage): Promise<{ url: string; arn: string }> {
    const spec = this.topology.deadLetterQueue(stage);
    const url = await this.#provisioner.ensure(spec, this.#role(stage));
    return { url, arn: await this.#provisioner.arn(spec.name, url) };
  }

  #role(stage: Stage): QueueRole {
    return this.#owns(stage) ? 'own' : 'use';
  }

  #remember(key: string, make: () => Promise<string>): Promise<string> {
    let url = this.#urls.get(key);
    if (url === undefined) {
      url = make();
      this.#urls.set(key, url);
      url.catch(() => this.#urls.delete(key));
    }
    return url;
  }

  /** URL of an existing queue, or undefined; never creates. */
  find(name: string): Promise<string | undefined> {
    return this.#provisioner.find(name);
  }

  forget(names: Iterable<string>): void {
    this.#urls.clear();
    this.#found.clear();
    this.#provisioner.forget(names);
  }
}
