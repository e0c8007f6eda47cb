import { BatchItemError } from '../outputs.ts';
import { describe, SqspipesError, StageError } from '../errors.ts';
import type { InputInfo, TaskEvents } from '../events.ts';
import { outputId } from '../ids.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Stage } from '../stage.ts';
import type { Logger } from '../types.ts';
import { callStage } from './call.ts';
import { emitOutputs } from './emit.ts';
import type { Forwarder } from './forwarder.ts';
import type { Heartbeat } from './heartbeat.ts';
import { type InHand, receiveCount } from './in-hand.ts';
import type { OutputChannel } from './output-channel.ts';
import type { RunControl } from './run-control.ts';

export interface HandlerDeps {
  readonly stage: Stage;
  readonly args: readonly unknown[];
  readonly ignoreNone: boolean;
  readonly queues: PipelineQueues;
  readonly io: SqsIo;
  readonly forwarder: Forwarder;
  readonly heartbeat: Heartbeat;
  readonly output: OutputChannel<unknown>;
  readonly control: RunControl;
  readonly events: TaskEvents;
  readonly logger: Logger;
  /** What the stage's `setup()` returned. */
  readonly state: unknown;
  /** Makes a message in hand visible again (as soon as that is safe). */
  readonly handBack: (item: InHand) => void;
  /** Records that an input's outputs were all forwarded and handed over (before its delete). */
  readonly completed: (envelopeId: string) => void;
}

/**
 * What happens to one input: call the stage, forward its outputs, hand them to the consumer,
 * then acknowledge. On failure: without `retries`, release the input and stop the run; with
 * `retries`, try again after a delay, and past the last attempt move it to the dead-letter queue.
 */
export class InputHandler {
  readonly #d: HandlerDeps;

  constructor(deps: HandlerDeps) {
    this.#d = deps;
  }

  /** Calls the stage on one input, then completes it. */
  async process(item: InHand): Promise<void> {
    const { stage, args, control } = this.#d;
    const info = this.#info(item);
    let result: unknown;
    try {
      const context = {
        stage: stage.name,
        priority: item.level,
        messageId: info.messageId,
        receiveCount: info.receiveCount,
        state: this.#d.state,
      };
      result = await callStage(context, control.callSignal, stage.timeout, () =>
        stage.method(item.envelope.value, ...args),
      );
    } catch (error) {
      await this.#failed(item, new StageError(stage.name, info.messageId, error));
      return;
    }
    await this.#complete(item, result);
  }

  /**
   * Calls a batch handler on several inputs (distinct groups), then completes each with its own
   * result: an `itemError(e)` fails that input alone; a throw fails them all.
   */
  async processBatch(items: readonly InHand[]): Promise<void> {
    const { stage, args, control } = this.#d;
    const first = items[0];
    if (first === undefined) return;
    let results: unknown;
    try {
      const context = {
        stage: stage.name,
        priority: first.level,
        messageId: undefined,
        receiveCount: 1,
        state: this.#d.state,
      };
      results = await callStage(context, control.callSignal, stage.timeout, () =>
        stage.method(
          items.map((i) => i.envelope.value),
          ...args,
        ),
      );
      if (!Array.isArray(results) || results.length !== items.length) {
        const got = Array.isArray(results) ? `${results.length} results` : typeof results;
        throw new TypeError(
          `a batch handler must return an array of ${items.length} results (one per input), got ${got}`,
        );
      }
    } catch (error) {
      await Promise.all(
        items.map((item) => this.#failed(item, new StageError(stage.name, item.message.MessageId, error))),
      );
      return;
    }
    const each = results as unknown[];
    await Promise.all(
      items.map((item, i) => {
        const result = each[i];
        if (result instanceof BatchItemError) {
          return this.#failed(item, new StageError(stage.name, item.message.MessageId, result.error));
        }
        return this.#complete(item, result);
      }),
    );
  }

  /** Forwards the outputs of `result`, hands them to the consumer, then acknowledges the input. */
  async #complete(item: InHand, result: unknown): Promise<void> {
    const info = this.#info(item);
    try {
      const { envelope } = item;
      const lineage = { inputId: envelope.id, key: envelope.key };
      const emitted = await emitOutputs(
        result,
        this.#d.ignoreNone,
        this.#d.forwarder,
        this.#d.output,
        lineage,
        () => item.level,
      );
      if (!emitted.handled) {
        this.#d.handBack(item); // the consumer left before seeing them all: SQS delivers it again
        return;
      }
      this.#d.completed(envelope.id);
      await this.#ack(item);
      this.#d.events.safeEmit('processed', { ...info, outputs: emitted.count });
    } catch (error) {
      const failure =
        error instanceof SqspipesError ? error : new StageError(this.#d.stage.name, info.messageId, error);
      await this.#failed(item, failure);
    }
  }

  /** A message that is not a sqspipes envelope: to the dead-letter queue if there is one, else left and reported. */
  async poison(item: Omit<InHand, 'envelope' | 'group'>, reason: string): Promise<void> {
    const info = {
      stage: this.#d.stage.name,
      messageId: item.message.MessageId,
      priority: item.level,
      receiveCount: receiveCount(item.message),
    };
    if (this.#d.stage.retries === undefined) {
      this.#d.heartbeat.untrack(item.beat);
      this.#d.logger.error(
        { ...info, queue: item.url, reason },
        'message is not a sqspipes envelope; left on the queue (no dead-letter queue: set `retries`)',
      );
      this.#d.events.safeEmit(
        'error',
        new SqspipesError(`Message ${info.messageId} on ${item.url} is not a sqspipes envelope: ${reason}`),
      );
      return;
    }
    await this.#deadLetter(item, info, `not a sqspipes envelope: ${reason}`);
  }

  async #failed(item: InHand, error: SqspipesError): Promise<void> {
    const { stage, events, control } = this.#d;
    const info = this.#info(item);
    events.safeEmit('failed', error, info);
    if (stage.retries === undefined) {
      control.fail(error); // stop first, so that the hand-back waits for the receives to end
      this.#d.handBack(item);
      return;
    }
    this.#d.logger.warn({ ...info, err: error.message }, 'call failed');
    if (info.receiveCount > stage.retries) {
      await this.#deadLetter(item, info, describe(error));
      return;
    }
    const delaySeconds = stage.retryDelay(info.receiveCount);
    this.#d.heartbeat.untrack(item.beat);
    await this.#d.io
      .changeVisibility(item.url, item.message.ReceiptHandle ?? '', delaySeconds)
      .catch((e: unknown) => {
        this.#warn(item, e, 'could not delay the retry; it comes back when its visibility expires');
      });
    events.safeEmit('retried', { ...info, delaySeconds });
  }

  /** Sends the message, body untouched, to the dead-letter queue with the reason, then deletes it. */
  async #deadLetter(
    item: Omit<InHand, 'envelope' | 'group'>,
    info: InputInfo,
    reason: string,
  ): Promise<void> {
    const { message } = item;
    try {
      const url = await this.#d.queues.deadLetterUrl(this.#d.stage);
      if (url === undefined) throw new Error('stage has no dead-letter queue');
      const id = outputId(message.MessageId ?? '', this.#d.stage.name, -1);
      await this.#d.io.send(url, {
        body: message.Body ?? '',
        groupId: message.Attributes?.MessageGroupId ?? id,
        deduplicationId: id,
        attributes: {
          'sqspipes-reason': reason.slice(0, 1000),
          'sqspipes-stage': this.#d.stage.name,
          'sqspipes-level': String(item.level),
        },
      });
    } catch (error) {
      this.#warn(item, error, 'could not move the message to the dead-letter queue; it will be tried again');
      this.#d.heartbeat.untrack(item.beat);
      return;
    }
    await this.#ack(item);
    this.#d.logger.error({ ...info, queue: item.url, reason }, 'message moved to the dead-letter queue');
    this.#d.events.safeEmit('deadLettered', { ...info, reason });
  }

  /** Deletes an input whose work is done (also one delivered again after its delete was lost). */
  acknowledge(item: Omit<InHand, 'envelope' | 'group'>): Promise<void> {
    return this.#ack(item);
  }

  async #ack(item: Omit<InHand, 'envelope' | 'group'>): Promise<void> {
    this.#d.heartbeat.untrack(item.beat);
    try {
      await this.#d.io.delete(item.url, item.message.ReceiptHandle ?? '');
    } catch (error) {
      // Its visibility expired first: SQS delivers it again, and the outputs' ids make that harmless.
      this.#warn(
        item,
        error,
        'delete failed; SQS will deliver the input again (its outputs are deduplicated)',
      );
    }
  }

  #info(item: InHand): InputInfo {
    return {
      stage: this.#d.stage.name,
      messageId: item.message.MessageId,
      priority: item.level,
      receiveCount: receiveCount(item.message),
    };
  }

  #warn(item: Omit<InHand, 'envelope' | 'group'>, error: unknown, text: string): void {
    this.#d.logger.warn(
      { stage: this.#d.stage.name, queue: item.url, messageId: item.message.MessageId, err: error },
      text,
    );
    this.#d.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
  }
}
