import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import {
  actionRefusal,
  bearerToken,
  checkBind,
  generateToken,
  hostAllowed,
  isLoopback,
  readRefusal,
  TOKEN_PATTERN,
  tokenMatches,
} from '../../src/cli/operator/dashboard/access.ts';
import {
  flows,
  History,
  HISTORY_MS,
  MAX_POINTS,
  stageCounts,
} from '../../src/cli/operator/dashboard/history.ts';
import { parseTarget, shownPath } from '../../src/cli/operator/dashboard/request-target.ts';
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

  it('binds to loopback freely; elsewhere only with a chosen token, and warns', () => {
    expect(checkBind('127.0.0.1', true, false)).toEqual({ ok: true, warning: undefined });
    for (const actions of [false, true]) {
      const refused = checkBind('0.0.0.0', actions, false);
      expect(!refused.ok && refused.error).toMatch(/not loopback.*--token/);
    }
    const readOnly = checkBind('0.0.0.0', false, true);
    expect(readOnly.ok && readOnly.warning).toMatch(/not loopback.*with the token can see/);
    const withActions = checkBind('0.0.0.0', true, true);
    expect(withActions.ok && withActions.warning).toMatch(/redrive and purge/);
  });

  it('allows an action only with actions enabled and the right token', () => {
    expect(actionRefusal(false, undefined, 'x')).toMatchObject({ status: 403, message: /--actions/ });
    expect(actionRefusal(true, 'secret-token-123456', undefined)?.status).toBe(401);
    expect(actionRefusal(true, 'secret-token-123456', 'secret-token-12345')?.message).toMatch(/Bearer/);
    expect(actionRefusal(true, 'secret-token-123456', 'secret-token-123456')).toBeUndefined();
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(true);
  });

  it('needs the token for reads off loopback only, and refuses all reads there without one', () => {
    const token = 'secret-token-123456';
    expect(readRefusal('127.0.0.1', undefined, undefined)).toBeUndefined();
    expect(readRefusal('::1', token, undefined)).toBeUndefined();
    expect(readRefusal('0.0.0.0', token, undefined)?.status).toBe(401);
    expect(readRefusal('0.0.0.0', token, 'wrong')?.status).toBe(401);
    expect(readRefusal('0.0.0.0', token, token)).toBeUndefined();
    expect(readRefusal('10.0.0.1', undefined, 'anything')?.status).toBe(401);
  });

  it('reads the token from an Authorization: Bearer header only', () => {
    expect(bearerToken('Bearer abc.def-123')).toBe('abc.def-123');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
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
    expect(hostAllowed('127.0.0.1:99999999999999999999', '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed('', '127.0.0.1', 80)).toBe(false);
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

describe('dashboard request targets', () => {
  it('reads origin-form and absolute-form targets without URL normalisation', () => {
    expect(parseTarget('/api/pipeline?x=1#y')).toEqual({ path: '/api/pipeline', authority: undefined });
    expect(parseTarget('//')).toEqual({ path: '//', authority: undefined });
    expect(parseTarget('//evil.example/api/pipeline')).toEqual({
      path: '//evil.example/api/pipeline',
      authority: undefined,
    });
    expect(parseTarget('/%zz')).toEqual({ path: '/%zz', authority: undefined });
    expect(parseTarget('http://127.0.0.1:8080/api/pipeline?q')).toEqual({
      path: '/api/pipeline',
      authority: '127.0.0.1:8080',
    });
    expect(parseTarget('HTTP://x')).toEqual({ path: '/', authority: 'x' });
    expect(parseTarget('http://[::1')).toEqual({ path: '/', authority: '[::1' });
  });

  it('refuses the other forms', () => {
    for (const target of ['*', '%', '', '?token=x', '127.0.0.1:80', 'ftp://x/', undefined]) {
      expect(parseTarget(target), String(target)).toBeUndefined();
    }
  });

  it('shortens long paths in messages', () => {
    expect(shownPath('/a')).toBe('/a');
    expect(shownPath(`/${'a'.repeat(500)}`)).toHaveLength(121);
  });
});

describe('dashboard history: backlog and rates in and out for the charts', () => {
  const counts = (waiting: number, inFlight: number) => ({ waiting, inFlight });

  it("sums a stage's levels, without its dead-letter queue", () => {
    const rows = [
      row('work', 1, 0, 3, 2),
      row('work', 1, 1, 4),
      row('work', 1, 'dlq', 9),
      row('sink', 2, 0, 1),
    ];
    expect(stageCounts(rows)).toEqual(
      new Map([
        ['work', counts(7, 2)],
        ['sink', counts(1, 0)],
      ]),
    );
  });

  it('estimates the fewest arrivals and departures that explain the change', () => {
    expect(flows(counts(0, 0), counts(10, 0))).toEqual({ in: 10, out: 0 }); // enqueued
    expect(flows(counts(10, 0), counts(6, 4))).toEqual({ in: 0, out: 0 }); // received: not a flow
    expect(flows(counts(6, 4), counts(6, 0))).toEqual({ in: 0, out: 4 }); // done
    expect(flows(counts(6, 4), counts(8, 1))).toEqual({ in: 2, out: 3 }); // both: at least these
    expect(flows(counts(5, 5), counts(5, 5))).toEqual({ in: 0, out: 0 });
  });

  it('keeps series per stage, aligned in time, with rates per second between samples', () => {
    const history = new History(1000);
    history.add([row('work', 1, 0, 0)], 0);
    history.add([row('work', 1, 0, 4)], 2000);
    history.add([row('work', 1, 0, 1, 2), row('sink', 2, 0, 6)], 4000);
    expect(history.view()).toEqual({
      at: [0, 2000, 4000],
      stages: [
        { name: 'work', backlog: [0, 4, 3], in: [null, 2, 0], out: [null, 0, 0.5] },
        { name: 'sink', backlog: [null, null, 6], in: [null, null, null], out: [null, null, null] },
      ],
    });
  });

  it('is bounded: at most one point per step, none older than its window', () => {
    const history = new History(500);
    for (let at = 0; at <= 3 * HISTORY_MS; at += 500) history.add([row('work', 1, 0, at % 7)], at);
    const { at } = history.view();
    expect(at.length).toBeLessThanOrEqual(MAX_POINTS + 1);
    expect(at.length).toBeGreaterThan(MAX_POINTS / 2);
    expect(at[0]).toBeGreaterThanOrEqual(2 * HISTORY_MS);
  });
});

describe('dashboard page', () => {
  it('is self-contained: its style and script inline, nothing loaded from elsewhere', () => {
    const html = pageHtml();
    expect(html).toContain(`<style>${PAGE_STYLE}</style>`);
    expect(html).toContain(`<script>${PAGE_SCRIPT}</script>`);
    // The SVG namespace is a name (createElementNS), never fetched; nothing else may name a URL.
    expect(html.replaceAll("'http://www.w3.org/2000/svg'", '')).not.toMatch(/<script src|<link |https?:\/\//);
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML/);
  });

  it('asks for the token in a form and sends it as a header, never in a URL', () => {
    expect(pageHtml()).toContain('<form id="login" hidden>');
    expect(PAGE_SCRIPT).toContain("authorization: 'Bearer ' + token");
    expect(PAGE_SCRIPT).not.toMatch(/location\.(hash|search)|[?&#]token=/);
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
    expect(await refusal(['--token', 'abcdefghijklmnop'])).toMatch(
      /--token applies only with --actions or a --host/,
    );
    expect(await refusal(['--host', '0.0.0.0', '--token', 'abcdefghijklmnop'])).toBe('accepted');
    expect(await refusal(['--actions', '--token', 'short'])).toMatch(/--token must be 16 to 256/);
    expect(await refusal(['--actions=yes'])).toMatch(/--actions takes no value/);
  });
});
