/**
 * Reply queues (src/replies/reply-queue.ts) and `sqspipes replies`, on the test backend. Every
 * domain here starts with one unique prefix `base`, whose queues are all deleted after the file:
 * `base2` and `base-x` stand by to prove that domain `base` never touches their reply queues, and
 * queues named like `base`'s reply queues but untagged, or tagged with another domain, prove that
 * only the tags make a queue one of `base`'s.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ListQueueTagsCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HEARTBEAT_TAG,
  newSenderId,
  REPLY_ROLE,
  ReplyQueue,
  replyQueueName,
} from '../../src/replies/reply-queue.ts';
import { listReplyQueues, removeStaleReplyQueues } from '../../src/replies/stale-replies.ts';
import { TAG } from '../../src/queues/naming.ts';
import type { Logger } from '../../src/types.ts';
import { childEnv, deleteQueuesWithPrefix, queueExists, rawClient, uniquePrefix } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));
const MINUTE = 60_000;

const base = uniquePrefix('rq');
const raw = rawClient();
const made: ReplyQueue[] = [];

afterAll(async () => {
  await Promise.all(made.map((q) => q.delete()));
  await deleteQueuesWithPrefix(raw, base);
  raw.destroy();
});

async function replyQueue(domain: string, options: Parameters<typeof ReplyQueue.create>[2] = {}) {
  const queue = await ReplyQueue.create(raw, domain, options);
  made.push(queue);
  return queue;
}

/** Sets the heartbeat tag of the queue at `url` to `at` (epoch ms), as if its owner beat then. */
async function setHeartbeat(url: string, at: number): Promise<void> {
  await raw.send(new TagQueueCommand({ QueueUrl: url, Tags: { [HEARTBEAT_TAG]: String(at) } }));
}

/** A FIFO queue made directly, with `tags`. */
async function rawQueue(name: string, tags: Record<string, string> = {}): Promise<string> {
  const out = await raw.send(
    new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true' }, tags }),
  );
  return out.QueueUrl ?? '';
}

const exists = (name: string) => queueExists(raw, name);

async function tags(url: string): Promise<Record<string, string>> {
  return (await raw.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags ?? {};
}

/** An SQS client whose TagQueue calls are reported to `onTag` as they settle. */
function watchedClient(onTag: (failed: boolean) => void): SQSClient {
  const client = rawClient();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TagQueueCommand') return next(args);
      try {
        const out = await next(args);
        onTag(false);
        return out;
      } catch (error) {
        onTag(true);
        throw error;
      }
    },
    { step: 'initialize', name: 'testWatchTagQueue' },
  );
  return client;
}

describe('reply queues', () => {
  it('are created tagged, listed live, and stale once their heartbeat is old; only stale ones of the domain are removed', async () => {
    const domain = `${base}a`;
    const [live, old, other2, otherX] = await Promise.all([
      replyQueue(domain),
      replyQueue(domain),
      replyQueue(`${domain}2`),
      replyQueue(`${domain}-x`),
    ]);
    expect(live.name).toBe(replyQueueName(domain, live.senderId));
    expect(await tags(live.url)).toMatchObject({
      [TAG.domain]: domain,
      [TAG.role]: REPLY_ROLE,
      'sqspipes:host': hostname(),
      'sqspipes:pid': String(process.pid),
      [HEARTBEAT_TAG]: expect.stringMatching(/^\d+$/) as unknown,
    });
    const longAgo = Date.now() - 10 * MINUTE;
    // Named like reply queues of `domain`: one untagged, one tagged with another domain; both old.
    const untagged = replyQueueName(domain, newSenderId());
    const foreign = replyQueueName(domain, newSenderId());
    await Promise.all([
      setHeartbeat(old.url, longAgo),
      setHeartbeat(other2.url, longAgo),
      setHeartbeat(otherX.url, longAgo),
      rawQueue(untagged),
      rawQueue(foreign, { [TAG.domain]: `${domain}2`, [TAG.role]: REPLY_ROLE, [HEARTBEAT_TAG]: '1' }),
    ]);

    const listed = await listReplyQueues(raw, domain);
    expect(listed.map((q) => [q.name, q.stale])).toEqual(
      [
        [live.name, false],
        [old.name, true],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    const mine = listed.find((q) => q.name === live.name);
    expect(mine).toMatchObject({ url: live.url, host: hostname(), pid: process.pid });
    expect(Date.now() - (mine?.heartbeatAt?.getTime() ?? 0)).toBeLessThan(MINUTE);
    expect(listed.find((q) => q.name === old.name)?.heartbeatAt?.getTime()).toBe(longAgo);

    expect(await removeStaleReplyQueues(raw, domain)).toEqual([old.name]);
    expect((await listReplyQueues(raw, domain)).map((q) => q.name)).toEqual([live.name]);
    const kept = [live.name, untagged, foreign, other2.name, otherX.name];
    expect(await Promise.all(kept.map(exists))).toEqual(kept.map(() => true));
    expect(await exists(old.name)).toBe(false);
    // A queue already gone (removed as stale) deletes fine; so does a second delete, and a third at once.
    await old.delete();
    await Promise.all([live.delete(), live.delete()]);
    await live.delete();
    expect(await exists(live.name)).toBe(false);
    expect(await removeStaleReplyQueues(raw, domain)).toEqual([]);
  });

  it('judges staleness by staleAfterMs and now, and a missing or unparsable heartbeat as stale', async () => {
    const domain = `${base}b`;
    const [recent, bad] = await Promise.all([replyQueue(domain), replyQueue(domain)]);
    const twoMinutesAgo = Date.now() - 2 * MINUTE;
    await Promise.all([
      setHeartbeat(recent.url, twoMinutesAgo),
      raw.send(new TagQueueCommand({ QueueUrl: bad.url, Tags: { [HEARTBEAT_TAG]: 'yesterday' } })),
    ]);
    const state = async (options: { staleAfterMs?: number; now?: number }) =>
      Object.fromEntries((await listReplyQueues(raw, domain, options)).map((q) => [q.name, q.stale]));
    expect(await state({})).toEqual({ [recent.name]: false, [bad.name]: true });
    expect(await state({ staleAfterMs: MINUTE })).toEqual({ [recent.name]: true, [bad.name]: true });
    expect(await state({ now: twoMinutesAgo + 10 * MINUTE })).toEqual({
      [recent.name]: true,
      [bad.name]: true,
    });
    expect((await listReplyQueues(raw, domain)).find((q) => q.name === bad.name)?.heartbeatAt).toBe(
      undefined,
    );
  });

  it('refreshes its heartbeat while it lives, warns once when that fails, and never throws', async () => {
    const domain = `${base}h`;
    let beats = 0;
    let failures = 0;
    let onBeat: (() => void) | undefined;
    let onFailures: (() => void) | undefined;
    const client = watchedClient((failed) => {
      if (failed) {
        failures++;
        if (failures >= 3) onFailures?.();
      } else {
        beats++;
        onBeat?.();
      }
    });
    const warnings: unknown[][] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (...args: unknown[]) => warnings.push(args),
      error() {},
    };
    try {
      const queue = await ReplyQueue.create(client, domain, { heartbeatEveryMs: 50, logger });
      made.push(queue);
      const longAgo = Date.now() - 10 * MINUTE;
      await setHeartbeat(queue.url, longAgo);
      const beat = new Promise<void>((resolve) => (onBeat = resolve));
      const before = beats;
      await beat;
      expect(beats).toBeGreaterThan(before);
      // The tag write that resolved `beat` may have raced ours: the one after it cannot have.
      await new Promise<void>((resolve) => (onBeat = resolve));
      expect(Number((await tags(queue.url))[HEARTBEAT_TAG])).toBeGreaterThan(longAgo);
      expect((await listReplyQueues(raw, domain)).map((q) => q.stale)).toEqual([false]);

      // Deleted behind its back: the heartbeat fails again and again, and warns once.
      const failing = new Promise<void>((resolve) => (onFailures = resolve));
      await raw.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
      await failing;
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.[1]).toMatch(/reply queue heartbeat failed/);
      expect(warnings[0]?.[0]).toMatchObject({ queue: queue.name });
      await queue.delete();
    } finally {
      client.destroy();
    }
  });
});

interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs `sqspipes <args>` with the backend's environment. */
async function cli(args: readonly string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', stdout, stderr };
}

async function ok(args: readonly string[]): Promise<CliResult> {
  const result = await cli(args);
  expect(result.code, `sqspipes ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

describe('sqspipes replies', () => {
  it('shows the reply queues live or stale, as a table or JSON lines, and removes the stale ones', async () => {
    const domain = `${base}c`;
    const d = ['--domain', domain];
    const [live, recent, old, other] = await Promise.all([
      replyQueue(domain),
      replyQueue(domain),
      replyQueue(domain),
      replyQueue(`${domain}2`),
    ]);
    const untagged = replyQueueName(domain, newSenderId());
    const now = Date.now();
    // `live` beat just now, as far as any --stale-after can tell: a heartbeat ahead of the clock is live.
    await Promise.all([
      setHeartbeat(live.url, now + 10 * MINUTE),
      setHeartbeat(recent.url, now - 2 * MINUTE),
      setHeartbeat(old.url, now - 10 * MINUTE),
      setHeartbeat(other.url, now - 10 * MINUTE),
      rawQueue(untagged),
    ]);
    const byName = (a: readonly string[], b: readonly string[]) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : 1);

    const table = await ok(['replies', ...d]);
    expect(table.stderr).toBe('');
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['QUEUE', 'HOST', 'PID', 'HEARTBEAT', 'STATE']);
    const host = hostname();
    const pid = String(process.pid);
    expect(rows.map((r) => r.trim().split(/\s{2,}/))).toEqual(
      [
        [live.name, host, pid, 'just now', 'live'],
        [recent.name, host, pid, '2m ago', 'live'],
        [old.name, host, pid, '10m ago', 'stale'],
      ].sort(byName),
    );

    const json = await ok(['replies', ...d, '--json']);
    const lines = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l['queue'], l['state']])).toEqual(
      [
        [live.name, 'live'],
        [recent.name, 'live'],
        [old.name, 'stale'],
      ].sort((a, b) => byName(a, b)),
    );
    expect(lines.find((l) => l['queue'] === old.name)).toMatchObject({
      url: old.url,
      host,
      pid: process.pid,
      heartbeatAt: new Date(now - 10 * MINUTE).toISOString(),
    });

    const removed = await ok(['replies', ...d, '--remove-stale']);
    expect(removed.stdout).toBe(`removed ${old.name}\n1 stale reply queue removed (no heartbeat for 5m)\n`);
    const quick = await ok(['replies', ...d, '--remove-stale', '--stale-after', '1s', '--json']);
    expect(JSON.parse(quick.stdout)).toEqual({ removed: [recent.name] });
    expect(quick.stderr).toMatch(/--stale-after 1s is shorter than the owners' heartbeat interval \(1m\)/);
    expect(await Promise.all([live.name, untagged, other.name].map(exists))).toEqual([true, true, true]);
    expect(await Promise.all([old.name, recent.name].map(exists))).toEqual([false, false]);

    const none = await ok(['replies', '--domain', `${base}none`, '--remove-stale']);
    expect(none.stdout).toBe('0 stale reply queues removed (no heartbeat for 5m)\n');
    const empty = await ok(['replies', '--domain', `${base}none`]);
    expect(empty).toMatchObject({ stdout: '', stderr: `No reply queues for domain ${base}none\n` });
  });

  it('refuses a bad --stale-after with exit code 2, naming the flag and the value', async () => {
    const results = await Promise.all([
      cli(['replies', '--domain', base, '--stale-after', '5x']),
      cli(['replies', '--domain', base, '--stale-after', '300']),
      cli(['replies', '--domain', base, '--remove-stale=no']),
    ]);
    expect(results.map((r) => [r.code, r.stdout])).toEqual([
      [2, ''],
      [2, ''],
      [2, ''],
    ]);
    expect(results[0]?.stderr).toBe(
      '--stale-after must be a duration from 1s to 30d: an integer and a unit (ms, s, m, h or d) such as 30s, 5m, 2h or 1500ms, got "5x" (see sqspipes replies --help)\n',
    );
    expect(results[1]?.stderr).toMatch(/got "300"/);
    expect(results[2]?.stderr).toMatch(/--remove-stale takes no value/);
  });
});
