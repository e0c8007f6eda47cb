import { createInterface } from 'node:readline/promises';
import { DeleteQueueCommand, QueueDoesNotExist } from '@aws-sdk/client-sqs';
import type { OperatorContext } from './context.ts';
import { queueNameOf } from '../../queues/listing.ts';
import { discoverQueues } from './discover.ts';
import { onEachQueue } from './each-queue.ts';
import { UsageError } from './errors.ts';
import { count, printJson, printLines } from './output.ts';

/** Who answers a yes/no question, if anyone. */
export interface Confirm {
  /** False when there is no one to ask (stdin is not a terminal). */
  readonly available: boolean;
  /** Asks; resolves true for yes. */
  ask(question: string): Promise<boolean>;
}

/**
 * `sqspipes destroy [--yes]`: deletes every queue of the domain (found by their tags), its queue of
 * pending deletes of stored bodies included (what it holds is left to the lifecycle rule). Without
 * `--yes` it asks on the terminal, and refuses when stdin is not one. SQS forbids creating a
 * queue of the same name for 60 seconds after deleting it.
 */
export async function destroyCommand(ctx: OperatorContext, yes: boolean, confirm: Confirm): Promise<void> {
  const extra: { name: string; url: string }[] = [];
  const found = (url: string) => extra.push({ name: queueNameOf(url), url });
  const stages = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note, deleteQueue: found });
  const queues: { name: string; url: string }[] = [...stages, ...extra];
  if (queues.length === 0) {
    ctx.note(`Domain \`${ctx.domain}\` has no queues: nothing to delete`);
  } else if (!yes) {
    const what = `${count(queues.length, 'queue')} of domain ${ctx.domain}`;
    if (!confirm.available) {
      throw new UsageError(
        `Refusing to delete ${what} without confirmation: stdin is not a terminal, pass --yes`,
      );
    }
    if (!(await confirm.ask(`Delete ${what}? [y/N] `))) {
      throw new DeclinedError('Not confirmed: nothing deleted');
    }
  }
  await onEachQueue(
    queues,
    'delete',
    (q) => deleteQueue(ctx, q.url),
    (names) => (ctx.json ? printJson({ deleted: names }) : printLines(names.map((n) => `deleted ${n}`))),
  );
}

/** Deletes one queue; one deleted meanwhile (by another operator) counts as deleted. */
async function deleteQueue(ctx: OperatorContext, url: string): Promise<void> {
  try {
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
}

/** The user answered no: exit code 1. */
export class DeclinedError extends Error {
  override name = 'DeclinedError';
}

/** Asks on the terminal: the question goes to stderr, the answer comes from stdin. */
export const terminalConfirm: Confirm = {
  get available() {
    return process.stdin.isTTY === true;
  },
  async ask(question) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  },
};
