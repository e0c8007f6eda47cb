/**
 * Public types of sqspipes, with the glossary every other file uses.
 *
 * - **stage**: one registered function (its `method`), with its worker count and priority levels.
 *   Stages form an ordered pipeline: each stage's outputs are the next stage's inputs.
 * - **source stage**: the first stage, unless registered with `input: true`. It has no input
 *   queue: its workers call `method(...args)` in a loop, paced by `interval`. A first stage with
 *   `input: true` consumes an input queue like any later stage (fed by `enqueue()`/`submit()`).
 * - **priority level**: 0 (lowest) to `priorities - 1`. Each later stage has one FIFO input queue
 *   per level; higher levels are consumed first.
 * - **envelope**: the JSON body of a message: the value plus what the runner needs (format
 *   version, lineage id, group key). See `envelope.ts`.
 * - **branch**: what one input's call leads to downstream: each output it fans out to, and theirs.
 * - **join stage**: a stage registered with `join: '<split>'`: it is called once per input X of the
 *   split, with the outputs that reached it from every branch X's call opened.
 * - **split**: the earlier stage a join names; its scope runs from the split to the join.
 * - **group**: the SQS MessageGroupId. Unique per message by default (full parallelism).
 * - **worker**: one concurrent call slot of a stage in one process.
 * - **in hand**: a message received and not yet deleted or released (running or prefetched).
 * - **ack**: deleting an input, done only after every output derived from it was accepted by SQS
 *   and handed to the consumer of `run()`.
 * - **release**: making a message in hand visible again at once (visibility 0), on stop.
 */
import type { PayloadOptions } from './payloads/options.ts';
import type { SQSClient, SQSClientConfig } from '@aws-sdk/client-sqs';

/**
 * A stage function. Later stages are called as `method(input, ...args)`, the source as `method(...args)`.
 *
 * Its outputs travel to the next stage as JSON, so they must be JSON: plain objects, arrays,
 * strings, finite numbers, booleans, `null`. A value JSON would change or drop silently (a Map,
 * Set, WeakMap, typed array, ArrayBuffer, RegExp, Error, Promise, class instance without
 * `toJSON()`, `undefined` inside an array, a function, symbol, BigInt, NaN, Infinity, a cycle)
 * fails the input with an `OutputError` naming the stage and the path (`output.items[2].tags is
 * a Set`); the input is retried, then dead-lettered, as when the method throws. Deliberately
 * allowed: a property whose value is `undefined` is left out, an `undefined` output is `null`,
 * and a value with a `toJSON()` method is sent as what it returns (a Date arrives as its ISO
 * string). The last stage's outputs are not sent anywhere and are not checked.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any function may be a stage; its arguments are the user's.
export type StageMethod = (...args: any[]) => unknown;

/** One entry of `registerTasks`: a bare function (named by its name) or a stage with options. */
export type StageEntry = StageMethod | StageOptions;

/** A stage and its options. */
export interface StageOptions {
  /** The function to run. */
  method: StageMethod;
  /** Stage name, used in queue names: letters, digits, `_`, `-`. @default method.name */
  name?: string;
  /**
   * First stage only: `true` makes it consume an input queue (with levels and a dead-letter
   * queue) fed by `enqueue()` and `submit()`, instead of being a source that calls its method in
   * a loop: a pipeline that only serves `submit()` needs no dummy source. Later stages always
   * consume. @default false for the first stage (a source), true for the others
   */
  input?: boolean;
  /** Concurrent calls in one process (can be overridden per run). @default 1 */
  workers?: number;
  /** Number of priority levels, 1 to 16. @default 1 */
  priorities?: number;
  /** Source stage only (a first stage without `input: true`): milliseconds each worker waits between calls (0 to 2^31-1, about 24.9 days), or a function giving them. @default 0 */
  interval?: number | (() => number);
  /**
   * Seconds a received input stays invisible to other workers before a heartbeat must extend it.
   * The runner extends it for as long as the input is in hand (up to SQS's 12 hours). @default 30
   */
  visibilityTimeout?: number;
  /**
   * Times a failed input is tried again (in hand, after `retryDelay`; later inputs of its group
   * wait) before it moves to the stage's dead-letter queue (`<domain>-<stage>-dlq.fifo`) with
   * the reason. Every failure is reported (`failed` event, a log line) and the run goes on; see
   * the run option `failFast` to stop instead. The source has no input: a call of it that throws
   * is tried again in its worker, then reported and skipped. @default 2 (the source: 0)
   */
  retries?: number;
  /**
   * Delay before a failed input (or source call) is tried again, in ms (0 to 12 hours, SQS's
   * visibility limit), or a function of the attempt number (1, 2, …) whose values past 12 hours
   * are capped. @default 1 s doubling, at most 5 min
   */
  retryDelay?: number | ((attempt: number) => number);
  /**
   * Milliseconds a call may run (1 to 2^31-1, about 24.9 days); then its signal aborts and the call
   * counts as failed. @default Infinity: no limit
   */
  timeout?: number;
  /**
   * Orders by key: inputs with the same key are processed one at a time, in order, across all
   * workers and machines (an SQS message group each); different keys run in parallel. On the
   * first stage it is the key of its outputs. Stages without one keep their input's key.
   * @default none: every message is its own group (full parallelism)
   */
  group?: (input: never) => string;
  /**
   * Batch handler: the method receives an array of up to `batch` inputs and returns an array of
   * as many results (each an output, `EmptyTaskOutput`, `fanOut(...)` or `itemError(e)`).
   * @default undefined: the method receives one input
   */
  batch?: number;
  /** Runs once per process before the stage's first call; its result is `taskContext().state`. */
  setup?: () => unknown;
  /** Runs when a run of the stage stops, with what `setup` returned. */
  teardown?: (state: never) => unknown;
  /**
   * Makes this a join stage: the name of an earlier stage (the split, the source included) whose
   * calls open the branches it gathers. For each input X of the split, once every branch X's call
   * opened has ended (filtered branches too, fan-outs within a branch included), the join is
   * called once with an array of the outputs that reached it from X's branches, in fan-out order.
   * A split has one join at most; join scopes (split to join) nest or follow one another, never
   * cross. Not on the first stage, nor with `group` or `batch` (sqspipes orders a join per item).
   * @default undefined: the stage is called once per input
   */
  join?: string;
  /**
   * A join stage's time limit per item, in ms from its first branch to reach the join: an item
   * still incomplete then (a branch purged by an operator, or lost past a queue's retention) is
   * dead-lettered with its partial state and the branches it still waits for. Checked by the
   * domain's runs once a minute, so it may come up to a minute late.
   * @default 86_400_000 (24 hours)
   */
  joinTimeout?: number;
  /**
   * A join stage's answer to a branch dead-lettered on the way: `'fail'` dead-letters the item
   * with a reason naming the lost branches; `'call'` calls the join anyway with the values that
   * reached it, and lists the lost branches in `taskContext().join.failed`.
   * @default 'fail'
   */
  joinFailures?: 'fail' | 'call';
  /**
   * A source that runs on a schedule (the first stage, without `input: true`): `{ cron, timeZone }`
   * (a cron expression; the time zone defaults to UTC) or `{ every }` (ms, at least 1000, ticks
   * on multiples of it since the epoch). Any number of replicas may run it: each tick is called
   * once, fleet-wide, with the tick's instant as an ISO string (its outputs' ids derive from it).
   * Ticks go through the stage's own input queue, one after another (never overlapping); an
   * `enqueue()` into it calls it out of schedule.
   */
  schedule?: { cron: string; timeZone?: string } | { every: number };
  /**
   * What a replica that starts after no replica ran does with the ticks missed meanwhile (those
   * after the last tick done): `false` none, `'latest'` the latest, `'all'` all (at most 1000, the
   * newest). @default false
   */
  catchUp?: false | 'latest' | 'all';
  /**
   * At most `limit` calls per `per` ms over every process of the stage on every machine (`per`:
   * whole seconds, 1 s to 12 h). Permits are messages of the stage's `<domain>-<stage>-rate.fifo`:
   * a call takes one for `per`, after which it comes back by itself. A call that meets the
   * downstream's limit can throw a `RetryAfterError`: the stage pauses (fleet-wide, best effort)
   * and the input is tried again then, not counting an attempt.
   */
  rateLimit?: { limit: number; per: number };
  /**
   * At most this many calls at once over every process of the stage on every machine: a permit
   * of `<domain>-<stage>-slots.fifo` is held while a call runs (leased for 30 s, extended while it
   * runs, given back at once when it ends, back by itself 30 s after its process died).
   */
  maxConcurrency?: number;
  /**
   * With `group`: up to this many calls of one key at once (1 to 100). A key's items are spread
   * over this many message groups by their id: order holds within each of them, not across the
   * key (two items of a key may run at once and end in either order). @default 1
   */
  keyConcurrency?: number;
}

/** A minimal pino-compatible logger. The library logs nothing unless you pass one. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link TaskClient}. */
export interface TaskClientOptions {
  /** Prefix of every queue name of this pipeline: letters, digits, `_`, `-`. */
  domain: string;
  /** AWS region. @default the SDK's own resolution (AWS_REGION, profile); `us-east-1` for an endpoint with none */
  region?: string;
  /** SQS endpoint URL. @default the SDK's own resolution (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL) */
  endpoint?: string;
  /** Credentials. @default the SDK's default credential chain */
  credentials?: SQSClientConfig['credentials'];
  /** A configured client to use instead of one sqspipes creates (it is not destroyed by `close()`). */
  sqs?: SQSClient;
  /** Treat `null` and `undefined` outputs as "no output". @default true */
  ignoreNone?: boolean;
  /** Where to log. @default no logging */
  logger?: Logger;
  /** Create queues in high-throughput FIFO mode (deduplication and throughput per message group). @default true */
  highThroughput?: boolean;
  /** Maximum open sockets of the client sqspipes creates. Long polls hold one each. @default 500 */
  maxSockets?: number;
  /**
   * Encrypt queues with this KMS key (id, alias or ARN) instead of SQS-managed keys.
   * @default undefined: SQS-managed server-side encryption (SqsManagedSseEnabled)
   */
  kmsKeyId?: string;
  /**
   * Seconds an idle priority level long-polls SQS for (1-20). Each idle level costs 60 / this
   * requests a minute. A stop abandons an idle long poll at once (it asks SQS to hide what it
   * brings for 2 s only). A run with an `idleTimeout` never polls past it. @default 20
   */
  pollWaitSeconds?: number;
  /**
   * Milliseconds `enqueue()` and `submit()` wait for SQS to accept a message (finding or
   * creating the queue included), and `close()` to flush what is pending, before they give up
   * with a ConnectionError naming the endpoint. A message given up is never sent afterwards.
   * `Infinity`: wait as long as it takes. @default 30000
   */
  sendTimeout?: number;
  /**
   * Message bodies over `threshold` bytes (384 KiB by default) go through this S3 bucket, in
   * AWS's Extended Client format: stage outputs, `enqueue()`, `submit()`, replies, dead-letter
   * copies and redrives. Receivers read them back before the stage sees its input; each object is
   * deleted once its message is acknowledged. Needs `@aws-sdk/client-s3`. @default none
   */
  payloads?: PayloadOptions;
}

/** Options of {@link TaskClient.run}. */
export interface RunOptions {
  /** Concurrent calls in this process. @default the stage's `workers` */
  workers?: number;
  /** Extra arguments: the source gets `method(...args)`, later stages `method(input, ...args)`. @default [] */
  args?: readonly unknown[];
  /** Source stage only: priority level of what it emits, or a function of the output. @default 0 */
  priority?: number | ((output: unknown) => number);
  /** Consume only levels >= this. @default 0 */
  minPriority?: number;
  /** Consume only levels <= this. @default priorities - 1 */
  maxPriority?: number;
  /** Stop after this many inputs processed (source: calls made) in this run. @default no limit */
  limit?: number;
  /**
   * Stop when nothing was in hand and no input arrived for this many milliseconds (0 to 2^31-1,
   * about 24.9 days). @default Infinity: never
   */
  idleTimeout?: number;
  /** Stop gracefully when aborted. */
  signal?: AbortSignal;
  /**
   * Milliseconds the whole stop may take (0 to 2^31-1, about 24.9 days): the receives in flight,
   * the running calls (their signal aborts when a fifth of it, at most 3 s, is left) and the
   * last sends and deletes share this one clock. `Infinity`: calls are never aborted, the stop
   * waits for them. @default 30000
   */
  shutdownTimeout?: number;
  /**
   * Stop the run (rejecting with the StageError) once an input has failed its last attempt. The
   * input is kept in the dead-letter queue first, so the next process does not fail on it again.
   * The source stops once a call has failed its last attempt (or its outputs could not be sent).
   * @default false: the input goes to the dead-letter queue (a source call is skipped) and the run goes on
   */
  failFast?: boolean;
  /**
   * Yield each output as `{ id, value }`, where `id` is the output's identity (the deduplication
   * id it travels with): a consumer can deduplicate what a retry or a redelivery yields again.
   * @default false: yield the values
   */
  withIds?: boolean;
}

/** Second argument of {@link TaskClient.main}. */
export interface StageCliDefaults {
  /** Run options per stage name; command-line flags override them. */
  run?: Readonly<Record<string, RunOptions>>;
}

/** Options of {@link TaskClient.enqueue}. */
export interface EnqueueOptions {
  /** Priority level. @default 0 */
  priority?: number;
  /**
   * Idempotency key: enqueueing the same `id` again within SQS's 5-minute deduplication window
   * is dropped by SQS. @default a random id
   */
  id?: string;
  /**
   * Gives up when aborted: the call rejects with the signal's reason and the message is never
   * sent afterwards (if it was on its way, a ConnectionError with `outcomeUnknown` says so).
   * Either way the call is bounded by the client's `sendTimeout`.
   */
  signal?: AbortSignal;
  /**
   * Deliver it this many milliseconds from now, not before (any length: it waits in the stage's
   * queue of timers, `<domain>-<stage>-later`, which the stage's runs poll; late by about a
   * second while one runs). It takes its place in its key's order when it is due, not when it is sent.
   * A repeat with the same `id` is dropped when both reach the queue within 5 minutes of each
   * other: give `at` rather than `delay` to repeat a send safely. Not with `at`.
   */
  delay?: number;
  /** Deliver it at this time (a Date or epoch ms), not before; see `delay`. Not with `delay`. */
  at?: Date | number;
}

/** Options of {@link TaskClient.redrive}. */
export interface RedriveOptions {
  /**
   * Gives up when aborted: the call rejects with the signal's reason. Whatever ends it, each step
   * (a receive of up to 10 dead letters and their moves) is bounded by the client's `sendTimeout`
   * (plus the receive's 1 s wait), so a redrive settles while SQS is unreachable.
   */
  signal?: AbortSignal;
}

/** Options of `submit()`: those of `enqueue()`, and how to follow the item. */
export interface SubmitOptions extends EnqueueOptions {
  /**
   * The stage to submit to. @default the first stage with an input: the first registered if it
   * has `input: true`, else the second
   */
  stage?: string;
  /**
   * How long `result()` waits, in milliseconds, before it rejects with an ItemError (`timeout`).
   * The item itself goes on through the pipeline. 1 to 2^31-1 (about 24.9 days), or `Infinity`:
   * wait until the item ends (or the client closes). @default 300000 (5 minutes)
   */
  timeout?: number;
  /**
   * Report each stage's progress (`statuses()`): two more reply messages per stage call (batched
   * with others). @default false (results and dead-letters only)
   */
  status?: boolean;
}

/** One queue of the pipeline with its approximate counts, as given by SQS. */
export interface QueueInfo {
  stage: string;
  /** Priority level of an input queue, or `dlq` for the stage's dead-letter queue. */
  level: number | 'dlq';
  name: string;
  url: string | undefined;
  /** False when the queue was not created yet. */
  exists: boolean;
  visible: number;
  inFlight: number;
  delayed: number;
}
