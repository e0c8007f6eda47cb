import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { childEnv } from './sqs.ts';

export const NUMBERS_SCRIPT = fileURLToPath(new URL('../fixtures/numbers-pipeline.ts', import.meta.url));

/** A stage process started as a user would: `node script.ts <stage> [workers] [flags]`. */
export interface StageProcess {
  readonly child: ChildProcess;
  /** Each stdout line, parsed as JSON (or kept as text if it is not JSON), as it arrives. */
  readonly lines: unknown[];
  /** Everything written to stderr. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** Resolves once `count` lines have been printed. */
  waitForLines(count: number): Promise<void>;
}

export function startStage(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  nodeOptions: readonly string[] = [],
): StageProcess {
  const child = spawn(process.execPath, [...nodeOptions, script, ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: unknown[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line !== '') lines.push(parseLine(line));
    for (const w of waiters.filter((w) => lines.length >= w.count)) w.resolve();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLines: (count) =>
      lines.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ count, resolve });
            exited.then(
              (code) =>
                lines.length >= count
                  ? resolve()
                  : reject(new Error(`exited (${code}) after ${lines.length} of ${count} lines:\n${stderr}`)),
              reject,
            );
          }),
  };
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return line;
  }
}

/** Resolves once `text()` contains `needle` (checked as output arrives). */
export function waitForText(text: () => string, needle: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => (text().includes(needle) ? resolve() : setTimeout(check, 10));
    check();
  });
}
