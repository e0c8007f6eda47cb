import { QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { ReplyAddress } from '../../src/envelope.ts';
import { decodeReport } from '../../src/replies/report.ts';
import { ReplyError } from '../../src/errors.ts';
import { isMissingQueue, Reporter } from '../../src/replies/reporter.ts';
import { newSenderId, replyQueueName } from '../../src/replies/reply-queue.ts';
import type { OutgoingMessage } from '../../src/sqs/sqs-io.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function setup(options: { exists?: boolean; sendFails?: Error; failures?: number } = {}) {
  const sent: { url: string; message: OutgoingMessage }[] = [];
  let lookups = 0;
  let tries = 0;
  const reporter = new Reporter({
    retryDelaysMs: [1, 1, 1],
    domain: 'app',
    stage: 'mid',
    find: (name) => {
      lookups++;
      return Promise.resolve(options.exists === false ? undefined : `https://sqs/${name}`);
    },
    send: (url, message) => {
      tries++;
      if (options.sendFails !== undefined && tries <= (options.failures ?? Infinity)) {
        return Promise.reject(options.sendFails);
      }
      sent.push({ url, message });
      return Promise.resolve();
    },
    logger: quiet,
  });
  return { reporter, sent, lookups: () => lookups, tries: () => tries };
}

const address = (queue = replyQueueName('app', newSenderId())): ReplyAddress => ({
  queue,
  item: 'item-1',
  token: 'token-1',
  status: false,
});

describe('Reporter', () => {
  it("sends an end report to the sender's reply queue, grouped by item", async () => {
    const { reporter, sent } = setup();
    const to = address();
    await reporter.ended(to, { children: ['a', 'b'], results: [] }, 1);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe(`https://sqs/${to.queue}`);
    expect(sent[0]?.message.groupId).toBe('item-1');
    expect(decodeReport(sent[0]?.message.body)).toMatchObject({
      kind: 'end',
      token: 'token-1',
      stage: 'mid',
      children: ['a', 'b'],
      parts: 1,
    });
  });

  it('a result that is not JSON becomes an error of the item, not a failure of the stage', async () => {
    const { reporter, sent } = setup();
    await reporter.ended(address(), { children: [], results: [new Map()] }, 1);
    expect(decodeReport(sent[0]?.message.body)).toMatchObject({
      results: [],
    });
    expect(decodeReport(sent[0]?.message.body)).toHaveProperty(
      'error',
      expect.stringMatching(/mid/) as string,
    );
  });

  it('a reply queue that is gone drops the report, and later reports skip the lookup', async () => {
    const { reporter, sent, lookups } = setup({ exists: false });
    const to = address();
    await reporter.ended(to, { children: [], results: [1] }, 1);
    await reporter.dead(to, 'reason');
    expect(sent).toEqual([]);
    expect(lookups()).toBe(1);
  });

  it('a send that finds the queue deleted resolves (never fails the stage)', async () => {
    const gone = new QueueDoesNotExist({ message: 'gone', $metadata: {} });
    const { reporter } = setup({ sendFails: gone });
    await expect(reporter.ended(address(), { children: [], results: [1] }, 1)).resolves.toBeUndefined();
    expect(isMissingQueue(gone)).toBe(true);
    expect(
      isMissingQueue(new Error('x', { cause: { Code: 'AWS.SimpleQueueService.NonExistentQueue' } })),
    ).toBe(true);
    expect(isMissingQueue(new Error('throttled'))).toBe(false);
  });

  it('never writes to a queue that is not a reply queue of its domain', async () => {
    const { reporter, sent } = setup();
    await reporter.ended(address('app-mid-p0.fifo'), { children: [], results: [1] }, 1);
    await reporter.ended(address(replyQueueName('other', newSenderId())), { children: [], results: [1] }, 1);
    expect(sent).toEqual([]);
  });

  it('sends statuses only when the sender asked for them', async () => {
    const { reporter, sent } = setup();
    const to = address();
    await reporter.status(to, 'received', 1);
    await reporter.status({ ...to, status: true }, 'retrying', 2, new Error('boom'));
    expect(sent.map((s) => decodeReport(s.message.body))).toEqual([
      expect.objectContaining({ kind: 'status', status: 'retrying', attempt: 2, error: 'boom' }),
    ]);
  });

  it('retries a report whose send fails, under the same deduplication id, until it is accepted', async () => {
    const { reporter, sent, tries } = setup({ sendFails: new Error('throttled'), failures: 2 });
    await reporter.dead(address(), 'reason');
    expect(tries()).toBe(3);
    expect(sent).toHaveLength(1);
    await reporter.ended(address(), { children: [], results: [1] }, 1);
    expect(sent).toHaveLength(2);
  });

  it('rejects with a ReplyError once its retries are spent: the input must not be acknowledged', async () => {
    const { reporter, tries } = setup({ sendFails: new Error('AccessDenied') });
    const to = address();
    const error = await reporter.ended(to, { children: [], results: [1] }, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplyError);
    expect(error).toMatchObject({ queue: to.queue, itemId: 'item-1', stage: 'mid' });
    expect((error as Error).message).toMatch(/4 tries.*AccessDenied/);
    expect(tries()).toBe(4);
    await expect(reporter.dead(to, 'reason')).rejects.toBeInstanceOf(ReplyError);
  });

  it('a split end report is accepted only when every part is: one lost part fails it', async () => {
    let calls = 0;
    const sent: string[] = [];
    const reporter = new Reporter({
      retryDelaysMs: [1],
      domain: 'app',
      stage: 'mid',
      find: (name) => Promise.resolve(`https://sqs/${name}`),
      send: (_url, message) => {
        calls++;
        if (message.deduplicationId?.endsWith(':1')) return Promise.reject(new Error('part 1 refused'));
        sent.push(message.deduplicationId ?? '');
        return Promise.resolve();
      },
      logger: quiet,
    });
    const big = 'x'.repeat(200_000);
    await expect(reporter.ended(address(), { children: [], results: [big, big] }, 1)).rejects.toBeInstanceOf(
      ReplyError,
    );
    expect(sent.every((id) => !id.endsWith(':1'))).toBe(true);
    expect(calls).toBeGreaterThan(2);
  });

  it('a reply queue whose lookup fails is retried, not taken for gone', async () => {
    let lookups = 0;
    const sent: OutgoingMessage[] = [];
    const reporter = new Reporter({
      retryDelaysMs: [1, 1],
      domain: 'app',
      stage: 'mid',
      find: (name) => (++lookups === 1 ? Promise.reject(new Error('timeout')) : Promise.resolve(`u/${name}`)),
      send: (_url, message) => {
        sent.push(message);
        return Promise.resolve();
      },
      logger: quiet,
    });
    await reporter.dead(address(), 'reason');
    expect(sent).toHaveLength(1);
  });

  it('statuses are not retried and never reject', async () => {
    const { reporter, tries } = setup({ sendFails: new Error('throttled') });
    await expect(reporter.status({ ...address(), status: true }, 'received', 1)).resolves.toBeUndefined();
    expect(tries()).toBe(1);
  });
});
