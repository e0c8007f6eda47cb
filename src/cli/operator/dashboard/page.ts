/**
 * The dashboard's one page: HTML with its style and script inline (no CDN, no build step), so it
 * works offline and ships in dist/. The script polls `GET /api/pipeline`, draws the stages left to
 * right, each with small SVG charts of its backlog and its rates in and out over the last minutes
 * (drawn by the script itself), its items for later and permits in use (with a limit) and, for a
 * join stage, its items waiting (with `--payload-bucket`),
 * lists dead-letter messages with their reasons, and, when the server allows actions, sends
 * redrive and purge. When the server wants the token (off loopback, or for
 * actions) the page asks for it in a form and sends it as `Authorization: Bearer …`, keeping it in
 * the tab's sessionStorage: it never goes in a URL.
 * It builds the DOM with textContent only: message bodies are never parsed as HTML.
 */

export const PAGE_STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --line: #d8dce2; --muted: #667085;
  --text: #1d2433; --bad: #c0362c; --good: #1f7a4d; --accent: #2f5fd0; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171c; --card: #1d2128; --line: #333a45;
  --muted: #98a2b3; --text: #e6e9ef; --bad: #ff6b5e; --good: #4cc38a; --accent: #7aa2ff; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 20px; background: var(--bg); color: var(--text);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; margin-bottom: 14px; }
h1 { font-size: 18px; margin: 0; } h2 { font-size: 15px; margin: 18px 0 8px; }
.muted { color: var(--muted); } .bad { color: var(--bad); } .good { color: var(--good); }
#pipeline { display: flex; align-items: stretch; gap: 8px; overflow-x: auto; padding-bottom: 6px; }
.arrow { align-self: center; color: var(--muted); font-size: 22px; }
.stage { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  min-width: 250px; }
.stage h3 { margin: 0 0 6px; font-size: 15px; display: flex; justify-content: space-between; gap: 8px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 6px; text-align: right; white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; } th:first-child, td:first-child { text-align: left; }
tr.dlq td { border-top: 1px solid var(--line); } tr.dlq.has td { color: var(--bad); font-weight: 600; }
.dead { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  margin-bottom: 10px; }
.dead ul { margin: 6px 0 0; padding-left: 18px; } .dead li { margin: 3px 0; word-break: break-word; }
.reason { color: var(--bad); } code { font-size: 12px; }
button { font: inherit; padding: 3px 10px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--card); color: var(--accent); cursor: pointer; margin-left: 6px; }
button:disabled { opacity: 0.5; cursor: default; }
#message { min-height: 1.4em; }
#login { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  margin-bottom: 14px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
#login[hidden] { display: none; }
#login input { font: inherit; padding: 3px 8px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--text); min-width: 260px; }
.charts { margin-top: 8px; border-top: 1px solid var(--line); padding-top: 6px; }
.charts figure { margin: 4px 0 0; }
.charts figcaption { font-size: 12px; color: var(--muted); display: flex; justify-content: space-between; }
svg.chart { display: block; width: 100%; height: 44px; }
svg.chart path { fill: none; stroke-width: 1.5; stroke-linejoin: round; }
svg.chart .axis { stroke: var(--line); stroke-width: 1; }
svg.chart .backlog { stroke: var(--text); } svg.chart .in { stroke: var(--accent); }
svg.chart .out { stroke: var(--good); }
.key-in { color: var(--accent); } .key-out { color: var(--good); }
.joins, .limits { margin: 6px 0 0; font-size: 13px; font-variant-numeric: tabular-nums; }
`;

export const PAGE_SCRIPT = `
'use strict';
const KEY = 'sqspipes-token';
const stored = {
  get() { try { return sessionStorage.getItem(KEY); } catch { return null; } },
  set(value) { try { if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY); } catch {} },
};
let token = stored.get();
const state = { snapshot: null, dead: new Map(), busy: false, refused: null, failure: null };
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const W = 240, H = 44, MINUTE = 60000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}
function rate(r) {
  if (r === null || r === undefined) return '-';
  if (r === 0) return '0/s';
  const t = Math.abs(r) >= 10 ? r.toFixed(0) : r.toFixed(1);
  return (r > 0 ? '+' : '') + t + '/s';
}
class Refused extends Error {}
async function api(method, path) {
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  const response = await fetch(path, { method, headers, cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    const why = token ? 'The token was refused: enter the token the dashboard was started with.'
      : 'This dashboard is not on loopback: enter its token to see the pipeline.';
    forget();
    throw new Refused(why);
  }
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}
function forget() { token = null; stored.set(null); }
function cell(field, value) { return el('td', { 'data-field': field }, value); }

/** The path of \`values\` (aligned with \`at\`) in a W x H box, time along x, 0..max up. */
function line(at, values, t0, span, max) {
  let d = '';
  let pen = false;
  let points = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) { pen = false; return; }
    const x = ((at[i] - t0) / span) * W;
    const y = H - 2 - (v / max) * (H - 6);
    d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1) + ' ';
    pen = true;
    points++;
  });
  return { d: d.trim() || 'M0 ' + (H - 2), points };
}
function chart(kind, at, series, caption) {
  const last = at.length ? at[at.length - 1] : 0;
  const span = Math.max(MINUTE, last - (at.length ? at[0] : last));
  const values = series.flatMap((s) => s.values.filter((v) => v !== null));
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const box = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', class: 'chart',
    'data-chart': kind, 'data-max': max, role: 'img', 'aria-label': kind });
  box.append(svg('line', { x1: 0, y1: H - 1.5, x2: W, y2: H - 1.5, class: 'axis' }));
  for (const s of series) {
    const { d, points } = line(at, s.values, last - span, span, Math.max(max, 1));
    box.append(svg('path', { d, class: s.name, 'data-series': s.name, 'data-points': points,
      'vector-effect': 'non-scaling-stroke' }));
  }
  return el('figure', {}, el('figcaption', {}, ...caption(max)), box);
}
function charts(stage) {
  const history = state.snapshot.history;
  const series = history && history.stages.find((s) => s.name === stage.name);
  if (!series) return el('div', { class: 'charts muted' }, 'no history yet');
  const at = history.at;
  const minutes = Math.max(1, Math.round((at.length ? at[at.length - 1] - at[0] : 0) / MINUTE));
  const latest = (values) => { const v = values[values.length - 1]; return v === null || v === undefined ? '-' : v.toFixed(1); };
  return el('div', { class: 'charts', 'data-charts': stage.name },
    chart('backlog', at, [{ name: 'backlog', values: series.backlog }], (max) => [
      el('span', {}, 'backlog, last ' + minutes + ' min'), el('span', {}, 'max ' + max)]),
    chart('rates', at, [{ name: 'in', values: series.in }, { name: 'out', values: series.out }], (max) => [
      el('span', {}, el('span', { class: 'key-in' }, 'in ' + latest(series.in)), ' / ',
        el('span', { class: 'key-out' }, 'out ' + latest(series.out)), ' per s (at least)'),
      el('span', {}, 'max ' + max.toFixed(1))]));
}

function stageCard(stage) {
  const rows = stage.levels.map((l) => el('tr', { 'data-level': l.level }, el('td', {}, 'p' + l.level),
    cell('visible', l.visible), cell('inFlight', l.inFlight), cell('delayed', l.delayed), cell('rate', rate(l.rate))));
  if (stage.dlq) {
    const has = stage.dlq.visible + stage.dlq.inFlight > 0;
    rows.push(el('tr', { class: has ? 'dlq has' : 'dlq', 'data-level': 'dlq' }, el('td', {}, 'dead letters'),
      cell('dlq', stage.dlq.visible), cell('dlqInFlight', stage.dlq.inFlight), el('td', {}, ''),
      cell('dlqRate', rate(stage.dlq.rate))));
  }
  const total = stage.levels.reduce((n, l) => n + l.visible + l.inFlight + l.delayed, 0);
  const head = el('tr', {}, ...['level', 'visible', 'in flight', 'delayed', 'rate'].map((h) => el('th', {}, h)));
  return el('section', { class: 'stage', 'data-stage': stage.name },
    el('h3', {}, el('span', {}, stage.name), el('span', { class: 'muted', 'data-field': 'total' }, total + ' queued')),
    el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)), ...limitsLine(stage), ...joinLine(stage),
    charts(stage));
}

/** A stage's items for later and its limits' permits in use of the limit, when it has any. */
function limitsLine(stage) {
  const parts = [];
  const num = (field, n) => el('span', { 'data-field': field }, n);
  if (stage.later !== null && stage.later !== undefined) {
    parts.push(el('span', { title: 'timers waiting (when the next is due cannot be known)' }, 'for later ', num('later', stage.later)));
  }
  for (const kind of ['rate', 'slots']) {
    const use = stage[kind];
    if (!use) continue;
    const title = kind === 'rate' ? 'rateLimit: calls within the last period / limit' : 'maxConcurrency: calls running now / limit';
    parts.push(el('span', { title }, kind + ' ', num(kind + 'InUse', use.inUse), '/', num(kind + 'Limit', use.limit), ' in use'));
  }
  if (parts.length === 0) return [];
  const line = el('p', { class: 'limits', 'data-limits': stage.name });
  parts.forEach((part, i) => { if (i > 0) line.append(' · '); line.append(part); });
  return [line];
}

/** A join stage's items waiting for branches (with --payload-bucket), and when the oldest was last folded. */
function joinLine(stage) {
  const join = (state.snapshot.joins || []).find((j) => j.stage === stage.name);
  if (!join) return [];
  const oldest = join.oldestFoldedAt === null ? '' : ', oldest last folded ' + ago(Date.now() - Date.parse(join.oldestFoldedAt));
  return [el('p', { class: 'joins', 'data-joins': stage.name },
    'joins waiting ' + join.waiting + (join.capped ? '+' : '') + oldest)];
}
function ago(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return s + 's ago';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ago';
  const h = Math.floor(m / 60);
  return h < 48 ? h + 'h ago' : Math.floor(h / 24) + 'd ago';
}

function deadPanel(stage) {
  const dead = state.dead.get(stage.name);
  const actions = state.snapshot.actions && token;
  const button = (action, label) => {
    const b = el('button', { 'data-action': action, 'data-stage': stage.name }, label);
    b.disabled = state.busy;
    return b;
  };
  const buttons = actions ? [button('redrive', 'Redrive'), button('purge', 'Purge')] : [];
  const items = (dead ? dead.messages : []).map((m) => el('li', { class: 'dead-letter' },
    el('code', {}, m.envelope ? 'id ' + m.id : 'message ' + m.messageId), ' ',
    el('span', { class: 'reason' }, m.deadLetterReason || ''), ' ',
    el('code', { class: 'muted' }, bodyText(m))));
  const count = stage.dlq.visible + stage.dlq.inFlight;
  const shown = dead ? ' (showing ' + dead.messages.length + ', a sample)' : '';
  return el('div', { class: 'dead', 'data-dlq-stage': stage.name },
    el('strong', {}, stage.name), ' ', el('span', { class: 'muted' }, stage.dlq.queue + ': ' + count + ' message(s)' + shown),
    ...buttons, el('ul', {}, ...items));
}

/** A dead letter's value (or body), after where it is stored in S3 if it is (and why not read). */
function bodyText(m) {
  const shown = m.envelope ? JSON.stringify(m.value) : (m.body || '').slice(0, 200);
  const s = m.stored;
  if (!s) return shown;
  const where = 'stored in S3 at s3://' + s.bucket + '/' + s.key + ' (' + (s.size === null ? 'size not given' : s.size + ' bytes') + ')';
  return s.read ? where + ': ' + shown : where + ', not read: ' + s.unread;
}

/** Shows the token form when the server wants the token (for reads, or for actions) and the tab has none. */
function drawLogin() {
  const s = state.snapshot;
  const why = state.refused || (s && s.actions && !token ? 'Enter the token to redrive and purge.' : null);
  $('login').hidden = !why;
  $('login-why').textContent = why || '';
  $('forget').hidden = !token;
}

function draw() {
  drawLogin();
  const s = state.snapshot;
  $('error').textContent = state.failure || (s && s.error) || (s && s.joinsError ? 'joins not listed: ' + s.joinsError : '');
  if (!s) {
    $('pipeline').replaceChildren();
    $('dead').replaceChildren();
    return;
  }
  $('domain').textContent = s.domain;
  $('updated').textContent = s.at ? 'updated ' + new Date(s.at).toLocaleTimeString() : 'waiting for the first sample';
  $('mode').textContent = s.actions ? (token ? 'actions enabled' : 'actions enabled (they need the token)') : 'read-only';
  const pipeline = $('pipeline');
  pipeline.replaceChildren();
  if (s.stages.length === 0) pipeline.append(el('p', { class: 'muted' }, 'No queues of this domain yet.'));
  s.stages.forEach((stage, i) => {
    if (i > 0) pipeline.append(el('span', { class: 'arrow' }, '→'));
    pipeline.append(stageCard(stage));
  });
  const withDead = s.stages.filter((st) => st.dlq && st.dlq.visible + st.dlq.inFlight > 0);
  $('dead').replaceChildren(...(withDead.length ? withDead.map(deadPanel) : [el('p', { class: 'muted' }, 'No dead letters.')]));
}

async function refresh() {
  try {
    state.snapshot = await api('GET', '/api/pipeline');
    state.refused = null;
    state.failure = null;
    if (!state.busy) {
      for (const st of state.snapshot.stages) {
        if (st.dlq && st.dlq.visible + st.dlq.inFlight > 0) state.dead.set(st.name, await api('GET', '/api/dlq/' + encodeURIComponent(st.name)));
        else state.dead.delete(st.name);
      }
    }
  } catch (error) {
    if (error instanceof Refused) {
      state.refused = error.message;
      state.snapshot = null;
    } else {
      state.failure = 'cannot reach the dashboard: ' + error.message;
    }
  }
  draw();
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  token = value;
  stored.set(value);
  $('token').value = '';
  state.refused = null;
  refresh();
});
$('forget').addEventListener('click', () => { forget(); draw(); });

document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button || state.busy) return;
  const { action, stage } = button.dataset;
  if (action === 'purge' && !confirm('Delete every message of the dead-letter queue of ' + stage + '?')) return;
  state.busy = true;
  document.querySelectorAll('button[data-action]').forEach((b) => { b.disabled = true; });
  try {
    const result = await api('POST', '/api/' + action + '/' + encodeURIComponent(stage));
    $('message').textContent = action === 'redrive' ? 'moved ' + result.moved + ' message(s) from ' + result.from
      : 'purged ' + result.purged.join(', ');
    $('message').className = 'good';
  } catch (error) {
    $('message').textContent = action + ' ' + stage + ' failed: ' + error.message;
    $('message').className = 'bad';
  } finally {
    state.busy = false;
    await refresh();
  }
});

async function loop() {
  await refresh();
  const every = state.snapshot ? Math.min(Math.max(state.snapshot.intervalMs, 1000), 5000) : 2000;
  setTimeout(loop, every);
}
loop();
`;

/** The page, with the style and script above inline. */
export function pageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sqspipes dashboard</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>sqspipes <span id="domain"></span></h1>
<span class="muted" id="updated"></span>
<span class="muted" id="mode"></span>
<span class="bad" id="error"></span>
<button type="button" id="forget" hidden>Forget the token</button>
</header>
<form id="login" hidden>
<span id="login-why"></span>
<input id="token" type="password" autocomplete="off" placeholder="token" aria-label="token">
<button type="submit">Use token</button>
</form>
<div id="pipeline"></div>
<p class="muted">Stages in pipeline order (the first, the source, has no queues). Counts are SQS's approximate ones; the table's rates are visible messages per second. The charts span the last minutes (up to 10): a stage's backlog (waiting and in flight), and its rates in and out, estimated from the counts (SQS counts no arrivals or departures, so they are at least these). A stage with items for later shows how many wait (when the next is due cannot be known: SQS shows no delayed message), and one with rateLimit or maxConcurrency its permits in use of the limit (rate: calls within the last period; slots: calls running now, over every process). With --payload-bucket, a join stage shows its items waiting for branches and when the oldest was last folded (listed every 10 s at most).</p>
<h2>Dead letters</h2>
<div id="message"></div>
<div id="dead"></div>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
