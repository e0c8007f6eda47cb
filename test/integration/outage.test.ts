/**
 * Producer calls while SQS cannot be reached: `enqueue()`, `submit()` and `close()` settle within
 * the client's `sendTimeout` (or when the caller's signal aborts) with an error naming the
 * endpoint, and a message whose caller gave up is never sent afterwards, when SQS is back.
 */
import { GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionError, TaskClient } from '../../src/index.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const stages = [
  { method: () => 1, name: 'source' },
  { method: (x: unknown) => x, name: 'sink' },
];
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** A client behind a proxy whose mode the test sets; its queues exist (made while SQS was up). */
async function clientBehindProxy(domain: string, sendTimeout = 1500) {
  const { endpoint, region, credentials } = backendEnv();
  const proxy = await startFaultProxy(endpoint, 0);
  cleanups.push(() => proxy.stop());
  const client = new TaskClient({ domain, endpoint: proxy.url, region, credentials, sendTimeout });
  client.registerTasks(stages);
  cleanups.push(() => client.close());
  await client.createQueues();
  return { client, proxy };
}

/** The bodies' values now visible in the sink's input queue, read past the proxy. */
async function queuedValues(domain: string): Promise<unknown[]> {
  const raw = rawClient();
  try {
    const { QueueUrl: url } = await raw.send(new GetQueueUrlCommand({ QueueName: `${domain}-sink-p0.fifo` }));
    const found: unknown[] = [];
    for (;;) {
      const { Messages = [] } = await raw.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length === 0) break;
      for (const m of Messages) found.push((JSON.parse(m.Body ?? '{}') as { d?: unknown }).d);
    }
    return found;
  } finally {
    raw.destroy();
  }
}

describe('producer calls while SQS is unreachable', () => {
  const domain = testDomain('outage');

  it('enqueue() rejects with a ConnectionError naming the endpoint, and the value is never sent later', async () => {
    const { client, proxy } = await clientBehindProxy(`${domain}a`);
    proxy.setMode('down');
    const error: unknown = await client.enqueue('sink', 'lost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).endpoint).toBe(proxy.url);
    expect((error as ConnectionError).message).toContain(proxy.url);
    proxy.setMode('faults');
    await client.enqueue('sink', 'sent');
    await client.close();
    expect(await queuedValues(`${domain}a`)).toEqual(['sent']);
  });

  it('a request on the wire when the time runs out: the error says the outcome is unknown', async () => {
    const { client, proxy } = await clientBehindProxy(`${domain}b`);
    await client.enqueue('sink', 'first'); // the queue's URL is known: the next call only sends
    proxy.setMode('hang');
    const error: unknown = await client.enqueue('sink', 'maybe', { id: 'k1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).outcomeUnknown).toBe(true);
    expect((error as Error).message).toMatch(/same `id` is safe/);
  });

  it('enqueue() rides out an outage shorter than its sendTimeout, also while it looks up its queue', async () => {
    const { client, proxy } = await clientBehindProxy(`${domain}e`, 60_000);
    proxy.setMode('down');
    const pending = client.enqueue('sink', 'late');
    // More failed requests than the SDK's own attempts: the call tries again until its deadline.
    await vi.waitFor(() => expect(proxy.counts.refused).toBeGreaterThan(6), { timeout: 30_000 });
    proxy.setMode('faults');
    await pending;
    await client.close();
    expect(await queuedValues(`${domain}e`)).toEqual(['late']);
  });

  it("enqueue() ends with the caller's own reason when its signal aborts", async () => {
    const { client, proxy } = await clientBehindProxy(`${domain}c`, 60_000);
    proxy.setMode('down');
    const caller = new AbortController();
    const reason = new Error('the HTTP request was cancelled');
    const pending = client.enqueue('sink', 'x', { signal: caller.signal });
    setTimeout(() => caller.abort(reason), 200);
    await expect(pending).rejects.toBe(reason);
    proxy.setMode('faults');
    await client.close();
    expect(await queuedValues(`${domain}c`)).toEqual([]);
  });

  it('submit() rejects with a ConnectionError, and close() settles with a send on the wire', async () => {
    const { client, proxy } = await clientBehindProxy(`${domain}d`);
    await client.enqueue('sink', 'first');
    proxy.setMode('hang');
    await expect(client.submit('x')).rejects.toBeInstanceOf(ConnectionError);
    const hung = proxy.counts.hung;
    const late = client.enqueue('sink', 'y').catch((e: unknown) => e);
    await vi.waitFor(() => expect(proxy.counts.hung).toBeGreaterThan(hung), { timeout: 10_000 });
    await client.close().catch(() => {}); // bounded: it may report what it gave up
    expect(await late).toBeInstanceOf(ConnectionError);
  });
});
