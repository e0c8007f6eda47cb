/**
 * Items for later and permits in use, seen from outside (issue 25, "Visible"): a stage with
 * `rateLimit` and `maxConcurrency` runs in this process with two calls held (a third waits for a
 * slot) while three of its items wait for later; then `sqspipes status` (text and --json), the
 * dashboard (its API, and its page in headless Chromium when there is one) and the client's
 * OpenTelemetry gauges all show the same figures.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { chromium as playwright } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { findChromium } from '../support/browser.ts';
import { collect } from '../support/pipeline.ts';
import { type StageProcess, startStage } from '../support/spawn.ts';
import { backendEnv, childEnv, deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));

class Reader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}
// Before the client connects: the metrics API has no proxy (each test file has its own process).
const reader = new Reader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

/** A gauge's points as `kind stage` → value. */
async function gauge(name: string): Promise<Record<string, unknown>> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return Object.fromEntries(
    (metric?.dataPoints ?? []).map((p) => [
      `${String(p.attributes['sqspipes.permit.kind'])} ${String(p.attributes['sqspipes.stage'])}`,
      p.value,
    ]),
  );
}

/** Runs `sqspipes <args>` to its end; resolves with its stdout, failing on a non-zero exit. */
async function sqspipes(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code, `sqspipes ${args.join(' ')}\n${stderr}`).toBe(0);
  return stdout;
}

interface Row {
  stage: string;
  level: number | 'dlq';
  later?: number;
  rate?: { inUse: number; limit: number };
  slots?: { inUse: number; limit: number };
}

describe('status, dashboard and metrics: items for later and permits in use', () => {
  const domain = uniquePrefix('stlim');
  const { endpoint, region, credentials } = backendEnv();
  const started: number[] = [];
  let twoStarted: () => void = () => {};
  const twoRunning = new Promise<void>((resolve) => (twoStarted = resolve));
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = new TaskClient({ domain, endpoint, region, credentials }).registerTasks([
    { name: 'source', method: () => null },
    {
      name: 'limited',
      method: async (n: number) => {
        started.push(n);
        if (started.length === 2) twoStarted();
        await gate;
        return n;
      },
      workers: 3,
      rateLimit: { limit: 5, per: 60_000 },
      maxConcurrency: 2,
    },
  ]);
  const processes: StageProcess[] = [];
  afterAll(async () => {
    open();
    for (const p of processes) p.child.kill('SIGKILL');
    await client.close();
    const raw = rawClient();
    await deleteQueuesWithPrefix(raw, domain);
    raw.destroy();
  });

  it('shows the items for later and the permits in use of the limits', async () => {
    for (const n of [101, 102, 103]) await client.enqueue('limited', n, { delay: 600_000 });
    for (const n of [1, 2, 3]) await client.enqueue('limited', n);
    const outputs = collect<number>(client.run('limited', { limit: 3 }));
    await twoRunning;
    // The third call waits for a slot (both are held), and only then for a rate permit.
    await expect
      .poll(() => gauge('sqspipes.permits.waiting'), { timeout: 20_000 })
      .toEqual({ 'slots limited': 1, 'rate limited': 0 });
    expect(await gauge('sqspipes.permits.held')).toEqual({ 'slots limited': 2, 'rate limited': 2 });

    const figures = { later: 3, rate: { inUse: 2, limit: 5 }, slots: { inUse: 2, limit: 2 } };
    const rows = JSON.parse(await sqspipes(['status', '--domain', domain, '--json'])) as Row[];
    expect(rows.map((r) => [r.stage, r.level])).toEqual([
      ['limited', 0],
      ['limited', 'dlq'],
    ]);
    expect(rows[0]).toMatchObject(figures);
    expect(rows[1]).not.toHaveProperty('later');

    const text = await sqspipes(['status', '--domain', domain]);
    const tables = text.trimEnd().split('\n\n');
    expect(tables).toHaveLength(2);
    expect(tables[1]?.split('\n').map((line) => line.trim().split(/\s+/))).toEqual([
      ['STAGE', 'LATER', 'RATE', 'IN', 'USE', 'SLOTS', 'IN', 'USE'],
      ['limited', '3', '2/5', '2/2'],
    ]);

    const dashboard = startStage(OPERATOR, ['dashboard', '--domain', domain, '--port', '0'], {});
    processes.push(dashboard);
    await dashboard.waitForLines(1);
    const url = /^dashboard: (\S+)$/.exec(String(dashboard.lines[0]))?.[1] ?? '';
    // The dashboard sampled once before it printed its URL.
    const snapshot = (await (await fetch(`${url}api/pipeline`)).json()) as { stages: unknown[] };
    expect(snapshot.stages).toEqual([expect.objectContaining({ name: 'limited', ...figures })]);
    const chromium = findChromium();
    if (chromium !== undefined) {
      const browser = await playwright.launch({ executablePath: chromium, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        await page.goto(url);
        const line = page.locator('[data-limits="limited"]');
        await line.waitFor({ timeout: 20_000 });
        expect(await line.textContent()).toBe('for later 3 · rate 2/5 in use · slots 2/2 in use');
        expect(await line.locator('[data-field="slotsInUse"]').textContent()).toBe('2');
      } finally {
        await browser.close();
      }
    }
    dashboard.child.kill('SIGTERM');
    expect(await dashboard.exited).toBe(0);

    open();
    expect((await outputs).sort()).toEqual([1, 2, 3]);
  }, 120_000);
});
