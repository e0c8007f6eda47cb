import { createHash } from 'node:crypto';
import { encodeValue, MAX_MESSAGE_BYTES, type ReplyAddress, wrapEncoded } from '../envelope.ts';
import { MAX_READ_BYTES } from '../payloads/store.ts';
import { OutputError } from '../errors.ts';
import { derivedId, firstOutputId, givenOutputId, outputId } from '../ids.ts';
import { type JoinFrame, joinGroupId } from '../join/frames.ts';
import { Identified } from '../outputs.ts';
import type { TraceCarrier } from '../observe/telemetry.ts';
import { inputQueueName } from '../queues/naming.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { OutgoingMessage } from '../sqs/sqs-io.ts';
import type { Stage } from '../stage.ts';

/** Where the outputs of one input (or one source call) come from. */
export interface Lineage {
  /** Id of the input (or source call) the outputs derive from. */
  readonly inputId: string;
  /** Group key of the input, kept by its outputs unless the next stage declares its own. */
  readonly key?: string | undefined;
  /** The input's reply address (a submitted item), passed on to its outputs. */
  readonly reply?: ReplyAddress | undefined;
  /** The join scopes of the input (at a join, without the one it closes): see join/frames.ts. */
  readonly frames?: readonly JoinFrame[] | undefined;
  /**
   * The outputs keep the input's branch token (a call with one output carries its branch on);
   * otherwise each output opens a branch of its own, named by its id.
   */
  readonly keepToken?: boolean;
  /** The join scopes the outputs are in, and how their frames follow from these (join/frames.ts). */
  readonly framing?: Framing | undefined;
}

/**
 * The join frames of a call's outputs: `frames` as they are (`keep`: one output carries the
 * branch on), with the innermost frame's token replaced by each output's id (`branch`: a fan-out
 * inside a scope), or with a frame added for `join`, on item `item` (`open`: the split's call).
 */
export type Framing =
  | { readonly mode: 'keep' | 'branch'; readonly frames: readonly JoinFrame[] }
  | {
      readonly mode: 'open';
      readonly frames: readonly JoinFrame[];
      readonly join: string;
      readonly item: string;
    };

/** What SQS accepts as a MessageGroupId: 1-128 printable ASCII characters. */
const GROUP_ID = /^[\x21-\x7e]{1,128}$/;

/** One output, encoded and named, ready to send. */
export interface PreparedOutput {
  /** Its id (deduplication id), also what `run({ withIds: true })` yields it with. */
  readonly id: string;
  /** The value, as the stage produced it (unwrapped from `withId`). */
  readonly value: unknown;
  /** The envelope to send; undefined on the last stage (nothing to send to). */
  readonly body: string | undefined;
  readonly groupId: string;
  readonly level: number;
  /** When to deliver it (a `delayed()` output), in epoch ms. */
  readonly due?: number | undefined;
}

const NO_MESSAGE_ID: Promise<undefined> = Promise.resolve(undefined);

function messageIdOf(sent: unknown): string | undefined {
  return (sent as { MessageId?: string } | undefined)?.MessageId;
}

/**
 * Sends a stage's outputs, one by one as they are produced, to the next stage's input queues.
 * Each output gets its id from its input, the stage and its content (see `outputId`), or the id
 * the stage gave it with `withId`; its group key (from the next stage's `group`, else the
 * source's, else the input's); and the input's priority level (capped by the next stage's levels).
 */
export class Forwarder {
  /** The largest body an output may have: SQS's limit, or with `payloads` what S3 may store. */
  readonly #maxBytes: number;
  readonly #stage: Stage;
  readonly #next: Stage | undefined;
  readonly #queues: PipelineQueues;
  readonly #io: { send(url: string, message: OutgoingMessage): Promise<unknown> };

  constructor(
    stage: Stage,
    queues: PipelineQueues,
    io: { send(url: string, message: OutgoingMessage): Promise<unknown> },
    maxBytes = MAX_MESSAGE_BYTES,
  ) {
    this.#maxBytes = maxBytes;
    this.#stage = stage;
    this.#next = queues.topology.next(stage);
    this.#queues = queues;
    this.#io = io;
  }

  /**
   * Creates the next stage's input queues now (a run does this as it starts): a missing
   * permission or an attribute drift shows at once, and no output waits for a queue to be made.
   */
  async createQueues(): Promise<void> {
    const next = this.#next;
    if (next === undefined) return;
    await Promise.all(
      Array.from({ length: next.priorities }, (_, level) => this.#queues.inputUrl(next, level)),
    );
  }

  /** True for a stage with an input (not a source). */
  get consumes(): boolean {
    return this.#stage.consumes;
  }

  /** The join stage this stage's calls open a scope of (this stage is its split), if any. */
  get opens(): string | undefined {
    return this.#stage.closedBy;
  }

  /** True on the last stage: outputs go to the consumer only. */
  get last(): boolean {
    return this.#next === undefined;
  }

  /** True when outputs of this lineage carry a key: they must reach SQS one after another. */
  ordered(lineage: Lineage): boolean {
    return lineage.key !== undefined || this.#next?.group !== undefined || this.#stage.group !== undefined;
  }

  /**
   * Names and encodes one output. `seen` counts the contents this call produced so far, by the id
   * of their first occurrence (for the occurrence part of the id). Throws an OutputError for a value SQS cannot carry.
   */
  prepare(
    output: unknown,
    lineage: Lineage,
    level: number,
    seen: Map<string, number>,
    trace?: TraceCarrier,
    due?: number,
    named = true,
  ): PreparedOutput {
    const given = output instanceof Identified ? (output as Identified<unknown>) : undefined;
    const value = given === undefined ? output : given.value;
    const next = this.#next;
    // On the last stage an output's id serves only whoever asked for it (`withIds`, a join's
    // scope): not made otherwise, nor the JSON it is hashed from.
    if (next === undefined && !named) {
      if (due !== undefined) throw this.#delayedOnLast();
      return { id: '', value, body: undefined, groupId: '', level };
    }
    const json = next === undefined ? lenientJson(value) : this.#encodeValue(value);
    let id: string;
    if (given === undefined) {
      const first = firstOutputId(lineage.inputId, this.#stage.name, json);
      const occurrence = seen.get(first) ?? 0;
      seen.set(first, occurrence + 1);
      id = outputId(first, occurrence);
    } else {
      id = givenOutputId(this.#stage.name, given.id);
    }
    // An output that opens a branch of its own (a fan-out of a submitted item, or in a join's
    // scope) is named apart from the same value carrying its input's branch on: else an attempt
    // that fanned out and failed, then a retry returning that one value, would send the same id,
    // SQS would drop the retry's message, and the input's branch would never end.
    if (next !== undefined && opensBranch(lineage)) id = derivedId(id, 'branch');
    if (next === undefined) {
      if (due !== undefined) throw this.#delayedOnLast();
      return { id, value, body: undefined, groupId: id, level };
    }
    const key = this.#keyOf(value, lineage.key);
    const capped = Math.min(level, next.priorities - 1);
    const reply =
      lineage.reply === undefined || lineage.keepToken === true
        ? lineage.reply
        : { ...lineage.reply, token: id };
    const frames = framesOf(lineage.framing, id);
    const body = wrapEncoded({ id, key, level: capped, reply, trace, frames }, json);
    const bytes = Buffer.byteLength(body);
    if (bytes > this.#maxBytes) {
      const limit =
        this.#maxBytes === MAX_MESSAGE_BYTES
          ? `SQS's limit of ${MAX_MESSAGE_BYTES} bytes (1 MiB; the client's \`payloads\` option sends larger bodies through S3)`
          : `the ${this.#maxBytes} bytes a body stored in S3 may have`;
      throw new OutputError(this.#stage.name, `it is ${bytes} bytes as JSON, over ${limit}`);
    }
    // Into its join's queue, an output goes in its item's group: the join folds them in turn.
    const scope = frames?.at(-1);
    const groupId =
      scope !== undefined && scope.join === next.name
        ? joinGroupId(scope.join, scope.item)
        : key === undefined
          ? id
          : keyGroupId(key, id, next.keyConcurrency);
    return { id, value, body, groupId, level: capped, due };
  }

  /**
   * Sends a prepared output; resolves once SQS accepted it (at once on the last stage), with SQS's
   * message id when it says one.
   */
  send(output: PreparedOutput): Promise<string | undefined> {
    const next = this.#next;
    if (next === undefined || output.body === undefined) return NO_MESSAGE_ID;
    const message = {
      body: output.body,
      groupId: output.groupId,
      deduplicationId: output.id,
      due: output.due,
    };
    // Every output sent looks its queue up: from memory once found, without a promise to wait.
    const url = this.#queues.foundInputUrl(next, output.level);
    try {
      const sent =
        url === undefined
          ? this.#queues.inputUrl(next, output.level).then((found) => this.#io.send(found, message))
          : this.#io.send(url, message);
      return sent.then(messageIdOf);
    } catch (error) {
      // A send's failure, however it comes.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #delayedOnLast(): OutputError {
    return new OutputError(
      this.#stage.name,
      'a delayed() output on the last stage has no queue to wait in: return the value itself, or delay it in an earlier stage',
    );
  }

  /** Name of the queue an output at `level` goes to (undefined on the last stage). */
  destination(level: number): string | undefined {
    const next = this.#next;
    if (next === undefined) return undefined;
    return inputQueueName(this.#queues.topology.domain, next.name, Math.min(level, next.priorities - 1));
  }

  #encodeValue(value: unknown): string {
    try {
      return encodeValue(value);
    } catch (error) {
      throw new OutputError(this.#stage.name, error instanceof Error ? error.message : String(error), error);
    }
  }

  #keyOf(value: unknown, inherited: string | undefined): string | undefined {
    const declared = this.#next?.group ?? (this.#stage.consumes ? undefined : this.#stage.group);
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
}

/** True when each output opens a branch named by its id (see Completion and join/frames.ts). */
function opensBranch(lineage: Lineage): boolean {
  const mode = lineage.framing?.mode;
  if (mode !== undefined) return mode === 'branch';
  return lineage.reply !== undefined && lineage.keepToken === false;
}

/** The join frames of the output `id` (see {@link Framing}); undefined when in no join scope. */
function framesOf(framing: Framing | undefined, id: string): readonly JoinFrame[] | undefined {
  if (framing === undefined) return undefined;
  const { frames } = framing;
  switch (framing.mode) {
    case 'keep':
      return frames;
    case 'branch': {
      const inner = frames.at(-1);
      return inner === undefined ? frames : [...frames.slice(0, -1), { ...inner, token: id }];
    }
    case 'open':
      return [...frames, { join: framing.join, item: framing.item, token: id }];
  }
}

/**
 * The message group of an item of `key` (its id `id`) for a stage that runs up to `spread` calls
 * of a key at once (`keyConcurrency`): the key's group, or with a spread, one of that many groups
 * of the key chosen by the item's id (the same item, the same group, wherever it is sent from).
 */
export function keyGroupId(key: string, id: string, spread: number): string {
  if (spread <= 1) return groupIdOf(key);
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return groupIdOf(`${key}#${h % spread}`);
}

/** The key itself when SQS accepts it as a group id, else a hash of it (same key, same group). */
export function groupIdOf(key: string): string {
  return GROUP_ID.test(key) ? key : `h:${createHash('sha256').update(key).digest('base64url')}`;
}

/** JSON for a last-stage output's id: it is never sent, so anything goes (it is the consumer's). */
function lenientJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return '(not JSON)';
  }
}

/** The largest output body a run may send through `io`: SQS's limit, or through S3 with `payloads`. */
export function maxBodyBytes(io: { readonly payloads?: unknown }): number {
  return io.payloads === undefined ? MAX_MESSAGE_BYTES : MAX_READ_BYTES;
}
