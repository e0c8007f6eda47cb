import { createHash, randomUUID } from 'node:crypto';

/**
 * Deterministic ids, 43 characters of base64url: valid as MessageDeduplicationId and
 * MessageGroupId (<= 128).
 *
 * An output's id is a hash of its input's id, the stage, its content (the JSON of its value) and
 * how many outputs of the same content the call produced before it. Processing an input again
 * (a retry, a redelivery) yields the same ids for the same outputs, whatever their order, so SQS
 * drops the copies as duplicates (deduplication window: 5 minutes); an output that differs gets
 * a new id and is never dropped for one it does not repeat.
 */
export function outputId(inputId: string, stage: string, contentHash: string, occurrence: number): string {
  return hash(`out\0${inputId}\0${stage}\0${contentHash}\0${occurrence}`);
}

/**
 * The hash of an output's JSON: what {@link outputId} takes, and what a call's count of outputs
 * of the same content is keyed by (a call fanning out 100 000 outputs keeps 100 000 short hashes,
 * not their JSON).
 */
export function contentHash(contentJson: string): string {
  return hash(contentJson);
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

/** Id of one call of the source stage (it has no input to derive from). */
export function sourceCallId(): string {
  return hash(`source\0${randomUUID()}`);
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
