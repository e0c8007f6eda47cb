import { createInterface } from 'node:readline/promises';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { OperatorContext } from './context.ts';
import { discoverQueues } from './discover.ts';
import { onEachQueue } from './each-queue.ts';
import { UsageError } from './errors.ts';
import { printJson, printLines } from './output.ts';

/** Who answers a yes/no question, if anyone. */
export interface Confirm {
  /** False when there is no one to ask (stdin is not a terminal). */
  readonly available: boolean;
  /** Asks; resolves true for yes. */
  ask(question: string): Promise<boolean>;
}

/**
 * `sqspipes destroy [--yes]`: deletes every queue of the domain (found by their tags). Without
 * `--yes` it asks on the terminal, and refuses when stdin is not one. SQS forbids creating a
 * queue of the same name for 60 seconds after deleting it.
 */
export async function destroyCommand(ctx: OperatorContext, yes: boolean, confirm: Confirm): Promise<void> {
  const queues = await discoverQueues(ctx.sqs, ctx.domain, { warn: ctx.note });
  if (queues.length === 0) {
    ctx.note(`Domain \`${ctx.domain}\` has no queues: nothing to delete`);
  } else if (!yes) {
    const what = `${queues.length} queues of domain ${ctx.domain}`;
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
    (q) => ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: q.url })),
    (names) => (ctx.json ? printJson({ deleted: names }) : printLines(names.map((n) => `deleted ${n}`))),
  );
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
