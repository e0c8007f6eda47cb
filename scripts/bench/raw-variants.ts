/**
 * Which hand-written loop is the fastest (issue 27)? Runs the raw loop of scripts/bench/loops.ts
 * (producer → relay → consumer, 3 processes) with one setting changed at a time, rounds
 * alternating, on fauxqs as a separate process (or through the delay proxy with --rtt MS):
 *   node scripts/bench/raw-variants.ts [--messages 10000] [--concurrency 16] [--rounds 2] [--rtt MS]
 *     [--variants defaults,sqspipes-work] [--out FILE]
 * Prints, per variant, the mean msg/s and the mean CPU per message of each role; the loop's
 * defaults (RAW_DEFAULTS in loops.ts) should be the winner. "sqspipes' work" is not a setting but
 * the same-work loop (loops.ts --work sqspipes): what sqspipes' contract alone costs a loop.
 * --variants: only these (names as printed, lower case, non-alphanumerics as dashes).
 * Writes bench-results/raw-variants.json (or --out FILE).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rawClient } from './child.ts';
import { startEndpoint } from './emulator.ts';
import { startDelayProxy } from './network.ts';
import { installCleanup, killAll } from './procs.ts';
import { type Context, type RunResult, runLoops } from './scenarios.ts';
import { fmt, round, table } from './stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    rtt: { type: 'string', default: '0' },
    variants: { type: 'string' },
    out: { type: 'string' },
  },
});
const messages = Number(values.messages);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const rttMs = Number(values.rtt);

/** One setting changed at a time from the defaults (wait 1 s, no attributes, no MD5, 256 sockets, the SDK's middleware cache, no logger middleware). */
const ALL_VARIANTS: Record<string, string[]> = {
  defaults: [],
  'md5 on': ['--md5', 'on'],
  "sqspipes' attributes": ['--attrs', 'sqspipes'],
  'wait 20 s': ['--wait', '20'],
  '500 sockets': ['--sockets', '500'],
  'no middleware cache': ['--cache', 'off'],
  'logger middleware': ['--logger', 'on'],
  "sqspipes' work": ['--work', 'sqspipes'],
};
const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const chosen = values.variants?.split(',');
const unknown = chosen?.filter((c) => !Object.keys(ALL_VARIANTS).some((name) => slug(name) === c));
if (unknown !== undefined && unknown.length > 0) {
  throw new Error(
    `--variants: unknown ${unknown.join(', ')} (known: ${Object.keys(ALL_VARIANTS).map(slug).join(', ')})`,
  );
}
const VARIANTS = Object.fromEntries(
  Object.entries(ALL_VARIANTS).filter(([name]) => chosen === undefined || chosen.includes(slug(name))),
);

installCleanup(() => killAll());
const tmpDir = join(ROOT, 'bench-results', 'tmp');
mkdirSync(tmpDir, { recursive: true });
const endpoint = await startEndpoint();
const proxy = rttMs > 0 ? await startDelayProxy(endpoint.url, rttMs) : undefined;
const url = proxy?.url ?? endpoint.url;
const sqs = rawClient(url);
const ctx: Context = {
  endpoint: url,
  emulatorPid: endpoint.pid,
  sqs,
  prefix: `sqsrv${process.pid}`,
  tmpDir,
  childDeadlineMs: 240_000,
  profileDir: undefined,
  traceReceives: false,
  proxy,
};
const runs = new Map<string, RunResult[]>(Object.keys(VARIANTS).map((k) => [k, []]));
try {
  await runLoops(ctx, 'raw', concurrency, 2_000); // warm-up, not counted
  for (let r = 1; r <= rounds; r++) {
    for (const [name, args] of Object.entries(VARIANTS)) {
      const run = await runLoops(ctx, 'raw', concurrency, messages, { rawArgs: args });
      runs.get(name)?.push(run);
      const cpu = run.processes.map((p) => p.cpuUsPerMessage).join('/');
      process.stderr.write(
        `${name} [${r}/${rounds}]: ${run.messagesPerSecond} msg/s, CPU µs/msg ${cpu}${run.complete ? '' : ' INCOMPLETE'}; other load ${run.otherLoadCores} cores, loadavg ${os.loadavg()[0]?.toFixed(2)}\n`,
      );
    }
  }
} finally {
  sqs.destroy();
  await proxy?.stop();
  await killAll();
  await endpoint.stop();
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const summary = [...runs].map(([name, list]) => {
  const done = list.filter((r) => r.complete);
  const roles = [0, 1, 2].map((i) => round(mean(done.map((r) => r.processes[i]?.cpuUsPerMessage ?? 0))));
  return {
    variant: name,
    args: VARIANTS[name],
    rounds: done.length,
    messagesPerSecond: round(mean(done.map((r) => r.messagesPerSecond))),
    cpuUsPerMessage: roles,
    cpuUsPerMessageTotal: roles.reduce((a, b) => a + b, 0),
    otherLoadCores: done.map((r) => r.otherLoadCores),
  };
});
const base = summary[0];
process.stdout.write(
  `${table(
    ['variant', 'msg/s (mean)', 'vs defaults', 'CPU µs/msg src/relay/sink', 'sum', 'vs defaults'],
    summary.map((s) => [
      s.variant,
      fmt(s.messagesPerSecond),
      fmt(s.messagesPerSecond / (base?.messagesPerSecond ?? 1), 2),
      s.cpuUsPerMessage.join(' / '),
      fmt(s.cpuUsPerMessageTotal),
      fmt(s.cpuUsPerMessageTotal / (base?.cpuUsPerMessageTotal ?? 1), 2),
    ]),
  )}\n`,
);
const file =
  values.out ??
  join(ROOT, 'bench-results', rttMs > 0 ? `raw-variants-rtt${rttMs}.json` : 'raw-variants.json');
writeFileSync(
  file,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), messages, concurrency, rounds, rttMs, loadavg: os.loadavg(), summary }, null, 2)}\n`,
);
process.stderr.write(`Wrote ${file}\n`);
