/** The dashboard's HTTP server (node:http, no framework): the page and the JSON endpoints. */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostAllowed, TOKEN_HEADER } from './access.ts';
import { answer, type ApiContext } from './api.ts';
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from './page.ts';
import { routeOf } from './routes.ts';

/** A running dashboard server. */
export interface DashboardServer {
  /** The port it listens on (the one chosen by the system for port 0). */
  readonly port: number;
  /** Stops listening and closes open connections; idempotent. */
  close(): Promise<void>;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only the page's own inline script and style run; it talks only to this server. */
const CSP = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Starts the server on `host`:`port` (0: a free port); resolves once it listens. */
export async function startServer(api: ApiContext, host: string, port: number): Promise<DashboardServer> {
  const page = pageHtml();
  let bound = port;
  const server: Server = createServer((request, response) => {
    void handle(api, page, host, bound, request, response);
  });
  server.listen(port, host);
  await once(server, 'listening');
  bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port: bound,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function handle(
  api: ApiContext,
  page: string,
  host: string,
  port: number,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!hostAllowed(request.headers.host, host, port)) {
    return json(response, 403, { error: 'unexpected Host header: open the URL the dashboard printed' });
  }
  const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
  const route = routeOf(request.method ?? 'GET', path);
  switch (route.kind) {
    case 'page':
      response.writeHead(200, {
        ...COMMON_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': CSP,
      });
      response.end(request.method === 'HEAD' ? undefined : page);
      return;
    case 'not-found':
      return json(response, 404, { error: `no such URL: ${path}` });
    case 'method':
      response.setHeader('allow', route.allow);
      return json(response, 405, { error: `${path} takes ${route.allow}` });
    case 'bad-stage':
      return json(response, 400, { error: route.text });
    default: {
      request.resume(); // a POST's body, if any, is not read
      const given = request.headers[TOKEN_HEADER];
      const result = await answer(api, route, typeof given === 'string' ? given : undefined);
      return json(response, result.status, result.body);
    }
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}
