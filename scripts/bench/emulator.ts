/**
 * The SQS endpoint the benchmark runs against: SQSPIPES_BENCH_ENDPOINT if set, else fauxqs
 * started as a separate process (emulator-server.ts) on a free port of 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { track } from './procs.ts';

export interface Endpoint {
  readonly url: string;
  /** What it is, e.g. "fauxqs 2.4.1 (separate process, pid 123)". */
  readonly name: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./emulator-server.ts', import.meta.url));

export async function startEndpoint(): Promise<Endpoint> {
  const given = process.env['SQSPIPES_BENCH_ENDPOINT'];
  if (given !== undefined && given !== '') {
    return { url: given, name: `external endpoint ${given}`, pid: undefined, stop: async () => {} };
  }
  const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  track(child);
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('the emulator did not start in 20 s')), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const match = /\{"port":(\d+)\}/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code}) before listening`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const health = await fetch(`${url}/health`);
  if (!health.ok) throw new Error(`the emulator at ${url} is not healthy (${health.status})`);
  return {
    url,
    name: `fauxqs ${fauxqsVersion()} (separate process, pid ${child.pid})`,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export function fauxqsVersion(): string {
  try {
    const file = new URL('../../node_modules/fauxqs/package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
