import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { OperatorContext } from './context.ts';
import { discoverQueues, queuesOfStage } from './discover.ts';
import { onEachQueue } from './each-queue.ts';
import { printJson, printLines } from './output.ts';

/**
 * `sqspipes purge [--stage S]`: deletes every message of the domain's queues (input levels and
 * dead-letter queues), or of one stage's. SQS allows one purge per queue every 60 seconds and
 * may take up to 60 seconds to finish one.
 */
export async function purgeCommand(ctx: OperatorContext, stage: string | undefined): Promise<void> {
  const all = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  const queues = stage === undefined ? all : queuesOfStage(all, ctx.domain, stage);
  if (queues.length === 0) ctx.note(`Domain \`${ctx.domain}\` has no queues: nothing to purge`);
  await onEachQueue(
    queues,
    'purge',
    (q) => ctx.sqs.send(new PurgeQueueCommand({ QueueUrl: q.url })),
    (names) => (ctx.json ? printJson({ purged: names }) : printLines(names.map((n) => `purged ${n}`))),
  );
}
