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

/**
 * Throw it from a stage method when what it calls says "not now" (an HTTP 429 or 503 with a
 * `Retry-After`): the input is tried again after `retryAfter` ms without counting an attempt, and
 * the stage pauses as long: in this process, and with a `rateLimit` over the whole fleet (best
 * effort: this process takes every permit it can for that long).
 */
export class RetryAfterError extends SqspipesError {
  override name = 'RetryAfterError';
  /** Milliseconds to wait before calling again. */
  readonly retryAfter: number;
  constructor(retryAfter: number, message?: string, options?: { cause?: unknown }) {
    if (!(retryAfter >= 0) || !Number.isFinite(retryAfter))
      throw new TypeError(`RetryAfterError expects retryAfter in ms >= 0, got ${String(retryAfter)}`);
    super(message ?? `the call asked to be tried again after ${retryAfter} ms`, options);
    this.retryAfter = retryAfter;
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

/**
 * A queue exists with an attribute that differs from what this pipeline needs and that SQS cannot
 * change on a live queue (the others are updated in place when the stage starts).
 */
export class QueueConfigError extends SqspipesError {
  override name = 'QueueConfigError';
  readonly queue: string;
  readonly attribute: string;
  constructor(queue: string, attribute: string, expected: string, actual: string | undefined) {
    super(
      `Queue \`${queue}\` exists with ${attribute}=${JSON.stringify(actual ?? null)}, but this pipeline needs ${attribute}=${JSON.stringify(expected)}, which SQS cannot change on an existing queue. To keep its messages, run the new pipeline under a new \`domain\` (new queues) while the old one drains: keep the old stages running until \`sqspipes status\` shows its queues empty, then \`sqspipes destroy\` the old domain; or change the option back`,
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
  /**
   * A producer call (`enqueue()`, `submit()`) gave up while its message was on its way: SQS may
   * or may not have accepted it; sending again with the same `id` is safe. @default false
   */
  readonly outcomeUnknown?: boolean;
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
  /** See {@link ConnectionDetails.outcomeUnknown}. */
  readonly outcomeUnknown: boolean;
  readonly #details: ConnectionDetails;
  constructor(message: string, details: ConnectionDetails, cause: unknown) {
    super(message, {
      cause,
      ...(details.queue === undefined ? {} : { queue: details.queue }),
      ...(details.code === undefined ? {} : { code: details.code }),
    });
    this.#details = details;
    this.problem = details.problem;
    this.endpoint = details.endpoint;
    this.endpointSource = details.endpointSource;
    this.region = details.region;
    this.step = details.step;
    this.action = details.action;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
  }

  /** The same error, saying (`words`) that the message may or may not have reached SQS. */
  withOutcomeUnknown(words: string): ConnectionError {
    return new ConnectionError(
      `${this.message}${words}`,
      { ...this.#details, outcomeUnknown: true },
      this.cause,
    );
  }
}

/**
 * A report on a submitted item (its end, or its dead-lettering) could not be sent to its sender's
 * reply queue, after retries; the queue was not found gone. The input it is about is not
 * acknowledged: it comes back, and its report is sent again.
 */
export class ReplyError extends SqspipesError {
  override name = 'ReplyError';
  readonly stage: string;
  /** The reply queue's name. */
  readonly queue: string;
  readonly itemId: string;
  constructor(stage: string, queue: string, itemId: string, tries: number, cause: unknown) {
    super(
      `Stage \`${stage}\` could not send its report on item ${itemId} to reply queue \`${queue}\` (${tries} tries): ${describe(cause)}; its input is not acknowledged and comes back`,
      { cause },
    );
    this.stage = stage;
    this.queue = queue;
    this.itemId = itemId;
  }
}

/**
 * The lease on an input was lost: its visibility could not be extended before it lapsed (the
 * heartbeat's extension was refused or kept failing), so SQS may give the input to another worker.
 * The call's `signal` aborts with this reason; the input is not acknowledged with its stale
 * receipt handle, and comes back (outputs already sent are deduplicated by id).
 */
export class LeaseLostError extends SqspipesError {
  override name = 'LeaseLostError';
  readonly stage: string;
  readonly messageId: string;
  constructor(stage: string, messageId: string, cause: unknown) {
    super(
      `Stage \`${stage}\` lost its lease on message ${messageId}: its visibility could not be extended (${describe(cause)}), so SQS may deliver it again; its call is aborted and its input not acknowledged`,
      { cause },
    );
    this.stage = stage;
    this.messageId = messageId;
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
