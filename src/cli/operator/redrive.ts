import { SqsError } from '../../errors.ts';
import { redriveQueue } from '../../queues/redrive.ts';
import { SqsIo } from '../../sqs/sqs-io.ts';
import { deadline, untilAborted } from '../../time/deadline.ts';
import type { OperatorContext } from './context.ts';
import {
  deadLetterQueueOf,
  discoverQueues,
  type DomainQueue,
  QUEUES_CREATED,
  queuesOfStage,
} from './discover.ts';
import { count, printJson, printLines } from './output.ts';
import { DEFAULT_SQS_TIMEOUT_MS } from './sqs-timeout.ts';

/**
 * `sqspipes redrive <stage>`: moves the messages that were in the stage's dead-letter queue when
 * it started back to its input, each to the level recorded in its envelope (capped at the stage's
 * highest existing level), as `TaskClient.redrive()` does. What arrives meanwhile stays.
 * Every stage but the first has a dead-letter queue; the first (the source) has no queues at all.
 * Each step (finding the queues; a receive of up to 10 messages and their moves) gives up after
 * `timeoutMs` with a ConnectionError naming the endpoint.
 */
export async function redriveCommand(
  ctx: OperatorContext,
  stage: string,
  timeoutMs = DEFAULT_SQS_TIMEOUT_MS,
): Promise<void> {
  const { from, moved } = await redriveStage(ctx, stage, timeoutMs);
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
export async function redriveStage(
  ctx: OperatorContext,
  stage: string,
  timeoutMs = DEFAULT_SQS_TIMEOUT_MS,
): Promise<Redriven> {
  const diagnose = ctx.diagnose ?? ((error: unknown) => error);
  const find = deadline('sqspipes redrive', timeoutMs);
  const all = await untilAborted(discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note }), find.signal)
    .catch((error: unknown) => {
      throw diagnose(error, { step: 'running `sqspipes redrive`', action: 'ListQueues' });
    })
    .finally(() => find.dispose());
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
    moved = await redriveQueue(io, dlq.url, target, maxLevel, { stepMs: timeoutMs, diagnose });
  } finally {
    await io.flush(timeoutMs); // every request carried a step's deadline: this bound is a backstop
  }
  return { from: dlq.name, moved };
}
