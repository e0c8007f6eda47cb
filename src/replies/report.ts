import secureJson from 'secure-json-parse';
import { MAX_MESSAGE_BYTES } from '../envelope.ts';

/**
 * What a stage sends to a sender's reply queue about a submitted item: one JSON message body per
 * report. Pure encoding and decoding; `reporter.ts` sends them, `completion.ts` adds them up.
 *
 * - `end`: a call on a branch (`token`) of the item ended, with the tokens of the branches it
 *   opened (`children`, a fan-out) and the results it produced (the last stage). A branch's
 *   report may be split into `parts` messages (a large fan-out); the parts of one report share
 *   its `nonce` (one per call), so that parts of two attempts are never mixed.
 * - `dead`: the branch was moved to a dead-letter queue, with the reason.
 * - `status`: progress, when the sender asked for it.
 */
export type Report = EndReport | DeadReport | StatusReport;

export interface EndReport {
  readonly kind: 'end';
  readonly item: string;
  readonly token: string;
  readonly stage: string;
  readonly nonce: string;
  readonly part: number;
  readonly parts: number;
  readonly children: readonly string[];
  readonly results: readonly unknown[];
  /** Set when a result could not be sent back (not JSON, too large): the item fails with it. */
  readonly error?: string | undefined;
  /** The call's attempt, and when it ended (ms since the epoch): the `finished` status it stands for. */
  readonly attempt?: number | undefined;
  readonly at?: number | undefined;
}

export interface DeadReport {
  readonly kind: 'dead';
  readonly item: string;
  readonly token: string;
  readonly stage: string;
  readonly reason: string;
}

/** What happened to a submitted item at a stage, as statuses report it. */
export type ItemStatusKind = 'received' | 'finished' | 'retrying';

export interface StatusReport {
  readonly kind: 'status';
  readonly item: string;
  readonly stage: string;
  readonly status: ItemStatusKind;
  readonly attempt: number;
  /** Milliseconds since the epoch, when the stage sent it. */
  readonly at: number;
  readonly error?: string | undefined;
}

export const REPORT_VERSION = 1;

/** Most bytes of one report message: room for the batch's other entries (a batch is ≤ 1 MiB). */
export const MAX_PART_BYTES = 256 * 1024;

/** An end report's content before it is split: results already encoded as JSON. */
export interface EndContent {
  readonly item: string;
  readonly token: string;
  readonly stage: string;
  readonly nonce: string;
  readonly children: readonly string[];
  readonly results: readonly string[];
  readonly error?: string | undefined;
  readonly attempt: number;
  readonly at: number;
}

/**
 * The message bodies of one end report: as few parts as fit {@link MAX_PART_BYTES} each (a lone
 * result larger than that gets a part of its own, up to `maxResultBytes`: SQS's 1 MiB, or more
 * when bodies go through S3; a larger one fails the item with an error saying so).
 */
export function encodeEnd(content: EndContent, maxResultBytes = MAX_MESSAGE_BYTES - 1024): string[] {
  const entries: { key: 'c' | 'r'; json: string }[] = [
    ...content.children.map((child) => ({ key: 'c' as const, json: JSON.stringify(child) })),
    ...content.results.map((json) => ({ key: 'r' as const, json })),
  ];
  let error = content.error;
  const groups: { c: string[]; r: string[] }[] = [];
  let current = { c: [] as string[], r: [] as string[] };
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.json) + 1;
    if (size > maxResultBytes) {
      error ??= `a result of stage \`${content.stage}\` is ${size} bytes as JSON, over what a reply can carry (${maxResultBytes === MAX_MESSAGE_BYTES - 1024 ? "1 MiB; the client's `payloads` option sends larger ones through S3" : `${maxResultBytes} bytes`})`;
      continue;
    }
    if (bytes + size > MAX_PART_BYTES && bytes > 0) {
      groups.push(current);
      current = { c: [], r: [] };
      bytes = 0;
    }
    current[entry.key].push(entry.json);
    bytes += size;
  }
  groups.push(current);
  const head = `"v":${REPORT_VERSION},"kind":"end","item":${JSON.stringify(content.item)},"token":${JSON.stringify(content.token)},"stage":${JSON.stringify(content.stage)},"nonce":${JSON.stringify(content.nonce)}`;
  const tail =
    `,"attempt":${content.attempt},"at":${content.at}` +
    (error === undefined ? '' : `,"error":${JSON.stringify(error)}`);
  return groups.map(
    (g, part) =>
      `{${head},"part":${part},"parts":${groups.length},"children":[${g.c.join(',')}],"results":[${g.r.join(',')}]${tail}}`,
  );
}

export function encodeDead(report: Omit<DeadReport, 'kind'>): string {
  return JSON.stringify({ v: REPORT_VERSION, kind: 'dead', ...report, reason: report.reason.slice(0, 4000) });
}

export function encodeStatus(report: Omit<StatusReport, 'kind'>): string {
  return JSON.stringify({ v: REPORT_VERSION, kind: 'status', ...report });
}

/** Decodes a reply message body; undefined for anything that is not a report of this version. */
export function decodeReport(body: string | undefined): Report | undefined {
  if (body === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = secureJson.parse(body, undefined, { protoAction: 'remove', constructorAction: 'remove' });
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Record<string, unknown>;
  if (r['v'] !== REPORT_VERSION || typeof r['item'] !== 'string' || typeof r['stage'] !== 'string') {
    return undefined;
  }
  const strings = (...keys: string[]) => keys.every((k) => typeof r[k] === 'string');
  switch (r['kind']) {
    case 'end':
      if (!strings('token', 'nonce') || !Array.isArray(r['children']) || !Array.isArray(r['results'])) {
        return undefined;
      }
      if (!Number.isInteger(r['part']) || !Number.isInteger(r['parts'])) return undefined;
      if (!(r['children'] as unknown[]).every((c) => typeof c === 'string')) return undefined;
      return r as unknown as EndReport;
    case 'dead':
      return strings('token', 'reason') ? (r as unknown as DeadReport) : undefined;
    case 'status':
      return strings('status') && typeof r['at'] === 'number' ? (r as unknown as StatusReport) : undefined;
    default:
      return undefined;
  }
}
