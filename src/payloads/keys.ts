/**
 * Where sqspipes' objects live in the bucket: `<prefix><domain>/<kind>/<sha256 hex>`, e.g.
 * `sqspipes/shop/payload/3f1c…` (a join's states: `<prefix><domain>/join/<join stage>/<sha256>`,
 * their tombstones `<prefix><domain>/joined/<join stage>/<sha256>`). Deterministic: the same message (queue and deduplication id)
 * always has the same key, so a repeated send rewrites its object instead of adding one.
 *
 * No sharding directories: S3 splits a prefix's request rate by key range as load grows, and the
 * hash right after `<kind>/` spreads keys evenly over that range.
 */
import { createHash } from 'node:crypto';

/**
 * What an object holds: a message body (`payload`), a join's partial state of a pending item
 * (`join`), or the tombstone of a joined one (`joined`).
 */
export type ObjectKind = 'payload' | 'join' | 'joined';

/** S3's longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** The part of every key of one pipeline: the configured prefix and the domain. */
export interface KeyLayout {
  /** Empty or ending with `/` (checked by resolvePayloadOptions). */
  readonly prefix: string;
  /** The pipeline's domain (its queue-name prefix). */
  readonly domain: string;
}

/** The key of the body of the message with deduplication id `deduplicationId` sent to `queue`. */
export function payloadKey(layout: KeyLayout, queue: string, deduplicationId: string): string {
  return keyFor(layout, 'payload', queue, deduplicationId);
}

/**
 * The key of the partial state of a pending item named `id` of join stage `join` (see
 * join-state.ts), under {@link joinPrefix}.
 */
export function joinStateKey(layout: KeyLayout, join: string, id: string): string {
  return `${joinPrefix(layout, join)}${createHash('sha256').update(id).digest('hex')}`;
}

/** The prefix of the states of join stage `join`'s items, e.g. `sqspipes/shop/join/total/`. */
export function joinPrefix(layout: KeyLayout, join: string): string {
  return `${kindPrefix(layout, 'join')}${join}/`;
}

/**
 * The key of the tombstone of item `id` of join stage `join` once it was joined, e.g.
 * `sqspipes/shop/joined/total/3f1c…`: apart from the pending ones, which a listing then counts.
 */
export function joinedKey(layout: KeyLayout, join: string, id: string): string {
  return `${kindPrefix(layout, 'joined')}${join}/${createHash('sha256').update(id).digest('hex')}`;
}

/**
 * The key of an object of `kind` named by `parts`: their SHA-256 (joined by NUL, which no queue
 * name or SQS id may contain) in hex, under {@link kindPrefix}.
 */
export function keyFor(layout: KeyLayout, kind: ObjectKind, ...parts: readonly string[]): string {
  if (parts.length === 0) throw new TypeError('keyFor() needs at least one part');
  if (parts.some((part) => part.includes('\0'))) throw new TypeError('A key part cannot contain NUL');
  const key = `${kindPrefix(layout, kind)}${createHash('sha256').update(parts.join('\0')).digest('hex')}`;
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new RangeError(`The S3 key ${key.slice(0, 60)}... is longer than ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

/** The prefix of every key of `kind` in the pipeline, e.g. `sqspipes/shop/payload/`. */
export function kindPrefix(layout: KeyLayout, kind: ObjectKind): string {
  return `${domainPrefix(layout)}${kind}/`;
}

/** The prefix of every key of the pipeline, e.g. `sqspipes/shop/`. */
export function domainPrefix(layout: KeyLayout): string {
  return `${layout.prefix}${layout.domain}/`;
}
