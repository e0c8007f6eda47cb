import { outputsOf } from '../outputs.ts';
import type { Forwarder, Lineage } from './forwarder.ts';
import type { OutputChannel } from './output-channel.ts';

/** What became of a call's outputs. */
export interface Emitted {
  /** Outputs produced. */
  readonly count: number;
  /** True when the consumer of `run()` received every one (else the input must not be acknowledged). */
  readonly handled: boolean;
}

/**
 * Streams the outputs of one call: each is sent to the next stage as soon as it is produced
 * (one after another when ordered by key, else concurrently) and then handed to the consumer.
 * Resolves once SQS accepted them all; rejects with the first failure (after the rest settled).
 */
export async function emitOutputs(
  result: unknown,
  ignoreNone: boolean,
  forwarder: Forwarder,
  output: OutputChannel<unknown>,
  lineage: Lineage,
  levelOf: (value: unknown) => number,
): Promise<Emitted> {
  const ordered = forwarder.ordered(lineage);
  const pending: Promise<boolean>[] = [];
  let count = 0;
  let failure: { error: unknown } | undefined;
  try {
    for await (const value of outputsOf(result, ignoreNone)) {
      const sent = forwarder.send(value, count++, lineage, levelOf(value));
      if (ordered) await sent;
      const handled = sent.then(() => output.push(value));
      handled.catch(() => {}); // inspected below, once all settled
      pending.push(handled);
    }
  } catch (error) {
    failure = { error };
  }
  const settled = await Promise.allSettled(pending);
  if (failure !== undefined) throw failure.error;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return { count, handled: settled.every((s) => s.status === 'fulfilled' && s.value) };
}
