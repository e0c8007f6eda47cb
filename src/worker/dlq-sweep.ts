import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope, type Envelope } from '../envelope.ts';
import type { TaskEvents } from '../events.ts';
import { REASON_ATTRIBUTE } from '../queues/naming.ts';
import { maxReceiveCount } from '../queues/topology.ts';
import type { Reporter } from '../replies/reporter.ts';
import type { RunIo } from '../sqs/run-io.ts';
import type { Stage } from '../stage.ts';
import { sleep, setTimer, type Timer } from '../time/timers.ts';
import type { Logger } from '../types.ts';
import { sendToDeadLetterQueue } from './dead-letter.ts';
import { receiveCountOf } from './delivery.ts';
import { storedPayloadOf } from '../payloads/payload-io.ts';

/** How often a run looks into its stage's dead-letter queue (the first look is at its start). */
export const SWEEP_EVERY_MS = 60_000;

/** Most messages one receive brings; more pages are read only while they come back full. */
const PAGE = 10;

/** Most receives of one sweep: it looks past at most `PAGE * MAX_PAGES` messages with a reason. */
const MAX_PAGES = 5;

/**
 * A sweep's receive does not wait (a short poll): a long poll abandoned by a stop would stay open
 * on SQS's side and hide what it brings from `redrive` and `peek`.
 */
const WAIT_SECONDS = 0;

/**
 * Visibility a sweep's receive asks for: short, so that what a receive abandoned by a stop brings
 * is hidden no longer. What has a reason is made visible again at once.
 */
const LOOK_SECONDS = 2;

/**
 * Visibility of a message SQS moved, once found: long enough to record, report and delete it (a
 * report may be retried for about 15 s), so that no other process sweeps it meanwhile.
 */
const HOLD_SECONDS = 60;

export interface DlqSweepDeps {
  readonly stage: Stage;
  readonly io: RunIo;
  readonly deadLetterUrl: () => Promise<string>;
  readonly reporter: Reporter;
  readonly events: TaskEvents;
  readonly logger: Logger;
  /** Between two sweeps, in ms. @default SWEEP_EVERY_MS */
  readonly everyMs?: number | undefined;
}

/**
 * Why a message SQS moved by itself is in the dead-letter queue. SQS keeps a message's receive
 * count when it moves it, so `receiveCount` (this sweep's receive included) tells how often it
 * was received before; a count that cannot be (a message sent there by hand) is not quoted.
 */
export function movedBySqsReason(receiveCount: number, max: number): string {
  const before = receiveCount - 1;
  const after = Number.isInteger(before) && before >= 1 ? ` after ${before} receives` : '';
  return (
    `moved to the dead-letter queue by SQS${after} (maxReceiveCount ${max}): it was received ` +
    'that many times without completing (a crash each time, or peeks)'
  );
}

/** Whether sqspipes recorded why `message` is in the dead-letter queue (else SQS moved it). */
export function hasReason(message: Message): boolean {
  return message.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue !== undefined;
}

/**
 * Finds, in one stage's dead-letter queue, the messages SQS moved there by itself (its redrive
 * policy's maxReceiveCount was reached: every process that took it died, or it was peeked that
 * often), which carry no reason and were reported to no one, and ends each as sqspipes ends a
 * message it dead-letters: a copy with the reason (`sqspipes-reason`), a `dead` report to its
 * submitter, the `deadLettered` event; then the original is deleted. What has a reason is made
 * visible again at once and left as it is.
 *
 * One sweep at the start of a run, then one every {@link SWEEP_EVERY_MS}: a receive of up to 10
 * (more only while they come back full, at most {@link MAX_PAGES}) and, when it brought messages,
 * one batched visibility change: about 1 request a minute for an idle stage's process.
 *
 * Several processes may sweep the same queue: a message received by one is hidden from the others
 * while it is handled; should that process die between the copy and the delete, another sweeps it
 * again after {@link HOLD_SECONDS}, and SQS drops the second copy (its deduplication id is derived
 * from the message id; within 5 minutes), so that the dead-letter queue holds one copy; the
 * submitter may be told twice, which changes nothing for it. Limits: one sweep looks past at
 * most 50 messages with a reason, and a FIFO queue shows nothing of a group behind one of them;
 * such a message is found once those before it are redriven or removed.
 */
export class DlqSweeper {
  readonly #d: DlqSweepDeps;
  readonly #stop = new AbortController();
  #sweeping: Promise<void> = Promise.resolve();
  #timer: Timer | undefined;

  constructor(deps: DlqSweepDeps) {
    this.#d = deps;
  }

  /** Sweeps now, then every `everyMs`, until {@link stop}. */
  start(): void {
    if (this.#stop.signal.aborted) return;
    this.#sweeping = this.#sweep()
      .catch((error: unknown) => {
        if (this.#stop.signal.aborted) return; // its receive was abandoned by the stop
        this.#d.logger.warn(
          { stage: this.#d.stage.name, err: error },
          'could not look into the dead-letter queue; trying again later',
        );
      })
      .finally(() => {
        if (this.#stop.signal.aborted) return;
        this.#timer = setTimer(this.#d.everyMs ?? SWEEP_EVERY_MS, () => this.start());
      });
  }

  /**
   * Stops sweeping (idempotent): a receive in flight is abandoned at once. Resolves when the sweep
   * under way has ended, or when `signal` aborts (its requests are then in the run's flush).
   */
  async stop(signal: AbortSignal): Promise<void> {
    this.#stop.abort();
    this.#timer?.cancel();
    await Promise.race([this.#sweeping, sleep(Number.POSITIVE_INFINITY, signal)]);
  }

  async #sweep(): Promise<void> {
    const { io } = this.#d;
    const url = await this.#d.deadLetterUrl();
    for (let page = 0; page < MAX_PAGES && !this.#stop.signal.aborted; page++) {
      const messages = await io.receive(url, PAGE, WAIT_SECONDS, LOOK_SECONDS, this.#stop.signal, [
        REASON_ATTRIBUTE,
      ]);
      // In the run's requests (a stop flushes them): what has a reason goes back at once, what SQS
      // moved is held while it is recorded.
      const moved = messages.filter((m) => !hasReason(m));
      for (const m of messages) this.#hide(url, m, hasReason(m) ? 0 : HOLD_SECONDS);
      await Promise.all(moved.map((m) => this.#record(url, m)));
      if (messages.length < PAGE) break;
    }
  }

  #hide(url: string, message: Message, seconds: number): void {
    const receipt = { receiptHandle: message.ReceiptHandle ?? '' };
    this.#d.io.changeVisibility(url, receipt, seconds).catch((error: unknown) => {
      this.#warn(
        message,
        error,
        `could not change its visibility to ${seconds} s; it shows again within ${LOOK_SECONDS} s`,
      );
    });
  }

  /** Records why `message` is there on a copy, reports it, then deletes it; a failure leaves it for a later sweep. */
  async #record(url: string, message: Message): Promise<void> {
    const { stage, io, reporter, events, logger } = this.#d;
    const decoded = decodeEnvelope(message.Body);
    const envelope: Envelope | undefined = decoded.ok ? decoded.envelope : undefined;
    const receiveCount = receiveCountOf(message);
    const reason = movedBySqsReason(receiveCount, maxReceiveCount(stage));
    const level = envelope?.level ?? 0;
    try {
      await sendToDeadLetterQueue(io, url, message, { stage: stage.name, level }, reason);
      if (envelope?.reply !== undefined) await reporter.dead(envelope.reply, reason);
    } catch (error) {
      this.#warn(
        message,
        error,
        'could not record or report a message SQS dead-lettered; trying again later',
      );
      return;
    }
    const info = {
      stage: stage.name,
      messageId: message.MessageId,
      priority: level,
      receiveCount,
      attempt: 0,
    };
    logger.error({ ...info, queue: url, reason }, 'found a message SQS moved to the dead-letter queue');
    events.safeEmit('deadLettered', { ...info, reason });
    await io
      .delete(url, { receiptHandle: message.ReceiptHandle ?? '', payload: storedPayloadOf(message) })
      .catch((error: unknown) =>
        this.#warn(message, error, 'delete failed; its copy with the reason is there'),
      );
  }

  #warn(message: Message, error: unknown, text: string): void {
    this.#d.logger.warn({ stage: this.#d.stage.name, messageId: message.MessageId, err: error }, text);
  }
}
