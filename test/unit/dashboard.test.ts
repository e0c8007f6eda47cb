import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import {
  actionRefusal,
  checkBind,
  generateToken,
  hostAllowed,
  isLoopback,
  TOKEN_PATTERN,
  tokenMatches,
} from '../../src/cli/operator/dashboard/access.ts';
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from '../../src/cli/operator/dashboard/page.ts';
import { routeOf } from '../../src/cli/operator/dashboard/routes.ts';
import { pipelineView, rateBase, type Sample } from '../../src/cli/operator/dashboard/snapshot.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import type { StatusRow } from '../../src/cli/operator/status.ts';

const row = (
  stage: string,
  index: number,
  level: number | 'dlq',
  visible: number,
  inFlight = 0,
): StatusRow => ({
  stage,
  stageIndex: index,
  level,
  queue: `d-${stage}-${level === 'dlq' ? 'dlq' : `p${level}`}.fifo`,
  visible,
  inFlight,
  delayed: 0,
});

describe('dashboard snapshot: stages in order, levels, dead letters, rates', () => {
  const before = [
    row('work', 1, 0, 10),
    row('work', 1, 1, 0),
    row('work', 1, 'dlq', 0),
    row('sink', 2, 0, 0),
  ];
  const after = [
    row('work', 1, 0, 4, 2),
    row('work', 1, 1, 3),
    row('work', 1, 'dlq', 1),
    row('sink', 2, 0, 6),
  ];

  it('groups the rows by stage, keeping their order, with rates against the base sample', () => {
    const stages = pipelineView(after, { rows: before, at: 1000 }, 3000);
    expect(stages).toEqual([
      {
        name: 'work',
        index: 1,
        levels: [
          { level: 0, queue: 'd-work-p0.fifo', visible: 4, inFlight: 2, delayed: 0, rate: -3 },
          { level: 1, queue: 'd-work-p1.fifo', visible: 3, inFlight: 0, delayed: 0, rate: 1.5 },
        ],
        dlq: { queue: 'd-work-dlq.fifo', visible: 1, inFlight: 0, rate: 0.5 },
      },
      {
        name: 'sink',
        index: 2,
        levels: [{ level: 0, queue: 'd-sink-p0.fifo', visible: 6, inFlight: 0, delayed: 0, rate: 3 }],
        dlq: null,
      },
    ]);
  });

  it('has no rates before a second sample, nor for a queue the base sample did not have', () => {
    const first = pipelineView(after, undefined, 3000);
    expect(first.flatMap((s) => s.levels.map((l) => l.rate))).toEqual([null, null, null]);
    const partial = pipelineView(after, { rows: before.slice(0, 1), at: 1000 }, 3000);
    expect(partial[0]?.levels.map((l) => l.rate)).toEqual([-3, null]);
  });

  it('computes rates over the oldest sample within the window', () => {
    const samples: Sample[] = [1000, 2000, 3000, 4000].map((at) => ({ rows: [], at }));
    expect(rateBase(samples, 4500, 3000)?.at).toBe(2000);
    expect(rateBase(samples, 4500, 10_000)?.at).toBe(1000);
    expect(rateBase(samples, 20_000, 3000)).toBeUndefined();
    expect(rateBase([], 1000, 3000)).toBeUndefined();
  });
});

describe('dashboard access: loopback, binding, token', () => {
  it('tells loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST']) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '127.example.com']) {
      expect(isLoopback(host), host).toBe(false);
    }
  });

  it('binds to loopback freely; elsewhere warns, and refuses actions without a chosen token', () => {
    expect(checkBind('127.0.0.1', true, false)).toEqual({ ok: true, warning: undefined });
    const readOnly = checkBind('0.0.0.0', false, false);
    expect(readOnly.ok && readOnly.warning).toMatch(/not loopback.*read-only/);
    const refused = checkBind('0.0.0.0', true, false);
    expect(!refused.ok && refused.error).toMatch(/--token/);
    const withToken = checkBind('0.0.0.0', true, true);
    expect(withToken.ok && withToken.warning).toMatch(/with the token can redrive and purge/);
  });

  it('allows an action only with actions enabled and the right token', () => {
    expect(actionRefusal(false, undefined, 'x')?.message).toMatch(/--actions/);
    expect(actionRefusal(true, 'secret-token-123456', undefined)?.status).toBe(403);
    expect(actionRefusal(true, 'secret-token-123456', 'secret-token-12345')?.message).toMatch(/token/);
    expect(actionRefusal(true, 'secret-token-123456', 'secret-token-123456')).toBeUndefined();
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(true);
  });

  it('generates URL-safe tokens that differ', () => {
    const a = generateToken();
    expect(a).toMatch(TOKEN_PATTERN);
    expect(generateToken()).not.toBe(a);
  });

  it('on loopback, accepts only Host headers that name it (no DNS rebinding)', () => {
    expect(hostAllowed('127.0.0.1:8080', '127.0.0.1', 8080)).toBe(true);
    expect(hostAllowed('localhost:8080', '127.0.0.1', 8080)).toBe(true);
    expect(hostAllowed('[::1]:8080', '127.0.0.1', 8080)).toBe(true);
    expect(hostAllowed('localhost:8081', '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed('evil.example:8080', '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed('dash.internal:8080', '0.0.0.0', 8080)).toBe(true);
  });
});

describe('dashboard routes', () => {
  it('reads the page, the API and the stage of each stage route', () => {
    expect(routeOf('GET', '/')).toEqual({ kind: 'page' });
    expect(routeOf('GET', '/api/pipeline')).toEqual({ kind: 'pipeline' });
    expect(routeOf('GET', '/api/dlq/work')).toEqual({ kind: 'dlq', stage: 'work' });
    expect(routeOf('POST', '/api/redrive/work')).toEqual({ kind: 'redrive', stage: 'work' });
    expect(routeOf('POST', '/api/purge/a-b_c')).toEqual({ kind: 'purge', stage: 'a-b_c' });
  });

  it('refuses other methods, paths and stage names', () => {
    expect(routeOf('GET', '/api/redrive/work')).toEqual({ kind: 'method', allow: 'POST' });
    expect(routeOf('POST', '/api/pipeline')).toEqual({ kind: 'method', allow: 'GET' });
    expect(routeOf('GET', '/api/dlq/a%2Fb')).toMatchObject({ kind: 'bad-stage' });
    expect(routeOf('GET', '/api/dlq/%E0')).toMatchObject({ kind: 'bad-stage' });
    expect(routeOf('GET', '/api/other')).toEqual({ kind: 'not-found' });
  });
});

describe('dashboard page', () => {
  it('is self-contained: its style and script inline, nothing loaded from elsewhere', () => {
    const html = pageHtml();
    expect(html).toContain(`<style>${PAGE_STYLE}</style>`);
    expect(html).toContain(`<script>${PAGE_SCRIPT}</script>`);
    expect(html).not.toMatch(/<script src|<link |https?:\/\//);
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML/);
  });
});

describe('sqspipes dashboard: its command line', () => {
  const d = ['--domain', 'shop'];

  it('defaults to 127.0.0.1:8080, a 2 s interval, no actions', async () => {
    expect(await parseOperatorArgs(['dashboard', ...d])).toMatchObject({
      command: {
        name: 'dashboard',
        host: '127.0.0.1',
        port: 8080,
        interval: 2000,
        actions: false,
        token: undefined,
      },
    });
    const token = 'abcdefghijklmnop';
    const flags = ['--port', '0', '--interval', '500ms', '--actions', '--token', token, '--host', '::1'];
    expect(await parseOperatorArgs(['dashboard', ...d, ...flags])).toMatchObject({
      command: { host: '::1', port: 0, interval: 500, actions: true, token },
    });
  });

  it('refuses bad values, and --token without --actions', async () => {
    const refusal = (argv: string[]) =>
      parseOperatorArgs(['dashboard', ...d, ...argv]).then(
        () => 'accepted',
        (e: unknown) => (e instanceof UsageError ? e.message : String(e)),
      );
    expect(await refusal(['--port', '70000'])).toMatch(/--port must be an integer from 0 to 65535/);
    expect(await refusal(['--interval', '100ms'])).toMatch(/--interval must be a duration from 500ms/);
    expect(await refusal(['--token', 'abcdefghijklmnop'])).toMatch(/--token applies only with --actions/);
    expect(await refusal(['--actions', '--token', 'short'])).toMatch(/--token must be 16 to 256/);
    expect(await refusal(['--actions=yes'])).toMatch(/--actions takes no value/);
  });
});
