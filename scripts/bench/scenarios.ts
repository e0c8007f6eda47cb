/**
 * The benchmark's scenarios, each on its own queues of the shared endpoint, deleted afterwards:
 * three-process runs of the raw ceiling, of sqspipes and of the naive baseline, the latency of
 * one input through idle stages, and the requests an idle stage makes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, DeleteQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TaskClient } from 'sqspipes';
import { type ChildReport, CREDENTIALS, REGION } from './child.ts';
import { type DelayProxy, type ProxyWindow, proxyWindow } from './network.ts';
import { type Child, finish, startChild } from './procs.ts';
import { percentile, round } from './stats.ts';
import { OUTPUT_WINDOW_BYTES } from '../../src/worker/output-window.ts';
import { createMemoryCgroup } from './container.ts';

const PIPELINE = fileURLToPath(new URL('./pipeline.ts', import.meta.url));
const LOOPS = fileURLToPath(new URL('./loops.ts', import.meta.url));
const PEER = fileURLToPath(new URL('./peer-consumer.ts', import.meta.url));

/** Actions that move messages; the rest (GetQueueUrl, GetQueueAttributes, …) are set-up. */
export const MESSAGE_ACTIONS: ReadonlySet<string> = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
]);

export interface Context {
  readonly endpoint: string;
  readonly emulatorPid: number | undefined;
  readonly sqs: SQSClient;
  /** Unique prefix of every queue of this benchmark run. */
  readonly prefix: string;
  readonly tmpDir: string;
  /** Deadline of each child process, ms. */
  readonly childDeadlineMs: number;
  /** Where sqspipes stage processes write CPU profiles (node --cpu-prof), if at all. */
  readonly profileDir: string | undefined;
  /** Watch the receives of sqspipes stage processes (--trace-receives). */
  readonly traceReceives: boolean;
  /** The delay proxy `endpoint` points at (--rtt > 0), for its counts during each run. */
  readonly proxy: Pick<DelayProxy, 'counts'> | undefined;
  /** A memory cgroup (its directory) the stage and loop processes run in, as in a container. */
  readonly cgroup?: string | undefined;
}

export interface ProcessResult {
  readonly role: string;
  readonly count: number;
  /** Message requests (send, receive, delete, visibility) by action. */
  readonly requests: Record<string, number>;
  /** Set-up requests (queue look-ups, attributes, creation) by action. */
  readonly setupRequests: Record<string, number>;
  readonly requestsPerMessage: number;
  readonly peakRssMiB: number;
  readonly cpuMs: number;
  readonly cpuMsPerMessage: number;
  /** CPU time (user + system) of the whole process over the run ÷ messages, µs. */
  readonly cpuUsPerMessage: number;
  /** From the process's spawn to its first output (see ChildReport.firstOutputAt), ms. */
  readonly startToFirstOutputMs: number | undefined;
  readonly receiveTrace?: ChildReport['receiveTrace'];
  readonly error?: string;
}

export type Kind = 'raw' | 'sqspipes' | 'naive' | 'sqs-consumer';

export interface RunResult {
  readonly kind: Kind;
  /** Concurrent loops (raw, naive) or workers (sqspipes) per stage process. */
  readonly concurrency: number;
  readonly messages: number;
  readonly complete: boolean;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly latencyMs: { p50: number; p99: number; max: number };
  /** Emulator CPU time during the run, ms (when it is our child process). */
  readonly emulatorCpuMs: number | undefined;
  /** Cores' worth of CPU that other programs on the machine used during the run. */
  readonly otherLoadCores: number | undefined;
  /**
   * Counted from the source process's spawn to the last message received (the short run, where
   * start-up and ramp-up count): seconds and msg/s.
   */
  readonly fromSourceSpawn: { readonly seconds: number; readonly messagesPerSecond: number };
  /** The three processes were started together (not the source once the others polled). */
  readonly together: boolean;
  /** producer/source, relay, consumer/sink. */
  readonly processes: readonly ProcessResult[];
  /** What the delay proxy did during the run (--rtt > 0). */
  readonly proxy?: ProxyWindow;
  /** sqspipes with --call-ms: the relay's time per call, ms, and its ideal rate, workers / call. */
  readonly relayCallMs?: number;
  readonly idealMessagesPerSecond?: number;
  readonly reports: readonly ChildReport[];
}

let counter = 0;
export function unique(ctx: Context, what: string): string {
  counter++;
  return `${ctx.prefix}-${what}${counter}`;
}

export function reportFile(ctx: Context, name: string): string {
  counter++;
  return join(ctx.tmpDir, `${ctx.prefix}-${counter}-${name}.json`);
}

/** CPU time the whole machine spent busy so far (all cores), ms; undefined if not readable. */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal …, in ticks of 10 ms.
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
    return Number.isFinite(busy) ? busy * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a process so far, ms; undefined if not readable. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name), in ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

export function processResult(report: ChildReport, messages: number, spawnedAt?: number): ProcessResult {
  const requests: Record<string, number> = {};
  const setupRequests: Record<string, number> = {};
  let moving = 0;
  for (const [action, n] of Object.entries(report.requests)) {
    if (MESSAGE_ACTIONS.has(action)) {
      requests[action] = n;
      moving += n;
    } else setupRequests[action] = n;
  }
  return {
    role: report.role,
    count: report.count,
    requests,
    setupRequests,
    requestsPerMessage: round(moving / Math.max(1, messages), 3),
    peakRssMiB: round(report.maxRssKiB / 1024, 1),
    cpuMs: report.cpuMs,
    cpuMsPerMessage: round(report.cpuMs / Math.max(1, messages), 3),
    cpuUsPerMessage: round((report.cpuMs * 1000) / Math.max(1, messages)),
    startToFirstOutputMs:
      spawnedAt === undefined || report.firstOutputAt === undefined || report.firstOutputAt === null
        ? undefined
        : report.firstOutputAt - spawnedAt,
    ...(report.receiveTrace === undefined ? {} : { receiveTrace: report.receiveTrace }),
    ...(report.error === undefined ? {} : { error: report.error }),
  };
}

/**
 * Starts the three processes: consumer and relay first, the producer once both poll; or, with
 * `together`, all three at once (the short run: start-up and ramp-up count).
 */
async function threeProcesses(
  ctx: Context,
  kind: Kind,
  concurrency: number,
  messages: number,
  start: (role: 'producer' | 'relay' | 'consumer', report: string) => Child,
  together = false,
): Promise<RunResult> {
  const files = {
    producer: reportFile(ctx, 'producer'),
    relay: reportFile(ctx, 'relay'),
    consumer: reportFile(ctx, 'consumer'),
  };
  const consumer = start('consumer', files.consumer);
  const relay = start('relay', files.relay);
  if (!together) await Promise.all([consumer.ready, relay.ready]);
  // Started together nobody awaits readiness: an early exit shows in the reports instead.
  else for (const child of [consumer, relay]) child.ready.catch(() => {});
  const proxyBefore = await ctx.proxy?.counts();
  const cpuBefore = processCpuMs(ctx.emulatorPid);
  const machineBefore = machineBusyMs();
  const windowStart = Date.now();
  const earlier = (processCpuMs(consumer.process.pid) ?? 0) + (processCpuMs(relay.process.pid) ?? 0);
  const producer = start('producer', files.producer);
  const waitMs = ctx.childDeadlineMs + 15_000;
  const reports = await Promise.all([
    finish(producer, files.producer, waitMs),
    finish(relay, files.relay, waitMs),
    finish(consumer, files.consumer, waitMs),
  ]);
  const cpuAfter = processCpuMs(ctx.emulatorPid);
  const machineAfter = machineBusyMs();
  const windowMs = Date.now() - windowStart;
  const proxyAfter = await ctx.proxy?.counts();
  const proxy =
    proxyBefore === undefined || proxyAfter === undefined ? undefined : proxyWindow(proxyBefore, proxyAfter);
  const emulatorCpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  // CPU the rest of the machine used meanwhile (other programs): the run was disturbed if high.
  const ours =
    reports.reduce((sum, r) => sum + r.cpuMs, 0) - earlier + (emulatorCpuMs ?? 0) + (proxy?.cpuMs ?? 0);
  const otherCores =
    machineBefore === undefined || machineAfter === undefined
      ? undefined
      : round(Math.max(0, machineAfter - machineBefore - ours) / windowMs, 2);
  const [first, , last] = reports;
  const ms = (last.lastAt ?? Number.NaN) - (first.firstAt ?? Number.NaN);
  const fromSpawnMs = (last.lastAt ?? Number.NaN) - producer.spawnedAt;
  const spawned = [producer.spawnedAt, relay.spawnedAt, consumer.spawnedAt];
  const latencies = last.latencies ?? [];
  const complete = reports.every((r) => r.count === messages && r.error === undefined);
  return {
    kind,
    concurrency,
    messages,
    complete,
    seconds: round(ms / 1000, 2),
    messagesPerSecond: round((last.count / ms) * 1000),
    fromSourceSpawn: {
      seconds: round(fromSpawnMs / 1000, 2),
      messagesPerSecond: round((last.count / fromSpawnMs) * 1000),
    },
    together,
    latencyMs: {
      p50: round(percentile(latencies, 50), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(percentile(latencies, 100), 1),
    },
    emulatorCpuMs,
    otherLoadCores: otherCores,
    processes: reports.map((r, i) => processResult(r, messages, spawned[i])),
    ...(proxy === undefined ? {} : { proxy }),
    reports,
  };
}

/** (a) raw ceiling or (c) naive baseline: hand-written loops over two FIFO queues. */
export async function runLoops(
  ctx: Context,
  mode: 'raw' | 'naive' | 'sqs-consumer',
  concurrency: number,
  messages: number,
  options: { together?: boolean; rawArgs?: readonly string[]; nodeOptions?: string | undefined } = {},
): Promise<RunResult> {
  const base = unique(ctx, mode === 'sqs-consumer' ? 'peer' : mode);
  const attributes: Record<string, string> =
    mode !== 'naive'
      ? {
          FifoQueue: 'true',
          ContentBasedDeduplication: 'false',
          DeduplicationScope: 'messageGroup',
          FifoThroughputLimit: 'perMessageGroupId',
        }
      : // The original creates its queues with these two attributes only.
        { FifoQueue: 'true', VisibilityTimeout: '120' };
  const urls: string[] = [];
  try {
    for (const name of [`${base}-hop1.fifo`, `${base}-hop2.fifo`]) {
      const out = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      urls.push(out.QueueUrl ?? '');
    }
    const [hop1 = '', hop2 = ''] = urls;
    const common = [
      '--concurrency',
      String(concurrency),
      '--limit',
      String(messages),
      '--endpoint',
      ctx.endpoint,
      '--deadline',
      String(ctx.childDeadlineMs),
    ];
    return await threeProcesses(
      ctx,
      mode,
      concurrency,
      messages,
      (role, report) => {
        const queues =
          role === 'producer'
            ? ['--out', hop1]
            : role === 'relay'
              ? ['--in', hop1, '--out', hop2]
              : ['--in', hop2];
        const tagged = [...common, ...queues, '--tag', `${base}${role[0]}`, '--report', report];
        // sqs-consumer: relay and sink on the library, the source the raw loop's producer.
        if (mode === 'sqs-consumer' && role !== 'producer')
          return startChild(`sqs-consumer ${role}`, PEER, [role, ...tagged]);
        const loopMode = mode === 'naive' ? 'naive' : 'raw';
        const args = [loopMode, role, ...(loopMode === 'raw' ? (options.rawArgs ?? []) : []), ...tagged];
        // --profile: the raw loops too, to compare where each spends its CPU.
        const nodeArgs =
          ctx.profileDir === undefined || mode !== 'raw'
            ? []
            : [
                '--cpu-prof',
                `--cpu-prof-dir=${ctx.profileDir}`,
                `--cpu-prof-name=raw-${role}-c${concurrency}-${process.pid}-${counter}.cpuprofile`,
              ];
        return startChild(`${loopMode} ${role}`, LOOPS, args, {
          nodeArgs,
          cgroup: ctx.cgroup,
          ...nodeOptionsEnv(options.nodeOptions),
        });
      },
      options.together,
    );
  } finally {
    await Promise.all(
      urls.map((QueueUrl) => ctx.sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => {})),
    );
  }
}

const STAGE_OF = { producer: 'src', relay: 'relay', consumer: 'sink' } as const;

/**
 * The Node options the README recommends for stage processes (Deployment, Memory), as the stage
 * CLI's --help prints them. With Node's defaults on a large machine (a 4 GiB heap limit here) V8
 * keeps growing its young generation and old-space limit while a stage runs at full speed: nothing
 * leaks, but RSS climbs for the first tens of thousands of messages before it levels off.
 */
export { STAGE_NODE_OPTIONS } from '../../src/cli/stage-cli.ts';

export function stageChild(
  ctx: Context,
  stage: 'src' | 'relay' | 'sink',
  workers: number,
  args: readonly string[],
  report: string,
  nodeOptions?: string,
): Child {
  // SQSPIPES_BENCH_STAGE_NODE_ARGS: extra Node flags for the stage processes only (e.g. V8 heap flags).
  const extra = (process.env['SQSPIPES_BENCH_STAGE_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const nodeArgs =
    ctx.profileDir === undefined
      ? extra
      : [
          ...extra,
          '--cpu-prof',
          `--cpu-prof-dir=${ctx.profileDir}`,
          `--cpu-prof-name=${stage}-w${workers}-${process.pid}-${counter}.cpuprofile`,
        ];
  return startChild(
    `sqspipes ${stage}`,
    PIPELINE,
    [
      ...[stage, String(workers), '--endpoint', ctx.endpoint, ...args, '--report', report],
      ...(ctx.traceReceives && stage !== 'src' ? ['--trace-receives'] : []),
    ],
    {
      nodeArgs,
      cgroup: ctx.cgroup,
      // As users set them: NODE_OPTIONS in the stage process's environment.
      ...nodeOptionsEnv(nodeOptions),
    },
  );
}

/** A child's environment with `nodeOptions` added to NODE_OPTIONS (none: this process's). */
function nodeOptionsEnv(nodeOptions: string | undefined): { env?: NodeJS.ProcessEnv } {
  if (nodeOptions === undefined) return {};
  const NODE_OPTIONS = [process.env['NODE_OPTIONS'], nodeOptions].filter(Boolean).join(' ');
  return { env: { ...process.env, NODE_OPTIONS } };
}

/** The pipeline's client (src → relay → sink), for set-up and clean-up from this process. */
function pipelineClient(ctx: Context, domain: string, priorities: number): TaskClient {
  const client = new TaskClient({
    domain,
    endpoint: ctx.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
  const noop = () => undefined;
  client.registerTasks([
    { method: noop, name: 'src' },
    { method: noop, name: 'relay', priorities },
    { method: noop, name: 'sink' },
  ]);
  return client;
}

/** Creates the pipeline's queues beforehand (as the raw loops' queues are). */
export async function createPipeline(ctx: Context, domain: string, priorities: number): Promise<void> {
  const client = pipelineClient(ctx, domain, priorities);
  try {
    await client.createQueues();
  } finally {
    await client.close();
  }
}

export async function destroyPipeline(ctx: Context, domain: string, priorities: number): Promise<void> {
  const client = pipelineClient(ctx, domain, priorities);
  try {
    await client.destroy();
  } finally {
    await client.close();
  }
}

/**
 * (b) sqspipes: src → relay → sink, one process per stage, `workers` each. `callMs`: the relay
 * waits that long in each call (a slow stage), which bounds it at `workers / callMs` calls a second.
 */
export async function runPipeline(
  ctx: Context,
  workers: number,
  messages: number,
  options: {
    interval?: number;
    priorities?: number;
    idleTimeoutMs?: number;
    nodeOptions?: string;
    callMs?: number;
    /** Start the three stages at once, the domain's queues created first (the short run). */
    together?: boolean;
  } = {},
): Promise<RunResult> {
  const domain = unique(ctx, 'sp');
  if (options.together === true) await createPipeline(ctx, domain, options.priorities ?? 1);
  const priorities = options.priorities ?? 1;
  const common = [
    ...['--domain', domain, '--priorities', String(priorities)],
    ...['--limit', String(messages), '--deadline', String(ctx.childDeadlineMs)],
    ...(options.idleTimeoutMs === undefined ? [] : ['--idle-timeout', String(options.idleTimeoutMs)]),
  ];
  const callMs = options.callMs ?? 0;
  try {
    const run = await threeProcesses(
      ctx,
      'sqspipes',
      workers,
      messages,
      (role, report) => {
        const stage = STAGE_OF[role];
        const extra =
          stage === 'src' && options.interval !== undefined
            ? ['--interval', String(options.interval)]
            : stage === 'relay' && callMs > 0
              ? ['--call-ms', String(callMs)]
              : [];
        return stageChild(ctx, stage, workers, [...common, ...extra], report, options.nodeOptions);
      },
      options.together,
    );
    if (callMs === 0) return run;
    return { ...run, relayCallMs: callMs, idealMessagesPerSecond: round((workers / callMs) * 1000, 1) };
  } finally {
    await destroyPipeline(ctx, domain, priorities).catch(() => {});
  }
}

export interface LatencyResult {
  readonly trials: number;
  readonly warmup: number;
  readonly intervalMs: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly run: RunResult;
}

/** One input at a time through three idle stages: the source emits one value every `intervalMs`. */
export async function runLatency(
  ctx: Context,
  trials: number,
  warmup: number,
  intervalMs: number,
): Promise<LatencyResult> {
  const run = await runPipeline(ctx, 1, trials + warmup, { interval: intervalMs });
  const sink = run.reports[2];
  const samples = (sink?.latencies ?? []).slice(warmup);
  return {
    trials: samples.length,
    warmup,
    intervalMs,
    p50: round(percentile(samples, 50), 1),
    p99: round(percentile(samples, 99), 1),
    min: round(percentile(samples, 0), 1),
    max: round(percentile(samples, 100), 1),
    mean: round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length), 1),
    run,
  };
}

export interface IdleResult {
  readonly priorities: number;
  readonly windowSeconds: number;
  readonly requests: Record<string, number>;
  readonly perMinute: number;
  readonly perMinutePerLevel: number;
  /** Long polls since the stage started, by queue: a level with none was never polled. */
  readonly receivesByQueue: Record<string, number>;
  readonly levelsPolled: number;
  readonly error?: string;
}

/** Requests per minute of one idle stage process (relay) with each number of priority levels. */
export async function runIdle(
  ctx: Context,
  levels: readonly number[],
  windowMs: number,
): Promise<IdleResult[]> {
  const runs = levels.map((priorities) => ({ priorities, domain: unique(ctx, 'idle') }));
  try {
    const children = runs.map(({ priorities, domain }) => {
      const report = reportFile(ctx, `idle-p${priorities}`);
      const child = stageChild(
        ctx,
        'relay',
        1,
        [
          '--domain',
          domain,
          '--limit',
          '1',
          '--priorities',
          String(priorities),
          '--idle-window',
          String(windowMs),
          '--idle-timeout',
          String(windowMs + 60_000),
          '--deadline',
          String(windowMs + 60_000),
        ],
        report,
      );
      return { child, report, priorities };
    });
    const reports = await Promise.all(
      children.map(({ child, report }) => finish(child, report, windowMs + 90_000)),
    );
    return reports.map((report, i) => {
      const priorities = runs[i]?.priorities ?? 1;
      const requests = report.idle?.requests ?? {};
      const total = Object.values(requests).reduce((a, b) => a + b, 0);
      const perMinute = (total / windowMs) * 60_000;
      return {
        priorities,
        windowSeconds: windowMs / 1000,
        requests,
        perMinute: round(perMinute, 2),
        perMinutePerLevel: round(perMinute / priorities, 2),
        receivesByQueue: report.idle?.receivesByQueue ?? {},
        levelsPolled: Object.values(report.idle?.receivesByQueue ?? {}).filter((n) => n > 0).length,
        ...(report.error === undefined ? {} : { error: report.error }),
      };
    });
  } finally {
    await Promise.all(
      runs.map(({ domain, priorities }) => destroyPipeline(ctx, domain, priorities).catch(() => {})),
    );
  }
}

export interface SoakProcess {
  readonly role: string;
  readonly rssAtMarkMiB: number;
  readonly rssAtEndMiB: number;
  readonly maxRssAfterMarkMiB: number;
  /** (end − mark) / mark, percent. */
  readonly changePercent: number;
  /** RSS half-way through, and (end − half) / half: a plateau or still growing? */
  readonly rssAtHalfMiB: number;
  readonly secondHalfChangePercent: number;
  readonly flat: boolean;
  readonly samples: readonly {
    count: number;
    rssMiB: number;
    heapTotalMiB: number;
    heapUsedMiB: number;
    externalMiB: number;
  }[];
}

export interface SoakResult {
  /** NODE_OPTIONS of the stage processes, or null for Node's defaults. */
  readonly nodeOptions: string | null;
  readonly workers: number;
  readonly messages: number;
  readonly mark: number;
  readonly run: RunResult;
  readonly processes: readonly SoakProcess[];
}

/**
 * A long sqspipes run; RSS of each stage process at `mark` messages and at the end. `nodeOptions`:
 * NODE_OPTIONS for the stage processes (undefined: Node's defaults).
 */
export async function runSoak(
  ctx: Context,
  workers: number,
  messages: number,
  mark: number,
  nodeOptions?: string,
): Promise<SoakResult> {
  const run = await runPipeline(ctx, workers, messages, nodeOptions === undefined ? {} : { nodeOptions });
  const mib = (bytes: number) => round(bytes / 1_048_576, 1);
  const processes = run.reports.map((report) => {
    const samples = report.samples;
    const atMark = samples.find((s) => s.count >= mark) ?? samples[0];
    const atEnd = samples.find((s) => s.count >= messages) ?? samples[samples.length - 1];
    const atHalf = samples.find((s) => s.count >= messages / 2) ?? samples[0];
    const halfRss = atHalf?.rss ?? Number.NaN;
    const markRss = atMark?.rss ?? Number.NaN;
    const endRss = atEnd?.rss ?? Number.NaN;
    const after = samples.filter((s) => s.count >= mark && s.count <= messages);
    const change = ((endRss - markRss) / markRss) * 100;
    // Down-sampled curve for the JSON (about 50 points).
    const every = Math.max(1, Math.floor(samples.length / 50));
    return {
      role: report.role,
      rssAtMarkMiB: mib(markRss),
      rssAtEndMiB: mib(endRss),
      maxRssAfterMarkMiB: mib(Math.max(...after.map((s) => s.rss))),
      changePercent: round(change, 1),
      rssAtHalfMiB: mib(halfRss),
      secondHalfChangePercent: round(((endRss - halfRss) / halfRss) * 100, 1),
      flat: Math.abs(change) <= 10,
      samples: samples
        .filter((_, i) => i % every === 0)
        .map((s) => ({
          count: s.count,
          rssMiB: mib(s.rss),
          heapTotalMiB: mib(s.heapTotal),
          heapUsedMiB: mib(s.heapUsed),
          externalMiB: mib(s.external),
        })),
    };
  });
  return { nodeOptions: nodeOptions ?? null, workers, messages, mark, run, processes };
}

export interface FanoutResult {
  /** NODE_OPTIONS of the stage processes, or null for Node's defaults. */
  readonly nodeOptions: string | null;
  /** The memory limit, GiB, of the cgroup the processes ran in (as in a container), or null for none. */
  readonly containerGib: number | null;
  readonly outputs: number;
  readonly bytes: number;
  /** Every output reached the last stage. */
  readonly complete: boolean;
  /** Peak RSS of the process that fans one input out. */
  readonly fanPeakRssMiB: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly run: RunResult;
  /**
   * The reference: the raw loop's producer sending as many outputs of the same size, with as many
   * batches in flight as sqspipes' output window lets a run have, under the same Node options.
   */
  readonly raw: {
    readonly loops: number;
    readonly peakRssMiB: number;
    readonly messagesPerSecond: number;
    readonly complete: boolean;
    readonly run: RunResult;
  };
}

/**
 * One input fanned out into `outputs` outputs of about `bytes` bytes each by a generator stage
 * (the relay, 8 workers): its peak RSS shows whether the outputs are paused while SQS accepts
 * them or buffered without limit.
 */
export async function runFanout(
  outer: Context,
  outputs: number,
  bytes: number,
  nodeOptions?: string,
  containerGib?: number,
): Promise<FanoutResult> {
  const cgroup =
    containerGib === undefined ? undefined : createMemoryCgroup(containerGib, `${outer.prefix}-fanout`);
  const ctx: Context = { ...outer, cgroup: cgroup?.dir };
  const domain = unique(ctx, 'fan');
  const common = ['--domain', domain, '--priorities', '1', '--deadline', String(ctx.childDeadlineMs)];
  try {
    const run = await threeProcesses(ctx, 'sqspipes', 8, outputs, (role, report) => {
      const stage = STAGE_OF[role];
      const extra =
        stage === 'relay'
          ? ['--limit', '1', '--fanout', String(outputs), '--bytes', String(bytes)]
          : ['--limit', stage === 'src' ? '1' : String(outputs)];
      return stageChild(ctx, stage, 8, [...common, ...extra], report, nodeOptions);
    });
    const [, relay, sink] = run.reports;
    const complete =
      relay?.count === outputs && sink?.count === outputs && run.reports.every((r) => r.error === undefined);
    // The same sends by the SDK alone: 10 outputs a batch, one batch in flight per loop.
    const loops = Math.max(1, Math.round(OUTPUT_WINDOW_BYTES / (10 * bytes)));
    const raw = await runLoops(ctx, 'raw', loops, outputs, {
      rawArgs: ['--bytes', String(bytes)],
      nodeOptions,
    });
    return {
      nodeOptions: nodeOptions ?? null,
      containerGib: containerGib ?? null,
      outputs,
      bytes,
      complete,
      fanPeakRssMiB: round((relay?.maxRssKiB ?? 0) / 1024, 1),
      seconds: run.seconds,
      messagesPerSecond: run.messagesPerSecond,
      run: { ...run, complete },
      raw: {
        loops,
        peakRssMiB: round((raw.reports[0]?.maxRssKiB ?? 0) / 1024, 1),
        messagesPerSecond: raw.messagesPerSecond,
        complete: raw.complete,
        run: raw,
      },
    };
  } finally {
    await destroyPipeline(ctx, domain, 1).catch(() => {});
    cgroup?.remove();
  }
}
