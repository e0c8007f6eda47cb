/**
 * `--timeout` of the commands that send to SQS (`enqueue`, `redrive`): how long they wait for SQS
 * before they give up with a connection error (exit code 1), so that an unreachable endpoint never
 * leaves them hanging. `payloads` bounds its S3 calls with it the same way.
 */
import { duration, type Parsed } from './flag-values.ts';

/** The default: as the library's `sendTimeout`, 30 s. */
export const DEFAULT_SQS_TIMEOUT_MS = 30_000;

/** `--timeout` in ms, from 1 s to 1 day; the default when not given. */
export function sqsTimeout(parsed: Parsed): number {
  return duration(parsed, 'timeout', 1000, 86_400_000) ?? DEFAULT_SQS_TIMEOUT_MS;
}
