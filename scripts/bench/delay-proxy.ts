/**
 * The benchmark's model of the network: a proxy in front of the SQS endpoint that adds a fixed
 * round trip to every HTTP request. It works on connections, not on parsed messages: each client
 * connection gets its own connection to the endpoint (keep-alive on both sides as the client
 * keeps it), and every byte is passed on unchanged, half the delay later on the way there and the
 * other half later on the way back. A request therefore reaches the endpoint delayMs/2 after it
 * was sent and its answer reaches the client delayMs/2 after the endpoint wrote it, whatever the
 * request (a 20 s long poll included); connections are delayed side by side, never one after
 * another. Not parsing HTTP keeps the proxy's own CPU small (about half that of an HTTP proxy
 * built on node:http here). Connection set-up is not delayed, nor is bandwidth modelled.
 *
 * Requests are counted by their request lines (" HTTP/1.1" + CRLF, which a JSON body cannot
 * contain: JSON escapes CR and LF), by SQS action from the X-Amz-Target header after it.
 */
import net from 'node:net';

/** What the proxy did so far (counters only grow). */
export interface ProxyCounts {
  /** HTTP requests that went through, and by SQS action ("other" if not found in the head). */
  readonly requests: number;
  readonly byAction: Readonly<Record<string, number>>;
  readonly connections: number;
  /** Most connections open at once. */
  readonly maxConnections: number;
  /** Client connections reset because the endpoint could not be reached or reset its side. */
  readonly failed: number;
  /** Chunks of bytes delayed, and the time they were held in all, ms (the set delay plus timer lateness). */
  readonly chunks: number;
  readonly heldMs: number;
  readonly maxLateMs: number;
  /** CPU time the proxy's process used since the proxy was made (user + system), ms. */
  readonly cpuMs: number;
}

const REQUEST_LINE_END = Buffer.from(' HTTP/1.1\r\n');
const ACTION = Buffer.from('AmazonSQS.');
const CRLF = Buffer.from('\r\n');
/** How far after a request line the X-Amz-Target header is looked for. */
const HEAD_BYTES = 4096;

/**
 * One direction of a connection: bytes written to `out` `ms` later (to within the 1 ms of
 * Node's timers), in order. One timer at a time per direction, however many chunks wait.
 */
class DelayLine {
  readonly #queue: { due: number; chunk: Buffer | null }[] = [];
  #timer: NodeJS.Timeout | undefined;

  readonly #ms: number;
  readonly #out: net.Socket;
  readonly #held: (ms: number, lateMs: number) => void;

  constructor(ms: number, out: net.Socket, held: (ms: number, lateMs: number) => void) {
    this.#ms = ms;
    this.#out = out;
    this.#held = held;
  }

  /** Passes `chunk` on later; null ends the other side (after the bytes before it). */
  push(chunk: Buffer | null): void {
    if (this.#ms <= 0 && this.#queue.length === 0) return this.#emit(chunk);
    this.#queue.push({ due: performance.now() + this.#ms, chunk });
    this.#timer ??= setTimeout(() => this.#flush(), this.#ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (let head = this.#queue[0]; head !== undefined && head.due <= now + 1; head = this.#queue[0]) {
      this.#queue.shift();
      this.#held(now - head.due + this.#ms, Math.max(0, now - head.due));
      this.#emit(head.chunk);
    }
    const next = this.#queue[0];
    if (next !== undefined) this.#timer = setTimeout(() => this.#flush(), Math.max(1, next.due - now));
  }

  #emit(chunk: Buffer | null): void {
    if (this.#out.destroyed) return;
    if (chunk === null) this.#out.end();
    else this.#out.write(chunk);
  }
}

/** A proxy to `target` (http://host:port) adding `delayMs` to every request; call listen() on it. */
export function createDelayProxy(
  target: string,
  delayMs: number,
): { server: net.Server; counts(): ProxyCounts } {
  const cpuAtStart = process.cpuUsage();
  const upstream = new URL(target);
  if (upstream.protocol !== 'http:')
    throw new Error(`the delay proxy forwards to http:// only, not ${target}`);
  const host = upstream.hostname;
  const port = Number(upstream.port || 80);
  const there = delayMs / 2;
  const back = delayMs - there;
  const counts = {
    requests: 0,
    byAction: {} as Record<string, number>,
    connections: 0,
    maxConnections: 0,
    failed: 0,
    chunks: 0,
    heldMs: 0,
    maxLateMs: 0,
  };
  let open = 0;
  const held = (ms: number, lateMs: number) => {
    counts.chunks++;
    counts.heldMs += ms;
    counts.maxLateMs = Math.max(counts.maxLateMs, lateMs);
  };

  /** Counts the requests that start in `chunk`; `tail` is the end of the chunk before it. */
  function countRequests(chunk: Buffer, tail: Buffer): void {
    // A request line split between two chunks.
    if (
      tail.length > 0 &&
      Buffer.concat([tail, chunk.subarray(0, REQUEST_LINE_END.length - 1)]).includes(REQUEST_LINE_END)
    )
      count(chunk, 0);
    for (let at = chunk.indexOf(REQUEST_LINE_END); at !== -1; at = chunk.indexOf(REQUEST_LINE_END, at + 1))
      count(chunk, at);
  }
  function count(chunk: Buffer, at: number): void {
    counts.requests++;
    const head = chunk.subarray(at, at + HEAD_BYTES);
    const start = head.indexOf(ACTION);
    const end = start === -1 ? -1 : head.indexOf(CRLF, start);
    const action = end === -1 ? 'other' : head.toString('latin1', start + ACTION.length, end);
    counts.byAction[action] = (counts.byAction[action] ?? 0) + 1;
  }

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    counts.connections++;
    open++;
    counts.maxConnections = Math.max(counts.maxConnections, open);
    const endpoint = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    const toEndpoint = new DelayLine(there, endpoint, held);
    const toClient = new DelayLine(back, client, held);
    let tail: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      countRequests(chunk, tail);
      tail = chunk.subarray(Math.max(0, chunk.length - REQUEST_LINE_END.length + 1));
      toEndpoint.push(chunk);
    });
    endpoint.on('data', (chunk: Buffer) => toClient.push(chunk));
    // A side that closes its half closes the other's, after the bytes before it (a delayed FIN).
    client.on('end', () => toEndpoint.push(null));
    endpoint.on('end', () => toClient.push(null));
    // A side that goes away (an aborted long poll, a reset): the other goes too, at once.
    endpoint.on('error', () => {
      if (!client.destroyed) counts.failed++;
      client.resetAndDestroy();
    });
    client.on('error', () => endpoint.destroy());
    client.on('close', () => {
      open--;
      toEndpoint.clear();
      toClient.clear();
      endpoint.destroy();
    });
  });
  return {
    server,
    counts: () => {
      const cpu = process.cpuUsage(cpuAtStart);
      return {
        ...counts,
        byAction: { ...counts.byAction },
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      };
    },
  };
}
