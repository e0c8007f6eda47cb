import pLimit from 'p-limit';
import { SqsError } from '../../errors.ts';
import type { DomainQueue } from './discover.ts';
import { failureText } from './errors.ts';

const CONCURRENCY = 10;

/**
 * Runs `action` on every queue (a few at a time) and resolves with the names it succeeded on.
 * When some failed, rejects after all were tried, naming the first failure and how many failed;
 * `done` is told the successes first, so that they are printed either way.
 */
export async function onEachQueue<Q extends Pick<DomainQueue, 'name'>>(
  queues: readonly Q[],
  verb: string,
  action: (queue: Q) => Promise<unknown>,
  done: (names: string[]) => Promise<void>,
): Promise<void> {
  const limit = pLimit(CONCURRENCY);
  const results = await Promise.allSettled(queues.map((q) => limit(() => action(q))));
  const names = queues.filter((_, i) => results[i]?.status === 'fulfilled').map((q) => q.name);
  await done(names);
  const failures = queues.flatMap((q, i) => {
    const result = results[i];
    return result?.status === 'rejected' ? [{ queue: q.name, reason: result.reason as unknown }] : [];
  });
  const first = failures[0];
  if (first === undefined) return;
  const others = failures.length > 1 ? ` (and ${failures.length - 1} more queues)` : '';
  throw new SqsError(`Could not ${verb} \`${first.queue}\`${others}: ${failureText(first.reason, false)}`, {
    queue: first.queue,
    cause: first.reason,
  });
}
