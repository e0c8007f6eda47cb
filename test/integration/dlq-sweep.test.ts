/**
 * A message SQS moved to a dead-letter queue by itself (its redrive policy's maxReceiveCount was
 * reached: every process that took it crashed, or it was peeked that often) carries no reason and
 * was reported to no one. A consuming stage's run sweeps its dead-letter queue: it records the
 * reason on a copy, tells the submitter (`result()` rejects `dead-lettered`) and says
 * `deadLettered`; what sqspipes dead-lettered itself is left as it is.
 */
import {
  DeleteMessageCommand,
  type Message,
  MessageSystemAttributeName,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { type InputInfo, ItemError, type TaskClient } from '../../src/index.ts';
import { REASON_ATTRIBUTE } from '../../src/queues/naming.ts';
import { maxReceiveCount } from '../../src/queues/topology.ts';
import { resolveStages } from '../../src/stage.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { rawClient } from '../support/sqs.ts';

const source = { name: 'source', method: () => null };

type DeadLetteredInfo = InputInfo & { readonly reason: string };

const raw = rawClient();
afterAll(() => raw.destroy());

async function urlOf(client: TaskClient, stage: string, level: number | 'dlq'): Promise<string> {
  const url = (await client.queues()).find((q) => q.stage === stage && q.level === level)?.url;
  if (url === undefined) throw new Error(`no queue for stage ${stage} level ${String(level)}`);
  return url;
}

async function receiveOne(sqs: SQSClient, url: string): Promise<Message> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 2,
      VisibilityTimeout: 30,
      MessageSystemAttributeNames: [MessageSystemAttributeName.MessageGroupId],
    }),
  );
  const [message] = out.Messages ?? [];
  if (message === undefined) throw new Error(`no message in ${url}`);
  return message;
}

/** Moves the one message of `stage`'s level 0 to its dead-letter queue as SQS's redrive does: body and group kept, no attribute. */
async function moveAsSqsWould(client: TaskClient, stage: string): Promise<void> {
  const input = await urlOf(client, stage, 0);
  const dlq = await urlOf(client, stage, 'dlq');
  const message = await receiveOne(raw, input);
  await raw.send(
    new SendMessageCommand({
      QueueUrl: dlq,
      MessageBody: message.Body ?? '',
      MessageGroupId: message.Attributes?.MessageGroupId ?? 'g',
      MessageDeduplicationId: `moved-${message.MessageId ?? ''}`,
    }),
  );
  await raw.send(new DeleteMessageCommand({ QueueUrl: input, ReceiptHandle: message.ReceiptHandle }));
}

/** Every message of a queue (visibility 0: left as they are), with their reasons. */
async function everything(url: string): Promise<Message[]> {
  const out = await raw.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      VisibilityTimeout: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

async function rejection(promise: Promise<unknown>): Promise<ItemError> {
  const error = await promise.then(
    (value) => new Error(`resolved with ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  if (!(error instanceof ItemError)) throw error;
  return error;
}

describe('the dead-letter queue sweep of a stage run', () => {
  it('reports a message SQS moved by itself: result() rejects dead-lettered, and its reason is recorded', async () => {
    const client = testClient('sweep', [source, { name: 'work', method: (n: number) => n * 2 }]);
    const dead: DeadLetteredInfo[] = [];
    client.on('deadLettered', (info) => dead.push(info));
    const item = await client.submit(7, { timeout: 30_000 });
    await moveAsSqsWould(client, 'work');
    const stop = new AbortController();
    const run = collect(client.run('work', { signal: stop.signal, idleTimeout: Infinity }));
    const error = await rejection(item.result()).finally(() => stop.abort());
    await run;
    expect(error).toMatchObject({ end: 'dead-lettered', stage: 'work' });
    expect(error.reason).toMatch(/moved to the dead-letter queue by SQS/);
    expect(dead).toEqual([expect.objectContaining({ stage: 'work', reason: error.reason })]);
    const left = await everything(await urlOf(client, 'work', 'dlq'));
    expect(left.map((m) => m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue)).toEqual([error.reason]);
  });

  it("finds a message SQS's own redrive moved after peeks spent its receive budget", async () => {
    const work = { name: 'work', retries: 0, method: (n: number) => n * 2 };
    const client = testClient('sweeppeek', [source, work]);
    const budget = maxReceiveCount(resolveStages('x', [source, work])[1]!);
    const item = await client.submit(5, { timeout: 30_000 });
    const input = await urlOf(client, 'work', 0);
    for (let i = 0; i <= budget; i++) {
      const out = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl: input,
          WaitTimeSeconds: i < budget ? 1 : 0,
          VisibilityTimeout: 0,
        }),
      );
      // The receive past the budget brings nothing: SQS moved the message instead.
      expect(out.Messages ?? []).toHaveLength(i < budget ? 1 : 0);
    }
    const stop = new AbortController();
    const run = collect(client.run('work', { signal: stop.signal, idleTimeout: Infinity }));
    const error = await rejection(item.result()).finally(() => stop.abort());
    await run;
    expect(error).toMatchObject({ end: 'dead-lettered', stage: 'work' });
    // SQS keeps the receive count as it moves a message; some implementations count the receive that moved it.
    const receives = `(${budget}|${budget + 1})`;
    expect(error.reason).toMatch(
      new RegExp(`by SQS after ${receives} receives \\(maxReceiveCount ${budget}\\)`),
    );
  });

  it('leaves what sqspipes dead-lettered itself as it is', async () => {
    const client = testClient('sweepown', [
      source,
      {
        name: 'work',
        retries: 0,
        method: (n: number) => {
          throw new Error(`work refuses ${n}`);
        },
      },
    ]);
    const dead: DeadLetteredInfo[] = [];
    client.on('deadLettered', (info) => dead.push(info));
    const item = await client.submit(3, { timeout: 60_000 });
    await collect(client.run('work', { idleTimeout: 2000 }));
    expect((await rejection(item.result())).reason).toMatch(/work refuses 3/);
    // A second run sweeps the dead-letter queue: the message is there, with its reason, untouched.
    await collect(client.run('work', { idleTimeout: 2000 }));
    expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/work refuses 3/)]);
    const left = await everything(await urlOf(client, 'work', 'dlq'));
    expect(left.map((m) => m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue)).toEqual([
      expect.stringMatching(/work refuses 3/),
    ]);
  });
});
