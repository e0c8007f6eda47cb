/**
 * The joins waiting, for `status --payload-bucket` and the dashboard: each join stage of the
 * domain (found under `<prefix><domain>/join/` in the bucket, since queue tags do not tell a join)
 * with its items waiting for branches and how long ago the one folded longest ago was last folded.
 */
import pLimit from 'p-limit';
import { listJoinStages, listPendingJoins, waitingText } from '../../payloads/join-listing.ts';
import { failureText } from './errors.ts';
import type { PayloadAccess } from './payload-access.ts';
import { age } from './replies.ts';
import { type Column, formatTable } from './table.ts';

/** One join stage of `status --json`. */
export interface JoinStatusRow {
  readonly stage: string;
  /** Items waiting for branches (among the first 10,000 states listed when `capped`). */
  readonly waiting: number;
  /** The listing stopped at its limit: `waiting` is a lower bound. */
  readonly capped: boolean;
  /** When the waiting item folded longest ago was last folded (ISO 8601); null when none waits. */
  readonly oldestFoldedAt: string | null;
}

/** Join stages listed at once. */
const CONCURRENCY = 4;
/** `status --watch` and the dashboard list again at most this often (a listing is up to 10 calls). */
export const JOIN_REFRESH_MS = 10_000;

/** The join stages of `domain` with states in the bucket of `payloads`, in name order. */
export async function joinStatusRows(
  payloads: PayloadAccess,
  domain: string,
  signal?: AbortSignal,
): Promise<JoinStatusRow[]> {
  const stages = await listJoinStages(payloads.store, domain, signal);
  const limit = pLimit(CONCURRENCY);
  return Promise.all(
    stages.map((stage) =>
      limit(async (): Promise<JoinStatusRow> => {
        const joins = await listPendingJoins(payloads.store, domain, stage, signal);
        const oldestFoldedAt = joins.oldest?.toISOString() ?? null;
        return { stage, waiting: joins.waiting, capped: joins.capped, oldestFoldedAt };
      }),
    ),
  );
}

/** The joins as a table: `JOIN STAGE  WAITING  OLDEST LAST FOLDED`, ages against `now`. */
export function renderJoins(rows: readonly JoinStatusRow[], now: number): string {
  const columns: Column[] = [
    { header: 'JOIN STAGE' },
    { header: 'WAITING', right: true },
    { header: 'OLDEST LAST FOLDED' },
  ];
  const cells = rows.map((r) => [
    r.stage,
    waitingText({ waiting: r.waiting, capped: r.capped }),
    r.oldestFoldedAt === null ? '-' : age(now - Date.parse(r.oldestFoldedAt)),
  ]);
  return formatTable(columns, cells);
}

/** The joins, or why they could not be listed, as of when. */
export type JoinsSeen =
  | { readonly rows: readonly JoinStatusRow[]; readonly at: number }
  | { readonly error: string; readonly at: number };

/**
 * The joins of a command that refreshes (`status --watch`, the dashboard): listed again once
 * {@link JOIN_REFRESH_MS} have passed since the last listing, otherwise the last one. A failed
 * listing is kept as its error (in the CLI's words), for the next refresh to try again.
 */
export class JoinWatch {
  readonly #payloads: PayloadAccess;
  readonly #domain: string;
  #last: JoinsSeen | undefined;

  constructor(payloads: PayloadAccess, domain: string) {
    this.#payloads = payloads;
    this.#domain = domain;
  }

  async seen(now = Date.now()): Promise<JoinsSeen> {
    const last = this.#last;
    if (last !== undefined && now - last.at < JOIN_REFRESH_MS) return last;
    try {
      this.#last = { rows: await joinStatusRows(this.#payloads, this.#domain), at: now };
    } catch (error) {
      this.#last = { error: failureText(this.#payloads.explain(error), false), at: now };
    }
    return this.#last;
  }
}
