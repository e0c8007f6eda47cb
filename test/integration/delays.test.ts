/**
 * Items for later (issue 25): `enqueue()`/`submit()` with `delay`/`at` and a stage's `delayed()`
 * outputs reach their stage once, never before they are due, and about a second late at most
 * while a run of the domain polls its timers; a delay longer than one hop (shortened to 5 s here)
 * is re-sent hop after hop; a run SIGKILLed while it holds timers loses none.
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../src/envelope.ts';
import { delayed, type TaskClient } from '../../src/index.ts';
import { type Arrival, delaysClient } from '../fixtures/delays-pipeline.ts';
import { collect } from '../support/pipeline.ts';
import { startStage } from '../support/spawn.ts';
import { backendEnv, deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/delays-pipeline.ts', import.meta.url));
/** How late an item may come while a run polls: a hop's rounding up to a second, and round trips. */
const LATENESS_MS = 3000;

function client(label: string): { client: TaskClient; domain: string } {
  const domain = uniquePrefix(label);
  const { endpoint, region, credentials } = backendEnv();
  const made = delaysClient({ domain, endpoint, region, credentials });
  afterAll(async () => {
    await made.close();
    const raw = rawClient();
    await deleteQueuesWithPrefix(raw, domain);
    raw.destroy();
  });
  return { client: made, domain };
}

/** Runs `arrive` until `count` arrivals, returning them with the time each reached the test. */
async function arrivals(c: TaskClient, count: number): Promise<Arrival[]> {
  const out: Arrival[] = [];
  for await (const a of c.run('arrive', { limit: count })) out.push(a as Arrival);
  return out;
}

/** Receives `count` messages of `arrive`'s queue (and deletes them): each `{ n, due }`, `at` when SQS took it. */
async function sentToQueue(c: TaskClient, count: number): Promise<Arrival[]> {
  const url = (await c.queues()).find((q) => q.stage === 'arrive' && q.level === 0)?.url ?? '';
  const raw = rawClient();
  const out: Arrival[] = [];
  try {
    while (out.length < count) {
      const { Messages = [] } = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      for (const m of Messages) {
        const decoded = decodeEnvelope(m.Body);
        if (!decoded.ok) throw new Error(`not an envelope: ${m.Body ?? ''}`);
        const { n, due } = decoded.envelope.value as { n: number; due: number };
        out.push({ n, due, at: Number(m.Attributes?.SentTimestamp) });
        await raw.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    return out;
  } finally {
    raw.destroy();
  }
}

function expectOnceAndOnTime(
  got: readonly Arrival[],
  expected: readonly number[],
  lateness = LATENESS_MS,
): void {
  expect(got.map((a) => a.n).sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
  for (const a of got) {
    expect(a.at, `item ${a.n} came before it was due`).toBeGreaterThanOrEqual(a.due);
    expect(a.at - a.due, `item ${a.n} came late`).toBeLessThanOrEqual(lateness);
  }
}

describe('items for later', () => {
  const { client: c } = client('delays');

  it('delayed() outputs, enqueue({ delay }) and submit({ at }) arrive once, never early, on time', async () => {
    const stop = new AbortController();
    // Its outputs go on to `arrive` through the timers.
    const later = collect(c.run('later', { signal: stop.signal }));
    const start = Date.now();
    // Through `later`'s delayed() outputs: 0 to 12 s, so that some take several 5 s hops.
    for (let n = 0; n < 10; n++) await c.enqueue('later', { n, delay: n * 1300 });
    // Straight into `arrive`, for later: the value carries its due time.
    const due = start + 4000;
    await c.enqueue('arrive', { n: 100, due }, { at: due });
    const submitted = await c.submit({ n: 101, due: start + 2500 }, { stage: 'arrive', at: start + 2500 });
    await c.enqueue('arrive', { n: 102, due: Date.now() }, { delay: 0 }); // no delay: at once

    const got = await arrivals(c, 13);
    expectOnceAndOnTime(got, [...Array.from({ length: 10 }, (_, n) => n), 100, 101, 102]);
    await expect(submitted.result()).resolves.toEqual([expect.objectContaining({ n: 101 })]);
    stop.abort();
    expect(await later).toHaveLength(10);
  }, 60_000);

  it('refuses a delayed() output on the last stage, and bad delays, before any request', async () => {
    expect(() => delayed(1, -1)).toThrow(/delayed\(\) expects a delay in ms >= 0/);
    await expect(c.enqueue('arrive', 1, { delay: 1, at: 2 })).rejects.toThrow(
      "`delay` of enqueue('arrive') and `at` of enqueue('arrive') cannot both be given: choose one",
    );
    await expect(c.enqueue('arrive', 1, { at: 'soon' as unknown as number })).rejects.toThrow(
      /Expected `at` of enqueue\('arrive'\) to be a Date or a time in epoch ms/,
    );
  });
});

describe('items for later across SIGKILLs', () => {
  const { client: c, domain } = client('delays-kill');

  it('a run killed while it holds timers loses none; each arrives once, never early', async () => {
    const count = 40;
    await c.createQueues();
    const start = Date.now();
    // Due from 3 s to a minute away: the later ones take many of the shortened 5 s hops.
    const items = Array.from({ length: count }, (_, n) => ({ n, due: start + 3000 + n * 1500 }));
    await Promise.all(items.map((v) => c.enqueue('arrive', v, { at: v.due })));
    // Stage processes of `arrive` on its level 1 only sweep its timers, sending them on to level 0,
    // which they do not consume: each is SIGKILLed 1 to 3 s after it starts, for the first half
    // minute; then one stays.
    const env = { SQSPIPES_DOMAIN: domain };
    let kills = 0;
    while (Date.now() < start + 30_000) {
      const p = startStage(SCRIPT, ['arrive', '2', '--min-priority', '1'], env);
      await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 2000));
      p.child.kill('SIGKILL');
      await p.exited;
      kills++;
    }
    const calm = Date.now();
    // The one that stays sends on what the killed ones left (after its 10 s visibility).
    const survivor = startStage(SCRIPT, ['arrive', '2', '--min-priority', '1'], env);
    // When SQS accepted each in `arrive`'s queue (no run of `arrive` ran meanwhile to tell).
    const got = (await sentToQueue(c, count)).map((a) => ({ ...a, due: items[a.n]?.due ?? 0 }));
    survivor.child.kill('SIGKILL');
    await survivor.exited;
    // Taken by a run killed before it sent it on (or by a long poll of a killed run that SQS still
    // answered), a timer comes back after the 10 s visibility of the timers queue, and may be
    // taken so again: each such kill makes it up to 10 s later. Due once a run polled in peace
    // (its start-up included), it is on time.
    expectOnceAndOnTime(
      got,
      items.map((v) => v.n),
      Number.POSITIVE_INFINITY,
    );
    const peaceful = got.filter((a) => a.due > calm + 5000);
    expect(peaceful.length).toBeGreaterThan(10);
    expectOnceAndOnTime(
      peaceful,
      peaceful.map((a) => a.n),
    );
    expect(kills).toBeGreaterThanOrEqual(8);
  }, 180_000);
});
