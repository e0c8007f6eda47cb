/**
 * `npm run bench [-- flags]`: the throughput and cost benchmark of sqspipes (issue 5).
 *
 * Starts fauxqs as a separate process on a free loopback port (or uses SQSPIPES_BENCH_ENDPOINT)
 * and, on that one endpoint, each scenario on its own queues (deleted afterwards), measures:
 *   a        raw ceiling: hand-written SDK loops, batch send/receive/delete, 3 processes
 *   b        sqspipes: src → relay → sink, one process per stage, at several worker counts
 *   c        naive baseline: the Python original's call pattern, 3 processes
 *   latency  one input at a time through 3 idle stages
 *   idle     requests per minute of one idle stage with 1 and 4 priority levels
 *   soak     a long sqspipes run (100 000 messages): is RSS flat? Twice: stage processes with the
 *            NODE_OPTIONS the README recommends (the target), then with Node's defaults.
 *   fanout   one input fanned out by a generator stage into 100 000 outputs of 10 KB: the peak RSS
 *            of that stage's process (--fanout-outputs N, --fanout-bytes B; --fanout-defaults: that
 *            process with Node's default flags rather than the recommended NODE_OPTIONS;
 *            --fanout-container-gib N: its processes in a memory cgroup of N GiB, as in a container
 *            with that limit, from which Node sizes its heap; needs root). Its reference: the raw
 *            loop's producer sending the same outputs with as many batches in flight as sqspipes'
 *            output window allows, under the same Node options (and in the same cgroup).
 *   submit   client.submit() over src → relay → sink (the relay and sink as stage processes, the
 *            source not run; this process is the sender). Cost: --submit-items N (2000) items fed
 *            at once with enqueue() (the baseline, consumed by the sink's own run), with submit()
 *            and every result() awaited, and with submit({ status: true }), at --submit-workers W
 *            (16) per stage: SQS requests per item over all processes, by action, and the extra
 *            over the baseline. Latency: --trials items one at a time, submit() call → result(),
 *            beside the latency scenario's measure (run here too unless --only has latency).
 *   startup  start-up and ramp-up beside the raw loop: a relay process whose input already waits
 *            in an existing queue, spawn → first output, --startup-trials (5) fresh processes
 *            of each, medians; and a short run, --short-messages (6000) with the three processes
 *            started together, counted from the source's spawn (--startup-workers W, 16).
 *   peer     the peer reference: relay and sink built on bbc/sqs-consumer (C Consumers per stage,
 *            batchSize 10, handleMessageBatch; the raw loop's producer as source) beside sqspipes
 *            with as many workers, --peer-consumers 4 (a list), --repeat rounds alternating.
 * Every three-process run reports each role's CPU per message (user + system over the run ÷
 * messages) and the time from each process's spawn to its first output.
 * Prints tables, writes bench-results/latest.json and bench-results/throughput.svg.
 *
 * Flags: --messages N, --quick, --only a,b,c,latency,idle,soak,fanout,submit,startup,peer, --workers 1,4,16,64,
 * --concurrency 1,4,16,64 (raw loops), --naive-concurrency 4, --idle-seconds 60, --trials 100,
 * --repeat R (rounds; each point is the best), --soak-workers W, --out DIR,
 * --profile (node --cpu-prof on the sqspipes stage processes and the raw loops), --trace (time their receives),
 * --submit-items N, --submit-workers W, --startup-trials N, --startup-workers W, --short-messages N,
 * --peer-consumers 4, --quiet-wait S (longest wait for a quiet machine before each run, 60),
 * --raw-work sqspipes ((a)'s loops also do by hand the work sqspipes does per message: envelopes,
 * content ids, the attributes it asks for; see scripts/bench/loops.ts --work).
 *
 * The network model (both 0 by default, which is the plain loopback benchmark):
 *   --rtt MS      every scenario talks to SQS through a proxy on 127.0.0.1 (its own process) that
 *                 adds MS ms to every request, half on the way there and half on the way back;
 *                 the tables then name the raw loop's best concurrency and set sqspipes' worker
 *                 counts beside it at the same delay.
 *   --call-ms MS  in (b), the relay waits MS ms in each call (a slow stage); the tables then give
 *                 that stage's ideal rate, workers / MS × 1000 msg/s, next to the measured one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { rawClient } from './bench/child.ts';
import { type Endpoint, startEndpoint } from './bench/emulator.ts';
import { modelRows, modelTable } from './bench/model-table.ts';
import { type DelayProxy, meanAddedMs, type ProxyCounts, startDelayProxy } from './bench/network.ts';
import { installCleanup, killAll } from './bench/procs.ts';
import {
  type Context,
  type IdleResult,
  type LatencyResult,
  machineBusyMs,
  type RunResult,
  runIdle,
  runLatency,
  runLoops,
  runPipeline,
  runSoak,
  type SoakResult,
  type FanoutResult,
  runFanout,
  STAGE_NODE_OPTIONS,
} from './bench/scenarios.ts';
import { bestMean, levelMeans, meansTable } from './bench/means.ts';
import { fmt, markdownTable, round, table } from './bench/stats.ts';
import { disturbed, runSubmit, type SubmitResult } from './bench/submit.ts';
import { type FirstOutput, runFirstOutput, runShort, type ShortRun } from './bench/startup.ts';
import { lineChart } from './bench/svg.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS = ['a', 'b', 'c', 'latency', 'idle', 'soak', 'fanout', 'submit', 'startup', 'peer'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: flags } = parseArgs({
  options: {
    messages: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    workers: { type: 'string' },
    concurrency: { type: 'string' },
    repeat: { type: 'string' },
    'naive-concurrency': { type: 'string' },
    'idle-seconds': { type: 'string' },
    trials: { type: 'string' },
    'soak-workers': { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    rtt: { type: 'string' },
    'call-ms': { type: 'string' },
    'fanout-outputs': { type: 'string' },
    'fanout-bytes': { type: 'string' },
    'fanout-defaults': { type: 'boolean', default: false },
    'fanout-container-gib': { type: 'string' },
    'raw-work': { type: 'string' },
    'submit-items': { type: 'string' },
    'submit-workers': { type: 'string' },
    'startup-trials': { type: 'string' },
    'startup-workers': { type: 'string' },
    'short-messages': { type: 'string' },
    'peer-consumers': { type: 'string' },
    'quiet-wait': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  const text = (await import('node:fs')).readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(text)?.[1]?.replace(/^ \* ?/gm, '')}\n`);
  process.exit(0);
}

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}
function nonNegativeInt(text: string | undefined, name: string): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be an integer >= 0 (ms)`);
  return n;
}
function intList(text: string | undefined, name: string, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  return text.split(',').map((t) => positiveInt(t.trim(), name, 1));
}

const quick = flags.quick;
const DEFAULT_MESSAGES = 20_000;
// With a round trip a raw loop at concurrency 1 moves ~140 msg/s: half the messages keep it near a minute.
const messages = positiveInt(
  flags.messages,
  'messages',
  quick ? 2_000 : nonNegativeInt(flags.rtt, 'rtt') > 0 ? DEFAULT_MESSAGES / 2 : DEFAULT_MESSAGES,
);
const only = new Set<Scenario>(
  flags.only === undefined
    ? ['a', 'b', 'c', 'latency', 'idle', 'submit']
    : flags.only.split(',').map((s) => {
        const name = s.trim() as Scenario;
        if (!SCENARIOS.includes(name)) throw new Error(`--only takes ${SCENARIOS.join(',')}; got "${s}"`);
        return name;
      }),
);
const sweep = intList(flags.workers, 'workers', quick ? [1, 16] : [1, 4, 16, 64]);
const rawWork = flags['raw-work'] ?? 'none';
if (rawWork !== 'none' && rawWork !== 'sqspipes') throw new Error('--raw-work must be none or sqspipes');
/** (a)'s loops' extra flags: --raw-work sqspipes makes them the same-work loop. */
const rawArgs = rawWork === 'sqspipes' ? ['--work', 'sqspipes'] : [];
const rawLevels = intList(flags.concurrency, 'concurrency', quick ? [4, 16] : [1, 4, 16, 64]);
const repeat = positiveInt(flags.repeat, 'repeat', quick ? 1 : 2);
const naiveLevels = intList(flags['naive-concurrency'], 'naive-concurrency', [4]);
const idleSeconds = positiveInt(flags['idle-seconds'], 'idle-seconds', quick ? 5 : 60);
const trials = positiveInt(flags.trials, 'trials', quick ? 20 : 100);
const soakMessages = flags.messages === undefined ? (quick ? 20_000 : 100_000) : messages;
const rttMs = nonNegativeInt(flags.rtt, 'rtt');
const fanoutOutputs = positiveInt(flags['fanout-outputs'], 'fanout-outputs', quick ? 10_000 : 100_000);
const fanoutBytes = positiveInt(flags['fanout-bytes'], 'fanout-bytes', 10_240);
const fanoutContainerGib =
  flags['fanout-container-gib'] === undefined
    ? undefined
    : positiveInt(flags['fanout-container-gib'], 'fanout-container-gib', 2);
const callMs = nonNegativeInt(flags['call-ms'], 'call-ms');
const submitItems = positiveInt(flags['submit-items'], 'submit-items', quick ? 500 : 2_000);
const submitWorkers = positiveInt(flags['submit-workers'], 'submit-workers', 16);
const startupTrials = positiveInt(flags['startup-trials'], 'startup-trials', 5);
const startupWorkers = positiveInt(flags['startup-workers'], 'startup-workers', 16);
const shortMessages = positiveInt(flags['short-messages'], 'short-messages', 6_000);
const peerLevels = intList(flags['peer-consumers'], 'peer-consumers', [4]);
const quietWaitMs =
  (flags['quiet-wait'] === undefined ? 60 : nonNegativeInt(flags['quiet-wait'], 'quiet-wait')) * 1000;
/** What the run models, for titles: "" on plain loopback. */
const model = [
  ...(rttMs > 0 ? [`rtt ${rttMs} ms`] : []),
  ...(callMs > 0 ? [`relay call ${callMs} ms`] : []),
].join(', ');
const outDir = flags.out ?? join(ROOT, 'bench-results', quick ? 'tmp' : '');
const tmpDir = join(ROOT, 'bench-results', 'tmp');
mkdirSync(outDir, { recursive: true });
mkdirSync(tmpDir, { recursive: true });

/**
 * Every point moves the same number of messages: a point's rate counts from the first message
 * sent to the last one received, so the fixed costs of a run (processes starting, code warming
 * up, the pipeline filling and draining) weigh the same on every point. (Until 2026-12 low
 * concurrency moved fewer, 10 000 against 20 000 at 64: that put sqspipes at 4 workers, whose
 * start costs more than a raw loop's, beside the raw loop's best measured on twice as many.)
 */
function messagesFor(_concurrency: number): number {
  return messages;
}
/**
 * (b) with a slow relay: as many, but at most a minute's worth at the relay's ideal rate, so that
 * a long --call-ms stays within the children's deadline.
 */
function pipelineMessagesFor(workers: number): number {
  const n = messagesFor(workers);
  return callMs === 0 ? n : Math.min(n, Math.max(50, Math.round((workers / callMs) * 60_000)));
}
/** The naive baseline runs one message at a time: an eighth of the messages gives its rate. */
const naiveMessages = Math.max(200, Math.round(messages / 8));

/**
 * The machine may be shared: before a measured run, wait (at most --quiet-wait seconds, 60) until
 * programs other than the benchmark use less than a quarter of a core; each run also reports what
 * they used.
 */
async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + quietWaitMs;
  let told = false;
  while (Date.now() < deadline) {
    const before = machineBusyMs();
    await sleep(1000);
    const after = machineBusyMs();
    if (before === undefined || after === undefined) return;
    const cores = (after - before) / 1000;
    if (cores < 0.25) return;
    if (!told)
      log(
        `  (other programs use ${cores.toFixed(2)} cores; waiting up to ${quietWaitMs / 1000} s for quiet)`,
      );
    told = true;
  }
}

function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

function describe(run: RunResult): string {
  const status =
    (run.complete ? '' : '  INCOMPLETE') +
    ((run.otherLoadCores ?? 0) >= 0.25 ? `  DISTURBED (other programs: ${run.otherLoadCores} cores)` : '');
  const errors = run.processes
    .filter((p) => p.error !== undefined)
    .map((p) => `\n    ${p.role}: ${p.error}`)
    .join('');
  const traces = run.processes
    .filter((p) => p.receiveTrace !== undefined)
    .map((p) => {
      const t = p.receiveTrace;
      return `\n    ${p.role}: ${t?.receives} receives, ${fmt(t?.messagesPerReceive, 1)} msgs each, ${fmt(t?.meanMs, 1)} ms each, up to ${t?.maxInFlight} at once, one in flight ${fmt((t?.busyShare ?? 0) * 100)}% of the time`;
    })
    .join('');
  const ideal =
    run.idealMessagesPerSecond === undefined
      ? ''
      : `; ideal for the relay ${fmt(run.idealMessagesPerSecond)} msg/s, measured ${fmt((run.messagesPerSecond / run.idealMessagesPerSecond) * 100)} % of it`;
  const proxied =
    run.proxy === undefined
      ? ''
      : `\n    proxy: ${run.proxy.requests} requests, +${fmt(run.proxy.meanAddedMs, 1)} ms each on average, ${run.proxy.cpuUsPerRequest} µs CPU each${run.proxy.failed > 0 ? `, ${run.proxy.failed} FAILED upstream` : ''}`;
  return `${fmt(run.messagesPerSecond)} msg/s${ideal} (${run.messages} msgs in ${fmt(run.seconds, 2)} s; p50 ${fmt(run.latencyMs.p50, 1)} ms; req/msg ${run.processes.map((p) => fmt(p.requestsPerMessage, 2)).join('/')})${status}${errors}${traces}${proxied}`;
}

/** The best run of each concurrency level, in level order. */
function bestPerLevel(runs: readonly RunResult[]): RunResult[] {
  const levels = [...new Set(runs.map((r) => r.concurrency))].sort((x, y) => x - y);
  return levels.flatMap((level) => best(runs.filter((r) => r.concurrency === level)) ?? []);
}

function best(runs: readonly RunResult[]): RunResult | undefined {
  // Prefer complete runs that nothing else on the machine disturbed.
  const clean = (r: RunResult) => r.complete && (r.otherLoadCores ?? 0) < 0.25;
  const pool = runs.some(clean)
    ? runs.filter(clean)
    : runs.some((r) => r.complete)
      ? runs.filter((r) => r.complete)
      : runs;
  return pool.reduce<RunResult | undefined>(
    (a, r) => (a === undefined || r.messagesPerSecond > a.messagesPerSecond ? r : a),
    undefined,
  );
}

function machine() {
  const cpu = os.cpus();
  // SQSPIPES_BENCH_COMMIT names the build measured when it is not a git checkout (an export).
  let commit = process.env['SQSPIPES_BENCH_COMMIT'] ?? 'unknown';
  if (commit === 'unknown')
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout: the commit stays unknown
    }
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit,
  };
}

// The emulator is one of the tracked children: ctrl-C ends it with the others.
installCleanup(() => killAll());

const started = Date.now();
const endpoint: Endpoint = await startEndpoint();
// --rtt: every scenario (and the queue set-up here) goes through the delay proxy.
const proxy: DelayProxy | undefined = rttMs > 0 ? await startDelayProxy(endpoint.url, rttMs) : undefined;
const url = proxy?.url ?? endpoint.url;
const sqs = rawClient(url);
const ctx: Context = {
  endpoint: url,
  emulatorPid: endpoint.pid,
  sqs,
  prefix: `sqspb${process.pid}`,
  tmpDir,
  childDeadlineMs: 240_000,
  profileDir: flags.profile ? join(tmpDir, 'profiles') : undefined,
  traceReceives: flags.trace,
  proxy,
};
if (ctx.profileDir !== undefined) mkdirSync(ctx.profileDir, { recursive: true });
const info = machine();
log(`sqspipes benchmark on ${info.cpu} (${info.cores} cores, ${info.memoryGiB} GiB), node ${info.node}`);
log(`SQS: ${endpoint.name} at ${endpoint.url}; scenarios ${[...only].join(',')}; ${messages} messages`);
if (proxy !== undefined)
  log(`Network: through a delay proxy at ${proxy.url} (pid ${proxy.pid}), +${rttMs} ms per request`);
if (callMs > 0) log(`Slow stage: the relay of (b) waits ${callMs} ms per call`);
log('');

const runs: { raw: RunResult[]; sqspipes: RunResult[]; naive: RunResult[] } = {
  raw: [],
  sqspipes: [],
  naive: [],
};
let latency: LatencyResult | undefined;
let idle: IdleResult[] | undefined;
/** The soak with the recommended NODE_OPTIONS, then with Node's defaults. */
const soaks: SoakResult[] = [];
let fanout: FanoutResult | undefined;
let submit: SubmitResult | undefined;
let firstOutput: FirstOutput | undefined;
let shortRun: ShortRun | undefined;
/** The peer reference (sqs-consumer) and sqspipes beside it, alternating. */
const peer: { sqsConsumer: RunResult[]; sqspipes: RunResult[] } = { sqsConsumer: [], sqspipes: [] };
/** The latency scenario measured for (submit) when --only leaves latency out. */
let submitBaseline: LatencyResult | undefined;
/** The delay proxy's counters at the end (--rtt > 0). */
let proxyTotals: ProxyCounts | undefined;

try {
  if (only.has('a') || only.has('b')) {
    // Warm-up, not counted: the emulator's and the SDK's code paths get compiled first.
    const warm = await runLoops(ctx, 'raw', 16, Math.min(messages, 2_000));
    log(`warm-up (not counted): ${describe(warm)}`);
  }
  // Rounds alternate (a) and (b), so that drift on the shared machine hits both alike.
  for (let round = 1; round <= repeat; round++) {
    const tag = repeat > 1 ? ` [round ${round}/${repeat}]` : '';
    if (only.has('a')) {
      for (const c of rawLevels) {
        await waitForQuiet();
        const run = await runLoops(ctx, 'raw', c, messagesFor(c), { rawArgs });
        runs.raw.push(run);
        log(
          `(a) raw ${rawWork === 'none' ? 'ceiling' : "loop doing sqspipes' work"}, ${c} loops/process${tag}: ${describe(run)}`,
        );
      }
    }
    if (only.has('b')) {
      for (const w of sweep) {
        await waitForQuiet();
        const run = await runPipeline(ctx, w, pipelineMessagesFor(w), { callMs });
        runs.sqspipes.push(run);
        log(`(b) sqspipes, ${w} workers/stage${tag}: ${describe(run)}`);
      }
    }
  }
  if (only.has('peer')) {
    for (let round = 1; round <= repeat; round++) {
      const tag = repeat > 1 ? ` [round ${round}/${repeat}]` : '';
      for (const c of peerLevels) {
        await waitForQuiet();
        const p = await runLoops(ctx, 'sqs-consumer', c, messagesFor(c));
        peer.sqsConsumer.push(p);
        log(`(peer) sqs-consumer, ${c} consumers/stage${tag}: ${describe(p)}`);
        await waitForQuiet();
        const s = await runPipeline(ctx, c, messagesFor(c));
        peer.sqspipes.push(s);
        log(`(peer) sqspipes, ${c} workers/stage${tag}: ${describe(s)}`);
      }
    }
  }
  if (only.has('startup')) {
    await waitForQuiet();
    firstOutput = await runFirstOutput(ctx, startupTrials, startupWorkers);
    log(
      `startup: relay spawn → first output, median of ${startupTrials}: raw ${firstOutput.medians.raw} ms, sqspipes ${firstOutput.medians.sqspipes} ms (${firstOutput.ratio}×), node alone ${firstOutput.medians.node} ms${firstOutput.errors.length > 0 ? `; errors: ${firstOutput.errors.join('; ')}` : ''}`,
    );
    shortRun = await runShort(ctx, shortMessages, startupWorkers, repeat, waitForQuiet, log);
  }
  if (only.has('c')) {
    for (let round = 1; round <= repeat; round++) {
      for (const c of naiveLevels) {
        await waitForQuiet();
        const run = await runLoops(ctx, 'naive', c, naiveMessages);
        runs.naive.push(run);
        log(
          `(c) naive baseline, ${c} workers/process${repeat > 1 ? ` [round ${round}/${repeat}]` : ''}: ${describe(run)}`,
        );
      }
    }
  }
  if (only.has('latency')) {
    await waitForQuiet();
    latency = await runLatency(ctx, trials, 3, 100);
    log(
      `latency: one input through 3 idle stages, ${latency.trials} trials: p50 ${latency.p50} ms, p99 ${latency.p99} ms`,
    );
  }
  if (only.has('idle')) {
    log(`idle: measuring one idle stage for ${idleSeconds} s (1 and 4 priority levels at once)…`);
    idle = await runIdle(ctx, [1, 4], idleSeconds * 1000);
    for (const r of idle)
      log(
        `idle, ${r.priorities} level(s): ${r.perMinute} requests/min (${r.perMinutePerLevel} per level); levels polled ${r.levelsPolled}/${r.priorities}`,
      );
  }
  if (only.has('soak')) {
    const workers = positiveInt(
      flags['soak-workers'],
      'soak-workers',
      best(runs.sqspipes)?.concurrency ?? 16,
    );
    const mark = Math.min(10_000, Math.round(soakMessages / 10));
    for (const nodeOptions of [STAGE_NODE_OPTIONS, undefined]) {
      const how = nodeOptions === undefined ? "Node's defaults" : `NODE_OPTIONS="${nodeOptions}"`;
      log(`soak: ${soakMessages} messages through sqspipes at ${workers} workers/stage, ${how}…`);
      await waitForQuiet();
      const soak = await runSoak(ctx, workers, soakMessages, mark, nodeOptions);
      log(`soak: ${describe(soak.run)}`);
      soaks.push(soak);
    }
  }
  if (only.has('fanout')) {
    // --fanout-defaults: the stage process with Node's default flags, as users run it unless told.
    const nodeOptions = flags['fanout-defaults'] ? undefined : STAGE_NODE_OPTIONS;
    const how = `${nodeOptions === undefined ? "Node's defaults" : `NODE_OPTIONS="${nodeOptions}"`}${
      fanoutContainerGib === undefined ? '' : `, in a memory cgroup of ${fanoutContainerGib} GiB`
    }`;
    log(
      `fanout: one input into ${fanoutOutputs} outputs of ${fanoutBytes} bytes (a generator stage, 8 workers), ${how}…`,
    );
    await waitForQuiet();
    fanout = await runFanout(ctx, fanoutOutputs, fanoutBytes, nodeOptions, fanoutContainerGib);
    log(`fanout: peak RSS of the fanning process ${fanout.fanPeakRssMiB} MiB; ${describe(fanout.run)}`);
    log(
      `fanout reference: the raw loop's producer sending the same with ${fanout.raw.loops} batches in flight: peak RSS ${fanout.raw.peakRssMiB} MiB; ${describe(fanout.raw.run)}`,
    );
  }
  if (only.has('submit')) {
    log(
      `submit: ${submitItems} items at once (enqueue, submit, submit with statuses) at ${submitWorkers} workers/stage, then ${trials} one at a time…`,
    );
    submit = await runSubmit(ctx, {
      items: submitItems,
      workers: submitWorkers,
      trials,
      warmup: 3,
      intervalMs: 100,
      before: waitForQuiet,
      log,
    });
    if (latency === undefined) {
      await waitForQuiet();
      submitBaseline = await runLatency(ctx, trials, 3, 100);
      log(
        `submit: the latency scenario beside it, ${submitBaseline.trials} trials: p50 ${submitBaseline.p50} ms, p99 ${submitBaseline.p99} ms`,
      );
    }
  }
} finally {
  sqs.destroy();
  proxyTotals = await proxy?.counts().catch(() => undefined);
  await proxy?.stop();
  await killAll();
  await endpoint.stop();
}

// ---- results ----

const a = best(runs.raw);
const b = best(runs.sqspipes);
const c = best(runs.naive);
const ratioBA =
  a !== undefined && b !== undefined ? round(b.messagesPerSecond / a.messagesPerSecond, 2) : undefined;
const ratioBC =
  c !== undefined && b !== undefined ? round(b.messagesPerSecond / c.messagesPerSecond, 1) : undefined;

const header = [
  'scenario',
  'conc.',
  'msg/s',
  'req/msg src',
  'req/msg relay',
  'req/msg sink',
  'p50 ms',
  'p99 ms',
  'RSS MiB src/relay/sink',
  'CPU µs/msg src/relay/sink (sum)',
  'spawn→1st out ms src/relay/sink',
];
/** Each role's CPU per message and their sum. */
function cpuCell(run: RunResult): string {
  const each = run.processes.map((x) => x.cpuUsPerMessage);
  return `${each.map((x) => fmt(x)).join(' / ')} (${fmt(cpuTotal(run))})`;
}
function cpuTotal(run: RunResult): number {
  return run.processes.reduce((sum, x) => sum + x.cpuUsPerMessage, 0);
}
function row(label: string, run: RunResult): string[] {
  const [p, r, s] = run.processes;
  return [
    label + (run.complete ? '' : ' (incomplete)') + ((run.otherLoadCores ?? 0) >= 0.25 ? ' (disturbed)' : ''),
    String(run.concurrency),
    fmt(run.messagesPerSecond),
    fmt(p?.requestsPerMessage, 3),
    fmt(r?.requestsPerMessage, 3),
    fmt(s?.requestsPerMessage, 3),
    fmt(run.latencyMs.p50, 1),
    fmt(run.latencyMs.p99, 1),
    run.processes.map((x) => fmt(x.peakRssMiB)).join(' / '),
    cpuCell(run),
    run.processes.map((x) => fmt(x.startToFirstOutputMs)).join(' / '),
  ];
}
// With a round trip the best concurrency of the raw loop moves: the table names it.
const rawLabel = `${rttMs > 0 ? `(a) raw, best of ${rawLevels.join('/')}` : '(a) raw ceiling'}${rawWork === 'none' ? '' : ", doing sqspipes' work"}`;
const mainRows = [
  ...(a === undefined ? [] : [row(rawLabel, a)]),
  ...(b === undefined ? [] : [row('(b) sqspipes', b)]),
  ...(c === undefined ? [] : [row('(c) naive', c)]),
];
const sweepRows = [
  ...bestPerLevel(runs.raw).map((r) => row('raw', r)),
  ...bestPerLevel(runs.sqspipes).map((r) => row('sqspipes', r)),
  ...bestPerLevel(runs.naive).map((r) => row('naive', r)),
];
/** sqspipes' CPU per message over the raw loop's, all three roles (best runs of each). */
const cpuRatio = a !== undefined && b !== undefined ? round(cpuTotal(b) / cpuTotal(a), 2) : undefined;
/** Mean CPU per message of each role over complete runs. */
function meanCpu(list: readonly RunResult[]): number[] {
  const done = list.filter((r) => r.complete);
  return [0, 1, 2].map((i) =>
    round(
      done.reduce((sum, r) => sum + (r.processes[i]?.cpuUsPerMessage ?? 0), 0) / Math.max(1, done.length),
    ),
  );
}
const peerRows = [
  ...bestPerLevel(peer.sqsConsumer).map((r) => row('sqs-consumer', r)),
  ...bestPerLevel(peer.sqspipes).map((r) => row('sqspipes', r)),
];
const peerMeans = peerLevels.map((c) => {
  const at = (list: readonly RunResult[]) => levelMeans(list).find((m) => m.concurrency === c)?.mean;
  const s = at(peer.sqspipes);
  const p = at(peer.sqsConsumer);
  return {
    concurrency: c,
    sqsConsumer: p,
    sqspipes: s,
    ratio: s === undefined || p === undefined ? undefined : round(s / p, 2),
    cpuUsPerMessage: {
      sqsConsumer: meanCpu(peer.sqsConsumer.filter((r) => r.concurrency === c)),
      sqspipes: meanCpu(peer.sqspipes.filter((r) => r.concurrency === c)),
    },
  };
});

type Target = { target: string; measured: string; met: boolean | null };
const targets: Target[] = [];
// The targets are set for the loopback run: with a slow relay (b) measures the stage function,
// and a round trip adds to every latency, so those two are information only then.
if (ratioBA !== undefined)
  targets.push({
    target: callMs > 0 ? '(b)/(a) >= 0.8 (info: the relay is slowed by --call-ms)' : '(b)/(a) >= 0.8',
    measured: String(ratioBA),
    met: callMs > 0 ? null : ratioBA >= 0.8,
  });
// Issue 12's targets by worker count, on means (see scripts/bench/means.ts) when rounds repeat.
const rawBestMean = repeat > 1 && callMs === 0 ? bestMean(levelMeans(runs.raw)) : undefined;
if (rawBestMean !== undefined) {
  const floor = rttMs > 0 ? 0.7 : 0.8;
  const counted = levelMeans(runs.sqspipes).filter((m) =>
    rttMs > 0 ? m.concurrency <= 4 : m.concurrency >= 4,
  );
  if (counted.length > 0)
    targets.push({
      target: `mean of ${repeat} rounds, workers ${rttMs > 0 ? '1 and 4' : '4 and up'} >= ${floor} × raw best mean (${rawBestMean.concurrency} loops)`,
      measured: counted.map((m) => `${m.concurrency}: ${fmt(m.mean / rawBestMean.mean, 2)}`).join(', '),
      met: counted.every((m) => m.mean / rawBestMean.mean >= floor),
    });
}
if (ratioBC !== undefined)
  targets.push({ target: '(b)/(c) >= 5', measured: String(ratioBC), met: ratioBC >= 5 });
if (b !== undefined) {
  const worst = Math.max(...b.processes.map((p) => p.requestsPerMessage));
  targets.push({
    target: '<= 0.35 SQS requests/message/stage',
    measured: b.processes
      .map((p) => `${p.role.replace('sqspipes ', '')} ${fmt(p.requestsPerMessage, 3)}`)
      .join(', '),
    met: worst <= 0.35,
  });
}
if (latency !== undefined)
  targets.push({
    target:
      rttMs > 0
        ? 'idle 3-stage latency p50 <= 50 ms (info: set for rtt 0)'
        : 'idle 3-stage latency p50 <= 50 ms',
    measured: `p50 ${latency.p50} ms, p99 ${latency.p99} ms`,
    met: rttMs > 0 ? null : latency.p50 <= 50,
  });
if (idle !== undefined) {
  const worst = Math.max(...idle.map((r) => r.perMinutePerLevel));
  targets.push({
    target: 'idle stage <= 3 requests/min/level',
    measured: idle.map((r) => `${r.priorities} level(s): ${r.perMinute}/min`).join(', '),
    met: worst <= 3,
  });
}
for (const soak of soaks) {
  const reference = soak.nodeOptions === null;
  targets.push({
    target: reference
      ? "(reference, not the target) the same with Node's default heap sizes"
      : `RSS flat (±10%) from ${soak.mark} to ${soak.messages} messages, NODE_OPTIONS as the README recommends`,
    measured: soak.processes
      .map(
        (p) =>
          `${p.role.replace('sqspipes ', '')} ${p.rssAtMarkMiB}→${p.rssAtEndMiB} MiB (${p.changePercent >= 0 ? '+' : ''}${p.changePercent}%)`,
      )
      .join(', '),
    met: reference ? null : soak.processes.every((p) => p.flat),
  });
}

if (fanout !== undefined) {
  const mb = Math.round(fanout.bytes / 1024);
  targets.push({
    target:
      fanout.nodeOptions === null
        ? `a generator fanning 1 input into ${fanout.outputs} outputs of ${mb} KB: RSS <= 250 MiB (Node's defaults${fanout.containerGib === null ? '' : `, a ${fanout.containerGib} GiB container`})`
        : `a generator fanning 1 input into ${fanout.outputs} outputs of ${mb} KB: RSS <= 300 MiB (recommended NODE_OPTIONS)`,
    measured: `${fanout.fanPeakRssMiB} MiB peak${fanout.complete ? '' : ' (INCOMPLETE)'} (the raw loop's sends: ${fanout.raw.peakRssMiB})`,
    met: fanout.complete && fanout.fanPeakRssMiB <= (fanout.nodeOptions === null ? 250 : 300),
  });
}

const modelled = model === '' ? undefined : modelTable(modelRows(bestPerLevel(runs.sqspipes), a));
const modelTitle =
  a === undefined
    ? `sqspipes by workers per stage at ${model}:`
    : `sqspipes by workers per stage at ${model}, beside the raw batched SDK loop at its best concurrency at the same delay (${a.concurrency} loops/process: ${fmt(a.messagesPerSecond)} msg/s):`;

const out: string[] = [
  '',
  `Results (${endpoint.name}; ${info.cpu}, ${info.cores} cores${model === '' ? '' : `; ${model}`}):`,
  '',
];
if (mainRows.length > 0) {
  out.push(table(header, mainRows), '');
  out.push(
    "CPU µs/msg: each process's user + system CPU over the run ÷ messages. spawn→1st out: from each process's own spawn to its first output (SQS accepted its first message; the sink: its first message handled); the relay and sink are started first and wait for the source, which starts once they poll, so theirs include that wait (--only startup measures a stage whose input waits).",
  );
  out.push(
    `(b)/(a) = ${fmt(ratioBA, 2)}    (b)/(c) = ${fmt(ratioBC, 1)}    CPU per message over the three roles, (b)/(a) = ${fmt(cpuRatio, 2)}`,
    '',
  );
}
if (modelled !== undefined && modelled.cells.length > 0)
  out.push(modelTitle, table(modelled.header, modelled.cells), '');
if (proxyTotals !== undefined)
  out.push(
    `Delay proxy, whole benchmark: ${proxyTotals.requests} requests over ${proxyTotals.connections} connections (up to ${proxyTotals.maxConnections} open, ${proxyTotals.failed} reset because the endpoint failed), +${fmt(meanAddedMs(proxyTotals), 1)} ms per round trip on average (timers at most ${fmt(proxyTotals.maxLateMs, 1)} ms late), ${proxyTotals.cpuMs} ms CPU (${fmt((proxyTotals.cpuMs * 1000) / Math.max(1, proxyTotals.requests))} µs per request)`,
    '',
  );
if (sweepRows.length > 0)
  out.push(
    `Every level, best of ${repeat} round(s) (conc. = loops or workers per stage process):`,
    table(header, sweepRows),
    '',
  );
if (repeat > 1 && (runs.raw.length > 0 || runs.sqspipes.length > 0)) {
  const means = meansTable(levelMeans(runs.sqspipes), levelMeans(runs.raw));
  out.push(
    `Every level, mean of ${repeat} rounds (complete runs), sqspipes beside the raw loop's level with the best mean:`,
    table(means.header, means.cells),
    '',
  );
}
if (peerRows.length > 0) {
  out.push(
    `Peer reference: relay and sink on sqs-consumer (Consumers per stage = conc.), beside sqspipes with as many workers, best of ${repeat} round(s):`,
    table(header, peerRows),
  );
  for (const m of peerMeans)
    out.push(
      `  ${m.concurrency}/stage, mean of rounds: sqspipes ${fmt(m.sqspipes)} msg/s, sqs-consumer ${fmt(m.sqsConsumer)} msg/s, ratio ${fmt(m.ratio, 2)}; CPU µs/msg src/relay/sink sqspipes ${m.cpuUsPerMessage.sqspipes.join('/')}, sqs-consumer ${m.cpuUsPerMessage.sqsConsumer.join('/')}`,
    );
  out.push('');
}
if (firstOutput !== undefined) {
  const f = firstOutput;
  out.push(
    `Start-up: a relay process (${startupWorkers} workers/loops) whose input already waits in an existing queue, spawn → first output (SQS accepted its first message), ${f.trials} fresh processes each, ms:`,
    table(
      ['', 'median', 'each', 'over the loop'],
      [
        ['raw loop', fmt(f.medians.raw), f.raw.join(', '), '1.00'],
        ['sqspipes', fmt(f.medians.sqspipes), f.sqspipes.join(', '), fmt(f.ratio, 2)],
        ['node -e "" (spawn → exit)', fmt(f.medians.node), f.node.join(', '), ''],
      ],
    ),
    `  set-up requests of one process: raw ${JSON.stringify(f.setupRequests.raw)}, sqspipes ${JSON.stringify(f.setupRequests.sqspipes)}`,
    ...(f.errors.length > 0 ? [`  errors: ${f.errors.join('; ')}`] : []),
    '',
  );
}
if (shortRun !== undefined) {
  const sr = shortRun;
  const shortRuns = [...sr.raw, ...sr.sqspipes];
  const shortRows = shortRuns.map((run) => {
    const cells = row(run.kind === 'raw' ? 'raw (short)' : 'sqspipes (short)', run);
    return [...cells.slice(0, 2), fmt(run.fromSourceSpawn.messagesPerSecond), ...cells.slice(2)];
  });
  out.push(
    `Short run: ${sr.messages} messages, the three processes started together on queues made beforehand; msg/s counted from the source's spawn (then from its first message):`,
    table([...header.slice(0, 2), 'from spawn', ...header.slice(2)], shortRows),
    `  means from the source's spawn: sqspipes ${fmt(sr.means.sqspipes)} msg/s, raw ${fmt(sr.means.raw)} msg/s, ratio ${fmt(sr.ratio, 2)}`,
    '',
  );
}
if (latency !== undefined)
  out.push(
    `Latency, one input through 3 idle stages (${latency.trials} trials, ${latency.warmup} warm-up dropped): p50 ${latency.p50} ms, p99 ${latency.p99} ms, min ${latency.min}, max ${latency.max}`,
  );
if (idle !== undefined)
  for (const r of idle)
    out.push(
      `Idle stage, ${r.priorities} priority level(s), ${r.windowSeconds} s: ${r.perMinute} requests/min (${r.perMinutePerLevel} per level) ${JSON.stringify(r.requests)}; levels long-polled at all: ${r.levelsPolled} of ${r.priorities} ${JSON.stringify(r.receivesByQueue)}`,
    );
for (const soak of soaks) {
  out.push(
    '',
    `Soak: ${soak.messages} messages at ${soak.workers} workers/stage, ${fmt(soak.run.messagesPerSecond)} msg/s, ${soak.nodeOptions === null ? "Node's defaults" : `NODE_OPTIONS="${soak.nodeOptions}"`}`,
  );
  out.push(
    table(
      [
        'process',
        `RSS @${soak.mark}`,
        `RSS @${soak.messages / 2}`,
        `RSS @${soak.messages}`,
        'max after',
        `change ${soak.mark}→end`,
        'flat ±10%',
        'change in 2nd half',
      ],
      soak.processes.map((p) => [
        p.role,
        `${p.rssAtMarkMiB} MiB`,
        `${p.rssAtHalfMiB} MiB`,
        `${p.rssAtEndMiB} MiB`,
        `${p.maxRssAfterMarkMiB} MiB`,
        `${p.changePercent}%`,
        p.flat ? 'yes' : 'NO',
        `${p.secondHalfChangePercent}%`,
      ]),
    ),
  );
}
/** The latency scenario's figures beside (submit): from this run's latency scenario or its own. */
const latencyBeside = latency ?? submitBaseline;
/** A difference with its sign: +1.5, -2.0. */
const signed = (value: number | undefined, digits: number) =>
  `${(value ?? 0) >= 0 ? '+' : ''}${fmt(value, digits)}`;
if (submit !== undefined) {
  const phases = submit.phases;
  const modeLabel = (mode: string) =>
    mode === 'enqueue' ? 'enqueue() (baseline)' : mode === 'submit' ? 'submit()' : 'submit({ status: true })';
  const perRole = (phase: (typeof phases)[number], role: string) =>
    fmt(phase.processes.find((p) => p.role.endsWith(role))?.requestsPerMessage, 3);
  out.push(
    '',
    `Submit, cost: ${submit.items} items fed at once, awaited to the end, ${submit.workers} workers/stage; SQS requests per item, message actions, over all processes (sender, relay, sink; the source stage is not run):`,
    table(
      [
        'mode',
        'items/s',
        'req/item',
        'sender',
        'relay',
        'sink',
        'extra vs enqueue',
        'all incl. set-up',
        'statuses/item',
      ],
      phases.map((p) => [
        modeLabel(p.mode) +
          (p.complete ? '' : ' (INCOMPLETE)') +
          ((p.otherLoadCores ?? 0) >= 0.25 ? ' (disturbed)' : ''),
        fmt(p.itemsPerSecond),
        fmt(p.requestsPerItem, 3),
        perRole(p, 'sender'),
        perRole(p, 'relay'),
        perRole(p, 'sink'),
        p.extraPerItem === undefined ? '–' : signed(p.extraPerItem, 3),
        fmt(p.allRequestsPerItem, 3),
        p.statusesPerItem === undefined ? '–' : fmt(p.statusesPerItem, 2),
      ]),
    ),
  );
  const actions = [...new Set(phases.flatMap((p) => Object.keys(p.requestsPerItemByAction)))].sort();
  out.push(
    '',
    'Submit, cost by action: SQS requests per item over all processes:',
    table(
      ['action', ...phases.map((p) => p.mode)],
      [
        ...actions.map((action) => [
          action,
          ...phases.map((p) => fmt(p.requestsPerItemByAction[action] ?? 0, 3)),
        ]),
        ['total', ...phases.map((p) => fmt(p.requestsPerItem, 3))],
      ],
    ),
    `Set-up requests (totals, all processes): ${phases.map((p) => `${p.mode} ${JSON.stringify(p.setupRequests)}`).join('; ')}`,
  );
  const l = submit.latency;
  const dist = (label: string, d: { p50: number; p99: number; min: number; max: number; mean: number }) => [
    label,
    fmt(d.p50, 1),
    fmt(d.p99, 1),
    fmt(d.min, 1),
    fmt(d.max, 1),
    fmt(d.mean, 1),
  ];
  out.push(
    '',
    `Submit, latency: one item at a time through idle stages (1 worker each), ${l.trials} trials (${l.warmup} warm-up dropped), ms${l.complete ? '' : ' (INCOMPLETE)'}${disturbed(l.otherLoadCores)}:`,
    table(
      ['measure', 'p50', 'p99', 'min', 'max', 'mean'],
      [
        ...(latencyBeside === undefined
          ? []
          : [
              dist(
                `latency scenario: src → relay → sink, at the last stage${(latencyBeside.run.otherLoadCores ?? 0) >= 0.25 ? ' (disturbed)' : ''}`,
                latencyBeside,
              ),
            ]),
        dist('submit() → output at the last stage', l.atLastStage),
        dist('submit() → submit() resolved (SQS accepted)', l.accepted),
        dist('submit() → result() resolved', l.result),
        dist('per item: result() − output at the last stage', l.resultAfterLastStage),
      ],
    ),
  );
  if (latencyBeside !== undefined)
    out.push(
      `Extra latency of awaiting the result over SQS: submit() → result() minus the latency scenario p50 ${signed(l.result.p50 - latencyBeside.p50, 1)} ms, p99 ${signed(l.result.p99 - latencyBeside.p99, 1)} ms; per item, result() after the last stage's output p50 ${fmt(l.resultAfterLastStage.p50, 1)} ms, p99 ${fmt(l.resultAfterLastStage.p99, 1)} ms`,
    );
  const [, plain, withStatus] = phases;
  if (plain !== undefined && withStatus !== undefined)
    targets.push({
      target: 'submit: extra SQS requests per item over enqueue (without / with statuses)',
      measured: `${signed(plain.extraPerItem, 3)} / ${signed(withStatus.extraPerItem, 3)} (of ${fmt(phases[0]?.requestsPerItem, 3)})`,
      met: null,
    });
  if (latencyBeside !== undefined)
    targets.push({
      target: 'submit: extra latency of awaiting a result over 3 stages',
      measured: `p50 ${signed(l.result.p50 - latencyBeside.p50, 1)} ms, p99 ${signed(l.result.p99 - latencyBeside.p99, 1)} ms`,
      met: null,
    });
}
if (targets.length > 0) {
  out.push(
    '',
    'Targets:',
    table(
      ['target', 'measured', 'met'],
      targets.map((t) => [t.target, t.measured, t.met === null ? 'info' : t.met ? 'yes' : 'NO']),
    ),
  );
}
process.stdout.write(`${out.join('\n')}\n`);

// ---- JSON and chart ----

const strip = (run: RunResult) => {
  const { reports: _reports, ...rest } = run;
  return rest;
};
const result = {
  generatedAt: new Date().toISOString(),
  wallSeconds: round((Date.now() - started) / 1000, 1),
  machine: info,
  emulator: endpoint.name.replace(/, pid \d+/, ''),
  params: {
    messages,
    quick,
    scenarios: [...only],
    sweep,
    rawLevels,
    rawWork,
    naiveLevels,
    naiveMessages,
    idleSeconds,
    trials,
    soakMessages,
    rttMs,
    callMs,
    submitItems,
    submitWorkers,
    startupTrials,
    startupWorkers,
    shortMessages,
    peerLevels,
  },
  network: {
    rttMs,
    callMs,
    /** How the round trip is made: the delay proxy's totals over the whole benchmark. */
    proxy: proxyTotals,
    /** sqspipes by workers beside the raw loop's best at the same delay (and the ideal, --call-ms). */
    comparison: model === '' ? undefined : modelRows(bestPerLevel(runs.sqspipes), a),
    rawBestConcurrency: a?.concurrency,
  },
  summary: {
    raw: a === undefined ? undefined : strip(a),
    sqspipes: b === undefined ? undefined : strip(b),
    naive: c === undefined ? undefined : strip(c),
    ratios: { bOverA: ratioBA, bOverC: ratioBC, cpuBOverA: cpuRatio },
    /** CPU per message of each role (µs) and spawn → first output (ms), best runs. */
    perRole: {
      raw: a?.processes.map((p) => ({
        role: p.role,
        cpuUsPerMessage: p.cpuUsPerMessage,
        startToFirstOutputMs: p.startToFirstOutputMs,
      })),
      sqspipes: b?.processes.map((p) => ({
        role: p.role,
        cpuUsPerMessage: p.cpuUsPerMessage,
        startToFirstOutputMs: p.startToFirstOutputMs,
      })),
    },
  },
  runs: { raw: runs.raw.map(strip), sqspipes: runs.sqspipes.map(strip), naive: runs.naive.map(strip) },
  peer:
    peer.sqsConsumer.length === 0
      ? undefined
      : {
          means: peerMeans,
          sqsConsumer: peer.sqsConsumer.map(strip),
          sqspipes: peer.sqspipes.map(strip),
        },
  startup:
    firstOutput === undefined && shortRun === undefined
      ? undefined
      : {
          firstOutput,
          shortRun:
            shortRun === undefined
              ? undefined
              : { ...shortRun, raw: shortRun.raw.map(strip), sqspipes: shortRun.sqspipes.map(strip) },
        },
  latency: latency === undefined ? undefined : { ...latency, run: strip(latency.run) },
  idle,
  soak: soaks.length === 0 ? undefined : soaks.map((soak) => ({ ...soak, run: strip(soak.run) })),
  fanout:
    fanout === undefined
      ? undefined
      : { ...fanout, run: strip(fanout.run), raw: { ...fanout.raw, run: strip(fanout.raw.run) } },
  submit:
    submit === undefined
      ? undefined
      : {
          ...submit,
          /** The latency scenario beside it (this run's, or one run for it). */
          latencyScenario:
            latencyBeside === undefined ? undefined : { ...latencyBeside, run: strip(latencyBeside.run) },
        },
  targets,
  markdown: mainRows.length > 0 ? markdownTable(header, mainRows) : undefined,
  modelMarkdown:
    modelled !== undefined && modelled.cells.length > 0
      ? markdownTable(modelled.header, modelled.cells)
      : undefined,
};
const jsonFile = join(outDir, 'latest.json');
writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
log(`\nWrote ${jsonFile}`);
if (runs.sqspipes.length + runs.raw.length + runs.naive.length > 0) {
  const points = (list: RunResult[]) =>
    bestPerLevel(list).map((r) => ({ x: r.concurrency, y: r.messagesPerSecond }));
  const svg = lineChart(
    'Throughput vs workers per stage (3 processes, 2 FIFO hops)',
    `${endpoint.name.replace(/ \(separate process.*\)/, '')} as a separate process; ${info.cores} cores; ${messages} messages per point from 64 workers up, fewer below${model === '' ? '' : `; ${model}`}`,
    [
      { label: '(a) raw SDK loops', color: '#2b7bba', points: points(runs.raw) },
      { label: '(b) sqspipes', color: '#d9480f', points: points(runs.sqspipes) },
      { label: '(c) naive baseline', color: '#777', dashed: true, points: points(runs.naive) },
    ].filter((s) => s.points.length > 0),
  );
  const svgFile = join(outDir, 'throughput.svg');
  writeFileSync(svgFile, svg);
  log(`Wrote ${svgFile}`);
}
log(`Done in ${round((Date.now() - started) / 1000, 1)} s`);
