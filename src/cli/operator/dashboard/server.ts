/** The dashboard's HTTP server (node:http, no framework): the page and the JSON endpoints. */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { failureText } from '../errors.ts';
import { bearerToken, hostAllowed, readRefusal, type Refusal, TOKEN_HEADER } from './access.ts';
import { answer, type ApiContext } from './api.ts';
import { discardBody, MAX_BODY_BYTES } from './body.ts';
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from './page.ts';
import { parseTarget, shownPath } from './request-target.ts';
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

/** Bounds on a client: the whole of its headers, and its whole request, must arrive within these. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** Where the server listens, for the Host check and the access rules. */
interface Bound {
  readonly host: string;
  port: number;
}

/**
 * Starts the server on `host`:`port` (0: a free port); resolves once it listens. Every request
 * node:http can parse gets an answer (a failure inside becomes a 500 and a note on stderr); node
 * answers or closes the rest itself (400, 413, 431); nothing a client sends rejects unhandled.
 */
export async function startServer(api: ApiContext, host: string, port: number): Promise<DashboardServer> {
  const page = pageHtml();
  const bound: Bound = { host, port };
  const server: Server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    (request, response) => {
      response.on('error', () => undefined); // the client went away: there is no one to tell
      handle(api, page, bound, request, response).catch((error: unknown) => {
        api.ctx.note(`dashboard: ${shownPath(request.url ?? '')} failed: ${failureText(error, false)}`);
        if (response.headersSent) response.destroy();
        else json(response, 500, { error: 'the dashboard failed on this request (see its stderr)' });
      });
    },
  );
  server.on('error', (error) => api.ctx.note(`dashboard: server error: ${failureText(error, false)}`));
  server.listen(port, host);
  await once(server, 'listening');
  bound.port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port: bound.port,
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
  bound: Bound,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const target = parseTarget(request.url);
  if (target === undefined) return json(response, 400, { error: 'the request target must be a path, /…' });
  if (countHeader(request, 'host') > 1) return json(response, 400, { error: 'more than one Host header' });
  if (!hostAllowed(target.authority ?? request.headers.host, bound.host, bound.port)) {
    return json(response, 403, { error: 'unexpected Host header: open the URL the dashboard printed' });
  }
  const body = await discardBody(request);
  if (body === 'too-large') {
    response.setHeader('connection', 'close');
    return json(response, 413, { error: `a request body is at most ${MAX_BODY_BYTES} bytes (none is used)` });
  }
  if (body === 'failed') {
    response.destroy(); // the client cut its own request: nothing to answer
    return;
  }
  const { path } = target;
  const route = routeOf(request.method ?? 'GET', path);
  if (route.kind === 'page') {
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CSP,
    });
    response.end(request.method === 'HEAD' ? undefined : page);
    return;
  }
  const given = bearerToken(request.headers[TOKEN_HEADER]);
  const refused = readRefusal(bound.host, api.token, given);
  if (refused !== undefined) return refuse(response, refused);
  switch (route.kind) {
    case 'not-found':
      return json(response, 404, { error: `no such URL: ${shownPath(path)}` });
    case 'method':
      response.setHeader('allow', route.allow);
      return json(response, 405, { error: `${shownPath(path)} takes ${route.allow}` });
    case 'bad-stage':
      return json(response, 400, { error: route.text });
    default: {
      const result = await answer(api, route, given);
      if (result.status === 401) response.setHeader('www-authenticate', 'Bearer realm="sqspipes"');
      return json(response, result.status, result.body);
    }
  }
}

/** How many times `name` (lower case) is among the request's raw headers. */
function countHeader(request: IncomingMessage, name: string): number {
  return request.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;
}

function refuse(response: ServerResponse, refusal: Refusal): void {
  if (refusal.status === 401) response.setHeader('www-authenticate', 'Bearer realm="sqspipes"');
  json(response, refusal.status, { error: refusal.message });
}

function json(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}
