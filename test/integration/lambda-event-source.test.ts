/**
 * `localEventSource` (sqspipes/testing) does what Lambda's SQS event source mapping does, with
 * plain handlers: the documented event, partial batch responses, failed and timed-out
 * invocations, FIFO order and the bound on invocations in flight. Every queue has a 2 s
 * visibility timeout, so what an invocation leaves comes back soon.
 */
import { createHash } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { LambdaSqsEvent, LambdaSqsRecord } from '../../src/lambda/types.ts';
import { type LocalInvocation, localEventSource } from '../../src/testing/index.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const prefix = testDomain('les');
const sqs = rawClient();
afterAll(() => sqs.destroy());

async function queue(name: string, fifo = false): Promise<string> {
  const Attributes = { VisibilityTimeout: '2', ...(fifo ? { FifoQueue: 'true' } : {}) };
  const out = await sqs.send(
    new CreateQueueCommand({ QueueName: `${prefix}-${name}${fifo ? '.fifo' : ''}`, Attributes }),
  );
  return out.QueueUrl ?? '';
}

async function send(
  QueueUrl: string,
  entries: Omit<SendMessageBatchRequestEntry, 'Id'>[],
): Promise<string[]> {
  const Entries = entries.map((e, i) => ({ ...e, Id: `m${i}` }));
  const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
  expect(out.Failed ?? []).toEqual([]);
  return Entries.map((e) => out.Successful?.find((s) => s.Id === e.Id)?.MessageId ?? '');
}

const receives = (record: LambdaSqsRecord): number => Number(record.attributes.ApproximateReceiveCount);
const nameOf = (url: string): string => url.split('/').at(-1) ?? '';

describe('localEventSource()', () => {
  it('invokes the handler with the documented event and a context counting down from the timeout', async () => {
    const url = await queue('records');
    const [id] = await send(url, [
      {
        MessageBody: '{"hello":"lambda"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'greeting' },
          size: { DataType: 'Number', StringValue: '42' },
          raw: { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 254, 255]) },
        },
      },
    ]);
    const seen: { event: LambdaSqsEvent; remaining: number[]; requestId: unknown }[] = [];
    await using source = localEventSource({
      sqs: backendEnv(),
      queueUrls: url,
      region: 'eu-west-3',
      accountId: '123456789012',
      timeoutMs: 5000,
      waitSeconds: 1,
      handler: async (event, context) => {
        const first = context.getRemainingTimeInMillis();
        await new Promise((resolve) => setImmediate(resolve));
        seen.push({
          event,
          remaining: [first, context.getRemainingTimeInMillis()],
          requestId: context.awsRequestId,
        });
        return { batchItemFailures: [] };
      },
    });
    await source.start();
    await source.until((s) => s.recordsDeleted === 1);

    const [call] = seen;
    expect(seen).toHaveLength(1);
    const record = call?.event.Records[0];
    const body = '{"hello":"lambda"}';
    expect(record).toMatchObject({
      messageId: id,
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:eu-west-3:123456789012:${nameOf(url)}`,
      awsRegion: 'eu-west-3',
      messageAttributes: {
        kind: { dataType: 'String', stringValue: 'greeting', stringListValues: [], binaryListValues: [] },
        size: { dataType: 'Number', stringValue: '42', stringListValues: [], binaryListValues: [] },
        raw: { dataType: 'Binary', binaryValue: 'AAH+/w==', stringListValues: [], binaryListValues: [] },
      },
    });
    expect(record?.receiptHandle).not.toBe('');
    const { ApproximateReceiveCount, SentTimestamp, ApproximateFirstReceiveTimestamp, SenderId } =
      record?.attributes ?? {};
    expect(ApproximateReceiveCount).toBe('1');
    expect(SentTimestamp).toMatch(/^\d{13}$/);
    expect(ApproximateFirstReceiveTimestamp).toMatch(/^\d{13}$/);
    expect(SenderId).toBeTypeOf('string');
    expect(record?.attributes.MessageGroupId).toBeUndefined();
    const [first = 0, later = 0] = call?.remaining ?? [];
    expect(first).toBeLessThanOrEqual(5000);
    expect(later).toBeGreaterThan(0);
    expect(later).toBeLessThanOrEqual(first);
    expect(call?.requestId).toEqual(source.invocations[0]?.awsRequestId);
    expect(source.invocations[0]).toMatchObject({ outcome: 'succeeded', deleted: [id], failed: [] });
  });

  it('deletes what the answer does not list, and leaves exactly the listed records, which come back', async () => {
    const url = await queue('partial');
    const bodies = ['ok-0', 'fail-0', 'ok-1', 'ok-2', 'fail-1', 'ok-3'];
    const ids = await send(
      url,
      bodies.map((MessageBody) => ({ MessageBody })),
    );
    const received = new Map<string, number>();
    await using source = localEventSource({
      sqs,
      queueUrls: url,
      waitSeconds: 1,
      handler: async (event) => {
        for (const r of event.Records) received.set(r.body, (received.get(r.body) ?? 0) + 1);
        const failing = event.Records.filter((r) => r.body.startsWith('fail') && receives(r) === 1);
        return { batchItemFailures: failing.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await source.start();
    const stats = await source.until((s) => s.recordsDeleted === bodies.length);

    const failIds = ids.filter((_, i) => bodies[i]?.startsWith('fail'));
    expect(source.invocations.flatMap((i) => i.failed).toSorted()).toEqual(failIds.toSorted());
    expect(source.invocations.flatMap((i) => i.deleted).toSorted()).toEqual(ids.toSorted());
    expect(Object.fromEntries(received)).toEqual(
      Object.fromEntries(bodies.map((b) => [b, b.startsWith('fail') ? 2 : 1])),
    );
    expect(stats).toMatchObject({ recordsReceived: 8, recordsFailed: 2, invalid: 0, threw: 0, errors: 0 });
  });

  it('deletes nothing of a batch whose handler throws or answers what AWS rejects; no answer is a success', async () => {
    // One queue per case, all read by one source (one mapping each); the second receive succeeds.
    const cases: Record<string, (event: LambdaSqsEvent) => unknown> = {
      throws: () => {
        throw new Error('the handler fails');
      },
      rejects: () => Promise.reject(new Error('the handler fails later')),
      'empty-id': () => ({ batchItemFailures: [{ itemIdentifier: '' }] }),
      'unknown-id': () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] }),
      'not-a-list': () => ({ batchItemFailures: 'all of them' }),
      'not-an-object': () => 'done',
    };
    const urls = await Promise.all(Object.keys(cases).map((name) => queue(name)));
    await Promise.all(urls.map((url) => send(url, [{ MessageBody: 'a' }, { MessageBody: 'b' }])));
    await using source = localEventSource({
      sqs,
      queueUrls: urls,
      waitSeconds: 1,
      handler: async (event) => {
        const first = event.Records.find((r) => receives(r) === 1);
        if (first === undefined) return undefined;
        const name = (first.eventSourceARN.split(':').at(-1) ?? '').slice(prefix.length + 1);
        return cases[name]?.(event);
      },
    });
    await source.start();
    const stats = await source.until((s) => s.recordsDeleted === 2 * urls.length);

    const caseOf = (i: LocalInvocation): string => nameOf(i.queueUrl).slice(prefix.length + 1);
    const firsts = source.invocations.filter((i) => i.event.Records.some((r) => receives(r) === 1));
    for (const invocation of firsts) {
      const expected = ['throws', 'rejects'].includes(caseOf(invocation)) ? 'threw' : 'invalid';
      expect([caseOf(invocation), invocation.outcome, invocation.deleted]).toEqual([
        caseOf(invocation),
        expected,
        [],
      ]);
    }
    // Every message came back at least once, and only succeeded invocations deleted.
    const deleted = source.invocations.flatMap((i) => (i.outcome === 'succeeded' ? i.deleted : []));
    expect(deleted).toHaveLength(2 * urls.length);
    expect(source.invocations.flatMap((i) => i.event.Records).filter((r) => receives(r) === 1)).toHaveLength(
      2 * urls.length,
    );
    expect(stats.recordsFailed).toBeGreaterThanOrEqual(2 * urls.length);
  });

  it('treats an invocation not answered by timeoutMs as failed, and ignores its late answer', async () => {
    const url = await queue('timeout');
    const [id = ''] = await send(url, [{ MessageBody: 'slow' }]);
    let answerLate: (answer: unknown) => void = () => {};
    const remaining: number[] = [];
    await using source = localEventSource({
      sqs,
      queueUrls: url,
      timeoutMs: 300,
      waitSeconds: 1,
      handler: (event, context) => {
        remaining.push(context.getRemainingTimeInMillis());
        if (event.Records.some((r) => receives(r) === 1))
          return new Promise((resolve) => (answerLate = resolve));
        return Promise.resolve({ batchItemFailures: [] });
      },
      // The late answer says "all done": were it read, the message would be deleted and never return.
      onInvocation: (invocation) => {
        if (invocation.outcome === 'timedOut') answerLate({ batchItemFailures: [] });
      },
    });
    await source.start();
    const stats = await source.until((s) => s.recordsDeleted === 1);

    expect(source.invocations.map((i) => [i.outcome, i.deleted, i.failed])).toEqual([
      ['timedOut', [], [id]],
      ['succeeded', [id], []],
    ]);
    expect(stats).toMatchObject({ timedOut: 1, recordsFailed: 1, invocations: 2 });
    expect(remaining.every((ms) => ms > 0 && ms <= 300)).toBe(true);
  });

  it('hands a FIFO batch in group order, and a group left failed comes back in order', async () => {
    const url = await queue('order', true);
    const sent = Array.from({ length: 10 }, (_, i) => ({
      group: i % 2 === 0 ? 'a' : 'b',
      n: Math.floor(i / 2),
    }));
    await send(
      url,
      sent.map(({ group, n }) => ({
        MessageBody: `${group}${n}`,
        MessageGroupId: group,
        MessageDeduplicationId: `${group}${n}`,
      })),
    );
    const processed: Record<string, number[]> = { a: [], b: [] };
    const events: LambdaSqsEvent[] = [];
    await using source = localEventSource({
      sqs,
      queueUrls: url,
      waitSeconds: 1,
      handler: async (event) => {
        events.push(event);
        // Like Powertools' skipGroupOnError: once a record fails, the rest of its group fails too.
        const failedGroups = new Set<string>();
        const failures: { itemIdentifier: string }[] = [];
        for (const r of event.Records) {
          const group = r.attributes.MessageGroupId ?? '';
          if (failedGroups.has(group) || (r.body === 'a2' && receives(r) === 1)) {
            failedGroups.add(group);
            failures.push({ itemIdentifier: r.messageId });
          } else processed[group]?.push(Number(r.body.slice(1)));
        }
        return { batchItemFailures: failures };
      },
    });
    await source.start();
    await source.until((s) => s.recordsDeleted === 10);

    expect(processed).toEqual({ a: [0, 1, 2, 3, 4], b: [0, 1, 2, 3, 4] });
    for (const event of events) {
      for (const group of ['a', 'b']) {
        const records = event.Records.filter((r) => r.attributes.MessageGroupId === group);
        const sequence = records.map((r) => BigInt(r.attributes.SequenceNumber ?? '0'));
        expect(sequence).toEqual(sequence.toSorted((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
        expect(records.map((r) => r.body)).toEqual(records.map((r) => r.body).toSorted());
      }
    }
    const record = events[0]?.Records[0];
    expect(record?.attributes.MessageDeduplicationId).toEqual(record?.body);
    expect(record?.eventSourceARN).toBe(`arn:aws:sqs:${backendEnv().region}:000000000000:${nameOf(url)}`);
    // a2 failed, and what of its group followed it in that batch (a receive may bring less).
    const partial = source.invocations.find((i) => i.outcome === 'partial');
    const failedBodies = partial?.event.Records.filter((r) => partial.failed.includes(r.messageId)).map(
      (r) => r.body,
    );
    expect(failedBodies).toEqual(['a2', 'a3', 'a4'].slice(0, failedBodies?.length));
    expect(failedBodies?.[0]).toBe('a2');
  });

  it('keeps at most maximumConcurrency invocations in flight per queue', async () => {
    const url = await queue('concurrency');
    const total = 8;
    const limit = 3;
    await send(
      url,
      Array.from({ length: total }, (_, i) => ({ MessageBody: `m${i}` })),
    );
    let inFlight = 0;
    let peak = 0;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let full: () => void = () => {};
    const reachedLimit = new Promise<void>((resolve) => (full = resolve));
    await using source = localEventSource({
      sqs,
      queueUrls: url,
      batchSize: 1,
      maximumConcurrency: limit,
      waitSeconds: 1,
      handler: async () => {
        peak = Math.max(peak, ++inFlight);
        if (inFlight === limit) full();
        await gate;
        inFlight -= 1;
        return { batchItemFailures: [] };
      },
    });
    await source.start();
    await reachedLimit;
    // While `limit` invocations hang, no poller has taken another message.
    const inFlightThen = source.stats.inFlight;
    const held = await sqs
      .send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
      .finally(open);
    expect(inFlightThen).toBe(limit);
    expect(held.Attributes).toMatchObject({
      ApproximateNumberOfMessages: String(total - limit),
      ApproximateNumberOfMessagesNotVisible: String(limit),
    });
    const stats = await source.until((s) => s.recordsDeleted === total);
    expect(peak).toBe(limit);
    expect(stats.maxInFlight).toBe(limit);
  });

  it('stops: no new receives, invocations in flight settle first, and until() rejects once stopped', async () => {
    const url = await queue('stop');
    await send(url, [{ MessageBody: 'x' }]);
    let release: () => void = () => {};
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => (started = resolve));
    const source = localEventSource({
      sqs,
      queueUrls: url,
      waitSeconds: 1,
      handler: async () => {
        started();
        await new Promise<void>((resolve) => (release = resolve));
        return {};
      },
    });
    await source.start();
    await running;
    const stopped = source.stop();
    const never = expect(source.until((s) => s.invocations > 1)).rejects.toThrow(/stopped before/);
    release();
    await stopped;
    expect(source.stats).toMatchObject({ invocations: 1, inFlight: 0, recordsDeleted: 1 });
    await never;
    expect(() => localEventSource({ sqs, queueUrls: url, handler: () => ({}), batchSize: 11 })).toThrow(
      'localEventSource: `batchSize` must be a whole number from 1 to 10, got 11',
    );
  });
});
