import { Delayed, Identified, isMultiple, outputsOf } from '../outputs.ts';
import type { CallTrace, SendTrace, Telemetry } from '../observe/telemetry.ts';
import type { EndOfCall } from '../replies/reporter.ts';
import type { JoinFrame } from '../join/frames.ts';
import type { Forwarder, Framing, Lineage, PreparedOutput } from './forwarder.ts';
import type { OutputChannel } from './output-channel.ts';
import type { OutputWindow } from './output-window.ts';

/** What `run()` yields for an output with `withIds`. */
export interface IdentifiedOutput {
  readonly id: string;
  readonly value: unknown;
}

/** Where a call's outputs go, and how the consumer wants them. */
export interface EmitTarget {
  readonly forwarder: Forwarder;
  readonly output: Pick<OutputChannel<unknown>, 'push'>;
  readonly ignoreNone: boolean;
  /** Yield `{ id, value }` to the consumer instead of the value. */
  readonly withIds: boolean;
  /** The run's bound on outputs produced and not yet sent and handed over. */
  readonly window: OutputWindow;
  /** OpenTelemetry (a span per message sent), or none. */
  readonly telemetry: Telemetry;
}

/** The outputs of one call, once produced. */
export interface Emission {
  readonly count: number;
  /**
   * Resolves once SQS accepted every output and each was handed to the consumer: `true`, or
   * `false` when the consumer left before seeing them all (the input must then not be
   * acknowledged). Rejects with the first send failure.
   */
  readonly delivered: Promise<boolean>;
  /**
   * What to report to the sender of a submitted item once delivered: its branches (a fan-out, or
   * none) or results (last stage). Undefined when there is nothing to report: not a submitted
   * item, or one output that carries the input's branch on.
   */
  readonly report: EndOfCall | undefined;
  /**
   * What to report to a join once delivered (see join/frames.ts): the branches this call opened
   * (none: filtered) on the branch named by the innermost of `frames`. Undefined when the call is
   * in no join scope, or its one output carries its branch on.
   */
  readonly joinReport: JoinReport | undefined;
}

/** A call's end, for the join whose scope it is in: `frames`' innermost names the branch. */
export interface JoinReport {
  readonly frames: readonly JoinFrame[];
  readonly children: readonly string[];
}

/**
 * Produces the outputs of one call's `result` (iterating a generator here, so call this inside the
 * call's context and timeout): each is named, encoded and sent to the next stage as soon as it is
 * produced, then handed to the consumer. Production waits for room in the run's output window
 * (backpressure), never for SQS: the outputs of a keyed call are chained so that each is sent
 * once the one before it was accepted, in order, while the worker goes on. Throws the first
 * production error (a generator that throws, a value SQS cannot carry, the call's `stop`
 * aborted) once the sends already started have settled.
 */
export async function produceOutputs(
  result: unknown,
  target: EmitTarget,
  lineage: Lineage,
  levelOf: (value: unknown) => number,
  stop: { throwIfAborted(): void },
  trace?: CallTrace,
): Promise<Emission> {
  const { forwarder, output, withIds, window, telemetry } = target;
  const traced = !forwarder.last && telemetry.tracing();
  const ordered = forwarder.ordered(lineage);
  const keepToken = !isMultiple(result);
  // In a join's scope (or opening one: a split), the join reports on the item, not the calls.
  const opens = forwarder.opens;
  const frames = lineage.frames ?? [];
  const inScope = opens === undefined && frames.length > 0;
  const scoped = opens !== undefined || inScope;
  const tracked = lineage.reply !== undefined && !scoped;
  const framing: Framing | undefined =
    opens !== undefined
      ? { mode: 'open', frames, join: opens, item: lineage.inputId }
      : inScope
        ? { mode: keepToken ? 'keep' : 'branch', frames }
        : undefined;
  const naming = tracked || scoped ? { ...lineage, keepToken: scoped || keepToken, framing } : lineage;
  // Whether the outputs need their ids (always when sent on; on the last stage, when yielded with
  // them or reported to a sender or a join).
  const named = !forwarder.last || withIds || tracked || scoped;
  const ids: string[] = [];
  const children: string[] = [];
  const results: unknown[] = [];
  const seen = new Map<string, number>();
  const pending: Promise<boolean>[] = [];
  let previous: Promise<unknown> | undefined;
  /** Names and encodes one output (a production error is thrown, its span ended). */
  const prepare = (item: unknown): { prepared: PreparedOutput; span: SendTrace | undefined } => {
    stop.throwIfAborted(); // the call timed out or was given up: its outputs are dropped
    const later = item instanceof Delayed ? (item as Delayed<unknown>) : undefined;
    const given = later === undefined ? item : later.value;
    const value = given instanceof Identified ? (given as Identified<unknown>).value : given;
    const level = levelOf(value);
    const span = traced ? telemetry.send(forwarder.destination(level) ?? '', trace) : undefined;
    try {
      const prepared = forwarder.prepare(given, naming, level, seen, span?.carrier, later?.due, named);
      return { prepared, span };
    } catch (error) {
      span?.end(error);
      throw error;
    }
  };
  /** Sends an output admitted to the window, then hands it to the consumer. */
  const dispatch = (prepared: PreparedOutput, bytes: number, span: SendTrace | undefined): void => {
    if (tracked) {
      if (forwarder.last) results.push(prepared.value);
      else children.push(prepared.id);
    }
    if (scoped) ids.push(prepared.id);
    const sent =
      ordered && previous !== undefined
        ? previous.then(() => forwarder.send(prepared))
        : forwarder.send(prepared);
    if (ordered) previous = sent;
    if (span !== undefined) {
      sent.then(
        (messageId) => span.end(undefined, messageId),
        (error: unknown) => span.end(error),
      );
    }
    const handed = sent.then(() =>
      output.push(withIds ? { id: prepared.id, value: prepared.value } : prepared.value),
    );
    const done = () => window.done(bytes);
    handed.then(done, done);
    pending.push(handed);
  };
  try {
    const outputs = outputsOf(result, target.ignoreNone);
    // One value (most calls) is a plain iterable: no `for await` promise per step, and no tick
    // spent on the window while it has room.
    const iterator: Iterator<unknown> | AsyncIterator<unknown> =
      Symbol.iterator in outputs ? outputs[Symbol.iterator]() : outputs[Symbol.asyncIterator]();
    for (;;) {
      let step = iterator.next();
      if (step instanceof Promise) step = await step;
      const next = step;
      if (next.done === true) break;
      let prepared: PreparedOutput;
      let span: SendTrace | undefined;
      try {
        ({ prepared, span } = prepare(next.value));
      } catch (error) {
        // As `for await` would on a throw: the generator is closed (its `finally` runs).
        await Promise.resolve(iterator.return?.()).catch(() => {});
        throw error;
      }
      const bytes = prepared.body?.length ?? 0; // UTF-16 units: bytes for the ASCII of most JSON
      const room = window.admit(bytes);
      if (room !== undefined) await room;
      dispatch(prepared, bytes, span);
    }
  } catch (error) {
    await Promise.allSettled(pending);
    throw error;
  }
  const count = pending.length;
  let report: EndOfCall | undefined;
  if (tracked && (forwarder.last || !keepToken || count !== 1)) {
    report = forwarder.last ? { children: [], results } : { children, results: [] };
  }
  let joinReport: JoinReport | undefined;
  if (opens !== undefined && (count > 0 || forwarder.consumes)) {
    // The split's call always reports: it opens the item's root branch, named by the item itself.
    // (A source call that produced nothing is no item: a source polling for work returns none.)
    const root = { join: opens, item: lineage.inputId, token: lineage.inputId };
    joinReport = { frames: [...frames, root], children: ids };
  } else if (inScope && (!keepToken || count !== 1)) {
    joinReport = { frames, children: ids };
  }
  // One output's promise is the call's: it rejects with its failure, resolves with its hand-over.
  const delivered = count === 1 ? (pending[0] as Promise<boolean>) : allHanded(pending);
  return { count, delivered, report, joinReport };
}

async function allHanded(pending: readonly Promise<boolean>[]): Promise<boolean> {
  const settled = await Promise.allSettled(pending);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.every((s) => s.status === 'fulfilled' && s.value);
}
