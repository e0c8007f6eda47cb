/**
 * What every benchmark child process shares: flag parsing, an SQS request counter, an RSS
 * sampler, the readiness line on stdout and the report file written at the end.
 */
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** One RSS sample: when, how many messages this process had handled, resident set size. */
export interface Sample {
  readonly t: number;
  readonly count: number;
  readonly rss: number;
  /** V8 heap reserved and in use, and memory outside it (Buffers etc.), bytes. */
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** What a child writes to its `--report` file when it ends. */
export interface ChildReport {
  readonly role: string;
  readonly count: number;
  /** Date.now() of the first message made (producers) or handled (others). */
  readonly firstAt: number | null;
  /** Date.now() of the last message handled. */
  readonly lastAt: number | null;
  /**
   * Date.now() of this process's first output: the first message SQS accepted from it (sources,
   * relays), or the first message it received and finished (sinks).
   */
  readonly firstOutputAt?: number | null;
  /** SQS HTTP requests by action (every attempt counts). */
  readonly requests: Record<string, number>;
  /** Peak resident set size, KiB (getrusage). */
  readonly maxRssKiB: number;
  /** CPU time used (user + system), ms. */
  readonly cpuMs: number;
  readonly samples: readonly Sample[];
  /** Last stage only: end-to-end latency of each message, ms. */
  readonly latencies?: readonly number[];
  /** Idle mode: requests made during the idle window. */
  readonly idle?: {
    readonly windowMs: number;
    readonly requests: Record<string, number>;
    /** Long polls started since the stage started, by queue name (which levels were polled). */
    readonly receivesByQueue: Record<string, number>;
  };
  /** --trace-receives: how the stage's receives went. */
  readonly receiveTrace?: {
    readonly receives: number;
    readonly messagesPerReceive: number;
    readonly meanMs: number;
    readonly maxInFlight: number;
    readonly busyShare: number;
  };
  readonly error?: string;
}

/** Common child flags; scripts add their own. */
export function childArgs<T extends Record<string, { type: 'string' | 'boolean' }>>(extra: T) {
  return parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    strict: true,
    options: {
      endpoint: { type: 'string' },
      report: { type: 'string' },
      limit: { type: 'string' },
      deadline: { type: 'string' },
      ...extra,
    },
  });
}

export function intFlag(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be an integer >= 0`);
  return n;
}

export function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new Error(`--${name} is required`);
  return value;
}

/** The same request counter sqspipes uses, so that (a), (b) and (c) are counted alike. */
export { countRequests } from '../../src/sqs/connect.ts';

/**
 * A raw SQS client: keep-alive, `maxSockets` sockets (500 by default, as sqspipes had), the SDK's
 * MD5 checks of bodies on unless `md5` is false, its middleware cached with `cacheMiddleware`, its
 * logger middleware removed when `loggerMiddleware` is false.
 */
export function rawClient(
  endpoint: string,
  options: { maxSockets?: number; md5?: boolean; cacheMiddleware?: boolean; loggerMiddleware?: boolean } = {},
): SQSClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 500 });
  const client = new SQSClient({
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    useQueueUrlAsEndpoint: false,
    ...(options.md5 === false ? { md5: false } : {}),
    ...(options.cacheMiddleware === true ? { cacheMiddleware: true } : {}),
    requestHandler: new NodeHttpHandler({
      httpAgent: agent,
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
    }),
  });
  if (options.loggerMiddleware === false) client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/** Samples RSS every `everyMs` (bounded number of samples), with the caller's message count. */
export class RssSampler {
  readonly samples: Sample[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #count: () => number;

  constructor(count: () => number, everyMs = 200, max = 20_000) {
    this.#count = count;
    this.sample();
    this.#timer = setInterval(() => {
      if (this.samples.length < max) this.sample();
    }, everyMs);
    this.#timer.unref();
  }

  sample(): void {
    const { rss, heapTotal, heapUsed, external } = process.memoryUsage();
    this.samples.push({ t: Date.now(), count: this.#count(), rss, heapTotal, heapUsed, external });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
}

/** Tells the parent this process is polling (one JSON line on stdout). */
export function announceReady(): void {
  process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
}

export function writeReport(file: string, report: ChildReport): void {
  writeFileSync(file, JSON.stringify(report));
}

export function peakRssKiB(): number {
  return process.resourceUsage().maxRSS;
}

export function cpuMs(): number {
  const usage = process.resourceUsage();
  return Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
