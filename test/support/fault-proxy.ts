import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy did, by kind. */
export interface FaultCounts {
  forwarded: number;
  /** Forwarded requests by SQS action (from the X-Amz-Target header). */
  byAction: Record<string, number>;
  throttled: number;
  serverError: number;
  resetBefore: number;
  resetAfter: number;
  /** Requests left unanswered (mode `hang`). */
  hung: number;
  /** Connections reset in mode `down`. */
  refused: number;
}

/**
 * What the proxy does with every request: `faults` as described at {@link startFaultProxy};
 * `down`, a connection reset before anything is forwarded (SQS unreachable); `hang`, nothing at
 * all: the request stays open, unanswered (a network that drops packets).
 */
export type ProxyMode = 'faults' | 'down' | 'hang';

/**
 * An HTTP proxy on loopback in front of an SQS endpoint that fails about `rate` of the requests:
 * throttling (400 ThrottlingException), 500, a connection reset before forwarding, and a reset
 * after forwarding (SQS acted, the client never hears). `setMode` takes SQS away. For tests only.
 */
export async function startFaultProxy(
  target: string,
  initialRate: number,
): Promise<{
  url: string;
  counts: FaultCounts;
  setRate(rate: number): void;
  setMode(mode: ProxyMode): void;
  stop(): Promise<void>;
}> {
  let rate = initialRate;
  let mode: ProxyMode = 'faults';
  const upstream = new URL(target);
  const counts: FaultCounts = {
    forwarded: 0,
    byAction: {},
    throttled: 0,
    serverError: 0,
    resetBefore: 0,
    resetAfter: 0,
    hung: 0,
    refused: 0,
  };
  const server: Server = createServer((req, res) => {
    if (mode === 'down') {
      counts.refused++;
      req.socket.destroy();
      return;
    }
    if (mode === 'hang') {
      counts.hung++;
      return;
    }
    const roll = Math.random();
    const quarter = rate / 4;
    if (roll < quarter) {
      counts.throttled++;
      return fail(res, 400, 'ThrottlingException', 'Rate exceeded (injected)');
    }
    if (roll < 2 * quarter) {
      counts.serverError++;
      return fail(res, 500, 'InternalError', 'injected');
    }
    if (roll < 3 * quarter) {
      counts.resetBefore++;
      req.socket.destroy();
      return;
    }
    forward(req, res, upstream, roll < rate);
  });
  function forward(req: IncomingMessage, res: ServerResponse, to: URL, resetAfter: boolean): void {
    const out = request(
      {
        host: to.hostname,
        port: to.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: to.host },
      },
      (answer) => {
        if (resetAfter) {
          counts.resetAfter++;
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        counts.forwarded++;
        const action = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
        counts.byAction[action] = (counts.byAction[action] ?? 0) + 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setRate: (next: number) => {
      rate = next;
    },
    setMode: (next: ProxyMode) => {
      mode = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function fail(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': `${type};${status >= 500 ? 'Receiver' : 'Sender'}`,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
