import type { TaskContext } from '../context.ts';
import { RetryAfterError, SqspipesError, StageError } from '../errors.ts';
import { BatchItemError, isSingleOutput } from '../outputs.ts';
import { scopeOf } from '../join/frames.ts';
import type { Folded, JoinGate } from '../join/gate.ts';
import type { JoinReporter } from '../join/reporter.ts';
import { derivedId } from '../ids.ts';
import { wrapEncoded } from '../envelope.ts';
import type { Reporter } from '../replies/reporter.ts';
import type { Stage } from '../stage.ts';
import type { CallTrace } from '../observe/telemetry.ts';
import { type Call, callStage, joinCalled } from './call.ts';
import type { CallLimits } from './call-limits.ts';
import type { CallStop, StopSource } from './call-stop.ts';
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
  /** Reports branches opened and ended in a join's scope to the join (see join/frames.ts). */
  readonly joinReporter?: JoinReporter | undefined;
  /** A join stage's state of its items (see join/gate.ts). */
  readonly joinGate?: JoinGate | undefined;
  /** The stage's fleet-wide limits and pauses, waited for before each call. */
  readonly limits?: CallLimits | undefined;
  /** Aborted when the run stops: a call still waiting for a permit hands its inputs back. */
  readonly stopSignal?: AbortSignal | undefined;
}

/** What gives back a call's permits when it has none. */
const NO_PERMITS = (): void => {};

/**
 * One input's share of a call: its outputs (at a join, with the item it completed), or why it
 * failed, or (at a join whose item lost a branch) why its item goes to the dead-letter queue.
 */
type Share =
  | { readonly emission: Emission; readonly joined?: string }
  | { readonly error: unknown }
  | { readonly deadLetter: string; readonly joined: string; readonly body: string };

/** What a join's fold of a message that does not complete its item produces: nothing. */
const NOTHING: Emission = {
  count: 0,
  delivered: Promise.resolve(true),
  report: undefined,
  joinReport: undefined,
};

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
    const limits = this.#d.limits;
    const release = limits === undefined || limits.open ? NO_PERMITS : await this.#permits(limits, taken);
    if (release === undefined) return;
    try {
      await this.#run(taken);
    } finally {
      release();
    }
  }

  /** The permits of a call (see CallLimits); undefined when the run stopped first (handed back). */
  async #permits(limits: CallLimits, taken: readonly Delivery[]): Promise<(() => void) | undefined> {
    try {
      return await limits.acquire(this.#d.stopSignal ?? this.#d.callSignal);
    } catch {
      for (const delivery of taken) delivery.release(); // not an attempt: it never started
      return undefined;
    }
  }

  async #run(taken: readonly Delivery[]): Promise<void> {
    const { stage } = this.#d;
    // One whose lease was lost while it waited for this worker is not run (it ended there).
    const deliveries = taken.filter((delivery) => delivery.begin());
    if (deliveries.length === 0) return;
    // A sender that follows an item's statuses gets `received` before anything the call does
    // (at a join, once the item is complete: not for each branch folded).
    if (stage.join === undefined && deliveries.some(followed)) await this.#status(deliveries, 'received');
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

  /** What stops a call of `deliveries`: the run giving up, and each input's 12-hour cap and lease. */
  #stopSources(deliveries: readonly Delivery[]): StopSource[] {
    const sources: StopSource[] = [this.#d.callSignal];
    for (const d of deliveries) sources.push(d.cappedStop, d.leaseStop);
    return sources;
  }

  #call(deliveries: readonly Delivery[], batch: boolean, trace: CallTrace): Call<Share[]> {
    const { stage, args } = this.#d;
    return callStage(
      this.#context(deliveries, batch),
      this.#stopSources(deliveries),
      stage.timeout,
      async (stop): Promise<Share[]> => {
        if (stage.join !== undefined) return this.#join(deliveries, stop, trace);
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

  /**
   * At a join: folds the branches the deliveries (messages of one item, in order) carry into the
   * item's state at once and, if one of them completes the item, calls the stage with its
   * branches' values (or dead-letters it when one was lost, or its time limit passed).
   */
  async #join(deliveries: readonly Delivery[], stop: CallStop, trace: CallTrace): Promise<Share[]> {
    const gate = this.#d.joinGate;
    if (gate === undefined) throw new Error(`join stage \`${this.#d.stage.name}\` has no state store`);
    const [first] = deliveries as [Delivery];
    const envelopes = deliveries.map((d) => d.envelope);
    const { errors, by, folded } = await gate.foldAll(envelopes, first.level, stop.signal);
    const shares: Share[] = errors.map((error) => (error === undefined ? { emission: NOTHING } : { error }));
    const completing = by === undefined ? undefined : deliveries[by];
    if (completing !== undefined && by !== undefined && folded.complete) {
      // Its failure is the completing message's alone: the others' branches are in the state.
      shares[by] = await this.#joined(completing, folded, stop, trace).catch((error: unknown) => ({ error }));
    }
    return shares;
  }

  /** The item `delivery` completed: the join's call (or the item's dead letter). */
  async #joined(
    delivery: Delivery,
    folded: Extract<Folded, { complete: true }>,
    stop: CallStop,
    trace: CallTrace,
  ): Promise<Share> {
    const { stage } = this.#d;
    const { item } = folded;
    if (folded.missing.length > 0)
      return { deadLetter: timedOut(stage, folded), joined: item, body: partialJoin(delivery, folded) };
    if (folded.dead.length > 0 && stage.joinFailures === 'fail') {
      const reason = lostBranches(stage, item, folded.dead);
      return { deadLetter: reason, joined: item, body: partialJoin(delivery, folded) };
    }
    if (followed(delivery)) await this.#status([delivery], 'received');
    joinCalled({
      item,
      failed: folded.dead.map((d) => ({
        branch: d.token,
        stage: d.stage,
        reason: d.reason,
        position: d.position,
      })),
    });
    const span = this.#d.target.telemetry.joined(stage.name, folded.links);
    let result: unknown;
    try {
      result = await span.run(() => stage.method(folded.values, ...this.#d.args));
      span.end();
    } catch (error) {
      span.end(error);
      throw error;
    }
    const share = await this.#produce(delivery, result, stop, trace, joinedItemId(stage.name, item));
    return 'emission' in share ? { ...share, joined: item } : share;
  }

  /** Produces one input's outputs; a failure is that input's alone. */
  async #produce(
    delivery: Delivery,
    result: unknown,
    stop: CallStop,
    trace: CallTrace,
    inputId?: string,
  ): Promise<Share> {
    const { envelope } = delivery;
    const lineage = {
      inputId: inputId ?? envelope?.id ?? delivery.messageId,
      key: envelope?.key,
      reply: envelope?.reply,
      frames: scopeOf(this.#d.stage, envelope?.frames),
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
      const later = retryAfterOf(share.error);
      if (later !== undefined) {
        this.#d.limits?.pause(later.retryAfter);
        delivery.postpone(later.retryAfter, later);
        return;
      }
      delivery.fail(this.#failure(delivery, share.error));
      return;
    }
    if ('deadLetter' in share) {
      // The item's join failed for good: dead-lettered, then done (a late branch of it is
      // dropped), then its message deleted.
      const done = () => this.#joinGate().finish(share.joined);
      delivery.deadLetter(share.deadLetter, undefined, { body: share.body, done });
      return;
    }
    const { emission, joined } = share;
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
        // The same for the branches it opened or ended in a join's scope: the join must hear.
        const joinReport = emission.joinReport;
        if (joinReport !== undefined) {
          const { frames, children } = joinReport;
          await this.#joinReporter().ended(frames, children, delivery.level, reply);
        }
        // A join's item, once its outputs are on their way: done, so that a late branch is dropped.
        if (joined !== undefined) await this.#joinGate().finish(joined);
        delivery.acknowledge(emission.count);
      })
      .catch((error: unknown) => {
        if (delivery.state === 'running') delivery.fail(this.#failure(delivery, error));
      });
  }

  #joinGate(): JoinGate {
    const gate = this.#d.joinGate;
    if (gate === undefined) throw new Error(`stage \`${this.#d.stage.name}\` is no join`);
    return gate;
  }

  #joinReporter(): JoinReporter {
    const reporter = this.#d.joinReporter;
    if (reporter === undefined) throw new Error(`stage \`${this.#d.stage.name}\` has no join reporter`);
    return reporter;
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

/** The id a join's outputs derive from: the join stage and the item (a repeated join is the same). */
function joinedItemId(join: string, item: string): string {
  return derivedId(item, `join\0${join}`);
}

/** Why a join's item goes to the dead-letter queue: the branches lost on the way, and why. */
function lostBranches(
  stage: Stage,
  item: string,
  dead: readonly { readonly token: string; readonly stage: string; readonly reason: string }[],
): string {
  const first = dead
    .slice(0, 3)
    .map((d) => `branch ${d.token} at stage \`${d.stage}\`: ${d.reason}`)
    .join('; ');
  const more = dead.length > 3 ? `; and ${dead.length - 3} more` : '';
  return `join \`${stage.name}\` of item ${item} failed: ${dead.length} of its branches were dead-lettered (${first}${more})`;
}

/**
 * What the dead-letter queue gets of a join's item that failed: an envelope (in the item's outer
 * scopes) whose value is the item's partial join, `{ item, values, failed, missing }`. A redrive
 * of it finds the item done, and is dropped.
 */
function partialJoin(delivery: Delivery, folded: Extract<Folded, { complete: true }>): string {
  const { item, values, dead, missing } = folded;
  const failed = dead.map((d) => ({
    branch: d.token,
    stage: d.stage,
    reason: d.reason,
    position: d.position,
  }));
  const envelope = delivery.envelope;
  return wrapEncoded(
    {
      id: derivedId(item, 'join-failed'),
      level: delivery.level,
      reply: envelope?.reply,
      frames: envelope?.frames,
    },
    JSON.stringify({ item, values, failed, missing }),
  );
}

/** Why a join's item goes to the dead-letter queue: its time limit passed before its branches ended. */
function timedOut(stage: Stage, folded: Extract<Folded, { complete: true }>): string {
  const { item, missing, values, dead } = folded;
  const first =
    missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
  const lost = dead.length > 0 ? `; ${dead.length} were dead-lettered` : '';
  return `join \`${stage.name}\` of item ${item} timed out after ${stage.joinTimeout} ms (its joinTimeout) with ${missing.length} branches still awaited (${first}); ${values.length} values had reached it${lost}`;
}

/** The RetryAfterError a call threw (itself, or as the cause of what it threw), if any. */
function retryAfterOf(error: unknown): RetryAfterError | undefined {
  if (error instanceof RetryAfterError) return error;
  return error instanceof Error && error.cause instanceof RetryAfterError ? error.cause : undefined;
}

/** The sender of this input follows its statuses (`submit()` with `status: true`). */
function followed(delivery: Delivery): boolean {
  return delivery.envelope?.reply?.status === true;
}
