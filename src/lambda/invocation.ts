import type { Message } from '@aws-sdk/client-sqs';
import { decodeEnvelope } from '../envelope.ts';
import { payloadErrorOf } from '../payloads/payload-io.ts';
import { RunIo } from '../sqs/run-io.ts';
import type { ReceiptSource, SqsIo } from '../sqs/sqs-io.ts';
import type { Stage } from '../stage.ts';
import { setTimer } from '../time/timers.ts';
import { Delivery, type DeliveryDeps, laterThan, type Outcome } from '../worker/delivery.ts';
import { unreadableReason } from '../worker/intake.ts';
import { Processor, type ProcessorDeps } from '../worker/processor.ts';
import { RunControl } from '../worker/run-control.ts';
import type { RunDeps } from '../worker/run-deps.ts';
import { Scheduler } from '../worker/scheduler.ts';
import type { RecordEnd } from './batch-response.ts';

/** One input record of an invocation: the message it stands for, and the level it came from. */
export interface InvocationInput {
  readonly url: string;
  readonly level: number;
  readonly message: Message;
}

/** What an invocation needs that outlives it: made once per Lambda container (see LambdaStage). */
export interface InvocationParts {
  readonly stage: Stage;
  readonly deps: RunDeps;
  /** The processor's parts, but for the signals each invocation brings. */
  readonly processor: Omit<ProcessorDeps, 'callSignal' | 'stopSignal'>;
  readonly workers: number;
  readonly follow: number;
}

/** When an invocation must act (epoch ms): its calls' signal aborts at `callsUntil`; it answers at `answerBy`. */
export interface InvocationClock {
  readonly callsUntil: number;
  readonly answerBy: number;
}

/**
 * Runs one invocation's input records as a stage process runs what it receives, with the same
 * {@link Delivery}, {@link Scheduler} and {@link Processor}: groups one call after another,
 * distinct groups side by side, outputs accepted by SQS before an input counts as done. What
 * differs is who deletes: Lambda's event source mapping deletes the records the answer does not
 * list, so here a delivery's acknowledgement deletes nothing, and a failed input is handed back
 * (with its retry delay) rather than retried in hand: each receive is one attempt, and its
 * attempt number is its receive count.
 *
 * Resolves with how each record ended; one not ended by `answerBy` (a call that ran out of time)
 * counts as failed, and SQS delivers it again: its outputs sent so far are deduplicated by id.
 */
export async function runInvocation(
  parts: InvocationParts,
  inputs: readonly InvocationInput[],
  clock: InvocationClock,
): Promise<RecordEnd[]> {
  const { stage, deps } = parts;
  const ends = new Map<string, Outcome>();
  const control = new RunControl({});
  const io = new InvocationIo(deps.io);
  const processor = new Processor({
    ...parts.processor,
    callSignal: control.callSignal,
    stopSignal: control.stopSignal,
  });
  const levels = [...new Set(inputs.map((input) => input.level))];
  const batch = stage.batch ?? 1;
  const options = {
    workers: parts.workers,
    batch,
    follow: parts.follow,
    limit: Number.POSITIVE_INFINITY,
    drained: () => {},
    levels,
  };
  const scheduler = new Scheduler(options, control);
  scheduler.start(processor);
  let live = 0;
  let allEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (allEnded = resolve));
  const deliveryDeps: DeliveryDeps = {
    stage,
    io,
    heartbeat: noHeartbeat(stage.visibilityTimeout),
    events: deps.events,
    logger: deps.logger,
    stopping: () => true, // a failed input goes back to SQS, with its delay: one attempt per receive
    failFast: undefined,
    deadLetterUrl: () => deps.queues.deadLetterUrl(stage),
    ended: (delivery, outcome) => {
      ends.set(delivery.messageId, outcome);
      const after = laterThan(delivery);
      for (const later of scheduler.ended(delivery, outcome)) later.release(after);
      if (--live === 0) allEnded();
    },
    retry: (delivery) => scheduler.resume(delivery),
    reporter: parts.processor.reporter,
    joinReporter: parts.processor.joinReporter,
  };
  const fresh: Delivery[] = [];
  for (const { url, level, message } of inputs) {
    const unread = payloadErrorOf(message);
    const decoded = unread === undefined ? decodeEnvelope(message.Body) : undefined;
    const delivery = new Delivery(
      url,
      level,
      message,
      decoded?.ok === true ? decoded.envelope : undefined,
      deliveryDeps,
    );
    live++;
    if (decoded?.ok === true) {
      // Its attempt is its receive (begin() counts this one): the receive count says how many came before.
      delivery.attempts = delivery.receiveCount - 1;
      fresh.push(delivery);
    } else {
      const reason =
        unread === undefined
          ? `not a sqspipes envelope: ${decoded?.ok === false ? decoded.reason : ''}`
          : unreadableReason(unread);
      delivery.deadLetter(reason);
    }
  }
  if (live === 0) allEnded();
  scheduler.push(fresh);
  for (const level of levels) scheduler.caughtUp(level); // the event is all there is: no level waits
  if (!(await within(ended, clock.callsUntil))) {
    // Out of time: nothing more starts, what waits goes back, running calls are told to stop.
    control.requestStop();
    for (const delivery of scheduler.drain()) delivery.release();
    await control.drain(0, Math.max(0, clock.answerBy - Date.now()));
    await within(ended, clock.answerBy);
  }
  await io.flush(Math.max(0, clock.answerBy - Date.now())); // hand-backs' visibility changes
  return inputs.map(({ message }) => {
    const outcome = ends.get(message.MessageId ?? '');
    return {
      messageId: message.MessageId ?? '',
      group: message.Attributes?.MessageGroupId,
      end: outcome === 'acked' ? 'done' : outcome === 'dead-lettered' ? 'dead-lettered' : 'failed',
    };
  });
}

/**
 * The invocation's requests: as a run's, but an acknowledgement deletes nothing (the event source
 * mapping deletes what the answer does not list); a stored body's object is scheduled for its
 * delete as after a run's delete (after a hold of minutes: see DomainTimers).
 */
class InvocationIo extends RunIo {
  readonly #io: SqsIo;

  constructor(io: SqsIo) {
    super(io);
    this.#io = io;
  }

  override delete(_url: string, message: ReceiptSource): Promise<unknown> {
    this.#io.payloads?.acknowledged(message.payload);
    return Promise.resolve();
  }
}

/** No lease to keep: the function's timeout is within the queue's visibility timeout. */
function noHeartbeat(visibilitySeconds: number): DeliveryDeps['heartbeat'] {
  return { visibilitySeconds, track() {}, untrack() {} };
}

/** True if `work` settled before `until` (epoch ms). */
async function within(work: Promise<void>, until: number): Promise<boolean> {
  let timer: { cancel(): void } | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimer(Math.max(0, until - Date.now()), () => resolve(false));
  });
  const done = await Promise.race([work.then(() => true), late]);
  timer?.cancel();
  return done;
}
