/**
 * A request's target as the dashboard reads it, without `new URL` (which throws on `//` and
 * normalises what it should refuse). Pure.
 */

/** The path of a request (query excluded) and, for an absolute-form target, its authority. */
export interface RequestTarget {
  readonly path: string;
  /** `host[:port]` of `http://host[:port]/…` (RFC 9112 §3.2.2: it stands for the Host header). */
  readonly authority: string | undefined;
}

/**
 * The target of `GET <target> HTTP/1.1`: origin form (`/path?query`) or absolute form
 * (`http://host/path?query`); undefined for anything else (`*`, `host:port`, `%`, empty).
 */
export function parseTarget(target: string | undefined): RequestTarget | undefined {
  if (target === undefined) return undefined;
  const absolute = /^https?:\/\/([^/?#]*)([^?#]*)/i.exec(target);
  if (absolute !== null) {
    const [, authority = '', path = ''] = absolute;
    return { authority, path: path === '' ? '/' : path };
  }
  if (!target.startsWith('/')) return undefined;
  return { path: target.replace(/[?#][^]*$/, ''), authority: undefined };
}

/** `path` shortened to `max` characters for an error message. */
export function shownPath(path: string, max = 120): string {
  return path.length <= max ? path : `${path.slice(0, max)}…`;
}
