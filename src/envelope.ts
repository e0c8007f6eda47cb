import secureJson from 'secure-json-parse';

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
}

export const ENVELOPE_VERSION = 1;

/** SQS's limit on a message, body and attributes included. */
export const MAX_MESSAGE_BYTES = 1_048_576;

/**
 * Encodes an envelope as JSON. Throws a TypeError naming the offending key when the value holds
 * something JSON would drop or mangle silently (function, symbol, BigInt, NaN, Infinity) or a cycle.
 */
export function encodeEnvelope(envelope: Envelope): string {
  const body = {
    v: ENVELOPE_VERSION,
    id: envelope.id,
    ...(envelope.level === undefined ? {} : { p: envelope.level }),
    ...(envelope.key === undefined ? {} : { k: envelope.key }),
    d: envelope.value ?? null,
  };
  return JSON.stringify(body, strictReplacer);
}

/** JSON of an output value (`null` for undefined), refusing what JSON would drop or mangle. */
export function encodeValue(value: unknown): string {
  // Encoded as an envelope's `d` so that errors name "the output" as encodeEnvelope's do.
  return JSON.stringify({ v: 0, d: value ?? null }, strictReplacer).slice('{"v":0,"d":'.length, -1);
}

/** An envelope around a value already encoded by {@link encodeValue}: the same JSON as {@link encodeEnvelope}. */
export function wrapEncoded(envelope: Omit<Envelope, 'value'>, valueJson: string): string {
  const level = envelope.level === undefined ? '' : `,"p":${envelope.level}`;
  const key = envelope.key === undefined ? '' : `,"k":${JSON.stringify(envelope.key)}`;
  return `{"v":${ENVELOPE_VERSION},"id":${JSON.stringify(envelope.id)}${level}${key},"d":${valueJson}}`;
}

function strictReplacer(this: unknown, key: string, value: unknown): unknown {
  const where =
    key === 'd' && this !== null && typeof this === 'object' && 'v' in this ? 'the output' : `key \`${key}\``;
  switch (typeof value) {
    case 'function':
    case 'symbol':
      throw new TypeError(`${where} is a ${typeof value}, which JSON cannot carry`);
    case 'bigint':
      throw new TypeError(`${where} is a BigInt, which JSON cannot carry (convert it to a string or number)`);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${where} is ${value}, which JSON cannot carry`);
      return value;
    default:
      return value;
  }
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
  return { ok: true, envelope: { id, key, level, value: record['d'] } };
}
