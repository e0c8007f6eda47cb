/**
 * Who may do what on the dashboard. On loopback (the default) reading is open to local processes
 * whose requests name loopback in their Host header; anywhere else every request but the page
 * itself (which holds no data) needs the token. Redrive and purge need `--actions` and the token,
 * wherever it listens. The token travels only in the `Authorization: Bearer <token>` header, never
 * in a URL: a page of another origin cannot send that header without a CORS preflight, which the
 * dashboard never answers, so it cannot act through the operator's browser; and no cookie is set,
 * so nothing is sent by the browser on its own. The page asks for the token and keeps it in the
 * tab's sessionStorage (per origin, port included). Pure.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The request header that carries the token, as `Bearer <token>`. */
export const TOKEN_HEADER = 'authorization';

/** What `--token` may be: 16 to 256 URL-safe characters (easy to paste and to put in a header). */
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
 * Binding to `host`: anything but loopback needs a token chosen by the operator (`--token`, not
 * one printed to a log), since every request will need it; it is allowed with a warning.
 */
export function checkBind(host: string, actions: boolean, tokenGiven: boolean): BindCheck {
  if (isLoopback(host)) return { ok: true, warning: undefined };
  if (!tokenGiven) {
    return {
      ok: false,
      error: `--host ${host} is not loopback: give the token every request will need with --token (16 to 256 of A-Z a-z 0-9 . _ ~ -)`,
    };
  }
  const who = actions
    ? 'see the queues and dead letters, redrive and purge'
    : 'see the queues and dead letters';
  return {
    ok: true,
    warning: `Warning: the dashboard listens on ${host}, not loopback: whoever reaches it with the token can ${who}; it speaks plain HTTP, so use it on a network you trust or behind TLS`,
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
}

/** Whether `given` is `expected`, compared in constant time. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Why a request is refused: its status, and a message for whoever sent it. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly message: string;
}

const NEEDS_TOKEN =
  'missing or wrong token: send it as the header "Authorization: Bearer <token>" (the page asks for it)';

/**
 * Why a read (anything but the page) is refused, or undefined to allow it: off loopback it needs
 * the token; when the server has none there, nothing is allowed.
 */
export function readRefusal(
  boundHost: string,
  token: string | undefined,
  given: string | undefined,
): Refusal | undefined {
  if (isLoopback(boundHost)) return undefined;
  if (token !== undefined && tokenMatches(token, given)) return undefined;
  return { status: 401, message: `this dashboard is not on loopback: ${NEEDS_TOKEN}` };
}

/** Why an action request is refused, or undefined to allow it. */
export function actionRefusal(
  actions: boolean,
  token: string | undefined,
  given: string | undefined,
): Refusal | undefined {
  if (!actions || token === undefined) {
    return {
      status: 403,
      message: 'actions are disabled: start the dashboard with --actions to enable them',
    };
  }
  if (!tokenMatches(token, given)) return { status: 401, message: NEEDS_TOKEN };
  return undefined;
}

/**
 * Whether a request's Host header (or the authority of an absolute-form target) names the
 * dashboard when it listens on loopback: `localhost`, `127.x.x.x` or `[::1]`, with its port. A page
 * of another site whose name resolves to 127.0.0.1 (DNS rebinding) sends its own name, and is
 * refused. On other addresses any Host is accepted (the token guards them).
 */
export function hostAllowed(header: string | undefined, boundHost: string, port: number): boolean {
  if (!isLoopback(boundHost)) return true;
  if (header === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(header);
  if (match === null) return false;
  const [, name = '', portText] = match;
  return isLoopback(name) && (portText === undefined ? port === 80 : Number(portText) === port);
}
