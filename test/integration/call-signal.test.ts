/**
 * The clients sqspipes makes send the run's message calls with the SDK's middleware cached, so a
 * call's abort signal rides in its input, not in the SDK's per-call options (src/sqs/call-signal.ts).
 * An abort must still end the request on the wire at once: a stop abandons idle long polls.
 */
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { countRequests, createSqsClients, type RequestCounts } from '../../src/sqs/connect.ts';
import { SqsIo } from '../../src/sqs/sqs-io.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const domain = testDomain('sig');

/** Resolves once `counts` has `n` requests of `action` (checked as each request is made). */
function requestsMade(clients: Awaited<ReturnType<typeof createSqsClients>>, action: string, n: number) {
  const counts: RequestCounts = new Map();
  let reached: () => void = () => {};
  const made = new Promise<void>((resolve) => (reached = resolve));
  countRequests(clients.messages, counts);
  clients.messages.middlewareStack.add(
    (next) => (args) => {
      const sent = next(args);
      if ((counts.get(action) ?? 0) >= n) reached();
      return sent;
    },
    { step: 'finalizeRequest', priority: 'low', name: 'testReached' },
  );
  return made;
}

describe('message calls through the cached client', () => {
  it('an aborted long poll ends at once, and the next receive of the same client still works', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const clients = await createSqsClients({ endpoint, region, credentials, maxSockets: 8 });
    const raw = rawClient();
    try {
      const { QueueUrl: url = '' } = await raw.send(
        new CreateQueueCommand({
          QueueName: `${domain}-q.fifo`,
          Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
        }),
      );
      const polling = requestsMade(clients, 'ReceiveMessage', 1);
      const io = new SqsIo(clients.sqs, { messages: clients.messages });
      const stop = new AbortController();
      // 20 s on an empty queue: without the abort reaching the request, the test times out first.
      const receive = io.receive(url, 1, 20, 30, stop.signal);
      await polling;
      stop.abort(new Error('stopped'));
      await expect(receive).rejects.toThrow();
      await raw.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'after', MessageGroupId: 'g' }));
      const [message] = await io.receive(url, 1, 5, 30);
      expect(message?.Body).toBe('after');
    } finally {
      clients.messages.destroy();
      clients.sqs.destroy();
      raw.destroy();
    }
  }, 15_000);
});
