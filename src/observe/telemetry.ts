/**
 * OpenTelemetry, optional: with `@opentelemetry/api` installed and a tracer (and/or meter)
 * provider registered, sqspipes records, by the messaging semantic conventions for SQS:
 * - a CONSUMER span `process <queue>` per stage call (per batch for a batch handler), whose
 *   parent is the span that sent its input (a batch links to each input's instead); the stage's
 *   code runs inside it, so its own spans nest under it;
 * - an INTERNAL span `run <stage>` per call of the source stage;
 * - an INTERNAL span `join <stage>` per call of a join stage's function, inside the call's
 *   `process` span, linked to the spans that sent the item's branches to the join (up to 128);
 * - a PRODUCER span `send <queue>` per message sent (outputs, `enqueue`, `submit`), whose context
 *   rides in the message's envelope (`"tc"`), not in a message attribute: one trace per item
 *   through every stage, across processes;
 * - metrics `messaging.process.duration`, `sqspipes.messages.processed` / `.failed` /
 *   `.dead_lettered` and `sqspipes.messages.in_hand`, by stage; for a stage with `rateLimit` or
 *   `maxConcurrency`, `sqspipes.permits.held` and `sqspipes.permits.waiting`, by stage and
 *   `sqspipes.permit.kind` (`rate`, `slots`), as this process sees them.
 * Without the package, `loadTelemetry` (otel-telemetry.ts) gives {@link NO_TELEMETRY}: nothing is
 * recorded or added to messages. With it but no provider, the API's no-op spans cost next to
 * nothing and inject no context. This file says what is recorded; otel-telemetry.ts records it.
 */

/** The trace context of a message, as the propagator writes it (`traceparent`, `tracestate`). */
export type TraceCarrier = Readonly<Record<string, string>>;

/** One input of a call, as tracing needs it. */
export interface TracedInput {
  /** Name of the queue it was received from. */
  readonly queue: string;
  /** Its SQS message id. */
  readonly messageId: string;
  /** The context its sender put in its envelope. */
  readonly carrier: TraceCarrier | undefined;
}

/** The span of one stage call. */
export interface CallTrace {
  /** Runs `fn` with the call's span as the active one (the stage's own spans nest under it). */
  run<T>(fn: () => T): T;
  /** Ends the span (and records the call's duration), as failed with `error` if given. */
  end(error?: unknown): void;
}

/** The span of one message being sent. */
export interface SendTrace {
  /** What to put in the message's envelope; undefined when there is nothing to propagate. */
  readonly carrier: TraceCarrier | undefined;
  /** Ends the span: sent (with SQS's message id) or failed. */
  end(error?: unknown, sqsMessageId?: string): void;
}

/** One limit of a stage as this process sees it, for the permit gauges. */
export interface PermitsReading {
  readonly stage: string;
  readonly kind: 'rate' | 'slots';
  /** `slots`: permits held by calls running here; `rate`: permits used here within the last period. */
  readonly held: number;
  /** Calls here waiting for a permit of this limit. */
  readonly waiting: number;
}

/** What the runners and the client record. */
export interface Telemetry {
  /** False without `@opentelemetry/api`: callers may skip preparing what it would record. */
  readonly enabled: boolean;
  /** True while spans are recorded (a tracer provider is registered): only then is a send traced. */
  tracing(): boolean;
  /** A call of a consuming stage on its inputs (one, or a batch), read only if recorded. */
  call(stage: string, inputs: () => readonly TracedInput[]): CallTrace;
  /** A call of the source stage. */
  sourceCall(stage: string): CallTrace;
  /** A join stage's function called on a complete item, linked to its branches' senders. */
  joined(stage: string, links: readonly TraceCarrier[]): CallTrace;
  /** A message sent to `queue`, from inside `parent` (else from the active context). */
  send(queue: string, parent?: CallTrace): SendTrace;
  /** Counts an outcome of an input of `stage`. */
  count(outcome: 'processed' | 'failed' | 'dead_lettered', stage: string): void;
  /** Reports the inputs in hand by stage, whenever the meter asks. */
  observeInHand(read: () => Iterable<readonly [stage: string, inHand: number]>): void;
  /** Reports the permits held and the calls waiting for one, by stage and limit, whenever the meter asks. */
  observePermits(read: () => Iterable<PermitsReading>): void;
  /** Reports the timers waiting by stage, and the time to the next one due, whenever the meter asks. */
  observeTimers(read: () => Iterable<TimersReading>): void;
}

/** A stage's items for later as this process's sweeps saw them. */
export interface TimersReading {
  readonly stage: string;
  readonly waiting: number;
  /** Seconds until the next one is due; undefined: none seen. */
  readonly nextDueIn: number | undefined;
}

/** A call that records nothing. */
export const NOOP_CALL: CallTrace = { run: (fn) => fn(), end: () => {} };
/** A send that records nothing and adds nothing to the message. */
export const NOOP_SEND: SendTrace = { carrier: undefined, end: () => {} };

/** Records nothing: `@opentelemetry/api` is not installed. */
export const NO_TELEMETRY: Telemetry = {
  enabled: false,
  tracing: () => false,
  call: () => NOOP_CALL,
  sourceCall: () => NOOP_CALL,
  joined: () => NOOP_CALL,
  send: () => NOOP_SEND,
  count: () => {},
  observeInHand: () => {},
  observePermits: () => {},
  observeTimers: () => {},
};
