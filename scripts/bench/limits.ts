/**
 * Fleet-wide limits (issue 25): what `rateLimit` and `maxConcurrency` hold over several processes,
 * measured by the calls themselves, and the SQS requests each limit adds per call:
 *   npm run bench:limits -- [--endpoint URL] [--backend-name NAME] [--rtt MS]
 *     [--only rate50,rate500,slots5,base,base-slow] [--processes 3] [--workers 16]
 *     [--seconds 60] [--slots-seconds 30] [--warmup 5]
 * (`npx node --conditions=sqspipes-source scripts/bench/limits.ts …` runs src/ unbuilt.)
 *
 * One stage, `call` (input: true, every message its own group), run by --processes OS processes
 * (this file with --child) of --workers workers each. Its items are all enqueued before the
 * processes start, enough that the queue never runs dry. Each call records when it started
 * (Date.now(); the processes share the machine's clock) and, with a call time, when it ended.
 * - rate50, rate500: `rateLimit: { limit, per: 1000 }`, calls return at once. The run lasts
 *   --warmup + --seconds s from the first call; reported: calls per 1-s window after the warm-up
 *   (mean, min, max) and the most calls in any sliding 1-s window (all calls, warm-up included).
 * - slots5: `maxConcurrency: 5`, calls of 50–200 ms (uniform); --warmup + --slots-seconds s.
 *   Reported: the most calls at once (from the calls' own start and end, merged over processes)
 *   and the calls per second after the warm-up.
 * - base, base-slow: no limit, the same calls (instant, 50–200 ms) over a fixed number of items:
 *   the requests per call of the stage's own queues without a limit, to compare with.
 *
 * Requests are counted in the stage processes (middleware on their SQS client, every HTTP
 * attempt), from each process's first call to its end, by queue (the permit queue, or the stage's
 * own) and action; receives that return nothing apart. Set-up (queues, filling the permits) is
 * left out. Writes bench-results/limits-<backend>.json (the figures, and the calls per second of
 * every window of every process) and prints Markdown tables.
 *
 * On fauxqs in its own process, or --endpoint (SQSPIPES_BENCH_ENDPOINT), e.g. LocalStack
 * (`bash .ci/localstack-host.sh serve 4566`). --rtt puts a delay proxy (delay-proxy.ts) in front.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type Logger, type StageEntry, type StageMethod, TaskClient } from 'sqspipes';
import { announceReady, errorText, rawClient } from './child.ts';
import { createDelayProxy } from './delay-proxy.ts';
import { startEndpoint } from './emulator.ts';
import { type Child, installCleanup, killAll, startChild } from './procs.ts';
import { machineBusyMs } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    'backend-name': { type: 'string' },
    rtt: { type: 'string', default: '0' },
    only: { type: 'string', default: 'rate50,rate500,slots5,base,base-slow' },
    processes: { type: 'string', default: '3' },
    workers: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '60' },
    'slots-seconds': { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    out: { type: 'string' },
    // A stage process (this file run by the benchmark).
    child: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    domain: { type: 'string' },
    report: { type: 'string' },
  },
});
const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STAGE = 'call';
const CALL_MS = [50, 200] as const;

/** A workload: the stage's limit and its calls. */
interface Scenario {
  readonly name: string;
  readonly rateLimit?: { limit: number; per: number };
  readonly maxConcurrency?: number;
  /** Calls last 50–200 ms (else they return at once). */
  readonly slow: boolean;
  /** Limited runs: seconds measured after the warm-up. Baselines: undefined (run until done). */
  readonly seconds?: number;
  /** Baselines: items to handle. */
  readonly items?: number;
  /** The run it is the baseline of (costs), for limited runs. */
  readonly baseline?: string;
}

function scenarios(seconds: number, slotsSeconds: number): Record<string, Scenario> {
  return {
    rate50: { name: 'rate50', rateLimit: { limit: 50, per: 1000 }, slow: false, seconds, baseline: 'base' },
    rate500: {
      name: 'rate500',
      rateLimit: { limit: 500, per: 1000 },
      slow: false,
      seconds,
      baseline: 'base',
    },
    slots5: { name: 'slots5', maxConcurrency: 5, slow: true, seconds: slotsSeconds, baseline: 'base-slow' },
    base: { name: 'base', slow: false, items: 5000 },
    'base-slow': { name: 'base-slow', slow: true, items: 3000 },
  };
}

/** The pipeline, the same in every process: one stage, `call`, with the scenario's limit. */
function stages(s: Scenario, workers: number, onCall: StageMethod): StageEntry[] {
  return [
    {
      name: STAGE,
      input: true,
      workers,
      method: onCall,
      ...(s.rateLimit === undefined ? {} : { rateLimit: s.rateLimit }),
      ...(s.maxConcurrency === undefined ? {} : { maxConcurrency: s.maxConcurrency }),
    },
  ];
}

/** Requests of one process: by queue (`rate`, `slots` permit queues, or the stage's `own`) and action. */
type Counts = Record<string, Record<string, number>>;

interface ChildResult {
  readonly calls: number;
  /** Each call's start (epoch ms); with slow calls, [start, end] pairs in `spans` instead. */
  readonly starts: number[];
  readonly spans: [number, number][];
  /** Requests from the first call on (set-up left out). */
  readonly counts: Counts;
  /** Every request, set-up included. */
  readonly allCounts: Counts;
  readonly warnings: Record<string, number>;
  /** Each rate permit as it reached this process: [Date.now(), index]. */
  readonly receipts: [number, number][];
  readonly cpuMs: number;
  readonly error?: string;
}

const bump = (counts: Counts, queue: string, action: string) => {
  const byAction = (counts[queue] ??= {});
  byAction[action] = (byAction[action] ?? 0) + 1;
};

function queueKind(url: unknown): string {
  if (typeof url !== 'string') return 'own';
  if (url.endsWith('-rate.fifo')) return 'rate';
  if (url.endsWith('-slots.fifo')) return 'slots';
  return 'own';
}

/**
 * Counts every HTTP attempt (a receive that brought nothing as `ReceiveMessage (empty)`); notes
 * when each rate permit reached this process ([Date.now(), permit index]) in `receipts`.
 */
function count(sqs: SQSClient, counts: Counts, receipts: [number, number][] = []): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const action = String(context.commandName).replace(/Command$/, '');
      const queue = queueKind((args.input as { QueueUrl?: unknown }).QueueUrl);
      let empty = false;
      try {
        const result = await next(args);
        const messages = (result.output as { Messages?: { Body?: string }[] }).Messages ?? [];
        empty = action === 'ReceiveMessage' && messages.length === 0;
        if (queue === 'rate') {
          const at = Date.now();
          for (const m of messages)
            receipts.push([at, (JSON.parse(m.Body ?? '{}') as { permit: number }).permit]);
        }
        return result;
      } finally {
        bump(counts, queue, empty ? 'ReceiveMessage (empty)' : action);
      }
    },
    { step: 'deserialize', name: 'benchCountLimits', priority: 'high' },
  );
}

function subtract(after: Counts, before: Counts): Counts {
  const out: Counts = {};
  for (const [queue, actions] of Object.entries(after))
    for (const [action, n] of Object.entries(actions)) {
      const d = n - (before[queue]?.[action] ?? 0);
      if (d > 0) (out[queue] ??= {})[action] = d;
    }
  return out;
}

const clone = (counts: Counts): Counts => JSON.parse(JSON.stringify(counts)) as Counts;

/** A stage process: runs `call` until SIGTERM; prints its first call and its progress. */
async function childProcess(): Promise<void> {
  const [endpoint, domain, report, name] = [values.endpoint, values.domain, values.report, values.scenario];
  if (!endpoint || !domain || !report || !name)
    throw new Error('--child needs --endpoint, --domain, --report, --scenario');
  const scenario = scenarios(0, 0)[name];
  if (scenario === undefined) throw new Error(`unknown scenario ${name}`);
  const allCounts: Counts = {};
  let atFirst: Counts | undefined;
  const starts: number[] = [];
  const spans: [number, number][] = [];
  const warnings: Record<string, number> = {};
  const warn = (level: string) => (_fields: object, message?: string) => {
    const key = `${level}: ${message ?? ''}`;
    warnings[key] = (warnings[key] ?? 0) + 1;
  };
  const logger: Logger = { debug() {}, info() {}, warn: warn('warn'), error: warn('error') };
  const sqs = rawClient(endpoint);
  const receipts: [number, number][] = [];
  count(sqs, allCounts, receipts);
  const onCall = async () => {
    const start = Date.now();
    if (atFirst === undefined) {
      atFirst = clone(allCounts);
      process.stdout.write(`${JSON.stringify({ event: 'first', at: start })}\n`);
    }
    if (!scenario.slow) {
      starts.push(start);
      return 1;
    }
    await sleep(CALL_MS[0] + Math.random() * (CALL_MS[1] - CALL_MS[0]));
    spans.push([start, Date.now()]);
    return 1;
  };
  const client = new TaskClient({
    domain,
    sqs,
    logger,
    [Symbol.for('sqspipes.queueSettleMs')]: 0, // the parent made the queues
  });
  client.registerTasks(stages(scenario, Number(values.workers), onCall));
  const stop = new AbortController();
  process.on('SIGTERM', () => stop.abort());
  const calls = () => starts.length + spans.length;
  const progress = setInterval(
    () => process.stdout.write(`${JSON.stringify({ event: 'progress', calls: calls() })}\n`),
    500,
  );
  let error: string | undefined;
  try {
    const run = client.run(STAGE, { signal: stop.signal, shutdownTimeout: 10_000 });
    const first = run.next();
    announceReady();
    for (let next = await first; next.done !== true; next = await run.next());
  } catch (e) {
    error = errorText(e);
  } finally {
    clearInterval(progress);
    await client.close().catch(() => {});
    sqs.destroy();
  }
  const usage = process.resourceUsage();
  const result: ChildResult = {
    calls: calls(),
    starts,
    spans,
    counts: subtract(allCounts, atFirst ?? allCounts),
    allCounts,
    warnings,
    receipts,
    cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
    ...(error === undefined ? {} : { error }),
  };
  writeFileSync(report, JSON.stringify(result));
}

/** A stage process as the parent sees it. */
interface StageChild {
  readonly child: Child;
  readonly report: string;
  first: number | undefined;
  calls: number;
}

function startStage(endpoint: string, domain: string, scenario: string, name: string): StageChild {
  const report = join(tmpdir(), `limits-${randomUUID()}.json`);
  const args = ['--child', '--endpoint', endpoint, '--domain', domain, '--scenario', scenario];
  const child = startChild(name, SCRIPT, [...args, '--workers', values.workers, '--report', report], {
    nodeArgs: process.execArgv,
  });
  const self: StageChild = { child, report, first: undefined, calls: 0 };
  let partial = '';
  child.process.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"event":"first"')) self.first = (JSON.parse(line) as { at: number }).at;
      if (line.includes('"event":"progress"')) self.calls = (JSON.parse(line) as { calls: number }).calls;
    }
  });
  return self;
}

async function stopStage(s: StageChild): Promise<ChildResult> {
  s.child.process.kill('SIGTERM');
  const timer = setTimeout(() => s.child.process.kill('SIGKILL'), 30_000);
  await s.child.exited;
  clearTimeout(timer);
  try {
    return JSON.parse(readFileSync(s.report, 'utf8')) as ChildResult;
  } catch {
    throw new Error(`${s.child.name} wrote no report:\n${s.child.stderr()}`);
  } finally {
    rmSync(s.report, { force: true });
  }
}

/** What one scenario measured. */
interface Measured {
  readonly scenario: Scenario;
  readonly items: number;
  readonly enqueueSeconds: number;
  /** From the first call to the stop (limited runs) or the last call (baselines). */
  readonly seconds: number;
  readonly firstCall: number;
  readonly children: ChildResult[];
  /** Cores the whole machine used during the run (all programs, this benchmark included). */
  readonly machineCores: number | undefined;
  readonly loadavg: number[];
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function measure(endpoint: string, s: Scenario, warmup: number, processes: number): Promise<Measured> {
  const domain = `lim${s.name.replace(/\W/g, '')}${Date.now().toString(36)}`;
  const sqs = rawClient(endpoint);
  const client = new TaskClient({ domain, sqs, [Symbol.for('sqspipes.queueSettleMs')]: 0 });
  client.registerTasks(stages(s, 1, () => 1));
  const children: StageChild[] = [];
  try {
    await client.createQueues();
    const workers = Number(values.workers);
    // Enough items that the queue never runs dry: 1.5 × the limit's rate over the run and 10 s more.
    const rate =
      s.rateLimit?.limit ??
      (s.maxConcurrency ?? workers * processes) / ((CALL_MS[0] + CALL_MS[1]) / 2 / 1000);
    const items = s.items ?? Math.ceil(rate * 1.5 * (warmup + (s.seconds ?? 0) + 10));
    log(`${s.name}: enqueueing ${items} items…`);
    const enqueued = performance.now();
    for (let i = 0; i < items; i += 1000)
      await Promise.all(
        Array.from({ length: Math.min(1000, items - i) }, (_, k) => client.enqueue(STAGE, i + k)),
      );
    const enqueueSeconds = (performance.now() - enqueued) / 1000;
    log(`  ${enqueueSeconds.toFixed(1)} s; starting ${processes} processes × ${workers} workers`);
    for (let i = 0; i < processes; i++)
      children.push(startStage(endpoint, domain, s.name, `${s.name} ${i + 1}`));
    await Promise.all(children.map((c) => c.child.ready));
    const busyBefore = machineBusyMs();
    const wallBefore = performance.now();
    const calls = () => children.reduce((a, c) => a + c.calls, 0);
    while (children.every((c) => c.first === undefined)) await sleep(20);
    const firstCall = Math.min(...children.flatMap((c) => (c.first === undefined ? [] : [c.first])));
    let lastLog = Date.now();
    if (s.seconds !== undefined) {
      const stopAt = firstCall + (warmup + s.seconds) * 1000 + 200;
      while (Date.now() < stopAt) {
        await sleep(Math.min(1000, stopAt - Date.now()));
        if (Date.now() - lastLog >= 10_000) {
          log(`  ${((Date.now() - firstCall) / 1000).toFixed(0)} s: ${calls()} calls`);
          lastLog = Date.now();
        }
      }
    } else {
      const deadline = Date.now() + 300_000;
      while (calls() < items && Date.now() < deadline) await sleep(100);
    }
    const machineCores =
      busyBefore === undefined
        ? undefined
        : ((machineBusyMs() ?? busyBefore) - busyBefore) / (performance.now() - wallBefore);
    const results = await Promise.all(children.map(stopStage));
    const stoppedAt = Date.now();
    const allStarts = results.flatMap((r) => [...r.starts, ...r.spans.map(([a]) => a)]);
    const last = Math.max(...allStarts);
    const seconds = ((s.seconds === undefined ? last : stoppedAt) - firstCall) / 1000;
    for (const r of results) if (r.error !== undefined) log(`  a stage process failed: ${r.error}`);
    return {
      scenario: s,
      items,
      enqueueSeconds,
      seconds,
      firstCall,
      children: results,
      machineCores,
      loadavg: loadavg(),
    };
  } finally {
    for (const c of children) c.child.process.kill('SIGKILL'); // a no-op for those that stopped
    await Promise.all(children.map((c) => c.child.exited));
    await client.destroy().catch((e: unknown) => log(`  could not delete the queues: ${errorText(e)}`));
    await client.close().catch(() => {});
    sqs.destroy();
  }
}

/** Calls per 1-s window [t, t + 1000) from `from`, `n` windows. */
function windows(starts: readonly number[], from: number, n: number): number[] {
  const out = Array.from({ length: n }, () => 0);
  for (const t of starts) {
    const k = Math.floor((t - from) / 1000);
    if (k >= 0 && k < n) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The most starts within any [t, t + ms), and when that window began. */
function slidingMax(sorted: readonly number[], ms = 1000): { max: number; at: number } {
  let best = { max: 0, at: 0 };
  for (let i = 0, j = 0; i < sorted.length; i++) {
    const t = sorted[i] ?? 0;
    while (j < sorted.length && (sorted[j] ?? 0) < t + ms) j++;
    if (j - i > best.max) best = { max: j - i, at: t };
  }
  return best;
}

/** The most spans open at once (an end at the same ms as a start closes first). */
function maxAtOnce(spans: readonly (readonly [number, number])[]): number {
  const events = spans.flatMap(([a, b]) => [
    [a, 1],
    [b, -1],
  ]);
  events.sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0));
  let open = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (open += d ?? 0));
  return max;
}

const stats = (xs: readonly number[]) => ({
  mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
  min: Math.min(...xs),
  max: Math.max(...xs),
});

const at = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;

function reuseGaps(receipts: readonly [number, number][]): RateFigures['reuseGapMs'] {
  const last = new Map<number, number>();
  const gaps: number[] = [];
  for (const [t, index] of [...receipts].sort((a, b) => a[0] - b[0])) {
    const before = last.get(index);
    if (before !== undefined) gaps.push(t - before);
    last.set(index, t);
  }
  gaps.sort((a, b) => a - b);
  const under1000 = gaps.filter((g) => g < 1000).length;
  return { min: gaps[0] ?? 0, p1: at(gaps, 0.01), p50: at(gaps, 0.5), under1000, of: gaps.length };
}

function arrivalToCall(children: readonly ChildResult[]): RateFigures['arrivalToCallMs'] {
  const delays: number[] = [];
  for (const c of children) {
    const arrivals = c.receipts.map(([t]) => t).sort((a, b) => a - b);
    let k = 0;
    for (const start of [...c.starts].sort((a, b) => a - b)) {
      while (k + 1 < arrivals.length && (arrivals[k + 1] ?? 0) <= start) k++;
      const arrived = arrivals[k];
      if (arrived !== undefined && arrived <= start) delays.push(start - arrived);
    }
  }
  delays.sort((a, b) => a - b);
  return { p50: at(delays, 0.5), p99: at(delays, 0.99), max: delays.at(-1) ?? 0 };
}

interface RateFigures {
  readonly limit: number;
  readonly windows: number[];
  readonly byProcess: number[][];
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly inRange: number;
  readonly sliding: { max: number; at: number };
  readonly slidingMeasured: { max: number; at: number };
  /** The same over windows 10 ms and 50 ms shorter: how much of an excess is a few ms of jitter. */
  readonly sliding990: number;
  readonly sliding950: number;
  /** Between two arrivals of one permit (in any processes), ms: what SQS's visibility gave. */
  readonly reuseGapMs: { min: number; p1: number; p50: number; under1000: number; of: number };
  /** From a permit's arrival to the call start after it in that process (the latest arrival before it), ms. */
  readonly arrivalToCallMs: { p50: number; p99: number; max: number };
  readonly calls: number;
}

function rateFigures(m: Measured, warmup: number): RateFigures {
  const from = m.firstCall + warmup * 1000;
  const n = m.scenario.seconds ?? 0;
  const all = m.children.flatMap((c) => c.starts).sort((a, b) => a - b);
  const w = windows(all, from, n);
  const limit = m.scenario.rateLimit?.limit ?? 0;
  return {
    limit,
    windows: w,
    byProcess: m.children.map((c) => windows(c.starts, from, n)),
    ...stats(w),
    inRange: w.filter((x) => x >= limit * 0.9 && x <= limit * 1.1).length,
    sliding: slidingMax(all),
    slidingMeasured: slidingMax(all.filter((t) => t >= from && t < from + n * 1000)),
    sliding990: slidingMax(all, 990).max,
    sliding950: slidingMax(all, 950).max,
    reuseGapMs: reuseGaps(m.children.flatMap((c) => c.receipts)),
    arrivalToCallMs: arrivalToCall(m.children),
    calls: all.length,
  };
}

interface SlotFigures {
  readonly limit: number;
  readonly maxAtOnce: number;
  readonly maxAtOnceMeasured: number;
  readonly callsPerSecond: number;
  readonly meanCallMs: number;
  readonly ideal: number;
  readonly windows: number[];
  readonly calls: number;
}

function slotFigures(m: Measured, warmup: number): SlotFigures {
  const from = m.firstCall + warmup * 1000;
  const n = m.scenario.seconds ?? 0;
  const spans = m.children.flatMap((c) => c.spans);
  const measured = spans.filter(([a]) => a >= from && a < from + n * 1000);
  const meanCallMs = stats(spans.map(([a, b]) => b - a)).mean;
  const limit = m.scenario.maxConcurrency ?? 0;
  return {
    limit,
    maxAtOnce: maxAtOnce(spans),
    maxAtOnceMeasured: maxAtOnce(measured),
    callsPerSecond: measured.length / n,
    meanCallMs,
    ideal: (limit * 1000) / meanCallMs,
    windows: windows(
      spans.map(([a]) => a),
      from,
      n,
    ),
    calls: spans.length,
  };
}

/** Requests per call by queue and action, summed over the processes. */
function perCall(m: Measured): Counts {
  const calls = m.children.reduce((a, c) => a + c.calls, 0);
  const out: Counts = {};
  for (const c of m.children)
    for (const [queue, actions] of Object.entries(c.counts))
      for (const [action, n] of Object.entries(actions))
        (out[queue] ??= {})[action] = (out[queue]?.[action] ?? 0) + n / Math.max(1, calls);
  return out;
}

const f1 = (n: number) => n.toFixed(1);
const f3 = (n: number) => (n === 0 ? '0' : n.toFixed(3));

function rateTable(rows: readonly [Measured, RateFigures][], warmup: number): string {
  const head = [
    '| Limit | Calls (all) | Calls/s per 1-s window after the first ' +
      warmup +
      ' s: mean (min–max) | Windows within ±10 % | Most calls in a sliding 1-s window: all / measured | Same, windows of 990 / 950 ms | Arrivals of one permit, ms apart: min, 1st pct, median (under 1000 ms) | Permit arrival → call start, ms: median / p99 / max | Per process, mean calls/s |',
    `|${' --- |'.repeat(9)}`,
  ];
  const lines = rows.map(([m, r]) => {
    const g = r.reuseGapMs;
    const d = r.arrivalToCallMs;
    const perProcess = r.byProcess.map((w) => f1(stats(w).mean)).join(' / ');
    return `| ${r.limit}/s | ${r.calls} | ${f1(r.mean)} (${r.min}–${r.max}) | ${r.inRange} of ${r.windows.length} | ${r.sliding.max} / ${r.slidingMeasured.max} | ${r.sliding990} / ${r.sliding950} | ${g.min}, ${g.p1}, ${g.p50} (${g.under1000} of ${g.of}) | ${d.p50} / ${d.p99} / ${d.max} | ${perProcess} (${m.children.length} processes) |`;
  });
  return [...head, ...lines].join('\n');
}

function slotsTable(rows: readonly [Measured, SlotFigures][]): string {
  const head = [
    '| maxConcurrency | Calls (all) | Most calls at once: all / measured | Calls/s after the warm-up | Mean call ms | Ideal calls/s (limit ÷ mean call) |',
    `|${' --- |'.repeat(6)}`,
  ];
  const lines = rows.map(
    ([, r]) =>
      `| ${r.limit} | ${r.calls} | ${r.maxAtOnce} / ${r.maxAtOnceMeasured} | ${f1(r.callsPerSecond)} | ${f1(r.meanCallMs)} | ${f1(r.ideal)} |`,
  );
  return [...head, ...lines].join('\n');
}

const ACTIONS = [
  'ReceiveMessage',
  'ReceiveMessage (empty)',
  'DeleteMessageBatch',
  'ChangeMessageVisibilityBatch',
  'SendMessageBatch',
  'GetQueueAttributes',
];

function cell(counts: Counts, queue: string): string {
  const byAction = counts[queue] ?? {};
  const known = ACTIONS.map((a) => f3(byAction[a] ?? 0));
  const other = Object.entries(byAction)
    .filter(([a]) => !ACTIONS.includes(a))
    .map(([a, n]) => `${a} ${f3(n)}`);
  return known.join(' / ') + (other.length > 0 ? ` (${other.join(', ')})` : '');
}

function total(counts: Counts, queue?: string): number {
  return Object.entries(counts)
    .filter(([q]) => queue === undefined || q === queue)
    .reduce((a, [, actions]) => a + Object.values(actions).reduce((x, y) => x + y, 0), 0);
}

function costTable(measured: readonly Measured[]): string {
  const byName = new Map(measured.map((m) => [m.scenario.name, m]));
  const head = [
    `| Run | Calls | Permit queue, per call: ${ACTIONS.join(' / ')} | Stage's own queue, per call (same order) | All per call | Extra per call beside the run without a limit (${'base'}) |`,
    `|${' --- |'.repeat(6)}`,
  ];
  const lines = measured.map((m) => {
    const pc = perCall(m);
    const permit =
      m.scenario.rateLimit !== undefined ? 'rate' : m.scenario.maxConcurrency !== undefined ? 'slots' : '';
    const base = m.scenario.baseline === undefined ? undefined : byName.get(m.scenario.baseline);
    const extra =
      base === undefined ? '–' : `${f3(total(pc) - total(perCall(base)))} (vs ${base.scenario.name})`;
    const calls = m.children.reduce((a, c) => a + c.calls, 0);
    return `| ${m.scenario.name} | ${calls} | ${permit === '' ? '–' : cell(pc, permit)} | ${cell(pc, 'own')} | ${f3(total(pc))} | ${extra} |`;
  });
  return [...head, ...lines].join('\n');
}

async function main(): Promise<void> {
  const [processes, seconds, slotsSeconds, warmup, rtt] = [
    values.processes,
    values.seconds,
    values['slots-seconds'],
    values.warmup,
    values.rtt,
  ].map(Number) as [number, number, number, number, number];
  const all = scenarios(seconds, slotsSeconds);
  const only = values.only.split(',');
  for (const name of only) if (all[name] === undefined) throw new TypeError(`--only: unknown run ${name}`);
  const given = values.endpoint ?? process.env['SQSPIPES_BENCH_ENDPOINT'];
  const endpoint =
    given === undefined || given === ''
      ? await startEndpoint()
      : { url: given, name: given, pid: undefined, stop: async () => {} };
  let url = endpoint.url;
  let proxy: ReturnType<typeof createDelayProxy> | undefined;
  if (rtt > 0) {
    proxy = createDelayProxy(endpoint.url, rtt);
    const server = proxy.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the delay proxy has no port');
    url = `http://127.0.0.1:${address.port}`;
  }
  const backend = values['backend-name'] ?? endpoint.name;
  installCleanup(async () => {
    await killAll();
    proxy?.server.close();
    await endpoint.stop();
  });
  const measured: Measured[] = [];
  const started = Date.now();
  try {
    // Baselines first: the costs table compares with them.
    const order = [...only].sort((a, b) => Number(!a.startsWith('base')) - Number(!b.startsWith('base')));
    for (const name of order) {
      const s = all[name];
      if (s !== undefined) measured.push(await measure(url, s, warmup, processes));
    }
  } finally {
    proxy?.server.close();
    await endpoint.stop();
  }
  const rates = measured
    .filter((m) => m.scenario.rateLimit !== undefined)
    .map((m) => [m, rateFigures(m, warmup)] as [Measured, RateFigures]);
  const slots = measured
    .filter((m) => m.scenario.maxConcurrency !== undefined)
    .map((m) => [m, slotFigures(m, warmup)] as [Measured, SlotFigures]);
  const network = rtt > 0 ? `, ${rtt} ms RTT (delay proxy)` : ', loopback';
  const workers = Number(values.workers);
  console.log(
    `\nFleet-wide limits on ${backend}${network}: ${processes} processes × ${workers} workers of one stage\n`,
  );
  if (rates.length > 0) {
    console.log(
      `rateLimit { limit, per: 1000 }, calls return at once, ${seconds} s measured after ${warmup} s:\n`,
    );
    console.log(rateTable(rates, warmup));
  }
  if (slots.length > 0) {
    console.log(
      `\nmaxConcurrency, calls of ${CALL_MS[0]}–${CALL_MS[1]} ms, ${slotsSeconds} s measured after ${warmup} s:\n`,
    );
    console.log(slotsTable(slots));
  }
  console.log(
    `\nSQS requests per call (every HTTP attempt of the stage processes, from each one's first call; set-up left out):\n`,
  );
  console.log(costTable(measured));
  for (const m of measured) {
    const warnings = m.children.flatMap((c) => Object.entries(c.warnings).map(([k, n]) => `${k} ×${n}`));
    const cores =
      m.machineCores === undefined
        ? ''
        : `, machine busy ${m.machineCores.toFixed(2)} of ${cpus().length} cores`;
    console.log(
      `${m.scenario.name}: ${m.items} items enqueued in ${f1(m.enqueueSeconds)} s, ${f1(m.seconds)} s from the first call${cores}, stage CPU ${m.children.map((c) => f1(c.cpuMs / 1000)).join(' / ')} s${warnings.length > 0 ? `; logged: ${warnings.join('; ')}` : ''}`,
    );
  }
  const outDir = values.out ?? join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const slug = backend
    .replace(/\s*\(.*\)$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  const file = join(outDir, `limits-${slug}${rtt > 0 ? `-rtt${rtt}` : ''}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        wallSeconds: Math.round((Date.now() - started) / 1000),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        backend,
        params: { processes, workers, seconds, slotsSeconds, warmup, rttMs: rtt, callMs: CALL_MS },
        rate: rates.map(([m, r]) => ({
          ...r,
          items: m.items,
          seconds: m.seconds,
          machineCores: m.machineCores,
        })),
        slots: slots.map(([m, r]) => ({
          ...r,
          items: m.items,
          seconds: m.seconds,
          machineCores: m.machineCores,
        })),
        runs: measured.map((m) => ({
          scenario: m.scenario,
          items: m.items,
          enqueueSeconds: m.enqueueSeconds,
          seconds: m.seconds,
          machineCores: m.machineCores,
          loadavg: m.loadavg,
          perCall: perCall(m),
          processes: m.children.map((c) => ({
            calls: c.calls,
            counts: c.counts,
            allCounts: c.allCounts,
            warnings: c.warnings,
            cpuMs: c.cpuMs,
            error: c.error,
          })),
        })),
        proxy: proxy?.counts(),
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${file}`);
  // Every call's own timestamps, by process, for a closer look (not kept in git).
  const raw = join(ROOT, 'bench-results', 'tmp', `limits-raw-${slug}${rtt > 0 ? `-rtt${rtt}` : ''}.json`);
  mkdirSync(join(ROOT, 'bench-results', 'tmp'), { recursive: true });
  const calls = measured.map((m) => ({
    scenario: m.scenario.name,
    firstCall: m.firstCall,
    processes: m.children.map((c) => (c.spans.length > 0 ? c.spans : c.starts)),
  }));
  writeFileSync(raw, JSON.stringify(calls));
  log(`wrote ${raw}`);
}

if (values.child) await childProcess();
else await main();
