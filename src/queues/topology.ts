import type { Stage } from '../stage.ts';
import { inputQueueName, queueTags } from './naming.ts';
import type { QueueSpec } from './provisioner.ts';

export interface TopologyOptions {
  /** High-throughput FIFO: deduplication and throughput limit per message group. */
  readonly highThroughput: boolean;
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

  inputQueue(stage: Stage, level: number): QueueSpec {
    const attributes: Record<string, string> = {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      MessageRetentionPeriod: RETENTION_SECONDS,
      SqsManagedSseEnabled: 'true',
      ...(this.#options.highThroughput
        ? { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' }
        : {}),
    };
    return {
      name: inputQueueName(this.domain, stage.name, level),
      attributes,
      tags: queueTags(this.domain, stage.name, 'input', level),
    };
  }

  /** Every input queue of the pipeline, stage by stage, level by level (the source has none). */
  inputQueues(): { stage: Stage; level: number; spec: QueueSpec }[] {
    return this.stages.slice(1).flatMap((stage) =>
      Array.from({ length: stage.priorities }, (_, level) => ({
        stage,
        level,
        spec: this.inputQueue(stage, level),
      })),
    );
  }
}
