import { createHash } from 'node:crypto';
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
  /** Group key of the input, kept by its outputs unless the next stage declares its own. */
  readonly key?: string | undefined;
}

/** What SQS accepts as a MessageGroupId: 1-128 printable ASCII characters. */
const GROUP_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Sends a stage's outputs, one by one as they are produced, to the next stage's input queues:
 * output `index` of an input gets the id `outputId(input, stage, index)` (its deduplication id),
 * its group key (from the next stage's `group`, else the source's, else the input's), and the
 * input's priority level (capped by the next stage's levels). Resolves once SQS accepted it.
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

  /** True when outputs of this lineage carry a key: they must reach SQS one after another. */
  ordered(lineage: Lineage): boolean {
    return lineage.key !== undefined || this.#next?.group !== undefined || this.#stage.group !== undefined;
  }

  /** Sends output `index` of `lineage` at priority `level` (capped by the next stage's levels). */
  async send(value: unknown, index: number, lineage: Lineage, level: number): Promise<void> {
    const next = this.#next;
    if (next === undefined) return;
    const id = outputId(lineage.inputId, this.#stage.name, index);
    const key = this.#keyOf(value, lineage.key);
    level = Math.min(level, next.priorities - 1);
    const body = this.#encode(id, value, key, level);
    const url = await this.#queues.inputUrl(next, level);
    await this.#io.send(url, { body, groupId: key === undefined ? id : groupIdOf(key), deduplicationId: id });
  }

  #keyOf(value: unknown, inherited: string | undefined): string | undefined {
    const declared = this.#next?.group ?? (this.#stage.index === 0 ? this.#stage.group : undefined);
    if (declared === undefined) return inherited;
    let key: unknown;
    try {
      key = declared(value);
    } catch (error) {
      throw new OutputError(this.#stage.name, `its \`group\` function threw: ${String(error)}`, error);
    }
    if (typeof key !== 'string' || key === '') {
      throw new OutputError(
        this.#stage.name,
        `its \`group\` function returned ${JSON.stringify(key) ?? String(key)}, not a non-empty string`,
      );
    }
    return key;
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

/** The key itself when SQS accepts it as a group id, else a hash of it (same key, same group). */
export function groupIdOf(key: string): string {
  return GROUP_ID.test(key) ? key : `h:${createHash('sha256').update(key).digest('base64url')}`;
}
