/**
 * Fleet-wide limits as permits in a FIFO queue (src/time/permits.ts) on the test backend: several
 * pools, each with its own SQS client (as separate processes), share one stage's permits.
 */
import {
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { Provisioner } from '../../src/queues/provisioner.ts';
import { countRequests, type RequestCounts } from '../../src/sqs/connect.ts';
import { parsePermit, permitBody } from '../../src/time/permit-queue.ts';
import {
  type Permit,
  PermitPool,
  PermitPoolClosedError,
  type PermitPoolInit,
} from '../../src/time/permits.ts';
import type { Logger } from '../../src/types.ts';
import { deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';

const domain = uniquePrefix('permits');
const warnings: string[] = [];
const logger: Logger = {
  debug() {},
  info() {},
  error: (fields, message) => warnings.push(`error: ${message} ${JSON.stringify(fields)}`),
  warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`),
};

/** A "process": its own client (its requests counted), provisioner and pool. */
interface Proc {
  readonly pool: PermitPool;
  readonly sqs: SQSClient;
  readonly counts: RequestCounts;
}

const procs: Proc[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.pool.close()));
  for (const p of procs) p.sqs.destroy();
  const sqs = rawClient();
  await deleteQueuesWithPrefix(sqs, domain);
  sqs.destroy();
});

function proc(stage: string, init: Partial<PermitPoolInit> & Pick<PermitPoolInit, 'kind' | 'limit'>): Proc {
  const sqs = rawClient();
  const counts: RequestCounts = new Map();
  countRequests(sqs, counts);
  const provisioner = new Provisioner(sqs, { settleMs: 0 });
  const pool = new PermitPool({ sqs, provisioner, domain, stage, kmsKeyId: undefined, logger, ...init });
  const p = { pool, sqs, counts };
  procs.push(p);
  return p;
}

function sum(counts: readonly RequestCounts[], action: string): number {
  return counts.reduce((total, c) => total + (c.get(action) ?? 0), 0);
}

/** Resolves once `client` has sent `n` requests of `action` (counted from now). */
function requestsSeen(client: SQSClient, action: string, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === `${action}Command` && ++seen === n) resolve();
        return result;
      },
      { step: 'finalizeRequest', priority: 'low', name: `seen${action}${Math.random()}` },
    );
  });
}

/** Every message deliverable now, received (and left in flight for a minute) by a plain client. */
async function drain(sqs: SQSClient, url: string): Promise<number[]> {
  const indexes: number[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return indexes;
    for (const m of messages) indexes.push(parsePermit(m.Body) ?? -1);
  }
}

describe('permits in a FIFO queue', () => {
  it('rate: 3 processes never use one permit twice within the period, and stay within limit × seconds', async () => {
    const per = 1000;
    const limit = 10;
    const ps = [0, 1, 2].map(() => proc('rate', { kind: 'rate', limit, perMs: per }));
    await Promise.all(ps.map((p) => p.pool.start()));
    const before = ps.map((p) => new Map(p.counts));
    const uses: { index: number; at: number; takenAfter: number }[] = [];
    const started = Date.now();
    const end = AbortSignal.timeout(4000);
    await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        const { pool } = ps[k % 3]!;
        for (;;) {
          let permit: Permit;
          try {
            permit = await pool.acquire(end);
          } catch (error) {
            if (end.aborted) return;
            throw error;
          }
          uses.push({ index: permit.index, at: Date.now(), takenAfter: permit.takenAfter });
          permit.release();
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    expect(uses.length).toBeGreaterThan(0);
    expect(uses.length).toBeLessThanOrEqual(limit * (Math.ceil(seconds) + 1));
    const byIndex = new Map<number, typeof uses>();
    for (const use of uses) byIndex.set(use.index, [...(byIndex.get(use.index) ?? []), use]);
    let closest = Number.POSITIVE_INFINITY;
    for (const [index, list] of byIndex) {
      expect(index).toBeLessThan(limit);
      list.sort((a, b) => a.at - b.at);
      for (let i = 1; i < list.length; i++) {
        // SQS took the first after its receive was sent, and gave the next one `per` later at the
        // earliest: sound whatever the round trips.
        expect(list[i]!.at - list[i - 1]!.takenAfter).toBeGreaterThanOrEqual(per);
        closest = Math.min(closest, list[i]!.at - list[i - 1]!.at);
      }
    }
    const counts = ps.map((p) => {
      const c = new Map(p.counts);
      for (const [k, v] of before[ps.indexOf(p)]!) c.set(k, (c.get(k) ?? 0) - v);
      return c;
    });
    const receives = sum(counts, 'ReceiveMessage');
    console.log(
      `rate: ${uses.length} calls in ${seconds.toFixed(1)} s (${(uses.length / seconds).toFixed(1)}/s, limit ${limit}/s), ` +
        `closest reuse of a permit ${closest} ms apart; receives ${receives} (${(receives / uses.length).toFixed(2)} per call), ` +
        `other requests: ${JSON.stringify(counts.flatMap((c) => [...c]).filter(([k, n]) => k !== 'ReceiveMessage' && n > 0))}`,
    );
    await Promise.all(ps.map((p) => p.pool.close()));
  });

  it('slots: 3 processes never run more than the limit at once, and releases give permits back at once', async () => {
    const limit = 5;
    // A lease far beyond the test's timeout: the run ends only if releases give permits back.
    const ps = [0, 1, 2].map(() => proc('slots', { kind: 'slots', limit, leaseSeconds: 600 }));
    await Promise.all(ps.map((p) => p.pool.start()));
    const before = ps.map((p) => new Map(p.counts));
    let running = 0;
    let most = 0;
    const holders = new Set<number>();
    await Promise.all(
      Array.from({ length: 30 }, async (_, k) => {
        const p = ps[k % 3]!;
        const permit = await p.pool.acquire(AbortSignal.timeout(50_000));
        running++;
        most = Math.max(most, running);
        expect(holders.has(permit.index)).toBe(false);
        holders.add(permit.index);
        await p.sqs.send(new ListQueuesCommand({ QueueNamePrefix: domain, MaxResults: 1 })); // the call
        holders.delete(permit.index);
        running--;
        permit.release();
      }),
    );
    expect(most).toBeLessThanOrEqual(limit);
    expect(most).toBeGreaterThan(0);
    const after = ps.map((p) => p.pool.stats());
    expect(after.map((s) => s.held)).toEqual([0, 0, 0]);
    expect(after.reduce((n, s) => n + s.acquired, 0)).toBe(30);
    await Promise.all(ps.map((p) => p.pool.close()));
    const counts = ps.map((p, i) => {
      const c = new Map(p.counts);
      for (const [k, v] of before[i]!) c.set(k, (c.get(k) ?? 0) - v);
      c.delete('ListQueues');
      return c;
    });
    console.log(
      `slots: at most ${most} at once (limit ${limit}); per call: ` +
        ['ReceiveMessage', 'ChangeMessageVisibilityBatch', 'DeleteMessageBatch']
          .map((a) => `${a} ${(sum(counts, a) / 30).toFixed(2)}`)
          .join(', '),
    );
  });

  it('slots: a permit held beyond its lease is extended, so no other process gets it', async () => {
    const a = proc('lease', { kind: 'slots', limit: 1, leaseSeconds: 5 });
    const b = proc('lease', { kind: 'slots', limit: 1, leaseSeconds: 5 });
    await a.pool.start();
    await b.pool.start();
    const permit = await a.pool.acquire(AbortSignal.timeout(30_000));
    const extended = requestsSeen(a.sqs, 'ChangeMessageVisibilityBatch', 2);
    let gotB = false;
    const forB = b.pool.acquire(AbortSignal.timeout(50_000)).then((p) => {
      gotB = true;
      return p;
    });
    await extended; // more than a lease (5 s) since a took it
    expect(gotB).toBe(false);
    expect(b.pool.stats()).toMatchObject({ held: 0, waiting: 1 });
    permit.release();
    const p = await forB;
    expect(p.index).toBe(0);
    p.release();
    await Promise.all([a.pool.close(), b.pool.close()]);
  });

  it('fill: two processes starting at once create `limit` deliverable permits, not more', async () => {
    const limit = 13;
    const a = proc('fill', { kind: 'slots', limit });
    const b = proc('fill', { kind: 'slots', limit });
    await Promise.all([a.pool.start(), b.pool.start()]);
    const sqs = rawClient();
    const url = await new Provisioner(sqs).find(a.pool.name);
    const indexes = await drain(sqs, url!);
    sqs.destroy();
    expect(indexes.toSorted((x, y) => x - y)).toEqual(Array.from({ length: limit }, (_, i) => i));
    await Promise.all([a.pool.close(), b.pool.close()]);
  });

  it('extra copies of a permit stay behind it: nothing of its group is delivered while it is held', async () => {
    const a = proc('copies', { kind: 'slots', limit: 1, leaseSeconds: 600 });
    const b = proc('copies', { kind: 'slots', limit: 1, leaseSeconds: 600 });
    await Promise.all([a.pool.start(), b.pool.start()]);
    const sqs = rawClient();
    const url = (await new Provisioner(sqs).find(a.pool.name))!;
    // As two fills more than 5 minutes apart would leave them.
    for (const id of ['p0-x', 'p0-y'])
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: permitBody(0),
          MessageGroupId: 'p0',
          MessageDeduplicationId: id,
        }),
      );
    const held = await a.pool.acquire(AbortSignal.timeout(30_000));
    expect(await drain(sqs, url)).toEqual([]); // the group waits for the permit a holds
    // Three callers waiting: b asks for 3 messages, and may receive every copy of the group at once.
    const extra = new AbortController();
    const more = [0, 1].map(() => b.pool.acquire(extra.signal).catch(() => undefined));
    const forB = b.pool.acquire(AbortSignal.timeout(30_000));
    held.release();
    const again = await Promise.race([forB, ...more]);
    expect(again?.index).toBe(0);
    expect(await drain(sqs, url)).toEqual([]); // still one permit in use at a time
    extra.abort();
    again?.release();
    await Promise.all(more);
    sqs.destroy();
    console.log(
      `copies: extra copies deleted by the pools: ${sum([a.counts, b.counts], 'DeleteMessageBatch')} request(s)`,
    );
    await Promise.all([a.pool.close(), b.pool.close()]);
  });

  it('a lowered limit deletes the permits above it', async () => {
    const first = proc('resize', { kind: 'rate', limit: 4, perMs: 1000 });
    await first.pool.start();
    await first.pool.close();
    const smaller = proc('resize', { kind: 'rate', limit: 2, perMs: 1000 });
    await smaller.pool.start();
    const deleted = requestsSeen(smaller.sqs, 'DeleteMessageBatch', 1);
    // While 0 and 1 are taken, only 2 and 3 are visible: the third call meets them first.
    const taken = await Promise.all([0, 1, 2].map(() => smaller.pool.acquire(AbortSignal.timeout(30_000))));
    await deleted;
    expect(taken.map((p) => p.index).every((i) => i < 2)).toBe(true);
    await smaller.pool.close();
  });

  it('close releases the slot permits it holds: another process gets them without waiting for the lease', async () => {
    const a = proc('close', { kind: 'slots', limit: 2, leaseSeconds: 600 });
    const b = proc('close', { kind: 'slots', limit: 2, leaseSeconds: 600 });
    await Promise.all([a.pool.start(), b.pool.start()]);
    await Promise.all([0, 1].map(() => a.pool.acquire(AbortSignal.timeout(30_000))));
    expect(a.pool.stats().held).toBe(2);
    const waiting = b.pool.acquire(AbortSignal.timeout(30_000));
    const closedWaiter = a.pool.acquire(AbortSignal.timeout(30_000)).then(
      () => 'got a permit',
      (error: unknown) => error,
    );
    await a.pool.close();
    await a.pool.close(); // idempotent
    expect(await closedWaiter).toBeInstanceOf(PermitPoolClosedError);
    await expect(a.pool.acquire(AbortSignal.timeout(1000))).rejects.toThrow(/closed/);
    const permits = [await waiting, await b.pool.acquire(AbortSignal.timeout(30_000))];
    expect(permits.map((p) => p.index).toSorted()).toEqual([0, 1]);
    for (const p of permits) p.release();
    await b.pool.close();
  });

  it('an acquire aborted by its signal rejects with its reason and leaves no permit held', async () => {
    const a = proc('abort', { kind: 'slots', limit: 1, leaseSeconds: 600 });
    const b = proc('abort', { kind: 'slots', limit: 1, leaseSeconds: 600 });
    await Promise.all([a.pool.start(), b.pool.start()]);
    const permit = await a.pool.acquire(AbortSignal.timeout(30_000));
    const stop = new AbortController();
    const aborted = b.pool.acquire(stop.signal);
    stop.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    expect(b.pool.stats()).toMatchObject({ held: 0, waiting: 0, acquired: 0 });
    permit.release();
    // b's long poll may take the permit back with nobody waiting: it gives it back at once.
    const again = await a.pool.acquire(AbortSignal.timeout(30_000));
    expect(again.index).toBe(0);
    expect(b.pool.stats()).toMatchObject({ held: 0, waiting: 0, acquired: 0 });
    again.release();
    await Promise.all([a.pool.close(), b.pool.close()]);
  });

  it('rate: pause hands out no permit here until it ends', async () => {
    const a = proc('pause', { kind: 'rate', limit: 3, perMs: 1000 });
    const b = proc('pause', { kind: 'rate', limit: 3, perMs: 1000 });
    await Promise.all([a.pool.start(), b.pool.start()]);
    const pausedAt = Date.now();
    a.pool.pause(2000);
    const [mine, theirs] = await Promise.all([
      a.pool.acquire(AbortSignal.timeout(30_000)).then(() => Date.now()),
      b.pool.acquire(AbortSignal.timeout(30_000)).then(() => Date.now()),
    ]);
    expect(mine - pausedAt).toBeGreaterThanOrEqual(2000);
    console.log(
      `pause of 2000 ms: this process waited ${mine - pausedAt} ms, another ${theirs - pausedAt} ms`,
    );
    await Promise.all([a.pool.close(), b.pool.close()]);
  });

  it('logged no warning', () => {
    expect(warnings).toEqual([]);
  });
});
