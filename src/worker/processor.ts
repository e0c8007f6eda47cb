import type { TaskContext } from '../context.ts';
import { SqspipesError, StageError } from '../errors.ts';
import { BatchItemError, isSingleOutput } from '../outputs.ts';
import type { Reporter } from '../replies/reporter.ts';
import type { Stage } from '../stage.ts';
import type { CallTrace } from '../observe/telemetry.ts';
import { type Call, callStage } from './call.ts';
import type { CallStop } from './call-stop.ts';
import type { Delivery } from './delivery.ts';
import { type Emission, type EmitTarget, produceOutputs } from './emit.ts';

/** What the processor needs from its run. */
export interface ProcessorDeps {
  readonly stage: Stage;
  readonly args: readonly unknown[];
  /** What the stage's `setup()` returned. */
  readonly state: unknown;
  readonly target: EmitTarget;
  /** Aborted when the run gives up on its calls (shutdown timeout). */
  readonly callSignal: AbortSignal;
  /** Reports on submitted items to their senders. */
  readonly reporter: Reporter;
}

/** One input's share of a call: its outputs, or why it failed. */
type Share = { readonly emission: Emission } | { readonly error: unknown };

/**
 * Runs the stage's method on deliveries (one, or a batch of distinct groups) and gives each its
 * verdict: once its outputs were accepted by SQS and handed to the consumer, it is acknowledged;
 * if the consumer left first, released; if the call (or its item, or a send) failed, failed.
 * The promise it returns resolves when the call itself has returned: the worker slot is held
 * that long, and no longer (accepting outputs and deleting inputs go on in the background).
 */
export class Processor {
  readonly #d: ProcessorDeps;

  constructor(deps: ProcessorDeps) {
    this.#d = deps;
  }

  async run(taken: readonly Delivery[]): Promise<void> {
    const { stage } = this.#d;
    // One whose lease was lost while it waited for this worker is not run (it ended there).
    const deliveries = taken.filter((delivery) => delivery.begin());
    if (deliveries.length === 0) return;
    // A sender that follows an item's statuses gets `received` before anything the call does.
    if (deliveries.some(followed)) await this.#status(deliveries, 'received');
    const batch = stage.batch !== undefined;
    const trace = this.#d.target.telemetry.call(stage.name, () =>
      deliveries.map((d) => ({ queue: d.queueName, messageId: d.messageId, carrier: d.envelope?.trace })),
    );
    const call = trace.run(() => this.#call(deliveries, batch, trace));
    for (const delivery of deliveries) delivery.runsUntil(call.settled);
    let shares: Share[];
    try {
      shares = await call.result;
    } catch (error) {
      shares = deliveries.map(() => ({ error }));
    }
    const failed = shares.every((share) => 'error' in share) ? shares[0] : undefined;
    trace.end(failed === undefined || !('error' in failed) ? undefined : failed.error);
    deliveries.forEach((delivery, i) => this.#settle(delivery, shares[i] ?? { error: 'no result' }));
    await call.settled;
  }

  #call(deliveries: readonly Delivery[], batch: boolean, trace: CallTrace): Call<Share[]> {
    const { stage, args } = this.#d;
    return callStage(
      this.#context(deliveries, batch),
      [this.#d.callSignal, ...deliveries.flatMap((d) => [d.cappedStop, d.leaseStop])],
      stage.timeout,
      async (stop): Promise<Share[]> => {
        if (!batch) {
          const [only] = deliveries as [Delivery];
          return [await this.#produce(only, await stage.method(only.envelope?.value, ...args), stop, trace)];
        }
        const results: unknown = await stage.method(
          deliveries.map((d) => d.envelope?.value),
          ...args,
        );
        if (!Array.isArray(results) || results.length !== deliveries.length) {
          const got = Array.isArray(results) ? `${results.length} results` : typeof results;
          throw new TypeError(
            `a batch handler must return an array of ${deliveries.length} results (one per input), got ${got}`,
          );
        }
        const shares: Share[] = [];
        for (const [i, delivery] of deliveries.entries()) {
          const result: unknown = results[i];
          shares.push(
            result instanceof BatchItemError
              ? { error: result.error }
              : await this.#produce(delivery, result, stop, trace),
          );
        }
        return shares;
      },
    );
  }

  /**
   * Statuses of followed items (submitted with `status: true`), sent and accepted before the call
   * goes on: each then reaches the sender before anything that follows from the call.
   */
  async #status(deliveries: readonly Delivery[], status: 'received' | 'finished'): Promise<void> {
    await Promise.all(
      deliveries.flatMap((d) => {
        const reply = d.envelope?.reply;
        return reply?.status === true ? [this.#d.reporter.status(reply, status, d.attempts)] : [];
      }),
    );
  }

  /** Produces one input's outputs; a failure is that input's alone. */
  async #produce(delivery: Delivery, result: unknown, stop: CallStop, trace: CallTrace): Promise<Share> {
    const { envelope } = delivery;
    const lineage = {
      inputId: envelope?.id ?? delivery.messageId,
      key: envelope?.key,
      reply: envelope?.reply,
    };
    try {
      // A call that returned one value carries its branch on and reports no end: its `finished`
      // goes now, before its output can travel on (a fan-out's or the last stage's end report
      // stands for it).
      const { forwarder, ignoreNone } = this.#d.target;
      if (followed(delivery) && !forwarder.last && isSingleOutput(result, ignoreNone)) {
        await this.#status([delivery], 'finished');
      }
      const levelOf = () => delivery.level;
      return { emission: await produceOutputs(result, this.#d.target, lineage, levelOf, stop, trace) };
    } catch (error) {
      return { error };
    }
  }

  #settle(delivery: Delivery, share: Share): void {
    if ('error' in share) {
      delivery.fail(this.#failure(delivery, share.error));
      return;
    }
    const { emission } = share;
    emission.delivered
      .then(async (handled) => {
        // The consumer left before seeing them all: SQS delivers the input again.
        if (!handled) {
          delivery.release();
          return;
        }
        const reply = delivery.envelope?.reply;
        // Before the acknowledgement: a crash in between sends the report again, never loses it.
        // A report that could not be sent (a ReplyError, after retries) fails the attempt: the
        // input is not acknowledged.
        if (reply !== undefined && emission.report !== undefined) {
          await this.#d.reporter.ended(reply, emission.report, delivery.attempts);
        }
        delivery.acknowledge(emission.count);
      })
      .catch((error: unknown) => {
        if (delivery.state === 'running') delivery.fail(this.#failure(delivery, error));
      });
  }

  #failure(delivery: Delivery, error: unknown): SqspipesError {
    return error instanceof SqspipesError
      ? error
      : new StageError(this.#d.stage.name, delivery.messageId, error);
  }

  #context(deliveries: readonly Delivery[], batch: boolean): Omit<TaskContext, 'signal'> {
    const inputs = deliveries.map((d) => ({
      messageId: d.messageId,
      priority: d.level,
      receiveCount: d.receiveCount,
      attempt: d.attempts,
    }));
    const first = inputs[0];
    return {
      stage: this.#d.stage.name,
      priority: first?.priority ?? 0,
      messageId: batch ? undefined : first?.messageId,
      receiveCount: Math.max(1, ...inputs.map((i) => i.receiveCount)),
      attempt: Math.max(1, ...inputs.map((i) => i.attempt)),
      inputs,
      state: this.#d.state,
    };
  }
}

/** The sender of this input follows its statuses (`submit()` with `status: true`). */
function followed(delivery: Delivery): boolean {
  return delivery.envelope?.reply?.status === true;
}
