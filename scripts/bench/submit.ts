/**
 * The `submit` scenario: what `client.submit()` and `result()` cost over a 3-stage pipeline
 * (src → relay → sink, the relay and sink run by stage processes as in (b); the source stage is
 * not run: the items are fed into the relay, the first stage with an input). The benchmark process
 * is the sender.
 *   cost     N items fed at once, three times on fresh queues: with `enqueue()` and consumed by
 *            the last stage's own run (the baseline), with `submit()` and every `result()`
 *            awaited, and with `submit({ status: true })`. SQS requests per item over all
 *            processes (sender, relay, sink), by action, and the extra over the baseline.
 *   latency  one item at a time: from the `submit()` call to `result()` resolving, beside the
 *            moment the last stage output it (the same items) and the latency scenario's measure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskClient } from 'sqspipes';
import { type ChildReport, CREDENTIALS, REGION } from './child.ts';
import { type ProxyWindow, proxyWindow } from './network.ts';
import { type Child, finish } from './procs.ts';
import {
  type Context,
  destroyPipeline,
  machineBusyMs,
  MESSAGE_ACTIONS,
  processCpuMs,
  type ProcessResult,
  processResult,
  reportFile,
  stageChild,
  unique,
} from './scenarios.ts';
import { percentile, round } from './stats.ts';

export type SubmitMode = 'enqueue' | 'submit' | 'submit+status';
export const SUBMIT_MODES: readonly SubmitMode[] = ['enqueue', 'submit', 'submit+status'];

export interface SubmitPhase {
  readonly mode: SubmitMode;
  readonly items: number;
  readonly workers: number;
  /** Every item reached the last stage (and, submitted, its result is its own value). */
  readonly complete: boolean;
  /** From the first send to the last result (enqueue: to the last stage's last output), s. */
  readonly seconds: number;
  readonly itemsPerSecond: number;
  /** Message requests (send, receive, delete, visibility) of all processes per item. */
  readonly requestsPerItem: number;
  /** The same by action. */
  readonly requestsPerItemByAction: Record<string, number>;
  /** Every request of all processes per item, set-up (queue look-ups, reply queue) included. */
  readonly allRequestsPerItem: number;
  /** Set-up requests of all processes by action (totals, not per item). */
  readonly setupRequests: Record<string, number>;
  /** requestsPerItem minus the baseline's (submit modes). */
  readonly extraPerItem?: number;
  /** Statuses the sender got per item before its result settled (status: true). */
  readonly statusesPerItem?: number;
  /** sender, relay, sink. */
  readonly processes: readonly ProcessResult[];
  readonly proxy?: ProxyWindow;
  /** Cores' worth of CPU that other programs on the machine used during the run. */
  readonly otherLoadCores: number | undefined;
  readonly errors: readonly string[];
}

export interface Distribution {
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

export interface SubmitLatency {
  readonly trials: number;
  readonly warmup: number;
  readonly intervalMs: number;
  readonly complete: boolean;
  /** `submit()` call → `result()` resolved, ms. */
  readonly result: Distribution;
  /** `submit()` call → `submit()` resolved (SQS accepted the item), ms. */
  readonly accepted: Distribution;
  /** `submit()` call → the last stage's run output it (the same items), ms. */
  readonly atLastStage: Distribution;
  /** Per item: result resolved minus output at the last stage, ms. */
  readonly resultAfterLastStage: Distribution;
  /** Requests of all processes (sender, relay, sink) per item, message actions only. */
  readonly requestsPerItem: number;
  readonly processes: readonly ProcessResult[];
  /** Cores' worth of CPU that other programs on the machine used during the run. */
  readonly otherLoadCores: number | undefined;
  readonly errors: readonly string[];
}

export interface SubmitResult {
  readonly items: number;
  readonly workers: number;
  readonly phases: readonly SubmitPhase[];
  readonly latency: SubmitLatency;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    p50: round(percentile(values, 50), 1),
    p99: round(percentile(values, 99), 1),
    min: round(percentile(values, 0), 1),
    max: round(percentile(values, 100), 1),
    mean: round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 1),
  };
}

/** A note for a run that other programs on the machine disturbed (a quarter of a core or more). */
export function disturbed(cores: number | undefined): string {
  return (cores ?? 0) >= 0.25 ? `  DISTURBED (other programs: ${cores} cores)` : '';
}

/** The sender: the pipeline registered as the stage processes register it; it only feeds. */
function sender(ctx: Context, domain: string): TaskClient {
  const client = new TaskClient({ domain, endpoint: ctx.endpoint, region: REGION, credentials: CREDENTIALS });
  const noop = () => undefined;
  client.registerTasks([
    { method: noop, name: 'src' },
    { method: noop, name: 'relay' },
    { method: noop, name: 'sink' },
  ]);
  return client;
}

/** The sender's counters as a child's report, to be counted like the stage processes. */
function senderReport(client: TaskClient, count: number, cpuBefore: NodeJS.CpuUsage): ChildReport {
  const cpu = process.cpuUsage(cpuBefore);
  return {
    role: 'sender',
    count,
    firstAt: null,
    lastAt: null,
    requests: { ...client.stats().requests },
    maxRssKiB: process.resourceUsage().maxRSS,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    samples: [],
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Relay and sink stage processes on `domain`, each ending after `limit` inputs. */
function stages(ctx: Context, domain: string, workers: number, limit: number) {
  const files = { relay: reportFile(ctx, 'submit-relay'), sink: reportFile(ctx, 'submit-sink') };
  const args = ['--domain', domain, '--limit', String(limit), '--deadline', String(ctx.childDeadlineMs)];
  const sink: Child = stageChild(ctx, 'sink', workers, args, files.sink);
  const relay: Child = stageChild(ctx, 'relay', workers, args, files.relay);
  const waitMs = ctx.childDeadlineMs + 15_000;
  return {
    pids: [relay.process.pid, sink.process.pid],
    ready: Promise.all([relay.ready, sink.ready]),
    finished: () => Promise.all([finish(relay, files.relay, waitMs), finish(sink, files.sink, waitMs)]),
  };
}

/**
 * Starts watching the machine's CPU: the returned function gives the cores' worth that programs
 * other than ours (this process, the stage processes, the emulator, the delay proxy) used since.
 */
function otherLoad(
  ctx: Context,
  pids: readonly (number | undefined)[],
): (proxyCpuMs?: number) => number | undefined {
  const ours = () =>
    [ctx.emulatorPid, ...pids].reduce<number>((a, pid) => a + (processCpuMs(pid) ?? 0), 0) +
    (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  const machineBefore = machineBusyMs();
  const oursBefore = ours();
  const started = Date.now();
  return (proxyCpuMs = 0) => {
    const machineAfter = machineBusyMs();
    if (machineBefore === undefined || machineAfter === undefined) return undefined;
    const used = ours() - oursBefore + proxyCpuMs;
    return round(Math.max(0, machineAfter - machineBefore - used) / Math.max(1, Date.now() - started), 2);
  };
}

/** Requests of every process added up, by action. */
function sum(reports: readonly ChildReport[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const report of reports)
    for (const [action, n] of Object.entries(report.requests)) total[action] = (total[action] ?? 0) + n;
  return total;
}

/** One cost run: `items` fed at once (enqueue or submit), on fresh queues. */
async function costPhase(
  ctx: Context,
  mode: SubmitMode,
  items: number,
  workers: number,
): Promise<SubmitPhase> {
  const domain = unique(ctx, 'sub');
  const pair = stages(ctx, domain, workers, items);
  const client = sender(ctx, domain);
  const errors: string[] = [];
  const note = (text: string) => {
    if (errors.length < 5) errors.push(text);
  };
  client.on('error', (error: unknown) => note(`sender: ${errorText(error)}`));
  let closed = false;
  try {
    await pair.ready;
    const proxyBefore = await ctx.proxy?.counts();
    const load = otherLoad(ctx, pair.pids);
    const cpuBefore = process.cpuUsage();
    const started = Date.now();
    let ended = Number.NaN;
    let good = 0;
    let statuses = 0;
    if (mode === 'enqueue') {
      await Promise.all(Array.from({ length: items }, () => client.enqueue('relay', Date.now())));
    } else {
      const status = mode === 'submit+status';
      const submissions = await Promise.all(
        Array.from({ length: items }, async () => {
          const stamp = Date.now();
          return { stamp, submission: await client.submit(stamp, { status }) };
        }),
      );
      await Promise.all(
        submissions.map(async ({ stamp, submission }) => {
          try {
            const results = await submission.result();
            if (results.length === 1 && results[0] === stamp) good++;
            else note(`item ${submission.id}: result ${JSON.stringify(results)}, expected [${stamp}]`);
          } catch (error) {
            note(`item ${submission.id}: ${errorText(error)}`);
          }
          if (status) for await (const _ of submission.statuses()) statuses++;
        }),
      );
      ended = Date.now();
    }
    const [relay, sink] = await pair.finished();
    if (mode === 'enqueue') ended = sink.lastAt ?? Number.NaN;
    const proxyAfter = await ctx.proxy?.counts();
    const proxy =
      proxyBefore === undefined || proxyAfter === undefined
        ? undefined
        : proxyWindow(proxyBefore, proxyAfter);
    const otherLoadCores = load(proxy?.cpuMs);
    closed = true;
    await client.close(); // deletes the reply queue: counted with the sender's set-up
    const reports = [senderReport(client, items, cpuBefore), relay, sink];
    for (const r of reports) if (r.error !== undefined) note(`${r.role}: ${r.error}`);
    const total = sum(reports);
    let moving = 0;
    let all = 0;
    const byAction: Record<string, number> = {};
    const setupRequests: Record<string, number> = {};
    for (const [action, n] of Object.entries(total)) {
      all += n;
      if (MESSAGE_ACTIONS.has(action)) {
        moving += n;
        byAction[action] = round(n / items, 3);
      } else setupRequests[action] = n;
    }
    const complete =
      relay.count === items &&
      sink.count === items &&
      (mode === 'enqueue' || good === items) &&
      reports.every((r) => r.error === undefined);
    const seconds = (ended - started) / 1000;
    return {
      mode,
      items,
      workers,
      complete,
      seconds: round(seconds, 2),
      itemsPerSecond: round(items / seconds),
      requestsPerItem: round(moving / items, 3),
      requestsPerItemByAction: byAction,
      allRequestsPerItem: round(all / items, 3),
      setupRequests,
      ...(mode === 'submit+status' ? { statusesPerItem: round(statuses / items, 2) } : {}),
      processes: reports.map((r) => processResult(r, items)),
      ...(proxy === undefined ? {} : { proxy }),
      otherLoadCores,
      errors,
    };
  } finally {
    if (!closed) await client.close().catch(() => {});
    await destroyPipeline(ctx, domain, 1).catch(() => {});
  }
}

/** One item at a time through idle stages (1 worker each), `intervalMs` apart. */
async function latencyPhase(
  ctx: Context,
  trials: number,
  warmup: number,
  intervalMs: number,
): Promise<SubmitLatency> {
  const domain = unique(ctx, 'sublat');
  const total = trials + warmup;
  const pair = stages(ctx, domain, 1, total);
  const client = sender(ctx, domain);
  const errors: string[] = [];
  const note = (text: string) => {
    if (errors.length < 5) errors.push(text);
  };
  client.on('error', (error: unknown) => note(`sender: ${errorText(error)}`));
  let closed = false;
  try {
    await pair.ready;
    const proxyBefore = await ctx.proxy?.counts();
    const load = otherLoad(ctx, pair.pids);
    const cpuBefore = process.cpuUsage();
    const result: number[] = [];
    const accepted: number[] = [];
    let good = 0;
    for (let i = 0; i < total; i++) {
      await sleep(intervalMs);
      const stamp = Date.now();
      const t0 = performance.now();
      try {
        const submission = await client.submit(stamp, { timeout: 60_000 });
        const t1 = performance.now();
        const results = await submission.result();
        const t2 = performance.now();
        accepted.push(t1 - t0);
        result.push(t2 - t0);
        if (results.length === 1 && results[0] === stamp) good++;
        else note(`trial ${i}: result ${JSON.stringify(results)}, expected [${stamp}]`);
      } catch (error) {
        note(`trial ${i}: ${errorText(error)}`);
        result.push(Number.NaN);
        accepted.push(Number.NaN);
      }
    }
    const [relay, sink] = await pair.finished();
    const proxyAfter = await ctx.proxy?.counts();
    const otherLoadCores = load(
      proxyBefore === undefined || proxyAfter === undefined ? 0 : proxyAfter.cpuMs - proxyBefore.cpuMs,
    );
    closed = true;
    await client.close();
    const reports = [senderReport(client, total, cpuBefore), relay, sink];
    for (const r of reports) if (r.error !== undefined) note(`${r.role}: ${r.error}`);
    const atSink = (sink.latencies ?? []).slice(warmup);
    const kept = result.slice(warmup);
    const after = kept.map((ms, i) => ms - (atSink[i] ?? Number.NaN)).filter(Number.isFinite);
    const processes = reports.map((r) => processResult(r, total));
    return {
      trials: kept.length,
      warmup,
      intervalMs,
      complete: good === total && sink.count === total && reports.every((r) => r.error === undefined),
      result: distribution(kept.filter(Number.isFinite)),
      accepted: distribution(accepted.slice(warmup).filter(Number.isFinite)),
      atLastStage: distribution(atSink),
      resultAfterLastStage: distribution(after),
      requestsPerItem: round(
        processes.reduce((a, p) => a + p.requestsPerMessage, 0),
        3,
      ),
      processes,
      otherLoadCores,
      errors,
    };
  } finally {
    if (!closed) await client.close().catch(() => {});
    await destroyPipeline(ctx, domain, 1).catch(() => {});
  }
}

/**
 * The whole scenario: the cost (enqueue baseline, submit, submit with statuses; `items` each at
 * `workers` per stage), then the latency (`trials` one at a time, `intervalMs` apart). `before`
 * runs before each measured part (the benchmark waits for a quiet machine there).
 */
export async function runSubmit(
  ctx: Context,
  options: {
    items: number;
    workers: number;
    trials: number;
    warmup: number;
    intervalMs: number;
    before?: () => Promise<void>;
    log?: (text: string) => void;
  },
): Promise<SubmitResult> {
  const phases: SubmitPhase[] = [];
  for (const mode of SUBMIT_MODES) {
    await options.before?.();
    const phase = await costPhase(ctx, mode, options.items, options.workers);
    const base = phases[0];
    const done =
      base === undefined
        ? phase
        : { ...phase, extraPerItem: round(phase.requestsPerItem - base.requestsPerItem, 3) };
    phases.push(done);
    options.log?.(
      `submit cost, ${mode}: ${done.items} items in ${done.seconds} s, ${done.requestsPerItem} requests/item over all processes ${JSON.stringify(done.requestsPerItemByAction)}${done.complete ? '' : '  INCOMPLETE'}${disturbed(done.otherLoadCores)}${done.errors.map((e) => `\n    ${e}`).join('')}`,
    );
  }
  await options.before?.();
  const latency = await latencyPhase(ctx, options.trials, options.warmup, options.intervalMs);
  options.log?.(
    `submit latency: submit() → result() p50 ${latency.result.p50} ms, p99 ${latency.result.p99} ms; output at the last stage p50 ${latency.atLastStage.p50} ms${latency.complete ? '' : '  INCOMPLETE'}${disturbed(latency.otherLoadCores)}${latency.errors.map((e) => `\n    ${e}`).join('')}`,
  );
  return { items: options.items, workers: options.workers, phases, latency };
}
