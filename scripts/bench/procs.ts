/**
 * Child processes of the benchmark: started with `node`, tracked so that every one is ended on
 * exit or ctrl-C (by its own pid), with their readiness line and report file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import type { ChildReport } from './child.ts';
import { inCgroup } from './container.ts';

const live = new Set<ChildProcess>();

/** Ends every child still running (SIGTERM, then SIGKILL after `graceMs`). */
export async function killAll(graceMs = 3000): Promise<void> {
  const children = [...live];
  for (const child of children) child.kill('SIGTERM');
  await Promise.race([
    Promise.all(children.filter((c) => c.exitCode === null).map((c) => once(c, 'exit'))),
    new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
  ]);
  for (const child of live) child.kill('SIGKILL');
}

/** On exit, ctrl-C or SIGTERM: end the children we started. */
export function installCleanup(onSignal: () => Promise<void>): void {
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  let signalled = false;
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      if (signalled) process.exit(130);
      signalled = true;
      process.stderr.write(`\n${name}: stopping child processes…\n`);
      const exit = () => process.exit(130);
      onSignal().then(exit, exit);
    });
  }
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Date.now() just before the process was spawned. */
  readonly spawnedAt: number;
  /** Resolves once the child printed {"event":"ready"}; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** The child's stderr so far (last 64 KiB). */
  stderr(): string;
}

/** Starts `node <script> <args>` with the benchmark's flags (in `cgroup`, a directory, if set). */
export function startChild(
  name: string,
  script: string,
  args: readonly string[],
  options: { nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv; cgroup?: string | undefined } = {},
): Child {
  const spawnedAt = Date.now();
  const start = inCgroup(options.cgroup, process.execPath, [...(options.nodeArgs ?? []), script, ...args]);
  const child = spawn(start.command, start.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  live.add(child);
  let stderr = '';
  let partial = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    if (lines.some((l) => l.includes('"event":"ready"'))) markReady();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-65_536);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    live.delete(child);
    return (code ?? signal) as number | string;
  });
  return {
    name,
    process: child,
    spawnedAt,
    ready: Promise.race([
      ready,
      exited.then((code) => {
        throw new Error(`${name} exited (${code}) before it was ready:\n${stderr}`);
      }),
    ]),
    exited,
    stderr: () => stderr,
  };
}

/** Waits for `child` to exit within `timeoutMs` (else ends it) and reads its report. */
export async function finish(child: Child, reportFile: string, timeoutMs: number): Promise<ChildReport> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const code = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (code === 'timeout') {
    child.process.kill('SIGTERM');
    const late = await Promise.race([child.exited, new Promise((r) => setTimeout(r, 8000, 'kill'))]);
    if (late === 'kill') child.process.kill('SIGKILL');
    await child.exited;
  }
  let report: ChildReport;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as ChildReport;
  } catch {
    throw new Error(`${child.name} wrote no report (exit ${String(code)}):\n${child.stderr()}`);
  } finally {
    rmSync(reportFile, { force: true });
  }
  if (code === 'timeout') return { ...report, error: report.error ?? `timed out after ${timeoutMs} ms` };
  return report;
}

/** Tracks a child started elsewhere, so that cleanup ends it too. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}
