import { QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { ReplyAddress } from '../../src/envelope.ts';
import { decodeReport } from '../../src/replies/report.ts';
import { isMissingQueue, Reporter } from '../../src/replies/reporter.ts';
import { newSenderId, replyQueueName } from '../../src/replies/reply-queue.ts';
import type { OutgoingMessage } from '../../src/sqs/sqs-io.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function setup(options: { exists?: boolean; sendFails?: Error } = {}) {
  const sent: { url: string; message: OutgoingMessage }[] = [];
  let lookups = 0;
  const reporter = new Reporter({
    domain: 'app',
    stage: 'mid',
    find: (name) => {
      lookups++;
      return Promise.resolve(options.exists === false ? undefined : `https://sqs/${name}`);
    },
    send: (url, message) => {
      if (options.sendFails !== undefined) return Promise.reject(options.sendFails);
      sent.push({ url, message });
      return Promise.resolve();
    },
    logger: quiet,
  });
  return { reporter, sent, lookups: () => lookups };
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
});
