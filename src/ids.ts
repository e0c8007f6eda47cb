import { createHash, hash as digest, randomUUID } from 'node:crypto';

/**
 * Deterministic ids, 43 characters of base64url: valid as MessageDeduplicationId and
 * MessageGroupId (<= 128).
 *
 * An output's id is a hash of its input's id, the stage, its content (the JSON of its value) and
 * how many outputs of the same content the call produced before it. Processing an input again
 * (a retry, a redelivery) yields the same ids for the same outputs, whatever their order, so SQS
 * drops the copies as duplicates (deduplication window: 5 minutes); an output that differs gets
 * a new id and is never dropped for one it does not repeat.
 *
 * `firstId` is the id of the first output of this content in the call (one hash of the content);
 * the n-th repeat's id is derived from it. A call counts its repeats by `firstId`, so a call
 * fanning out 100 000 outputs keeps 100 000 short ids, not their JSON.
 */
export function firstOutputId(inputId: string, stage: string, contentJson: string): string {
  const head = `out\0${inputId}\0${stage}\0`;
  // The same digest as of their concatenation, without copying a large content into one string.
  if (contentJson.length > LARGE)
    return createHash('sha256').update(head).update(contentJson).digest('base64url');
  return hash(head + contentJson);
}

/** Content longer than this (UTF-16 units) is hashed in two parts (no copy of it is made). */
const LARGE = 1024;

/** Id of the `occurrence`-th output (0 = the first) of the content whose first id is `firstId`. */
export function outputId(firstId: string, occurrence: number): string {
  return occurrence === 0 ? firstId : hash(`again\0${firstId}\0${occurrence}`);
}

/** Id of an output whose identity the stage gave with `withId(id, value)`. */
export function givenOutputId(stage: string, id: string): string {
  return hash(`given\0${stage}\0${id}`);
}

/** A message derived from another one by an operation (`deadletter`, `redrive`, …): one id per pair. */
export function derivedId(messageId: string, operation: string): string {
  return hash(`${operation}\0${messageId}`);
}

/** Id of a value fed in by `enqueue`: from the caller's idempotency key, or random. */
export function enqueueId(key: string | undefined): string {
  return hash(`enqueue\0${key ?? randomUUID()}`);
}

/**
 * Id of one call of the source stage (it has no input to derive from): random, never sent itself,
 * only what its outputs' ids derive from.
 */
export function sourceCallId(): string {
  return randomUUID();
}

function hash(text: string): string {
  return digest('sha256', text, 'base64url'); // one-shot: no Hash object per id
}
