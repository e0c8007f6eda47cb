/**
 * Start-up and ramp-up (issue 27), sqspipes beside the raw loop:
 * - first output: a relay process whose input already waits in an existing queue, from its spawn
 *   to its first output (the first message SQS accepted from it); `trials` fresh processes of
 *   each, alternating, medians. Node alone (spawn to exit of `node -e ""`) for scale.
 * - short run: `messages` (6,000) through src → relay → sink with the three processes started
 *   together on queues made beforehand, counted from the source's spawn to the last message
 *   received; `rounds` of each, alternating, means.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CreateQueueCommand, DeleteQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { fileURLToPath } from 'node:url';
import { type Child, finish, startChild } from './procs.ts';
import {
  type Context,
  createPipeline,
  MESSAGE_ACTIONS,
  destroyPipeline,
  reportFile,
  type RunResult,
  runLoops,
  runPipeline,
  stageChild,
  unique,
} from './scenarios.ts';
import { percentile, round } from './stats.ts';

const LOOPS = fileURLToPath(new URL('./loops.ts', import.meta.url));

export interface FirstOutput {
  readonly trials: number;
  /** Spawn to first output of each fresh process, ms, in order. */
  readonly raw: readonly number[];
  readonly sqspipes: readonly number[];
  /** Spawn to exit of `node -e ""`, ms. */
  readonly node: readonly number[];
  readonly medians: { readonly raw: number; readonly sqspipes: number; readonly node: number };
  /** Set-up requests (not message actions) of each fresh process, by action: what it asks first. */
  readonly setupRequests: { readonly raw: Record<string, number>; readonly sqspipes: Record<string, number> };
  /** sqspipes' median over the loop's. */
  readonly ratio: number;
  readonly errors: readonly string[];
}

export interface ShortRun {
  readonly messages: number;
  readonly workers: number;
  readonly raw: readonly RunResult[];
  readonly sqspipes: readonly RunResult[];
  /** Mean msg/s counted from the source's spawn (complete runs). */
  readonly means: { readonly raw: number; readonly sqspipes: number };
  readonly ratio: number;
}

const RAW_QUEUE = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'messageGroup',
  FifoThroughputLimit: 'perMessageGroupId',
};

async function spawnToFirstOutput(
  child: Child,
  file: string,
  setup: Record<string, number>,
): Promise<number> {
  child.ready.catch(() => {}); // an early exit shows in the report
  const report = await finish(child, file, 60_000);
  if (report.error !== undefined || report.firstOutputAt === undefined || report.firstOutputAt === null)
    throw new Error(`${child.name}: ${report.error ?? 'no output'}`);
  for (const [action, n] of Object.entries(report.requests))
    if (!MESSAGE_ACTIONS.has(action)) setup[action] = n;
  return report.firstOutputAt - child.spawnedAt;
}

async function nodeAlone(): Promise<number> {
  const started = Date.now();
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return Date.now() - started;
}

/** A relay's spawn to its first output, input waiting, `trials` fresh processes of each. */
export async function runFirstOutput(ctx: Context, trials: number, workers: number): Promise<FirstOutput> {
  // Each process may take up to `workers` receives of 10 before it stops: inputs for all of them.
  const inputs = trials * (workers * 10 + 10) + 100;
  const base = unique(ctx, 'start');
  const urls: string[] = [];
  const domain = unique(ctx, 'spstart');
  const result = {
    raw: [] as number[],
    sqspipes: [] as number[],
    node: [] as number[],
    errors: [] as string[],
  };
  const setupRequests = { raw: {}, sqspipes: {} };
  try {
    for (const name of [`${base}-hop1.fifo`, `${base}-hop2.fifo`]) {
      const out = await ctx.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: RAW_QUEUE }));
      urls.push(out.QueueUrl ?? '');
    }
    const [hop1 = '', hop2 = ''] = urls;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < inputs; i += 10) {
      const entries = Array.from({ length: 10 }, (_, k) => {
        const id = `${base}-${i + k}`;
        const body = JSON.stringify({ t: Date.now(), n: i + k });
        return { Id: String(k), MessageBody: body, MessageGroupId: id, MessageDeduplicationId: id };
      });
      sends.push(ctx.sqs.send(new SendMessageBatchCommand({ QueueUrl: hop1, Entries: entries })));
      if (sends.length >= 32) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    // sqspipes' inputs: its own source stage fills the relay's queue (queues made beforehand).
    await createPipeline(ctx, domain, 1);
    const srcFile = reportFile(ctx, 'start-src');
    const src = stageChild(
      ctx,
      'src',
      16,
      ['--domain', domain, '--limit', String(inputs), '--deadline', String(ctx.childDeadlineMs)],
      srcFile,
    );
    const filled = await finish(src, srcFile, ctx.childDeadlineMs + 15_000);
    if (filled.count < inputs) throw new Error(`the source sent ${filled.count} of ${inputs}`);
    const common = ['--limit', '10', '--idle-timeout', '15000', '--deadline', '60000'];
    for (let i = 0; i < trials; i++) {
      result.node.push(await nodeAlone());
      try {
        const file = reportFile(ctx, 'start-raw');
        const args = ['raw', 'relay', '--concurrency', String(workers), '--endpoint', ctx.endpoint];
        const queues = ['--in', hop1, '--out', hop2, '--tag', `${base}r${i}`];
        const child = startChild('raw relay', LOOPS, [...args, ...queues, ...common, '--report', file]);
        result.raw.push(await spawnToFirstOutput(child, file, setupRequests.raw));
      } catch (error) {
        result.errors.push(String(error));
      }
      try {
        const file = reportFile(ctx, 'start-sqspipes');
        const child = stageChild(ctx, 'relay', workers, ['--domain', domain, ...common], file);
        result.sqspipes.push(await spawnToFirstOutput(child, file, setupRequests.sqspipes));
      } catch (error) {
        result.errors.push(String(error));
      }
    }
  } finally {
    await Promise.all(
      urls.map((QueueUrl) => ctx.sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => {})),
    );
    await destroyPipeline(ctx, domain, 1).catch(() => {});
  }
  const medians = {
    raw: percentile(result.raw, 50),
    sqspipes: percentile(result.sqspipes, 50),
    node: percentile(result.node, 50),
  };
  return { trials, ...result, medians, setupRequests, ratio: round(medians.sqspipes / medians.raw, 2) };
}

/** `messages` through three processes started together, `rounds` of each, alternating. */
export async function runShort(
  ctx: Context,
  messages: number,
  workers: number,
  rounds: number,
  before: () => Promise<void>,
  log: (text: string) => void,
): Promise<ShortRun> {
  const raw: RunResult[] = [];
  const sqspipes: RunResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    await before();
    const r = await runLoops(ctx, 'raw', workers, messages, { together: true });
    raw.push(r);
    log(`short run, raw ${workers} loops [${round}/${rounds}]: ${describeShort(r)}`);
    await before();
    const s = await runPipeline(ctx, workers, messages, { together: true });
    sqspipes.push(s);
    log(`short run, sqspipes ${workers} workers [${round}/${rounds}]: ${describeShort(s)}`);
  }
  const mean = (runs: readonly RunResult[]) => {
    const rates = runs.filter((r) => r.complete).map((r) => r.fromSourceSpawn.messagesPerSecond);
    return rates.length === 0 ? Number.NaN : round(rates.reduce((a, b) => a + b, 0) / rates.length);
  };
  const means = { raw: mean(raw), sqspipes: mean(sqspipes) };
  return { messages, workers, raw, sqspipes, means, ratio: round(means.sqspipes / means.raw, 2) };
}

function describeShort(run: RunResult): string {
  const firsts = run.processes.map((p) => p.startToFirstOutputMs ?? '–').join('/');
  return `${run.fromSourceSpawn.messagesPerSecond} msg/s from the source's spawn (${run.fromSourceSpawn.seconds} s), ${run.messagesPerSecond} from its first message; spawn → first output ${firsts} ms${run.complete ? '' : ' INCOMPLETE'}`;
}
