/**
 * Where a fan-out's memory goes (issue 27, target 5), one layer at a time, each in a fresh process
 * with Node's default flags, on fauxqs as a separate process:
 *   node scripts/bench/fanout-memory.ts [--outputs 20000] [--bytes 10240] [--rounds 2] [--container-gib N]
 * --container-gib N: the layers' processes in a memory cgroup of N GiB, as in a container with that
 * limit (Node sizes its heap and V8's young generation from it; see container.ts; needs root).
 * - sdk:   the SDK alone (the raw loop's client): loops sending batches of 10 bodies, one batch
 *          each in flight, as many as a stage's output window holds (20 of 10 KB bodies).
 * - io:    sqspipes' SqsIo (its batcher and clients), as many bodies in flight (200 of 10 KB).
 * - stage: a sqspipes stage in this process, a generator fanning one input out (`run()`).
 * - last:  the same on a last stage: its outputs (each its own string) go to `run()`'s loop only.
 * Prints each one's peak RSS and ArrayBuffers (sampled every 20 ms), its scavenges, the young
 * objects that survived them (mean), the bytes they promoted, the young generation's size, its
 * major GCs and its CPU. `npm run build` first: the stage comes from dist/ (as users import it).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createSqsClients } from '../../src/sqs/connect.ts';
import { SqsIo } from '../../src/sqs/sqs-io.ts';
import { OUTPUT_WINDOW, OUTPUT_WINDOW_BYTES } from '../../src/worker/output-window.ts';
import { TaskClient } from 'sqspipes';
import { CREDENTIALS, REGION, rawClient } from './child.ts';
import { createMemoryCgroup, inCgroup } from './container.ts';
import { startEndpoint } from './emulator.ts';
import { installCleanup, killAll, track } from './procs.ts';
import { table } from './stats.ts';

const LAYERS = ['sdk', 'io', 'stage', 'last'] as const;
type Layer = (typeof LAYERS)[number];

const { values } = parseArgs({
  options: {
    outputs: { type: 'string', default: '20000' },
    bytes: { type: 'string', default: '10240' },
    rounds: { type: 'string', default: '2' },
    'container-gib': { type: 'string' },
    child: { type: 'string' },
    endpoint: { type: 'string' },
  },
});
const outputs = Number(values.outputs);
const bytes = Number(values.bytes);
/** Batches of 10 in flight in the sdk and io layers: what a stage's output window lets it send. */
const batches = Math.max(1, Math.min(OUTPUT_WINDOW / 10, Math.round(OUTPUT_WINDOW_BYTES / (10 * bytes))));
/** A layer's process that has not ended by then is killed (and the run fails). */
const CHILD_DEADLINE_MS = 300_000;

interface Figures {
  layer: Layer;
  seconds: number;
  peakRssMiB: number;
  peakArrayBuffersMiB: number;
  scavenges: number;
  survivorsMiB: number;
  promotedMiB: number;
  youngMiB: number;
  majorGcs: number;
  cpuMs: number;
}

const MiB = 1024 * 1024;

if (values.child !== undefined) {
  const figures = await measure(values.child as Layer, values.endpoint ?? '');
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(0);
}

installCleanup(() => killAll());
// Made before anything starts: a refusal (no root, a bad size) leaves nothing to clean up.
const cgroup =
  values['container-gib'] === undefined
    ? undefined
    : createMemoryCgroup(Number(values['container-gib']), `fanout-memory-${process.pid}`);
const endpoint = await startEndpoint();
const rows: Figures[] = [];
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const layer of LAYERS) {
      const figures = await inChild(layer, endpoint.url);
      console.log(`${layer} [${round}]: ${JSON.stringify(figures)}`);
      rows.push(figures);
    }
  }
} finally {
  await endpoint.stop();
  cgroup?.remove();
}
const where = cgroup === undefined ? '' : ` in a memory cgroup of ${values['container-gib']} GiB`;
console.log(
  `\n${outputs} outputs of ${bytes} bytes, each layer in a fresh process with Node's defaults${where}:\n`,
);
console.log(
  table(
    [
      'layer',
      's',
      'peak RSS MiB',
      'peak ArrayBuffers MiB',
      'scavenges',
      'survivors MiB (mean)',
      'promoted MiB',
      'young gen MiB',
      'major GCs',
      'CPU ms',
    ],
    rows.map((r) => [
      r.layer,
      r.seconds.toFixed(1),
      r.peakRssMiB.toFixed(0),
      r.peakArrayBuffersMiB.toFixed(0),
      String(r.scavenges),
      r.survivorsMiB.toFixed(1),
      r.promotedMiB.toFixed(0),
      r.youngMiB.toFixed(0),
      String(r.majorGcs),
      r.cpuMs.toFixed(0),
    ]),
  ),
);

async function inChild(layer: Layer, url: string): Promise<Figures> {
  const script = fileURLToPath(import.meta.url);
  const args = [
    script,
    '--child',
    layer,
    '--endpoint',
    url,
    '--outputs',
    String(outputs),
    '--bytes',
    String(bytes),
  ];
  const start = inCgroup(cgroup?.dir, process.execPath, args);
  const child = spawn(start.command, start.args, { stdio: ['ignore', 'pipe', 'inherit'] });
  track(child);
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const deadline = setTimeout(() => child.kill('SIGKILL'), CHILD_DEADLINE_MS);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(deadline);
  if (code !== 0) throw new Error(`the ${layer} child exited with ${code ?? signal}`);
  return JSON.parse(text.trim().split('\n').at(-1) ?? '') as Figures;
}

async function measure(layer: Layer, url: string): Promise<Figures> {
  const padding = 'x'.repeat(bytes);
  let seq = 0;
  const body = (): string => JSON.stringify({ t: Date.now(), n: seq++, padding });
  const admin = rawClient(url);
  const profiler = new v8.GCProfiler();
  let peakRss = 0;
  let peakArrayBuffers = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
  }, 20);
  let started = 0;
  const start = (): void => {
    profiler.start();
    started = performance.now();
  };
  if (layer === 'stage' || layer === 'last') {
    const client = new TaskClient({
      domain: `fm${process.pid}`,
      endpoint: url,
      region: REGION,
      credentials: CREDENTIALS,
    });
    function* fan(stamp: number): Generator<{ stamp: number; i: number; padding: string }> {
      // The last stage's outputs are never copied into a message body: each one its own string.
      for (let i = 0; i < outputs; i++)
        yield { stamp, i, padding: layer === 'last' ? `${i}${padding}` : padding };
    }
    client.registerTasks([
      { method: () => Date.now(), name: 'src' },
      { method: fan, name: 'fan' },
      ...(layer === 'last' ? [] : [{ method: (value: { stamp: number }) => value.stamp, name: 'sink' }]),
    ]);
    for await (const _ of client.run('src', { limit: 1 })) void _;
    start();
    for await (const _ of client.run('fan', { limit: 1, workers: 8 })) void _;
    const figures = finish();
    await client.destroy();
    return figures;
  }
  const { QueueUrl } = await admin.send(
    new CreateQueueCommand({ QueueName: `fm${process.pid}.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const queue = QueueUrl ?? '';
  start();
  // The sdk layer: the raw loop's client settings (loops.ts RAW_DEFAULTS): no MD5 checks, the
  // middleware cache, no logger middleware.
  if (layer === 'sdk') {
    const sqs = rawClient(url, {
      maxSockets: 256,
      md5: false,
      cacheMiddleware: true,
      loggerMiddleware: false,
    });
    await sdkSends(sqs, queue, body);
  } else await ioSends(url, queue, body);
  const figures = finish();
  await admin.send(new DeleteQueueCommand({ QueueUrl: queue }));
  return figures;

  function finish(): Figures {
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const { statistics } = profiler.stop();
    let scavenges = 0;
    let survivors = 0;
    let promoted = 0;
    let young = 0;
    const space = (s: (typeof statistics)[number]['afterGC'], name: string) =>
      s.heapSpaceStatistics.find((x) => x.spaceName === name);
    for (const s of statistics) {
      young = Math.max(young, space(s.afterGC, 'new_space')?.spaceSize ?? 0);
      if (s.gcType !== 'Scavenge') continue;
      scavenges++;
      survivors += space(s.afterGC, 'new_space')?.spaceUsedSize ?? 0;
      const before = space(s.beforeGC, 'old_space')?.spaceUsedSize ?? 0;
      promoted += Math.max(0, (space(s.afterGC, 'old_space')?.spaceUsedSize ?? 0) - before);
    }
    const usage = process.resourceUsage();
    return {
      layer,
      seconds,
      peakRssMiB: peakRss / MiB,
      peakArrayBuffersMiB: peakArrayBuffers / MiB,
      scavenges,
      survivorsMiB: scavenges === 0 ? 0 : survivors / scavenges / MiB,
      promotedMiB: promoted / MiB,
      youngMiB: young / MiB,
      majorGcs: statistics.filter((s) => s.gcType === 'MarkSweepCompact').length,
      cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    };
  }
}
/** The raw loop's producer: `batches` loops, one batch of 10 each in flight. */
async function sdkSends(sqs: SQSClient, queue: string, body: () => string): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: batches }, async () => {
      while (sent < outputs) {
        const n = Math.min(10, outputs - sent);
        sent += n;
        const Entries = Array.from({ length: n }, (_, i) => {
          const id = `${process.pid}-${sent}-${i}`;
          return { Id: String(i), MessageBody: body(), MessageGroupId: id, MessageDeduplicationId: id };
        });
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue, Entries }));
      }
    }),
  );
}

/** sqspipes' SqsIo: `batches` × 10 bodies in flight, each made when there is room. */
async function ioSends(url: string, queue: string, body: () => string): Promise<void> {
  const { sqs, messages } = await createSqsClients({
    endpoint: url,
    region: REGION,
    credentials: CREDENTIALS,
    maxSockets: 500,
  });
  const io = new SqsIo(sqs, { messages });
  let open = 0;
  let wake: (() => void) | undefined;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < outputs; i++) {
    while (open >= batches * 10) await new Promise<void>((resolve) => (wake = resolve));
    open++;
    const id = `${process.pid}-${i}`;
    sends.push(
      io.send(queue, { body: body(), groupId: id, deduplicationId: id }).finally(() => {
        open--;
        wake?.();
      }),
    );
  }
  await Promise.all(sends);
}
