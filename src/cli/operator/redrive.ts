import { SqsError } from '../../errors.ts';
import { redriveQueue } from '../../queues/redrive.ts';
import { SqsIo } from '../../sqs/sqs-io.ts';
import type { OperatorContext } from './context.ts';
import {
  deadLetterQueueOf,
  discoverQueues,
  type DomainQueue,
  QUEUES_CREATED,
  queuesOfStage,
} from './discover.ts';
import { count, printJson, printLines } from './output.ts';

/**
 * `sqspipes redrive <stage>`: moves the messages that were in the stage's dead-letter queue when
 * it started back to its input, each to the level recorded in its envelope (capped at the stage's
 * highest existing level), as `TaskClient.redrive()` does. What arrives meanwhile stays.
 * Every stage but the first has a dead-letter queue; the first (the source) has no queues at all.
 */
export async function redriveCommand(ctx: OperatorContext, stage: string): Promise<void> {
  const { from, moved } = await redriveStage(ctx, stage);
  if (ctx.json) await printJson({ stage, from, moved });
  else await printLines([`moved ${count(moved, 'message')} from ${from} to stage ${stage}`]);
}

/** What a redrive did: the dead-letter queue it emptied and how many messages it moved. */
export interface Redriven {
  /** Name of the stage's dead-letter queue. */
  readonly from: string;
  readonly moved: number;
}

/** Redrives the dead-letter queue of `stage` (see {@link redriveCommand}), printing nothing. */
export async function redriveStage(ctx: OperatorContext, stage: string): Promise<Redriven> {
  const all = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  // The first stage, or a name that is not a stage: the CLI cannot tell which (it has no pipeline).
  const queues = queuesOfStage(all, ctx.domain, stage);
  const dlq = deadLetterQueueOf(queues, ctx.domain, stage);
  const inputs = queues.filter((q): q is DomainQueue & { level: number } => q.level !== 'dlq');
  if (inputs.length === 0) {
    throw new SqsError(
      `Stage \`${stage}\` of domain \`${ctx.domain}\` has no input queue to redrive to. ${QUEUES_CREATED}`,
    );
  }
  const maxLevel = Math.max(...inputs.map((q) => q.level));
  // The queue of `level`, or of the highest existing level below it.
  const target = (level: number) =>
    Promise.resolve(
      inputs.filter((q) => q.level <= level).sort((a, b) => b.level - a.level)[0]?.url ??
        inputs[0]?.url ??
        '',
    );
  const io = new SqsIo(ctx.sqs);
  let moved: number;
  try {
    moved = await redriveQueue(io, dlq.url, target, maxLevel);
  } finally {
    await io.flush();
  }
  return { from: dlq.name, moved };
}
