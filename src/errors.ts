/**
 * The errors sqspipes throws. Every one extends {@link SqspipesError}, carries its context as
 * fields (stage, queue, message id) and keeps the underlying error as `cause`.
 */

/** Base class of every error sqspipes throws on purpose. */
export class SqspipesError extends Error {
  override name = 'SqspipesError';
}

/** An option, a stage definition or an argument is invalid. Thrown at the earliest moment. */
export class ConfigError extends SqspipesError {
  override name = 'ConfigError';
}

/** A stage name that is not registered. */
export class UnknownStageError extends SqspipesError {
  override name = 'UnknownStageError';
  readonly stage: string;
  constructor(stage: string, known: readonly string[]) {
    super(
      `Unknown stage \`${stage}\`: registered stages are ${known.map((s) => `\`${s}\``).join(', ') || 'none'}`,
    );
    this.stage = stage;
  }
}

/** A stage method threw (or rejected); the input that caused it was not deleted. */
export class StageError extends SqspipesError {
  override name = 'StageError';
  readonly stage: string;
  readonly messageId: string | undefined;
  constructor(stage: string, messageId: string | undefined, cause: unknown) {
    const where = messageId === undefined ? '' : ` on message ${messageId}`;
    super(`Stage \`${stage}\` failed${where}: ${describe(cause)}`, { cause });
    this.stage = stage;
    this.messageId = messageId;
  }
}

/** A stage produced an output that cannot travel through SQS (not JSON, too large). */
export class OutputError extends SqspipesError {
  override name = 'OutputError';
  readonly stage: string;
  constructor(stage: string, message: string, cause?: unknown) {
    super(`Stage \`${stage}\` produced an output that cannot be sent: ${message}`, { cause });
    this.stage = stage;
  }
}

/** A queue exists with attributes that differ from what this pipeline needs. */
export class QueueConfigError extends SqspipesError {
  override name = 'QueueConfigError';
  readonly queue: string;
  readonly attribute: string;
  constructor(queue: string, attribute: string, expected: string, actual: string | undefined) {
    super(
      `Queue \`${queue}\` exists with ${attribute}=${JSON.stringify(actual ?? null)}, but this pipeline needs ${attribute}=${JSON.stringify(expected)}: delete the queue (sqspipes destroy) or change the option`,
    );
    this.queue = queue;
    this.attribute = attribute;
  }
}

/** An SQS call failed for good (after the SDK's retries), or SQS refused an entry of a batch. */
export class SqsError extends SqspipesError {
  override name = 'SqsError';
  readonly queue: string | undefined;
  readonly code: string | undefined;
  constructor(message: string, options: { queue?: string; code?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.queue = options.queue;
    this.code = options.code;
  }
}

/** A short one-line description of anything thrown. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
