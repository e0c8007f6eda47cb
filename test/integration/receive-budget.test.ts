/**
 * The receive budget of an input queue (its redrive policy's maxReceiveCount): receives that are
 * not attempts (peeks, hand-backs) spend it, and once it is spent SQS moves a message to the
 * dead-letter queue by itself, with no reason and no report. sqspipes keeps that from ending an
 * item silently: the budget leaves room for many peeks and hand-backs, and a message received for
 * the last time the budget allows is never handed back: it runs, or sqspipes dead-letters it with
 * its reason and tells its submitter.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type InputInfo, ItemError, type TaskClient } from '../../src/index.ts';
import { maxReceiveCount } from '../../src/queues/topology.ts';
import { resolveStages } from '../../src/stage.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { rawClient } from '../support/sqs.ts';

const source = { name: 'source', method: () => null };

type DeadLetteredInfo = InputInfo & { readonly reason: string };

/** Receives the one message of `stage`'s level 0 `times` times with visibility 0, as `peek` does. */
async function peek(client: TaskClient, stage: string, times: number): Promise<number> {
  const url = (await client.queues()).find((q) => q.stage === stage && q.level === 0)?.url;
  const raw = rawClient();
  let count = 0;
  try {
    for (let i = 0; i < times; i++) {
      const out = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      const [message] = out.Messages ?? [];
      if (message === undefined) throw new Error(`peek ${i + 1} of ${times} found no message`);
      count = Number(message.Attributes?.ApproximateReceiveCount);
    }
  } finally {
    raw.destroy();
  }
  return count;
}

/** The error `result()` rejects with, or a failure of the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ItemError> {
  const error = await promise.then(
    (value) => new Error(`resolved with ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  if (!(error instanceof ItemError)) throw error;
  return error;
}

describe('the receive budget of an input queue', () => {
  it('leaves room for many peeks: an item peeked 15 times, then failing, is dead-lettered with its reason', async () => {
    const client = testClient('budgetpeek', [
      source,
      {
        name: 'work',
        retries: 1,
        retryDelay: 0,
        method: (n: number) => {
          throw new Error(`work refuses ${n}`);
        },
      },
    ]);
    const dead: DeadLetteredInfo[] = [];
    client.on('deadLettered', (info) => dead.push(info));
    const item = await client.submit(1, { timeout: 30_000 });
    expect(await peek(client, 'work', 15)).toBe(15);
    await collect(client.run('work', { idleTimeout: 2000 }));
    const error = await rejection(item.result());
    expect(error).toMatchObject({ end: 'dead-lettered', stage: 'work' });
    expect(error.reason).toMatch(/work refuses 1/);
    expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/work refuses 1/)]);
  });

  it('a message on its last receive is not handed back silently: a stop dead-letters it, with its reason', async () => {
    const stop = new AbortController();
    const client = testClient('budgetlast', [
      source,
      {
        name: 'work',
        retries: 2,
        retryDelay: 5000,
        method: (n: number) => {
          stop.abort(); // the run stops while this input fails: it would go back with its delay
          throw new Error(`work refuses ${n}`);
        },
      },
    ]);
    const [, work] = resolveStages('x', [source, { name: 'work', method: () => null, retries: 2 }]);
    const budget = maxReceiveCount(work!);
    const dead: DeadLetteredInfo[] = [];
    client.on('deadLettered', (info) => dead.push(info));
    const item = await client.submit(2, { timeout: 30_000 });
    // Peeked until the stage's receive is the last one SQS allows before moving it.
    expect(await peek(client, 'work', budget - 1)).toBe(budget - 1);
    await collect(client.run('work', { signal: stop.signal, idleTimeout: 5000 }));
    const error = await rejection(item.result());
    expect(error).toMatchObject({ end: 'dead-lettered', stage: 'work' });
    expect(error.reason).toMatch(new RegExp(`received ${budget} times`));
    expect(error.reason).toMatch(/work refuses 2/);
    expect(dead).toEqual([expect.objectContaining({ receiveCount: budget })]);
  });
});
