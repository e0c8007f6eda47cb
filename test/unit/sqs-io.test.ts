import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { RunIo } from '../../src/sqs/run-io.ts';
import { SqsIo } from '../../src/sqs/sqs-io.ts';

/**
 * What SqsIo puts in its batch requests is our logic, not SQS's: a client that records the
 * requests (and answers as scripted) shows it without a server.
 */
class RecordingClient {
  readonly requests: { name: string; input: Record<string, unknown> }[] = [];
  /** Per request: the entry ids to fail, with their error code. */
  failures: { ids: string[]; code: string; senderFault: boolean }[] = [];

  /** The per-call options of each request (undefined: none given). */
  readonly options: unknown[] = [];

  send(
    command: { constructor: { name: string }; input: Record<string, unknown> },
    options?: unknown,
  ): Promise<unknown> {
    this.requests.push({ name: command.constructor.name, input: command.input });
    this.options.push(options);
    const entries = (command.input['Entries'] as { Id: string }[] | undefined) ?? [];
    const failure = this.failures.shift();
    const failed = entries.filter((e) => failure?.ids.includes(e.Id) === true);
    return Promise.resolve({
      Successful: entries.filter((e) => !failed.includes(e)).map((e) => ({ Id: e.Id })),
      Failed: failed.map((e) => ({ Id: e.Id, Code: failure?.code, SenderFault: failure?.senderFault })),
    });
  }
}

function io(client: RecordingClient): SqsIo {
  return new SqsIo(client as unknown as SQSClient, { ackLingerMs: 5, sendLingerMs: 2 });
}

describe('SqsIo', () => {
  it('sends message calls through the messages client with no per-call option (its middleware cache stays), a signal in the input', async () => {
    const main = new RecordingClient();
    const messages = new RecordingClient();
    const sqs = new SqsIo(main as unknown as SQSClient, {
      ackLingerMs: 0,
      sendLingerMs: 0,
      messages: messages as unknown as SQSClient,
    });
    const signal = new AbortController().signal;
    await sqs.send('q', { body: '{}', groupId: 'g', deduplicationId: 'd' }, signal, true);
    await sqs.delete('q', { receiptHandle: 'a' });
    await sqs.changeVisibility('q', { receiptHandle: 'b' }, 0);
    await sqs.receive('q', 10, 0, 30, signal);
    expect(messages.requests.map((r) => r.name)).toEqual([
      'SendMessageBatchCommand',
      'DeleteMessageBatchCommand',
      'ChangeMessageVisibilityBatchCommand',
      'ReceiveMessageCommand',
    ]);
    expect(messages.options).toEqual([undefined, undefined, undefined, undefined]);
    const carried = (r: { input: object }): unknown[] =>
      Object.getOwnPropertySymbols(r.input).map((k) => (r.input as Record<symbol, unknown>)[k]);
    // The send's signal aborts once its callers gave up (the batcher's own); the receive's is the caller's.
    expect(messages.requests.map((r) => carried(r).map((c) => c instanceof AbortSignal))).toEqual([
      [true],
      [],
      [],
      [true],
    ]);
    expect(carried(messages.requests[3] as { input: object })).toEqual([signal]);
    expect(main.requests).toEqual([]);
  });

  it('passes the signal as the SDK option without a messages client (a client of the caller)', async () => {
    const main = new RecordingClient();
    const sqs = new SqsIo(main as unknown as SQSClient, { sendLingerMs: 0 });
    const signal = new AbortController().signal;
    await sqs.send('q', { body: '{}', groupId: 'g', deduplicationId: 'd' }, signal, true);
    expect(main.options).toHaveLength(1);
    expect((main.options[0] as { abortSignal?: unknown }).abortSignal).toBeInstanceOf(AbortSignal);
  });

  it('asks for the system attributes a run reads, SentTimestamp only when asked', async () => {
    const client = new RecordingClient();
    const sqs = io(client);
    await sqs.receive('q', 10, 0, 30);
    await sqs.receive('q', 10, 0, 30, undefined, { sentTimestamp: true, messageAttributes: ['why'] });
    expect(client.requests.map((r) => r.input['MessageSystemAttributeNames'])).toEqual([
      ['ApproximateReceiveCount', 'MessageGroupId'],
      ['ApproximateReceiveCount', 'MessageGroupId', 'SentTimestamp'],
    ]);
    expect(client.requests[1]?.input['MessageAttributeNames']).toContain('why');
  });

  it('reads each receipt handle when the batch is built, not when the delete was asked for', async () => {
    const client = new RecordingClient();
    const message = { receiptHandle: 'old' };
    const done = io(client).delete('q', message);
    message.receiptHandle = 'new'; // SQS delivered it again before the batch went out
    await done;
    expect(client.requests[0]?.input['Entries']).toEqual([{ Id: '0', ReceiptHandle: 'new' }]);
  });

  it('puts visibility changes of one queue in one batch, whatever their timeouts', async () => {
    const client = new RecordingClient();
    const sqs = io(client);
    await Promise.all([
      sqs.changeVisibility('q', { receiptHandle: 'a' }, 0),
      sqs.changeVisibility('q', { receiptHandle: 'b' }, 30),
      sqs.changeVisibility('q', { receiptHandle: 'c' }, 7),
    ]);
    expect(client.requests).toHaveLength(1);
    expect(client.requests[0]?.input['Entries']).toEqual([
      { Id: '0', ReceiptHandle: 'a', VisibilityTimeout: 0 },
      { Id: '1', ReceiptHandle: 'b', VisibilityTimeout: 30 },
      { Id: '2', ReceiptHandle: 'c', VisibilityTimeout: 7 },
    ]);
  });

  it('tries an entry that SQS throttled again, even when it is flagged as the sender\u2019s fault', async () => {
    const client = new RecordingClient();
    client.failures = [{ ids: ['1'], code: 'ThrottlingException', senderFault: true }];
    const sqs = io(client);
    const message = { body: '{}', groupId: 'g', deduplicationId: 'd' };
    await Promise.all([sqs.send('q', message), sqs.send('q', { ...message, deduplicationId: 'e' })]);
    expect(client.requests).toHaveLength(2);
    expect((client.requests[1]?.input['Entries'] as { MessageDeduplicationId: string }[])[0]).toMatchObject({
      MessageDeduplicationId: 'e',
    });
  });

  it('fails an entry SQS refused for good', async () => {
    const client = new RecordingClient();
    client.failures = [{ ids: ['0'], code: 'InvalidParameterValue', senderFault: true }];
    await expect(io(client).send('q', { body: '{}', groupId: 'g', deduplicationId: 'd' })).rejects.toThrow(
      /InvalidParameterValue/,
    );
    expect(client.requests).toHaveLength(1);
  });

  it('withdraws an entry whose run gave up on it before it went out', async () => {
    const client = new RecordingClient();
    const giveUp = new AbortController();
    const sent = io(client).delete('q', { receiptHandle: 'h' }, giveUp.signal);
    giveUp.abort(new Error('run gave up'));
    await expect(sent).rejects.toThrow('run gave up');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(client.requests).toHaveLength(0);
  });
});

describe('RunIo', () => {
  it('gives up on its own run\u2019s requests only, never on another run\u2019s', async () => {
    // Queue `a` never answers (SQS unreachable for it); queue `b` fails once, transiently.
    let bCalls = 0;
    const client = {
      send(command: { input: { QueueUrl?: string; Entries?: { Id: string }[] } }): Promise<unknown> {
        if (command.input.QueueUrl === 'a') return new Promise(() => {});
        bCalls++;
        if (bCalls === 1) return Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
        return Promise.resolve({ Successful: command.input.Entries?.map((e) => ({ Id: e.Id })) });
      },
    };
    const shared = new SqsIo(client as unknown as SQSClient, { ackLingerMs: 1, sendLingerMs: 1 });
    const runA = new RunIo(shared);
    const runB = new RunIo(shared);
    const aSent = runA.send('a', { body: '{}', groupId: 'g', deduplicationId: 'a1' });
    aSent.catch(() => {});
    const bDeleted = runB.delete('b', { receiptHandle: 'h' });
    expect(await runA.flush(50)).toBe(1); // run A stops and gives up on its request in flight
    await expect(bDeleted).resolves.toBeDefined(); // run B's retried delete still goes through
    expect(bCalls).toBe(2);
  });
});
