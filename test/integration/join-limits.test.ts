/**
 * A join's limits on the backend's SQS and S3: `joinFailures: 'call'` calls the join despite a
 * lost branch, telling it which; `joinTimeout` dead-letters an item whose branch was purged on the
 * way (its timer travels through the domain's queue of work for later), with its partial state.
 * ElasticMQ has no S3: the file skips there in one sentence.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  type BranchFailure,
  fanOut,
  type InputInfo,
  type StageEntry,
  type TaskClient,
  taskContext,
} from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { rawClient } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`join-limits.test.ts: ${skipped}`);

const quick = {
  pollWaitSeconds: 1,
  [Symbol.for('sqspipes.payloadDeleteTiming')]: { holdSeconds: 0, everyMs: 100 },
};

/** The URL of `stage`'s queue at `level` (or its dead-letter queue). */
async function urlOf(client: TaskClient, stage: string, level: number | 'dlq'): Promise<string> {
  const queue = (await client.queues()).find((q) => q.stage === stage && q.level === level);
  if (queue?.url === undefined) throw new Error(`no queue of ${stage} at ${level}`);
  return queue.url;
}

describe.skipIf(skipped !== undefined)('a join’s limits', () => {
  const bucket = testBucket('joinlim');
  const payloads = { bucket, prefix: 'sqspipes/' };

  it("with joinFailures: 'call', calls the join with the values that reached it and lists the lost branches", async () => {
    const failed: BranchFailure[][] = [];
    const stages: StageEntry[] = [
      { name: 'source', method: () => null },
      { name: 'split', method: (line: string) => fanOut(line.split(' ')), input: true },
      {
        name: 'check',
        method: (word: string) => {
          if (word === 'boom') throw new Error('no bombs here');
          return word.toUpperCase();
        },
        retries: 0,
      },
      {
        name: 'gather',
        method: (words: string[]) => {
          failed.push([...(taskContext().join?.failed ?? [])]);
          return words.join(' ');
        },
        join: 'split',
        joinFailures: 'call',
      },
    ];
    const client = testClient('joincall', stages, { payloads, ...quick });
    const stop = new AbortController();
    const runs = ['split', 'check', 'gather'].map((name) =>
      collect(client.run(name, { signal: stop.signal })),
    );
    try {
      const submitted = await client.submit('a boom b', { status: true });
      expect(await submitted.result()).toEqual(['A B']);
      // The join's statuses come once, when it is called: not for each branch it folded.
      const steps: string[] = [];
      for await (const s of submitted.statuses()) steps.push(`${s.stage}:${s.status}`);
      expect(steps.filter((step) => step.startsWith('gather:'))).toEqual([
        'gather:received',
        'gather:finished',
      ]);
    } finally {
      stop.abort();
      await Promise.all(runs);
    }
    expect(failed).toEqual([
      [
        {
          branch: expect.any(String) as string,
          stage: 'check',
          reason: expect.stringMatching(/no bombs here/) as string,
          position: 1,
        },
      ],
    ]);
  });

  it('dead-letters an item whose branch was purged on the way once its joinTimeout passed, with its partial state', async () => {
    const dead: (InputInfo & { reason: string })[] = [];
    const stages: StageEntry[] = [
      { name: 'source', method: () => null },
      { name: 'split', method: (line: string) => fanOut(line.split(' ')), input: true },
      { name: 'work', method: (word: string) => word.length },
      { name: 'gather', method: (lengths: number[]) => lengths, join: 'split', joinTimeout: 2000 },
    ];
    const client = testClient('jointime', stages, { payloads, ...quick });
    // The item's sender hears of it before the join marks it done and says so here.
    const deadLettered = new Promise<void>((resolve) =>
      client.on('deadLettered', (info) => {
        dead.push(info);
        resolve();
      }),
    );
    const splitDone = new Promise<void>((resolve) =>
      client.on('processed', (info) => {
        if (info.stage === 'split') resolve();
      }),
    );
    const split = new AbortController();
    const splitRun = collect(client.run('split', { signal: split.signal }));
    const gather = new AbortController();
    const gatherRun = collect(client.run('gather', { signal: gather.signal }));
    const raw = rawClient();
    try {
      const lost = await client.submit('three lost words');
      // Its three branches wait in `work`'s queue: an operator deletes them (as a purge does, but
      // at once: SQS may take up to 60 s to purge, and `work` starts below).
      const workUrl = await urlOf(client, 'work', 0);
      await splitDone; // its outputs were accepted by SQS
      await deleteMessages(raw, workUrl, 3);
      // An item that completes: its timer, when it comes, finds it done.
      const work = new AbortController();
      const workRun = collect(client.run('work', { signal: work.signal }));
      const done = await client.submit('two words');
      expect(await done.result()).toEqual([[3, 5]]);
      await expect(lost.result()).rejects.toThrow(
        /join `gather` of item .* timed out after 2000 ms .* with 3 branches still awaited/,
      );
      work.abort();
      await workRun;
      const dlq = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl: await urlOf(client, 'gather', 'dlq'),
          MaxNumberOfMessages: 10,
        }),
      );
      expect(dlq.Messages).toHaveLength(1);
      const body = JSON.parse(dlq.Messages?.[0]?.Body ?? '') as { d: unknown };
      expect(body.d).toEqual({
        item: expect.any(String) as string,
        values: [],
        failed: [],
        missing: expect.any(Array) as unknown[],
      });
      expect((body.d as { missing: unknown[] }).missing).toHaveLength(3);
      await deadLettered;
      expect(dead.map((d) => d.stage)).toEqual(['gather']);
    } finally {
      split.abort();
      gather.abort();
      await Promise.all([splitRun, gatherRun]);
      raw.destroy();
    }
  });
});

/** Receives and deletes `count` messages of the queue at `url` (a FIFO queue: group by group). */
async function deleteMessages(sqs: SQSClient, url: string, count: number): Promise<void> {
  for (let deleted = 0; deleted < count;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) continue;
    const Entries = Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries }));
    deleted += Messages.length;
  }
}
