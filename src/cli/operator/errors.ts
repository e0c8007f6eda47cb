import { SQSServiceException } from '@aws-sdk/client-sqs';
import { ConfigError, describe, SqspipesError, UnknownStageError } from '../../errors.ts';

/** Exit codes of the operator CLI. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /**
   * A failure: SQS refused or could not be reached, a queue sqspipes makes with a stage's others
   * is missing (its dead-letter queue, its input queues), the user said no.
   */
  failed: 1,
  /**
   * The command line cannot be run as given: unknown command or option, bad value or input, a
   * flag the command needs, or a stage or priority level the domain has no queues for.
   */
  usage: 2,
} as const;

/** A command line (or input it reads) that cannot be run as given: exit code 2. */
export class UsageError extends SqspipesError {
  override name = 'UsageError';
}

/** The exit code for an error: 2 for usage and configuration errors, 1 for everything else. */
export function exitCodeOf(error: unknown): number {
  const usage =
    error instanceof UsageError || error instanceof ConfigError || error instanceof UnknownStageError;
  return usage ? EXIT.usage : EXIT.failed;
}

/** One line describing `error`; with `verbose`, followed by its stack and the stacks of its causes. */
export function failureText(error: unknown, verbose: boolean): string {
  const line = error instanceof SQSServiceException ? `SQS ${error.name}: ${error.message}` : describe(error);
  const oneLine = line.replace(/\s*\n\s*/g, ' ');
  if (!verbose) return oneLine;
  const stacks: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) stacks.push(e.stack ?? String(e));
  return [oneLine, ...stacks].join('\n');
}
