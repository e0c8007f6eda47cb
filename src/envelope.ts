import {
  decodeEvent,
  decodeFrames,
  encodeEvent,
  encodeFrames,
  type JoinEvent,
  type JoinFrame,
} from './join/frames.ts';
import secureJson from 'secure-json-parse';
import { strictJson } from './json-check.ts';
import type { TraceCarrier } from './observe/telemetry.ts';

/**
 * The body of every message sqspipes sends: `{"v":1,"id":"…","p":0,"d":<value>}` plus `"k"`
 * (group key) when the pipeline orders by key. `p` is the priority level it was sent at, so that
 * a message redriven from a dead-letter queue goes back to its level. Versioned, so old and new
 * workers can coexist.
 */
export interface Envelope {
  /** Lineage id: deterministic from the input it came from, the stage and the output's index. */
  readonly id: string;
  /** The value, decoded. */
  readonly value: unknown;
  /** Group key, when ordering by key. */
  readonly key?: string | undefined;
  /** Priority level it was sent at. */
  readonly level?: number | undefined;
  /** Where to report what becomes of it, for an item fed in by `submit()` (and its outputs). */
  readonly reply?: ReplyAddress | undefined;
  /** The trace context of the span that sent it (OpenTelemetry, when recording): `"tc"`. */
  readonly trace?: TraceCarrier | undefined;
  /** The join scopes it is in, outermost first (see join/frames.ts): `"j"`. */
  readonly frames?: readonly JoinFrame[] | undefined;
  /** A report to a join (the value is then null): `"je"`. */
  readonly event?: JoinEvent | undefined;
}

/**
 * Where a stage reports on a submitted item: the sender's reply queue (its name), the item's id,
 * the token of this branch of it (see `replies/completion.ts`), and whether the sender asked for
 * statuses. On the wire: `"r":{"q":…,"i":…,"t":…,"s":1}`.
 */
export interface ReplyAddress {
  readonly queue: string;
  readonly item: string;
  readonly token: string;
  readonly status: boolean;
}

export const ENVELOPE_VERSION = 1;

/** SQS's limit on a message, body and attributes included. */
export const MAX_MESSAGE_BYTES = 1_048_576;

/**
 * Encodes an envelope as JSON. Throws a TypeError naming the path inside the value (`value.a[2]
 * is a Set, …`) when JSON would change or drop part of it silently: see {@link encodeValue}.
 */
export function encodeEnvelope(envelope: Envelope): string {
  return wrapEncoded(envelope, encodeValue(envelope.value, 'value'));
}

/**
 * JSON of an output value (`null` for undefined). Refuses, with a TypeError whose message starts
 * with the path to the offending part (`output.items[2].tags is a Set, …`), what JSON would change
 * or drop silently: Map, Set, typed arrays, RegExp, Error, class instances, `undefined` inside an
 * array, functions, symbols, BigInt, NaN, Infinity, cycles. An undefined property is dropped, and
 * what `toJSON()` returns is sent (a Date as its ISO string). An error a `toJSON()` throws passes
 * through as it is.
 */
export function encodeValue(value: unknown, root = 'output'): string {
  return strictJson(value ?? null, root);
}

/** An envelope around a value already encoded by {@link encodeValue}: the same JSON as {@link encodeEnvelope}. */
export function wrapEncoded(envelope: Omit<Envelope, 'value'>, valueJson: string): string {
  const level = envelope.level === undefined ? '' : `,"p":${envelope.level}`;
  const key = envelope.key === undefined ? '' : `,"k":${JSON.stringify(envelope.key)}`;
  const reply = envelope.reply === undefined ? '' : `,"r":${encodeReply(envelope.reply)}`;
  const trace = envelope.trace === undefined ? '' : `,"tc":${JSON.stringify(envelope.trace)}`;
  const frames =
    envelope.frames === undefined || envelope.frames.length === 0
      ? ''
      : `,"j":${encodeFrames(envelope.frames)}`;
  const event = envelope.event === undefined ? '' : `,"je":${encodeEvent(envelope.event)}`;
  return `{"v":${ENVELOPE_VERSION},"id":${JSON.stringify(envelope.id)}${level}${key}${reply}${trace}${frames}${event},"d":${valueJson}}`;
}

function encodeReply({ queue, item, token, status }: ReplyAddress): string {
  return JSON.stringify({ q: queue, i: item, t: token, ...(status ? { s: 1 } : {}) });
}

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

/** Decodes a message body, safely (`__proto__` and `constructor.prototype` keys are removed). */
export function decodeEnvelope(body: string | undefined): DecodeResult {
  if (body === undefined) return { ok: false, reason: 'empty body' };
  let parsed: unknown;
  try {
    parsed = secureJson.parse(body, undefined, {
      protoAction: 'remove',
      constructorAction: 'remove',
    });
  } catch (error) {
    return {
      ok: false,
      // The parser's message quotes the body: keep it out of logs and DLQ attributes.
      reason: `not JSON (${error instanceof Error ? error.name : 'parse error'})`,
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'not a sqspipes envelope (not an object)' };
  }
  const record = parsed as Record<string, unknown>;
  if (record['v'] !== ENVELOPE_VERSION) {
    return {
      ok: false,
      reason: `unsupported envelope version ${JSON.stringify(record['v'] ?? null)}`,
    };
  }
  const id = record['id'];
  const key = record['k'];
  if (typeof id !== 'string' || id === '') return { ok: false, reason: 'envelope has no id' };
  if (key !== undefined && typeof key !== 'string')
    return { ok: false, reason: 'envelope key is not a string' };
  if (!('d' in record)) return { ok: false, reason: 'envelope has no value' };
  const level = record['p'];
  if (level !== undefined && (typeof level !== 'number' || !Number.isInteger(level) || level < 0)) {
    return { ok: false, reason: 'envelope level is not a non-negative integer' };
  }
  const reply = decodeReply(record['r']);
  if (reply === null) return { ok: false, reason: 'envelope reply address is malformed' };
  const trace = decodeTrace(record['tc']);
  const frames = decodeFrames(record['j']);
  if (frames === null) return { ok: false, reason: 'envelope join frames are malformed' };
  const event = decodeEvent(record['je']);
  if (event === null) return { ok: false, reason: 'envelope join report is malformed' };
  const envelope: Envelope = { id, key, level, reply, trace, value: record['d'] };
  if (frames === undefined && event === undefined) return { ok: true, envelope };
  return { ok: true, envelope: { ...envelope, frames, event } };
}

/** A trace context: an object of strings. Anything else is ignored (it never makes a message poison). */
function decodeTrace(raw: unknown): TraceCarrier | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === 'string')) return undefined;
  return raw as TraceCarrier;
}

/** The reply address of an envelope: undefined when it has none, null when it is malformed. */
function decodeReply(raw: unknown): ReplyAddress | undefined | null {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null) return null;
  const { q, i, t, s } = raw as Record<string, unknown>;
  if (typeof q !== 'string' || typeof i !== 'string' || typeof t !== 'string') return null;
  return { queue: q, item: i, token: t, status: s === 1 };
}
