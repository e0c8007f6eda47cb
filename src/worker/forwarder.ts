import { encodeEnvelope, MAX_MESSAGE_BYTES } from '../envelope.ts';
import { OutputError } from '../errors.ts';
import { outputId } from '../ids.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Stage } from '../stage.ts';

/** Where the outputs of one input (or one source call) come from. */
export interface Lineage {
  /** Id of the input (or source call) the outputs derive from. */
  readonly inputId: string;
  /** Group key to keep, if the pipeline orders by key. */
  readonly key?: string | undefined;
}

/**
 * Sends a stage's outputs to the next stage's input queues: encodes every output first (so a bad
 * one fails before anything is sent), gives each a deterministic id, and resolves once SQS has
 * accepted them all.
 */
export class Forwarder {
  readonly #stage: Stage;
  readonly #next: Stage | undefined;
  readonly #queues: PipelineQueues;
  readonly #io: SqsIo;

  constructor(stage: Stage, queues: PipelineQueues, io: SqsIo) {
    this.#stage = stage;
    this.#next = queues.topology.next(stage);
    this.#queues = queues;
    this.#io = io;
  }

  /** The level an output goes to: the input's, capped by the next stage's number of levels. */
  levelFor(level: number): number {
    return Math.min(level, (this.#next?.priorities ?? 1) - 1);
  }

  async forward(outputs: readonly unknown[], lineage: Lineage, levels: readonly number[]): Promise<void> {
    const next = this.#next;
    if (next === undefined) return;
    const messages = outputs.map((value, index) => {
      const id = outputId(lineage.inputId, this.#stage.name, index);
      const level = this.levelFor(levels[index] ?? 0);
      return { id, body: this.#encode(id, value, lineage.key, level), level };
    });
    await Promise.all(
      messages.map(async (m) => {
        const url = await this.#queues.inputUrl(next, m.level);
        await this.#io.send(url, {
          body: m.body,
          groupId: lineage.key ?? m.id,
          deduplicationId: m.id,
        });
      }),
    );
  }

  #encode(id: string, value: unknown, key: string | undefined, level: number): string {
    let body: string;
    try {
      body = encodeEnvelope({ id, value, key, level });
    } catch (error) {
      throw new OutputError(this.#stage.name, error instanceof Error ? error.message : String(error), error);
    }
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_MESSAGE_BYTES) {
      throw new OutputError(
        this.#stage.name,
        `it is ${bytes} bytes as JSON, over SQS's limit of ${MAX_MESSAGE_BYTES} bytes (1 MiB)`,
      );
    }
    return body;
  }
}
