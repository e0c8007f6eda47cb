/**
 * Who may do what on the dashboard. Reading is open to whoever reaches it (it binds to loopback
 * by default); redrive and purge need `--actions` and, then, the token in a request header. A
 * header, not a cookie: a page of another origin cannot send it without a CORS preflight, which
 * the dashboard never answers, so it cannot act through the operator's browser. Pure.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The request header that carries the token. */
export const TOKEN_HEADER = 'x-sqspipes-token';

/** What `--token` may be: URL-safe characters (it goes in the URL's fragment), 16 to 256 of them. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/;

/** A random token: 24 URL-safe characters (144 bits). */
export function generateToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Whether `host` (an address or name to bind to) is loopback: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** How the dashboard may bind: an error to refuse with, a warning to print, or neither. */
export type BindCheck =
  | { readonly ok: false; readonly error: string }
  | { readonly ok: true; readonly warning: string | undefined };

/**
 * Binding to `host`: anything but loopback with actions needs a token chosen by the operator
 * (`--token`, not one printed to a log); without actions it is allowed, with a warning.
 */
export function checkBind(host: string, actions: boolean, tokenGiven: boolean): BindCheck {
  if (isLoopback(host)) return { ok: true, warning: undefined };
  if (actions && !tokenGiven) {
    return {
      ok: false,
      error: `--host ${host} is not loopback: with --actions give the token yourself with --token (anyone who can reach the port and has the token can redrive and purge)`,
    };
  }
  const who = actions ? 'anyone who can reach it with the token can redrive and purge' : 'read-only';
  return {
    ok: true,
    warning: `Warning: the dashboard listens on ${host}, not loopback: anyone who can reach it sees the domain's queues and dead-letter messages (${who})`,
  };
}

/** Whether `given` is `expected`, compared in constant time. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Why an action request is refused (status 403 and a message), or undefined to allow it. */
export function actionRefusal(
  actions: boolean,
  token: string | undefined,
  given: string | undefined,
): { status: 403; message: string } | undefined {
  if (!actions || token === undefined) {
    return {
      status: 403,
      message: 'actions are disabled: start the dashboard with --actions to enable them',
    };
  }
  if (!tokenMatches(token, given)) {
    return {
      status: 403,
      message: `missing or wrong token (header ${TOKEN_HEADER}): open the URL the dashboard printed`,
    };
  }
  return undefined;
}

/**
 * Whether a request's Host header names the dashboard when it listens on loopback: `localhost`,
 * `127.x.x.x` or `[::1]`, with its port. A page of another site whose name resolves to 127.0.0.1
 * (DNS rebinding) sends its own name, and is refused. On other addresses any Host is accepted.
 */
export function hostAllowed(header: string | undefined, boundHost: string, port: number): boolean {
  if (!isLoopback(boundHost)) return true;
  if (header === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header);
  if (match === null) return false;
  const [, name = '', portText] = match;
  return isLoopback(name) && (portText === undefined ? port === 80 : Number(portText) === port);
}
