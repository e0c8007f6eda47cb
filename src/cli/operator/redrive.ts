import { SqsError } from '../../errors.ts';
import { deadLetterQueueName } from '../../queues/naming.ts';
import { redriveQueue } from '../../queues/redrive.ts';
import { SqsIo } from '../../sqs/sqs-io.ts';
import type { OperatorContext } from './context.ts';
import { discoverQueues, type DomainQueue, QUEUES_CREATED, queuesOfStage } from './discover.ts';
import { count, printJson, printLines } from './output.ts';

/**
 * `sqspipes redrive <stage>`: moves the messages that were in the stage's dead-letter queue when
 * it started back to its input, each to the level recorded in its envelope (capped at the stage's
 * highest existing level), as `TaskClient.redrive()` does. What arrives meanwhile stays.
 * Every stage but the first has a dead-letter queue; the first (the source) has no queues at all.
 */
export async function redriveCommand(ctx: OperatorContext, stage: string): Promise<void> {
  const all = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  // The first stage, or a name that is not a stage: the CLI cannot tell which (it has no pipeline).
  const queues = queuesOfStage(all, ctx.domain, stage);
  const dlq = queues.find((q) => q.level === 'dlq');
  const inputs = queues.filter((q): q is DomainQueue & { level: number } => q.level !== 'dlq');
  if (dlq === undefined) {
    throw new SqsError(
      `Stage \`${stage}\` of domain \`${ctx.domain}\` has no dead-letter queue ${deadLetterQueueName(ctx.domain, stage)}: sqspipes creates one with the stage's input queues, so it was deleted, or these queues predate that`,
    );
  }
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
  if (ctx.json) await printJson({ stage, from: dlq.name, moved });
  else await printLines([`moved ${count(moved, 'message')} from ${dlq.name} to stage ${stage}`]);
}
