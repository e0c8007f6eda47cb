/** The dashboard's URLs, read from a request's method and path. Pure. */
import { NAME_PATTERN } from '../../../validate.ts';

/** What a request asks for. */
export type Route =
  | { readonly kind: 'page' }
  | { readonly kind: 'pipeline' }
  | { readonly kind: 'dlq'; readonly stage: string }
  | { readonly kind: 'redrive'; readonly stage: string }
  | { readonly kind: 'purge'; readonly stage: string }
  | { readonly kind: 'bad-stage'; readonly text: string }
  | { readonly kind: 'method'; readonly allow: 'GET' | 'POST' }
  | { readonly kind: 'not-found' };

const STAGE_ROUTES = { dlq: 'GET', redrive: 'POST', purge: 'POST' } as const;

/**
 * The route of `method` `path` (query string excluded): `GET /`, `GET /api/pipeline`,
 * `GET /api/dlq/<stage>`, `POST /api/redrive/<stage>`, `POST /api/purge/<stage>`.
 */
export function routeOf(method: string, path: string): Route {
  if (path === '/' || path === '/api/pipeline') {
    if (method !== 'GET' && method !== 'HEAD') return { kind: 'method', allow: 'GET' };
    return { kind: path === '/' ? 'page' : 'pipeline' };
  }
  const match = /^\/api\/(dlq|redrive|purge)\/([^/]+)$/.exec(path);
  if (match === null) return { kind: 'not-found' };
  const kind = match[1] as keyof typeof STAGE_ROUTES;
  const allow = STAGE_ROUTES[kind];
  if (method !== allow) return { kind: 'method', allow };
  let stage: string;
  try {
    stage = decodeURIComponent(match[2] ?? '');
  } catch {
    stage = '';
  }
  if (!NAME_PATTERN.test(stage)) {
    return { kind: 'bad-stage', text: 'a stage name is letters, digits, _ and -' };
  }
  return { kind, stage };
}
