/**
 * `sqspipes dashboard`, run as a user runs it (the operator CLI in a child process) while the
 * numbers fixture's stages run as processes: its JSON API and access rules over HTTP, then the
 * page in the system's headless Chromium (playwright-core drives it; without a Chromium that part
 * is skipped, saying so). With SQSPIPES_SCREENSHOT=1 the browser test saves docs/dashboard.png.
 */
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { chromium as playwright, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { queueDepths } from '../../src/queues/depths.ts';
import { CHROMIUM_LOOKED_FOR, findChromium } from '../support/browser.ts';
import { NUMBERS_SCRIPT, type StageProcess, startStage } from '../support/spawn.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const TOKEN = 'test-token-0123456789abcdef';

const chromium = findChromium();
if (chromium === undefined) {
  console.warn(
    `No Chromium on this machine (looked for ${CHROMIUM_LOOKED_FOR}): the dashboard browser test is skipped`,
  );
}

describe('sqspipes dashboard', () => {
  const prefix = testDomain('dash');
  let n = 0;
  const raw = rawClient();
  const running: StageProcess[] = [];
  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
    raw.destroy();
  });

  /** A new domain with the fixture's queues (numbers → square → label), all empty. */
  async function pipeline(): Promise<{ domain: string; client: TaskClient }> {
    const domain = `${prefix}${++n}`;
    const { endpoint, region, credentials } = backendEnv();
    const noop = () => null;
    const client = new TaskClient({ domain, endpoint, region, credentials }).registerTasks([
      { method: noop, name: 'numbers' },
      { method: noop, name: 'square' },
      { method: noop, name: 'label' },
    ]);
    await client.createQueues();
    return { domain, client };
  }

  function start(script: string, args: readonly string[], env: Record<string, string> = {}): StageProcess {
    const p = startStage(script, args, env);
    running.push(p);
    return p;
  }

  /** Starts the dashboard on a free port; resolves with it and the URL it printed. */
  async function dashboard(domain: string, flags: readonly string[]) {
    const p = start(OPERATOR, [
      'dashboard',
      '--domain',
      domain,
      '--port',
      '0',
      '--interval',
      '500ms',
      ...flags,
    ]);
    await p.waitForLines(1);
    const url = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/\S*)$/.exec(String(p.lines[0]))?.[1];
    expect(url, String(p.lines[0])).toBeDefined();
    return { process: p, url: url ?? '', origin: new URL(url ?? '').origin };
  }

  async function visible(name: string): Promise<number> {
    const out = await raw.send(new GetQueueUrlCommand({ QueueName: name }));
    return (await queueDepths(raw, out.QueueUrl ?? '')).visible;
  }

  /** Visible and in flight. */
  async function queued(name: string): Promise<number> {
    const out = await raw.send(new GetQueueUrlCommand({ QueueName: name }));
    const { visible: shown, inFlight } = await queueDepths(raw, out.QueueUrl ?? '');
    return shown + inFlight;
  }

  it('serves the counts as JSON, refuses actions without --actions, and stops on SIGTERM', async () => {
    const { domain, client } = await pipeline();
    await client.enqueue('square', 5);
    const { process: p, origin } = await dashboard(domain, []);
    const pipelineJson = (await (await fetch(`${origin}/api/pipeline`)).json()) as {
      actions: boolean;
      stages: { name: string; levels: { level: number; visible: number }[]; dlq: { visible: number } }[];
    };
    expect(pipelineJson.actions).toBe(false);
    expect(pipelineJson.stages.map((s) => s.name)).toEqual(['square', 'label']);
    expect(pipelineJson.stages[0]?.levels).toEqual([expect.objectContaining({ level: 0, visible: 1 })]);
    expect(pipelineJson.stages[0]?.dlq.visible).toBe(0);
    const page = await fetch(`${origin}/`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).not.toMatch(/<script src|<link /);
    const refused = await fetch(`${origin}/api/redrive/square`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/--actions/);
    expect((await fetch(`${origin}/api/dlq/nope`)).status).toBe(404);
    expect(await statusWithHost(origin, 'evil.example:80')).toBe(403);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    await client.close();
  });

  it('refuses actions on a non-loopback address without --token (exit 2)', async () => {
    const p = start(OPERATOR, ['dashboard', '--domain', `${prefix}x`, '--host', '0.0.0.0', '--actions']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/--token/);
  });

  describe.skipIf(chromium === undefined)('in headless Chromium', () => {
    it('shows the counts and charts change as messages flow, a dead letter with its reason, and redrives it', async () => {
      const { domain, client } = await pipeline();
      const { url, origin } = await dashboard(domain, ['--actions', '--token', TOKEN]);
      expect(url).toBe(`${origin}/`); // the token never goes in a URL
      const browser = await playwright.launch({ executablePath: chromium ?? '', args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
        await page.goto(url);
        await until(page, 'square', 0, 'visible', '=', 0);
        // On loopback the counts need no token; the actions do, and the page asks for it.
        await page.locator('#login', { hasText: 'redrive and purge' }).waitFor({ timeout: 20_000 });
        await page.locator('#token').fill('wrong-token-0123456789');
        await page.locator('#login button[type="submit"]').click();
        await page.locator('#login').waitFor({ state: 'hidden', timeout: 20_000 });
        const backlogBefore = await chartPath(page, 'square', 'backlog', 'backlog');

        // The source fills square's input: the page's count goes up.
        const env = { SQSPIPES_DOMAIN: domain };
        const source = start(NUMBERS_SCRIPT, ['numbers', '2', '--limit', '40', '--quiet'], env);
        await until(page, 'square', 0, 'visible', '>', 0);
        expect(await source.exited).toBe(0);
        await until(page, 'square', 0, 'visible', '=', 40);
        await untilChart(page, 'square', 'backlog', 40);
        await untilChart(page, 'square', 'rates', 0);
        expect(await chartPath(page, 'square', 'backlog', 'backlog')).not.toBe(backlogBefore);

        // square takes them all, fails on 7 (which ends in its DLQ), and fills label's input.
        const square = start(NUMBERS_SCRIPT, ['square', '4', '--idle-timeout', '2000', '--quiet'], {
          ...env,
          SQSPIPES_FAIL_ON: '7',
        });
        await until(page, 'label', 0, 'visible', '=', 39);
        await until(page, 'square', 'dlq', 'dlq', '=', 1);
        await until(page, 'square', 0, 'visible', '=', 0);
        await untilChart(page, 'label', 'backlog', 38);
        await untilChart(page, 'label', 'rates', 0); // label's input grew: its rate in
        const squareOut = page.locator('[data-charts="square"] path[data-series="out"]');
        expect(Number(await squareOut.getAttribute('data-points'))).toBeGreaterThan(1);
        const deadLetter = page.locator('[data-dlq-stage="square"] li.dead-letter');
        await deadLetter.filter({ hasText: 'square refuses 7' }).waitFor({ timeout: 20_000 });
        if (process.env['SQSPIPES_SCREENSHOT'] === '1') await page.screenshot({ path: SCREENSHOT });
        expect(await square.exited).toBe(0);

        // Without the token the API refuses; with a wrong one too, and the page asks again.
        expect((await fetch(`${origin}/api/redrive/square`, { method: 'POST' })).status).toBe(401);
        await page.locator('button[data-action="redrive"][data-stage="square"]').click();
        await page.locator('#message', { hasText: 'token was refused' }).waitFor({ timeout: 20_000 });
        await page.locator('#token').fill(TOKEN);
        await page.locator('#login button[type="submit"]').click();
        await page.locator('#login').waitFor({ state: 'hidden', timeout: 20_000 });
        await page.locator('button[data-action="redrive"][data-stage="square"]').click();
        await page.locator('#message', { hasText: 'moved 1 message(s)' }).waitFor({ timeout: 20_000 });
        await until(page, 'square', 'dlq', 'dlq', '=', 0);
        // Back in its input: visible, or in flight when a long poll square's run left as it
        // stopped (idle) was still answered by the emulator (fauxqs does; it then hides the
        // message for the stage's 30 s visibility, as long as this wait).
        await until(page, 'square', 0, ['visible', 'inFlight'], '=', 1);
        expect(await deadLetter.count()).toBe(0);
        expect(await visible(`${domain}-square-dlq.fifo`)).toBe(0);
        expect(await queued(`${domain}-square-p0.fifo`)).toBe(1);
      } finally {
        await browser.close();
        await client.close();
      }
    }, 120_000);
  });
  describe.skipIf(chromium === undefined)('off loopback, in headless Chromium', () => {
    it('shows nothing without the token, asks for it, then shows the pipeline', async () => {
      const { domain, client } = await pipeline();
      const p = start(OPERATOR, [
        'dashboard',
        '--domain',
        domain,
        '--port',
        '0',
        '--host',
        '0.0.0.0',
        '--token',
        TOKEN,
      ]);
      await p.waitForLines(1);
      const printed = /^dashboard: (http:\/\/0\.0\.0\.0:(\d+)\/)$/.exec(String(p.lines[0]));
      expect(printed, String(p.lines[0])).not.toBeNull();
      expect(p.stderr()).toMatch(/not loopback/);
      const origin = `http://127.0.0.1:${printed?.[2] ?? ''}`;
      expect((await fetch(`${origin}/api/pipeline`)).status).toBe(401);
      const browser = await playwright.launch({ executablePath: chromium ?? '', args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        await page.goto(`${origin}/`);
        await page.locator('#login', { hasText: 'enter its token' }).waitFor({ timeout: 20_000 });
        expect(await page.locator('[data-stage]').count()).toBe(0);
        await page.locator('#token').fill(TOKEN);
        await page.locator('#login button[type="submit"]').click();
        await until(page, 'square', 0, 'visible', '=', 0);
        await page.locator('#login').waitFor({ state: 'hidden', timeout: 20_000 });
        expect(page.url()).toBe(`${origin}/`); // the token went in no URL
        await page.reload(); // the tab keeps it
        await until(page, 'label', 0, 'visible', '=', 0);
      } finally {
        await browser.close();
        await client.close();
        p.child.kill('SIGTERM');
      }
      expect(await p.exited).toBe(0);
    }, 60_000);
  });
});

/**
 * Waits (up to 30 s) until the number the page shows in `field` of a stage's level (or the sum of
 * `fields`) is (`=`) or exceeds (`>`) `n`.
 */
async function until(
  page: Page,
  stage: string,
  level: number | 'dlq',
  field: string | readonly string[],
  op: '=' | '>',
  n: number,
): Promise<void> {
  interface Node {
    readonly textContent: string | null;
  }
  const fields = typeof field === 'string' ? [field] : field;
  const selectors = fields.map((f) => `[data-stage="${stage}"] [data-level="${level}"] [data-field="${f}"]`);
  await page.waitForFunction(
    ({ selectors, op, n }) => {
      // Runs in the page (this project's types have no DOM).
      const { document } = globalThis as unknown as { document: { querySelector(s: string): Node | null } };
      const texts = selectors.map((selector) => document.querySelector(selector)?.textContent ?? '');
      if (texts.includes('')) return false;
      const sum = texts.reduce((total, text) => total + Number(text), 0);
      return op === '=' ? sum === n : sum > n;
    },
    { selectors, op, n },
    { timeout: 30_000, polling: 100 },
  );
}

/** Waits (up to 30 s) until the largest value of a stage's chart reaches `min` (for 0: is above it). */
async function untilChart(page: Page, stage: string, chart: 'backlog' | 'rates', min: number): Promise<void> {
  interface Node {
    getAttribute(name: string): string | null;
  }
  const selector = `[data-charts="${stage}"] svg[data-chart="${chart}"]`;
  await page.waitForFunction(
    ({ selector, min }) => {
      const { document } = globalThis as unknown as { document: { querySelector(s: string): Node | null } };
      const max = Number(document.querySelector(selector)?.getAttribute('data-max') ?? 'NaN');
      return min > 0 ? max >= min : max > min;
    },
    { selector, min },
    { timeout: 30_000, polling: 100 },
  );
}

/** The `d` of a series' path in a stage's chart. */
async function chartPath(page: Page, stage: string, chart: string, series: string): Promise<string | null> {
  return page
    .locator(`[data-charts="${stage}"] svg[data-chart="${chart}"] path[data-series="${series}"]`)
    .getAttribute('d');
}

/** The status of `GET /api/pipeline` sent with `host` as its Host header. */
function statusWithHost(origin: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/api/pipeline`, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}
