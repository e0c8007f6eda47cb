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

/**
 * Where the SQS endpoint of a client comes from: the `endpoint` option, the environment variable
 * `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL`, the SQSClient passed as `sqs`, or none (AWS's
 * default endpoint for the region).
 */
export type EndpointSource = 'option' | 'AWS_ENDPOINT_URL_SQS' | 'AWS_ENDPOINT_URL' | 'client' | 'default';

/** Why SQS cannot be used as configured (see {@link ConnectionError}). */
export type ConnectionProblem =
  'unreachable' | 'not-sqs' | 'no-region' | 'no-credentials' | 'bad-credentials' | 'access-denied';

/** The context a {@link ConnectionError} carries. */
export interface ConnectionDetails {
  readonly problem: ConnectionProblem;
  /** The endpoint URL, or undefined for AWS's default endpoint of the region. */
  readonly endpoint: string | undefined;
  readonly endpointSource: EndpointSource;
  readonly region: string | undefined;
  /** What sqspipes was doing, e.g. `creating queues`, `receiving`, `sending`, `deleting`. */
  readonly step: string;
  /** The SQS action that failed, e.g. `CreateQueue`. */
  readonly action: string;
  /** Name or URL of the queue the call was for, if any. */
  readonly queue: string | undefined;
  /** The underlying error code, e.g. `ECONNREFUSED` or `InvalidClientTokenId`. */
  readonly code: string | undefined;
}

/**
 * SQS cannot be used as configured: it cannot be reached, something other than SQS answers at the
 * endpoint, no region is set, credentials are missing or rejected, or a permission is denied. A
 * setup problem, never a stage failure: the message names the endpoint and where it came from,
 * the region, what sqspipes was doing and what to check. `cause` is the SDK's error.
 */
export class ConnectionError extends SqsError {
  override name = 'ConnectionError';
  readonly problem: ConnectionProblem;
  readonly endpoint: string | undefined;
  readonly endpointSource: EndpointSource;
  readonly region: string | undefined;
  readonly step: string;
  readonly action: string;
  constructor(message: string, details: ConnectionDetails, cause: unknown) {
    super(message, {
      cause,
      ...(details.queue === undefined ? {} : { queue: details.queue }),
      ...(details.code === undefined ? {} : { code: details.code }),
    });
    this.problem = details.problem;
    this.endpoint = details.endpoint;
    this.endpointSource = details.endpointSource;
    this.region = details.region;
    this.step = details.step;
    this.action = details.action;
  }
}

/** A short one-line description of anything thrown. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** How a submitted item ended without a result (see {@link ItemError}). */
export type ItemEnd = 'dead-lettered' | 'filtered' | 'failed' | 'timeout' | 'closed';

/**
 * A submitted item (`submit()`) ended without a result: a stage dead-lettered it (`stage`,
 * `reason`), every branch of it was filtered out (`null` / `EmptyTaskOutput`), its result could
 * not be sent back (`failed`), no result came within the timeout, or the client was closed first.
 */
export class ItemError extends SqspipesError {
  override name = 'ItemError';
  readonly itemId: string;
  readonly end: ItemEnd;
  /** The stage where it ended, when one did. */
  readonly stage: string | undefined;
  /** Why, as the stage reported it (dead-lettered, failed). */
  readonly reason: string | undefined;
  constructor(itemId: string, end: ItemEnd, details: { stage?: string; reason?: string; message: string }) {
    super(`Item ${itemId} ${details.message}`);
    this.itemId = itemId;
    this.end = end;
    this.stage = details.stage;
    this.reason = details.reason;
  }
}
