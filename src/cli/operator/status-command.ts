import { setTimeout as sleep } from 'node:timers/promises';
import { onStopSignals } from '../signals.ts';
import type { OperatorContext } from './context.ts';
import { QUEUES_CREATED, type TagCache } from './discover.ts';
import { printJson, writeOut } from './output.ts';
import { renderStatus, type StatusRow, statusRows, withRates } from './status.ts';

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
  if (!args.watch) {
    const rows = await statusRows(ctx);
    if (ctx.json) await printJson(rows);
    else if (rows.length === 0) noQueues(ctx);
    else await writeOut(`${renderStatus(rows, false)}\n`);
    return;
  }
  const controller = new AbortController();
  const dispose = onStopSignals(controller, () => {});
  try {
    await watch(ctx, args, controller.signal);
  } finally {
    dispose();
  }
}

/**
 * Refreshes every `interval` ms until `count` refreshes or `signal`: on a terminal, redraws in
 * place; otherwise prints one table (or, with `--json`, one JSON array per line) per refresh.
 */
async function watch(ctx: OperatorContext, args: StatusArgs, signal: AbortSignal): Promise<void> {
  const cache: TagCache = new Map();
  const tty = process.stdout.isTTY === true && !ctx.json;
  let previous: { rows: readonly StatusRow[]; at: number } | undefined;
  for (let refresh = 1; !signal.aborted; refresh++) {
    const raw = await statusRows(ctx, cache);
    const at = Date.now();
    const rows = withRates(raw, previous, at);
    previous = { rows: raw, at };
    await writeOut(frame(ctx, rows, args, tty, at));
    if (args.count !== undefined && refresh >= args.count) return;
    try {
      await sleep(args.interval, undefined, { signal });
    } catch {
      return; // stopped by a signal
    }
  }
}

function frame(
  ctx: OperatorContext,
  rows: readonly StatusRow[],
  args: StatusArgs,
  tty: boolean,
  at: number,
): string {
  if (ctx.json) return `${JSON.stringify(rows)}\n`;
  const time = new Date(at).toISOString();
  const table = rows.length === 0 ? `no queues of domain ${ctx.domain}` : renderStatus(rows, true);
  if (!tty) return `# ${time}\n${table}\n\n`;
  const every = `every ${args.interval / 1000} s, Ctrl-C stops`;
  return `${CLEAR}sqspipes status: domain ${ctx.domain}, ${time} (${every})\n\n${table}\n`;
}

function noQueues(ctx: OperatorContext): void {
  ctx.note(
    `Domain \`${ctx.domain}\` has no queues (check --domain, --region, --endpoint). ${QUEUES_CREATED}`,
  );
}
