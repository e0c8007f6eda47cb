import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What an {@link ActionProxy} does with a request it does not pass on. */
export type Blocked = 'hang' | 'reset';

/** A proxy in front of an SQS endpoint that lets some actions through and not the others. */
export interface ActionProxy {
  readonly url: string;
  /** Requests not passed on, by SQS action. */
  readonly blocked: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on loopback that forwards the SQS actions in `pass` (by the X-Amz-Target header)
 * to `target`, and does `otherwise` with the rest: `hang` leaves them unanswered (a network that
 * drops packets), `reset` closes the connection (SQS unreachable). For tests: SQS that answers the
 * lookups of a command and then goes away.
 */
export async function startActionProxy(
  target: string,
  pass: ReadonlySet<string>,
  otherwise: Blocked,
): Promise<ActionProxy> {
  const upstream = new URL(target);
  const blocked: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    const action = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
    if (!pass.has(action)) {
      blocked[action] = (blocked[action] ?? 0) + 1;
      if (otherwise === 'reset') req.socket.destroy();
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    const out = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    blocked,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
