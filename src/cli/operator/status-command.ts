import { setTimeout as sleep } from 'node:timers/promises';
import { onStopSignals } from '../signals.ts';
import type { OperatorContext } from './context.ts';
import { QUEUES_CREATED, type TagCache } from './discover.ts';
import { printJson, writeOut } from './output.ts';
import { renderStatus, type StatusRow, statusRows, withRates } from './status.ts';
import { renderStageLimits } from './status-limits.ts';
import { joinStatusRows, type JoinsSeen, JoinWatch, renderJoins } from './status-joins.ts';

export interface StatusArgs {
  readonly watch: boolean;
  /** Milliseconds between refreshes with `watch`. */
  readonly interval: number;
  /** Refreshes to show with `watch` before stopping; undefined: until SIGINT/SIGTERM. */
  readonly count: number | undefined;
}

/** ANSI: cursor home, clear screen. */
const CLEAR = '\x1b[H\x1b[2J';

/** `sqspipes status [--watch]`. */
export async function statusCommand(ctx: OperatorContext, args: StatusArgs): Promise<void> {
  if (!args.watch) return once(ctx);
  const controller = new AbortController();
  const dispose = onStopSignals(controller, () => {});
  try {
    await watch(ctx, args, controller.signal);
  } finally {
    dispose();
  }
}

/**
 * The queues, then, with `--payload-bucket`, the joins waiting (with `--json`: one object of both,
 * `{ queues, joins }`, instead of the array of queues). A join listing that fails fails the
 * command, in text after the queues are printed.
 */
async function once(ctx: OperatorContext): Promise<void> {
  const listing = ctx.payloads === undefined ? undefined : joinStatusRows(ctx.payloads, ctx.domain);
  listing?.catch(() => {}); // awaited below, once the queues are read
  const rows = await statusRows(ctx);
  if (ctx.json) {
    await printJson(listing === undefined ? rows : { queues: rows, joins: await listing });
    return;
  }
  if (rows.length === 0) noQueues(ctx);
  else await writeOut(`${queuesText(rows, false)}\n`);
  if (listing === undefined) return;
  const joins = await listing;
  if (joins.length === 0) noJoins(ctx);
  else await writeOut(`\n${renderJoins(joins, Date.now())}\n`);
}

/**
 * Refreshes every `interval` ms until `count` refreshes or `signal`: on a terminal, redraws in
 * place; otherwise prints one table (or, with `--json`, one JSON array per line, `{ queues, joins }`
 * with `--payload-bucket`) per refresh. The joins are listed again every 10 s at most.
 */
async function watch(ctx: OperatorContext, args: StatusArgs, signal: AbortSignal): Promise<void> {
  const cache: TagCache = new Map();
  const tty = process.stdout.isTTY === true && !ctx.json;
  const joinWatch = ctx.payloads === undefined ? undefined : new JoinWatch(ctx.payloads, ctx.domain);
  let previous: { rows: readonly StatusRow[]; at: number } | undefined;
  for (let refresh = 1; !signal.aborted; refresh++) {
    const [raw, joins] = await Promise.all([statusRows(ctx, cache), joinWatch?.seen()]);
    const at = Date.now();
    const rows = withRates(raw, previous, at);
    previous = { rows: raw, at };
    await writeOut(frame(ctx, { rows, joins }, args, tty, at));
    if (args.count !== undefined && refresh >= args.count) return;
    try {
      await sleep(args.interval, undefined, { signal });
    } catch {
      return; // stopped by a signal
    }
  }
}

/** One refresh: the queues with rates, and the joins when `--payload-bucket` was given. */
interface Seen {
  readonly rows: readonly StatusRow[];
  readonly joins: JoinsSeen | undefined;
}

function frame(ctx: OperatorContext, seen: Seen, args: StatusArgs, tty: boolean, at: number): string {
  const { rows, joins } = seen;
  if (ctx.json) {
    if (joins === undefined) return `${JSON.stringify(rows)}\n`;
    const listed = 'rows' in joins ? { joins: joins.rows } : { joins: null, joinsError: joins.error };
    return `${JSON.stringify({ queues: rows, ...listed })}\n`;
  }
  const time = new Date(at).toISOString();
  const queues = rows.length === 0 ? `no queues of domain ${ctx.domain}` : queuesText(rows, true);
  const table = joins === undefined ? queues : `${queues}\n\n${joinsText(ctx, joins, at)}`;
  if (!tty) return `# ${time}\n${table}\n\n`;
  const every = `every ${args.interval / 1000} s, Ctrl-C stops`;
  return `${CLEAR}sqspipes status: domain ${ctx.domain}, ${time} (${every})\n\n${table}\n`;
}

/** The queues' table, then, when a stage has items for later or limits, the table of those. */
function queuesText(rows: readonly StatusRow[], rates: boolean): string {
  const limits = renderStageLimits(rows);
  const queues = renderStatus(rows, rates);
  return limits === undefined ? queues : `${queues}\n\n${limits}`;
}

function joinsText(ctx: OperatorContext, joins: JoinsSeen, at: number): string {
  if ('error' in joins) return `joins not listed: ${joins.error}`;
  return joins.rows.length === 0 ? noJoinsText(ctx) : renderJoins(joins.rows, at);
}

function noJoins(ctx: OperatorContext): void {
  ctx.note(noJoinsText(ctx));
}

function noJoinsText(ctx: OperatorContext): string {
  const where = `${ctx.payloads?.prefix ?? ''}${ctx.domain}/join/`;
  return `No join state of domain ${ctx.domain} under s3://${ctx.payloads?.store.bucket ?? '?'}/${where}`;
}

function noQueues(ctx: OperatorContext): void {
  ctx.note(
    `Domain \`${ctx.domain}\` has no queues (check --domain, --region, --endpoint). ${QUEUES_CREATED}`,
  );
}
