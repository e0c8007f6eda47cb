import { createHash, randomUUID } from 'node:crypto';

/**
 * Deterministic ids. An output's id is a hash of the input's id, the stage and the output's
 * index, so processing a redelivered input again yields the same ids, and SQS drops the copies
 * as duplicates (deduplication window: 5 minutes). 43 characters of base64url: valid as
 * MessageDeduplicationId and MessageGroupId (<= 128).
 */
export function outputId(inputId: string, stage: string, index: number): string {
  return hash(`out\0${inputId}\0${stage}\0${index}`);
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
