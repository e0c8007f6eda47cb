import { HEARTBEAT_EVERY_MS } from '../../replies/reply-queue.ts';
import { listReplyQueues, removeStaleReplyQueues, type ReplyQueueInfo } from '../../replies/stale-replies.ts';
import type { OperatorContext } from './context.ts';
import { formatDuration } from './flag-values.ts';
import { count, printLines, writeOut } from './output.ts';
import { formatTable } from './table.ts';

export interface RepliesArgs {
  /** Delete the stale reply queues instead of listing them. */
  readonly removeStale: boolean;
  /** A reply queue whose heartbeat is older than this (ms) is stale. */
  readonly staleAfterMs: number;
}

const COLUMNS = [
  { header: 'QUEUE' },
  { header: 'HOST' },
  { header: 'PID', right: true },
  { header: 'HEARTBEAT' },
  { header: 'STATE' },
] as const;

/**
 * `sqspipes replies [--remove-stale] [--stale-after <duration>]`: the domain's reply queues (found
 * by their tags), each live or stale by the age of its owner's heartbeat; with `--remove-stale`,
 * deletes the stale ones and prints their names, then how many.
 */
export async function repliesCommand(ctx: OperatorContext, args: RepliesArgs): Promise<void> {
  const options = { staleAfterMs: args.staleAfterMs };
  if (args.removeStale) {
    if (args.staleAfterMs < HEARTBEAT_EVERY_MS) {
      ctx.note(
        `Note: --stale-after ${formatDuration(args.staleAfterMs)} is shorter than the owners' heartbeat interval (${formatDuration(HEARTBEAT_EVERY_MS)}): live reply queues may be removed`,
      );
    }
    const removed = await removeStaleReplyQueues(ctx.sqs, ctx.domain, options);
    if (ctx.json) return writeOut(`${JSON.stringify({ removed })}\n`);
    await printLines(removed.map((name) => `removed ${name}`));
    return writeOut(
      `${count(removed.length, 'stale reply queue')} removed (no heartbeat for ${formatDuration(args.staleAfterMs)})\n`,
    );
  }
  const now = Date.now();
  const queues = await listReplyQueues(ctx.sqs, ctx.domain, { ...options, now });
  if (queues.length === 0) ctx.note(`No reply queues for domain ${ctx.domain}`);
  else if (ctx.json) await printLines(queues.map((q) => JSON.stringify(jsonRow(q, now))));
  else
    await writeOut(
      `${formatTable(
        COLUMNS,
        queues.map((q) => tableRow(q, now)),
      )}\n`,
    );
}

function tableRow(q: ReplyQueueInfo, now: number): string[] {
  return [
    q.name,
    q.host ?? '-',
    q.pid === undefined ? '-' : String(q.pid),
    q.heartbeatAt === undefined ? 'none' : age(now - q.heartbeatAt.getTime()),
    q.stale ? 'stale' : 'live',
  ];
}

function jsonRow(q: ReplyQueueInfo, now: number): Record<string, unknown> {
  return {
    queue: q.name,
    url: q.url,
    host: q.host ?? null,
    pid: q.pid ?? null,
    heartbeatAt: q.heartbeatAt?.toISOString() ?? null,
    heartbeatAgeMs: q.heartbeatAt === undefined ? null : now - q.heartbeatAt.getTime(),
    state: q.stale ? 'stale' : 'live',
  };
}

/** How long ago, in its largest whole unit: `12s ago`, `3m ago`, `5h ago`, `2d ago`; `just now` for a time ahead. */
export function age(ms: number): string {
  if (ms < 1000) return 'just now';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h ago` : `${Math.floor(hours / 24)}d ago`;
}
