import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { CallTimeoutError, type InputInfo, OutputError, StageError, taskContext } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { rawClient } from '../support/sqs.ts';

const source = { method: () => null, name: 'source' };

describe('retries and the dead-letter queue', () => {
  let throwing = true;
  const flaky = (n: number) => {
    if (throwing && n % 5 === 0) throw new Error(`no multiples of 5 (${n})`);
    return n;
  };
  // A stopped run's long poll may still be pending on the server and swallow a message that
  // arrives next (it comes back after its visibility timeout): keep that timeout short here.
  const client = testClient('dlq', [
    source,
    { method: flaky, name: 'flaky', workers: 4, retries: 2, retryDelay: 100, visibilityTimeout: 2 },
  ]);

  it('moves an input to the DLQ after 1 + retries attempts, completes the others, and redrives', async () => {
    const failed: InputInfo[] = [];
    const dead: InputInfo[] = [];
    client.on('failed', (_error, info) => failed.push(info));
    client.on('deadLettered', (info) => dead.push(info));
    for (let n = 1; n <= 20; n++) await client.enqueue('flaky', n);
    const done: number[] = [];
    for await (const n of client.run('flaky', { idleTimeout: 4000 })) {
      done.push(n as number);
      if (done.length === 16 && dead.length === 4) break;
    }
    if (dead.length < 4) {
      // The last retries may still be on their way: wait for them to be dead-lettered.
      for await (const n of client.run('flaky', { idleTimeout: 4000 })) done.push(n as number);
    }
    expect(done.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19]);
    expect(dead).toHaveLength(4);
    // Retried in hand: three attempts, one delivery by SQS.
    expect(dead.map((d) => d.attempt)).toEqual([3, 3, 3, 3]);
    expect(dead.map((d) => d.receiveCount)).toEqual([1, 1, 1, 1]);
    expect(failed).toHaveLength(12);
    const dlq = (await client.queues()).find((q) => q.level === 'dlq');
    expect(dlq?.visible).toBe(4);

    throwing = false;
    expect(await client.redrive('flaky')).toBe(4);
    const redriven = await collect<number>(client.run('flaky', { limit: 4, idleTimeout: 5000 }));
    expect(redriven.sort((a, b) => a - b)).toEqual([5, 10, 15, 20]);
  });
});

describe('poison messages', () => {
  const echo = (x: unknown) => x;
  const client = testClient('poison', [source, { method: echo, name: 'echo', retries: 1 }]);

  it('sends bodies that are not envelopes to the DLQ and goes on', async () => {
    await client.enqueue('echo', 'first');
    const url = (await client.queues()).find((q) => q.level === 0)?.url ?? '';
    const raw = rawClient();
    for (const [i, body] of ['not json', '{"v":99}', '[1,2]', '{"v":1,"id":"x"}'].entries()) {
      await raw.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageGroupId: `g${i}`,
          MessageDeduplicationId: `p${i}`,
        }),
      );
    }
    raw.destroy();
    await client.enqueue('echo', 'last');
    const reasons: string[] = [];
    client.on('deadLettered', (info) => reasons.push(info.reason));
    // No `limit`: a run stops receiving at its limit, and SQS may give the groups in any order.
    const values = await collect(client.run('echo', { idleTimeout: 2000 }));
    expect(values.sort()).toEqual(['first', 'last']);
    expect(reasons).toHaveLength(4);
    expect(reasons.every((r) => r.startsWith('not a sqspipes envelope'))).toBe(true);
    const dlq = (await client.queues()).find((q) => q.level === 'dlq');
    expect(dlq?.visible).toBe(4);
  });
});

describe('heartbeat', () => {
  let calls = 0;
  const slow = async (n: number) => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 6500));
    return n;
  };
  const client = testClient('beat', [
    source,
    { method: slow, name: 'slow', visibilityTimeout: 2, workers: 2 },
  ]);

  it(
    'keeps a call that takes 3× the visibility timeout from being delivered to another worker',
    { timeout: 30_000 },
    async () => {
      await client.enqueue('slow', 1);
      const [a, b] = await Promise.all([
        collect(client.run('slow', { idleTimeout: 9000 })),
        collect(client.run('slow', { idleTimeout: 9000 })),
      ]);
      expect([...a, ...b]).toEqual([1]);
      expect(calls).toBe(1);
    },
  );
});

describe('call timeout', () => {
  let aborted = 0;
  const hang = () =>
    new Promise<never>(() => {
      taskContext().signal.addEventListener('abort', () => aborted++);
    });
  const client = testClient('timeout', [source, { method: hang, name: 'hang', timeout: 200, retries: 0 }]);

  it('aborts a call past its timeout, counts it failed, and dead-letters the input', async () => {
    await client.enqueue('hang', 1);
    const errors: Error[] = [];
    client.on('failed', (error) => errors.push(error));
    const dead = new Promise((resolve) => client.once('deadLettered', resolve));
    const run = collect(client.run('hang', { idleTimeout: 2000 }));
    await dead;
    expect(await run).toEqual([]);
    expect(aborted).toBe(1);
    expect(errors[0]).toBeInstanceOf(StageError);
    expect(errors[0]?.cause).toBeInstanceOf(CallTimeoutError);
  });
});

describe('bad outputs and bad input', () => {
  const client = testClient('bad', [
    source,
    {
      method: (kind: string) =>
        kind === 'bigint' ? { n: 1n } : kind === 'huge' ? 'x'.repeat(1_100_000) : kind,
      name: 'make',
    },
    { method: (x: unknown) => x, name: 'keep' },
  ]);

  /** Takes the `make` inputs out of its dead-letter queue, with the reason they were put there. */
  async function deadLettered(): Promise<{ count: number; reason: string | undefined }> {
    const dlq = (await client.queues()).find((q) => q.stage === 'make' && q.level === 'dlq');
    const raw = rawClient();
    const out = await raw.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq?.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    for (const m of messages) {
      await raw.send(new DeleteMessageCommand({ QueueUrl: dlq?.url, ReceiptHandle: m.ReceiptHandle }));
    }
    raw.destroy();
    return {
      count: messages.length,
      reason: messages[0]?.MessageAttributes?.['sqspipes-reason']?.StringValue,
    };
  }

  it('fails a BigInt output naming the stage, keeps the input in the DLQ; failFast rejects the run', async () => {
    await client.enqueue('make', 'bigint');
    const failures: Error[] = [];
    client.on('failed', (error) => failures.push(error));
    const error = await collect(client.run('make', { idleTimeout: 3000, failFast: true })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutputError);
    expect((error as OutputError).stage).toBe('make');
    expect((error as Error).message).toMatch(/BigInt/);
    expect(failures).toHaveLength(3); // 1 + the default 2 retries
    const { count, reason } = await deadLettered();
    expect(count).toBe(1);
    expect(reason).toMatch(/Stage `make`.*BigInt/);
  });

  it('fails an output over 1 MiB naming the stage and the size; without failFast the run goes on', async () => {
    await client.enqueue('make', 'huge');
    const dead = new Promise<InputInfo>((resolve) => client.once('deadLettered', resolve));
    // Not rejected: the run ends on its idle timeout, once the input has left its hands.
    expect(await collect(client.run('make', { idleTimeout: 1000 }))).toEqual([]);
    expect((await dead).attempt).toBe(3);
    const { count, reason } = await deadLettered();
    expect(count).toBe(1);
    expect(reason).toMatch(/Stage `make`.*1100\d{3} bytes.*1048576/);
  });

  it('decodes bodies safely: a __proto__ key pollutes nothing', async () => {
    await client.enqueue('keep', 'warm-up');
    const url = (await client.queues()).find((q) => q.stage === 'keep' && q.level === 0)?.url ?? '';
    const raw = rawClient();
    const body = '{"v":1,"id":"evil","d":{"__proto__":{"polluted":true},"ok":1}}';
    await raw.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageGroupId: 'e',
        MessageDeduplicationId: 'e',
      }),
    );
    raw.destroy();
    const values = await collect<Record<string, unknown>>(
      client.run('keep', { limit: 2, idleTimeout: 3000 }),
    );
    const evil = values.find((v) => typeof v === 'object');
    expect(evil).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(evil)).toBe(Object.prototype);
  });
});

describe('graceful stop', () => {
  const slowly = async (n: number) => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return n;
  };
  const client = testClient('handback', [source, { method: slowly, name: 'step', workers: 3 }]);

  // Regression: the poller, finding the queue empty while messages it had prefetched were still
  // waiting, long-polled; the stop aborted that poll and handed the messages back 20 s late.
  it('hands prefetched inputs back at once when a run stops at its limit (default visibility)', async () => {
    for (let n = 1; n <= 6; n++) await client.enqueue('step', n);
    const first = await collect<number>(client.run('step', { workers: 1, limit: 3 }));
    const rest = await collect<number>(client.run('step', { limit: 3, idleTimeout: 5000 }));
    expect([...first, ...rest].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  // Regression: a stopped run aborted its idle long poll; SQS (LocalStack, AWS) kept the poll open
  // on its side and gave it the next message, into an answer nobody read: hidden for 30 s.
  it('a run stopped while idle does not swallow the next input', async () => {
    const idle = await collect(client.run('step', { idleTimeout: 100 }));
    expect(idle).toEqual([]);
    await client.enqueue('step', 42);
    expect(await collect(client.run('step', { limit: 1, idleTimeout: 8000 }))).toEqual([42]);
  });
});
