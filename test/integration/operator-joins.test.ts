/**
 * The joins waiting, as an operator sees them: `status --payload-bucket` (table, --json, --watch),
 * the dashboard's snapshot, the stage CLI's progress line of a join stage, and
 * TaskClient.joinsWaiting(). The pipeline is the join chaos fixture's (split → work → gather, a
 * join → sink); its join states are written by the join's own store (S3JoinStateStore): two items
 * waiting, one joined (a tombstone). ElasticMQ has no S3: the file skips there.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { chromium as playwright } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JoinStatusRow } from '../../src/cli/operator/status-joins.ts';
import type { StatusRow } from '../../src/cli/operator/status.ts';
import type { PipelineSnapshot } from '../../src/cli/operator/dashboard/snapshot.ts';
import type { TaskClient } from '../../src/index.ts';
import { CONFLICT } from '../../src/payloads/join-state.ts';
import { S3JoinStateStore } from '../../src/payloads/join-state-s3.ts';
import { resolvePayloadOptions } from '../../src/payloads/options.ts';
import { PayloadStore } from '../../src/payloads/store.ts';
import type { Logger } from '../../src/types.ts';
import { joinChaosClient, PAYLOAD_PREFIX } from '../fixtures/join-chaos-pipeline.ts';
import { findChromium } from '../support/browser.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { startStage, type StageProcess, waitForText } from '../support/spawn.ts';
import { backendEnv, childEnv, testDomain, uniquePrefix } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../fixtures/join-chaos-pipeline.ts', import.meta.url));

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`operator-joins.test.ts: ${skipped}`);

/** The page is looked at where a Chromium is installed (see dashboard.test.ts). */
const chromium = findChromium();

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

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

async function ok(args: readonly string[]): Promise<string> {
  const result = await cli(args);
  expect(result.code, `sqspipes ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe.skipIf(skipped !== undefined)(skipped ?? 'the joins waiting, for an operator', () => {
  const bucket = testBucket('opjoins');
  const domain = testDomain('opjoins');
  const { endpoint, region, credentials } = backendEnv();
  const payloadFlags = ['--payload-bucket', bucket, '--payload-prefix', PAYLOAD_PREFIX];
  let client: TaskClient;
  const running: StageProcess[] = [];
  /** When the states were written: the oldest was last folded between these. */
  const written = { from: 0, to: 0 };

  beforeAll(async () => {
    client = joinChaosClient(
      { domain, endpoint, region, credentials, payloads: { bucket, prefix: PAYLOAD_PREFIX } },
      { flaky: false },
    );
    await client.createQueues();
    const options = resolvePayloadOptions({ bucket, prefix: PAYLOAD_PREFIX });
    if (options === undefined) throw new Error('unreachable');
    const source = { endpoint, region, credentials: async () => credentials };
    const store = new PayloadStore({ options, source, logger: quiet });
    const states = new S3JoinStateStore({ store, domain, join: 'gather', logger: quiet });
    written.from = Math.floor(Date.now() / 1000) * 1000; // S3 may keep whole seconds
    for (const id of ['item-1', 'item-2', 'item-3']) {
      const created = await states.create(id, JSON.stringify({ id }));
      if (created === CONFLICT) throw new Error(`the create of ${id} conflicted`);
      if (id === 'item-3' && (await states.update(id, '', created.version)) === CONFLICT) {
        throw new Error('the tombstone conflicted');
      }
    }
    written.to = Date.now();
    await store.close();
  });
  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await client.close();
  });

  function expectGather(joins: readonly JoinStatusRow[] | null): void {
    expect(joins).toEqual([
      { stage: 'gather', waiting: 2, capped: false, oldestFoldedAt: expect.any(String) as unknown },
    ]);
    const oldest = Date.parse(joins?.[0]?.oldestFoldedAt ?? '');
    expect(oldest).toBeGreaterThanOrEqual(written.from);
    expect(oldest).toBeLessThanOrEqual(written.to);
  }

  it('status --json with --payload-bucket: { queues, joins }; without it, the array of queues as before', async () => {
    const withJoins = JSON.parse(await ok(['status', '--domain', domain, '--json', ...payloadFlags])) as {
      queues: StatusRow[];
      joins: JoinStatusRow[];
    };
    expectGather(withJoins.joins);
    const queues = JSON.parse(await ok(['status', '--domain', domain, '--json'])) as StatusRow[];
    expect(withJoins.queues).toEqual(queues);
    expect(queues.map((q) => q.stage)).toContain('gather');
  });

  it('status prints the joins in a second table; --watch --json one object per refresh', async () => {
    const text = await ok(['status', '--domain', domain, ...payloadFlags]);
    const tables = text.split('\n\n');
    const [queues] = tables;
    // The joins' table, after the queues' (and the timers' and permits', once those queues exist).
    const joins = tables.find((table) => table.startsWith('JOIN STAGE'));
    expect(queues).toMatch(/^STAGE +LEVEL/);
    expect(joins?.trim().split('\n')).toEqual([
      expect.stringMatching(/^JOIN STAGE +WAITING +OLDEST LAST FOLDED$/) as unknown,
      expect.stringMatching(/^gather +2 +(just now|\d+s ago)$/) as unknown,
    ]);
    const watched = await ok([
      'status',
      '--domain',
      domain,
      '--watch',
      '--count',
      '1',
      '--json',
      ...payloadFlags,
    ]);
    const lines = watched.trim().split('\n');
    expect(lines).toHaveLength(1);
    expectGather((JSON.parse(lines[0] ?? '') as { joins: JoinStatusRow[] }).joins);
  });

  it('status: a domain with no join state says so; a bucket that cannot be listed fails after the queues', async () => {
    const none = await cli(['status', '--domain', `${domain}x`, ...payloadFlags]);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain(
      `No join state of domain ${domain}x under s3://${bucket}/${PAYLOAD_PREFIX}${domain}x/join/`,
    );
    const missing = uniquePrefix('nobucket').toLowerCase();
    const failed = await cli(['status', '--domain', domain, '--payload-bucket', missing]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^STAGE +LEVEL/);
    expect(failed.stderr).toMatch(
      new RegExp(`^The S3 bucket \`${missing}\` does not exist \\(ListObjectsV2`),
    );
    expect(failed.stderr).toMatch(/--payload-bucket\n$/);
  });

  it("the dashboard's snapshot has the joins with --payload-bucket (its page shows them), null without", async () => {
    /** The snapshot of a dashboard started with `flags`, after `look` at its page. */
    const snapshot = async (flags: readonly string[], look?: (url: string) => Promise<void>) => {
      const p = startStage(OPERATOR, ['dashboard', '--domain', domain, '--port', '0', ...flags], {});
      running.push(p);
      try {
        await p.waitForLines(1);
        const url = /^dashboard: (http:\/\/\S+)$/.exec(String(p.lines[0]))?.[1] ?? '';
        await look?.(url);
        return (await (await fetch(new URL('/api/pipeline', url))).json()) as PipelineSnapshot;
      } finally {
        p.child.kill('SIGTERM');
        expect(await p.exited).toBe(0);
      }
    };
    const withJoins = await snapshot(payloadFlags, chromium === undefined ? undefined : showsJoins);
    expectGather(withJoins.joins);
    expect(withJoins.joinsError).toBeNull();
    expect((await snapshot([])).joins).toBeNull();
  });

  /** In headless Chromium: the join stage's card says its joins waiting. */
  async function showsJoins(url: string): Promise<void> {
    const browser = await playwright.launch({ executablePath: chromium ?? '', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      const line = page.locator('[data-stage="gather"] [data-joins="gather"]');
      await line.waitFor({ timeout: 20_000 });
      expect(await line.textContent()).toMatch(/^joins waiting 2, oldest last folded (just now|\d+s ago)$/);
      expect(await page.locator('[data-joins]').count()).toBe(1);
    } finally {
      await browser.close();
    }
  }

  it('TaskClient.joinsWaiting(): the items of a join stage; undefined for another stage', async () => {
    const joins = await client.joinsWaiting('gather');
    expect(joins).toMatchObject({ waiting: 2, capped: false });
    expect(joins?.oldest?.getTime()).toBeGreaterThanOrEqual(written.from);
    expect(await client.joinsWaiting('work')).toBeUndefined();
  });

  it("the stage CLI's progress line of a join stage says its joins waiting", async () => {
    const p = startStage(SCRIPT, ['gather', '1', '--progress-interval', '50'], {
      SQSPIPES_DOMAIN: domain,
      SQSPIPES_PAYLOAD_BUCKET: bucket,
    });
    running.push(p);
    await waitForText(() => p.stderr(), ', joins waiting 2 (oldest ');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toMatch(
      / gather: 0 in, 0 out, 0 failed, .*, backlog .*, joins waiting 2 \(oldest \d+s\)$/m,
    );
  });
});
