/**
 * The network the scenarios see: the SQS endpoint itself (--rtt 0), or the delay proxy in front
 * of it (delay-proxy-server.ts, its own process) adding --rtt ms to every request.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ProxyCounts } from './delay-proxy.ts';
import { track } from './procs.ts';

export type { ProxyCounts } from './delay-proxy.ts';

export interface DelayProxy {
  readonly url: string;
  readonly pid: number | undefined;
  readonly delayMs: number;
  /** The proxy's counters so far. */
  counts(): Promise<ProxyCounts>;
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./delay-proxy-server.ts', import.meta.url));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Starts the delay proxy in front of `target`; resolves once it listens. */
export async function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy> {
  const child = spawn(process.execPath, [SERVER, '--target', target, '--delay', String(delayMs)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  track(child);
  /** The next message from the proxy that has `key`. */
  const next = (key: string, timeoutMs: number) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`the delay proxy sent no ${key} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (message: unknown) => {
        if (isObject(message) && key in message) done(undefined, message[key]);
      };
      const onExit = (code: number | null) => done(new Error(`the delay proxy exited (${code})`));
      function done(error: Error | undefined, value?: unknown): void {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error === undefined) resolve(value);
        else reject(error);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const port = Number(await next('port', 20_000));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    delayMs,
    counts: async () => {
      const counts = next('counts', 5_000);
      child.send('counts');
      return (await counts) as ProxyCounts;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** What the proxy did between two snapshots. */
export interface ProxyWindow {
  readonly requests: number;
  readonly failed: number;
  /** Mean delay added per round trip, ms: the set delay plus the timers' lateness. */
  readonly meanAddedMs: number;
  readonly cpuMs: number;
  /** Proxy CPU per request, µs: what the model costs the machine. */
  readonly cpuUsPerRequest: number;
}

/** Mean delay added per round trip: each way holds its chunks half of it. */
export function meanAddedMs(counts: Pick<ProxyCounts, 'chunks' | 'heldMs'>): number {
  return Math.round(((2 * counts.heldMs) / Math.max(1, counts.chunks)) * 10) / 10;
}

export function proxyWindow(before: ProxyCounts, after: ProxyCounts): ProxyWindow {
  const requests = after.requests - before.requests;
  const cpuMs = after.cpuMs - before.cpuMs;
  return {
    requests,
    failed: after.failed - before.failed,
    meanAddedMs: meanAddedMs({ chunks: after.chunks - before.chunks, heldMs: after.heldMs - before.heldMs }),
    cpuMs,
    cpuUsPerRequest: Math.round((cpuMs * 1000) / Math.max(1, requests)),
  };
}
