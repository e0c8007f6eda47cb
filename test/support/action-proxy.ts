import { createServer, type IncomingMessage, request, type Server } from 'node:http';
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
  const blocked: Record<string, number> = {};
  const proxy = await startProxy(target, (req) => {
    const action = String(req.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
    if (pass.has(action)) return undefined;
    blocked[action] = (blocked[action] ?? 0) + 1;
    return otherwise;
  });
  return { ...proxy, blocked };
}

/**
 * An HTTP proxy on loopback that forwards every request to `target`, but those for which
 * `block` says `hang` (left unanswered) or `reset` (connection closed).
 */
export async function startProxy(
  target: string,
  block: (req: IncomingMessage) => Blocked | undefined,
): Promise<{ readonly url: string; stop(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const blocked = block(req);
    if (blocked !== undefined) {
      if (blocked === 'reset') req.socket.destroy();
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
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
