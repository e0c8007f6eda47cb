/**
 * The shapes Lambda's SQS event source mapping (ESM) hands a function and expects back, as
 * sqspipes reads them. Structural, so that `@types/aws-lambda`'s `SQSEvent`, `Context` and
 * `SQSBatchResponse` fit them (a test checks it) without making that package a dependency of
 * every user.
 */

/** One record of an SQS event (see AWS's "Using Lambda with Amazon SQS"). */
export interface LambdaSqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: {
    readonly ApproximateReceiveCount: string;
    readonly SentTimestamp: string;
    readonly SenderId?: string;
    readonly ApproximateFirstReceiveTimestamp?: string;
    readonly SequenceNumber?: string | undefined;
    readonly MessageGroupId?: string | undefined;
    readonly MessageDeduplicationId?: string | undefined;
    readonly AWSTraceHeader?: string | undefined;
  };
  readonly messageAttributes: Readonly<Record<string, LambdaSqsMessageAttribute>>;
  readonly md5OfBody?: string;
  readonly md5OfMessageAttributes?: string | null;
  readonly eventSource: string;
  /** `arn:aws:sqs:<region>:<account>:<queue name>`: the queue the record came from. */
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

/** A message attribute as the event carries it (binary values base64-encoded). */
export interface LambdaSqsMessageAttribute {
  readonly stringValue?: string | undefined;
  readonly binaryValue?: string | undefined;
  readonly stringListValues?: readonly string[] | undefined;
  readonly binaryListValues?: readonly string[] | undefined;
  readonly dataType: string;
}

/** The event an SQS event source mapping invokes a function with. */
export interface LambdaSqsEvent {
  readonly Records: readonly LambdaSqsRecord[];
}

/** What sqspipes reads of Lambda's context object: the time the invocation has left. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
  readonly awsRequestId?: string;
}

/** The answer with `ReportBatchItemFailures`: the records to leave on the queue (all others are deleted). */
export interface LambdaBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** A stage's handler for Lambda (see `TaskClient.lambda`). */
export type LambdaSqsHandler = (
  event: LambdaSqsEvent,
  context: LambdaContextLike,
) => Promise<LambdaBatchResponse>;

/** Options of `TaskClient.lambda(stage, options)`. */
export interface LambdaOptions {
  /**
   * Calls at once within one invocation (distinct message groups of its batch run side by side;
   * one group's records always one after another). Default 10: every group of a batch of 10.
   */
  readonly workers?: number;
  /**
   * Milliseconds of the invocation's time kept for reporting: the calls' signal aborts when the
   * invocation has this much left, and what has not finished by then is reported failed (SQS
   * delivers it again). Default: 2,000, or a fifth of the time the invocation started with if less.
   */
  readonly reserveMs?: number;
  /** Extra arguments passed to the stage's method after its input (as `RunOptions.args`). */
  readonly args?: readonly unknown[];
}

/**
 * The event source mapping a stage needs for one of its queues (see `lambdaMappings`): what the
 * CDK example and `sqspipes lambda` generate.
 */
export interface LambdaMapping {
  readonly stage: string;
  /** The queue the mapping reads: an input level's FIFO queue, or the stage's queue of timers. */
  readonly queueName: string;
  /** `input`: a priority level's FIFO input; `later`: its queue of timers (delays, join limits). */
  readonly role: 'input' | 'later';
  /** The priority level (input queues only). */
  readonly level?: number;
  /** Records per invocation: 10, SQS's and the FIFO ESM's maximum. */
  readonly batchSize: number;
  readonly functionResponseTypes: readonly ['ReportBatchItemFailures'];
  /** ScalingConfig.MaximumConcurrency (2 to 1,000), from the stage's `maxConcurrency`; undefined: none. */
  readonly maximumConcurrency?: number;
}
