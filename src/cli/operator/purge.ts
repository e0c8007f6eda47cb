import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { OperatorContext } from './context.ts';
import { deadLetterQueueOf, discoverQueues, queuesOfStage } from './discover.ts';
import { onEachQueue } from './each-queue.ts';
import { printJson, printLines } from './output.ts';

/**
 * `sqspipes purge [--stage S]`: deletes every message of the domain's queues (input levels and
 * dead-letter queues), or of one stage's. SQS allows one purge per queue every 60 seconds and
 * may take up to 60 seconds to finish one.
 */
export async function purgeCommand(ctx: OperatorContext, stage: string | undefined): Promise<void> {
  await purgeQueues(ctx, stage, 'all', (names) =>
    ctx.json ? printJson({ purged: names }) : printLines(names.map((n) => `purged ${n}`)),
  );
}

/**
 * Purges the domain's queues, or `stage`'s (`which`: all of them, or only the dead-letter
 * queue), then tells `done` the names of those purged, before rejecting if some failed.
 */
export async function purgeQueues(
  ctx: OperatorContext,
  stage: string | undefined,
  which: 'all' | 'dlq',
  done: (names: string[]) => Promise<void>,
): Promise<void> {
  const all = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  const mine = stage === undefined ? all : queuesOfStage(all, ctx.domain, stage);
  let queues = mine;
  if (which === 'dlq') {
    queues =
      stage === undefined
        ? mine.filter((q) => q.level === 'dlq')
        : [deadLetterQueueOf(mine, ctx.domain, stage)];
  }
  if (queues.length === 0) ctx.note(`Domain \`${ctx.domain}\` has no queues: nothing to purge`);
  await onEachQueue(queues, 'purge', (q) => ctx.sqs.send(new PurgeQueueCommand({ QueueUrl: q.url })), done);
}
