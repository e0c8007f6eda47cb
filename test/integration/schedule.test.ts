/**
 * A scheduled source (issue 25) through the public API: with 3 replicas, exactly one item per
 * tick; a replica that starts after no replica ran catches up the ticks missed since the last
 * one recorded on its queue (`catchUp: 'all'`), oldest first, then records the latest it sent.
 */
import { ListQueueTagsCommand, TagQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { collect } from '../support/pipeline.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const TICKS = 20;
const EVERY = 1000;

/** A promise and its resolver, to await an event instead of sleeping. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('a scheduled source with 3 replicas', () => {
  const domain = testDomain('sched'); // registered first: its queues go after the clients close
  const seen: number[] = []; // the sink's inputs, as epoch ms
  const enough = deferred(); // TICKS distinct instants reached the sink
  let wanted = Number.POSITIVE_INFINITY;
  const allSunk = deferred(); // `wanted` inputs reached the sink

  const tick = {
    name: 'tick',
    method: (scheduledAt: string) => ({ at: scheduledAt }),
    schedule: { every: EVERY },
  };
  const sink = {
    name: 'sink',
    method: (item: { at: string }) => {
      seen.push(Date.parse(item.at));
      if (new Set(seen).size >= TICKS) enough.resolve();
      if (seen.length >= wanted) allSunk.resolve();
      return item.at;
    },
  };
  const clients = Array.from({ length: 4 }, () =>
    new TaskClient({ domain, ...backendEnv() }).registerTasks([tick, sink]),
  );
  afterAll(() => Promise.all(clients.map((client) => client.close())));

  it(
    'produces exactly one item per tick over 20 ticks, on multiples of `every`',
    { timeout: 120_000 },
    async () => {
      const replicas = new AbortController();
      const stopSink = new AbortController();
      const [sinkClient, ...tickClients] = clients;
      const sinkRun = collect<string>(sinkClient!.run('sink', { signal: stopSink.signal }));
      const tickRuns = tickClients.map((client) =>
        collect<{ at: string }>(client.run('tick', { signal: replicas.signal })),
      );

      await enough.promise;
      replicas.abort();
      // Every tick a replica processed (each run yields what it produced): the sink must get each.
      const produced = (await Promise.all(tickRuns)).flat().map((output) => Date.parse(output.at));
      wanted = produced.length;
      if (seen.length >= wanted) allSunk.resolve();
      await allSunk.promise;
      stopSink.abort();
      const sunk = await sinkRun;

      const instants = [...produced].sort((a, b) => a - b);
      expect(instants.length).toBeGreaterThanOrEqual(TICKS);
      expect(new Set(instants).size, 'a tick processed twice').toBe(instants.length);
      for (const instant of instants) expect(instant % EVERY).toBe(0);
      const first = instants[0]!;
      const expected = Array.from({ length: instants.length }, (_, i) => first + i * EVERY);
      expect(instants, 'a tick missing between the first and the last').toEqual(expected);
      expect([...seen].sort((a, b) => a - b)).toEqual(instants);
      expect(sunk).toHaveLength(instants.length);
    },
  );
});

describe('a scheduled source that starts after no replica ran', () => {
  const domain = testDomain('catchup');
  const called: number[] = [];
  const client = new TaskClient({ domain, ...backendEnv() }).registerTasks([
    {
      name: 'tick',
      method: (scheduledAt: string) => {
        called.push(Date.parse(scheduledAt));
        return Date.parse(scheduledAt);
      },
      schedule: { every: 60_000 },
      catchUp: 'all',
    },
  ]);
  const raw = rawClient();
  afterAll(async () => {
    await client.close();
    raw.destroy();
  });

  it('catches up the ticks after the last one recorded, oldest first, and records the latest', async () => {
    await client.createQueues();
    const url = (await client.queues()).find((q) => q.level === 0)?.url ?? '';
    const lastTick = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000; // 3 ticks ago
    await raw.send(new TagQueueCommand({ QueueUrl: url, Tags: { 'sqspipes:last-tick': String(lastTick) } }));
    // The next live tick is up to a minute away: the first 3 calls are the missed ticks.
    const out = await collect<number>(client.run('tick', { limit: 3 }));
    const missed = [1, 2, 3].map((i) => lastTick + i * 60_000);
    expect(called).toEqual(missed); // called oldest first
    expect(out.toSorted((a, b) => a - b)).toEqual(missed); // yielded as SQS accepts them
    const { Tags } = await raw.send(new ListQueueTagsCommand({ QueueUrl: url }));
    expect(Number(Tags?.['sqspipes:last-tick'])).toBeGreaterThanOrEqual(lastTick + 3 * 60_000);
  });
});
