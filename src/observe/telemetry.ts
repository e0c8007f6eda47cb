/**
 * OpenTelemetry, optional: with `@opentelemetry/api` installed and a tracer (and/or meter)
 * provider registered, sqspipes records, by the messaging semantic conventions for SQS:
 * - a CONSUMER span `process <queue>` per stage call (per batch for a batch handler), whose
 *   parent is the span that sent its input (a batch links to each input's instead); the stage's
 *   code runs inside it, so its own spans nest under it;
 * - an INTERNAL span `run <stage>` per call of the source stage;
 * - a PRODUCER span `send <queue>` per message sent (outputs, `enqueue`, `submit`), whose context
 *   rides in the message's envelope (`"tc"`), not in a message attribute: one trace per item
 *   through every stage, across processes;
 * - metrics `messaging.process.duration`, `sqspipes.messages.processed` / `.failed` /
 *   `.dead_lettered` and `sqspipes.messages.in_hand`, by stage.
 * Without the package, {@link loadTelemetry} gives {@link NO_TELEMETRY}: nothing is recorded or
 * added to messages. With it but no provider, the API's no-op spans cost next to nothing and
 * inject no context.
 */
import type * as OtelApi from '@opentelemetry/api';

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
  /** A message sent to `queue`, from inside `parent` (else from the active context). */
  send(queue: string, parent?: CallTrace): SendTrace;
  /** Counts an outcome of an input of `stage`. */
  count(outcome: 'processed' | 'failed' | 'dead_lettered', stage: string): void;
  /** Reports the inputs in hand by stage, whenever the meter asks. */
  observeInHand(read: () => Iterable<readonly [stage: string, inHand: number]>): void;
}

const NOOP_CALL: CallTrace = { run: (fn) => fn(), end: () => {} };
const NOOP_SEND: SendTrace = { carrier: undefined, end: () => {} };

/** Records nothing: `@opentelemetry/api` is not installed. */
export const NO_TELEMETRY: Telemetry = {
  enabled: false,
  tracing: () => false,
  call: () => NOOP_CALL,
  sourceCall: () => NOOP_CALL,
  send: () => NOOP_SEND,
  count: () => {},
  observeInHand: () => {},
};

const SYSTEM = 'aws_sqs';

/** The API if installed (loaded once per process), else {@link NO_TELEMETRY}. */
export async function loadTelemetry(): Promise<Telemetry> {
  api ??= import('@opentelemetry/api').then(
    (module) => module,
    () => undefined,
  );
  const loaded = await api;
  return loaded === undefined ? NO_TELEMETRY : new OtelTelemetry(loaded);
}

let api: Promise<typeof OtelApi | undefined> | undefined;

class OtelTelemetry implements Telemetry {
  readonly enabled = true;
  readonly #api: typeof OtelApi;
  readonly #tracer: OtelApi.Tracer;
  readonly #duration: OtelApi.Histogram;
  readonly #counters: Record<'processed' | 'failed' | 'dead_lettered', OtelApi.Counter>;
  readonly #inHand: OtelApi.ObservableGauge;

  readonly #metered: boolean;
  #on = false;

  constructor(otel: typeof OtelApi) {
    this.#api = otel;
    this.#tracer = otel.trace.getTracer('sqspipes');
    const meter = otel.metrics.getMeter('sqspipes');
    // The metrics API has no proxy: a meter provider registered later is not seen (register it first).
    this.#metered = !(meter instanceof otel.createNoopMeter().constructor);
    this.#duration = meter.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Duration of a stage call (process operation)',
    });
    const counter = (name: string, description: string) =>
      meter.createCounter(`sqspipes.messages.${name}`, { unit: '{message}', description });
    this.#counters = {
      processed: counter('processed', 'Inputs processed: outputs accepted by SQS, input deleted'),
      failed: counter('failed', 'Calls that failed (thrown, timed out, or an output SQS cannot carry)'),
      dead_lettered: counter('dead_lettered', 'Inputs moved to a dead-letter queue'),
    };
    this.#inHand = meter.createObservableGauge('sqspipes.messages.in_hand', {
      unit: '{message}',
      description: 'Inputs received and not yet ended (running, waiting for a worker, between retries)',
    });
  }

  /**
   * True once a tracer provider is registered (checked each time: it may come after the client).
   * Until then no span is started and no context is injected: tracing costs nothing.
   */
  tracing(): boolean {
    if (this.#on) return true; // a provider, once registered, stays
    const provider = this.#api.trace.getTracerProvider();
    this.#on =
      !(provider instanceof this.#api.ProxyTracerProvider) ||
      provider.getDelegateTracer('sqspipes') !== undefined;
    return this.#on;
  }

  /** A call without a span: its duration alone, for the meter. */
  #timed(stage: string, queue: string | undefined): CallTrace {
    if (!this.#metered) return NOOP_CALL;
    const started = performance.now();
    return {
      run: (fn) => fn(),
      end: (error) =>
        this.#duration.record((performance.now() - started) / 1000, durationAttributes(stage, queue, error)),
    };
  }

  call(stage: string, read: () => readonly TracedInput[]): CallTrace {
    const otel = this.#api;
    if (!this.tracing()) return this.#metered ? this.#timed(stage, read()[0]?.queue) : NOOP_CALL;
    const inputs = read();
    const [first] = inputs;
    const batch = inputs.length > 1;
    const parent =
      !batch && first?.carrier !== undefined
        ? otel.propagation.extract(otel.context.active(), first.carrier)
        : otel.context.active();
    const links = batch
      ? inputs.flatMap((input) => {
          if (input.carrier === undefined) return [];
          const context = otel.trace.getSpanContext(
            otel.propagation.extract(otel.ROOT_CONTEXT, input.carrier),
          );
          return context === undefined ? [] : [{ context }];
        })
      : [];
    const queue = first?.queue ?? stage;
    const span = this.#tracer.startSpan(
      `process ${queue}`,
      {
        kind: otel.SpanKind.CONSUMER,
        links,
        attributes: {
          'messaging.system': SYSTEM,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': queue,
          'sqspipes.stage': stage,
          ...(batch
            ? { 'messaging.batch.message_count': inputs.length }
            : first === undefined
              ? {}
              : { 'messaging.message.id': first.messageId }),
        },
      },
      parent,
    );
    return this.#callTrace(span, parent, stage, queue);
  }

  sourceCall(stage: string): CallTrace {
    const otel = this.#api;
    if (!this.tracing()) return this.#timed(stage, undefined);
    const parent = otel.context.active();
    const span = this.#tracer.startSpan(
      `run ${stage}`,
      { kind: otel.SpanKind.INTERNAL, attributes: { 'sqspipes.stage': stage } },
      parent,
    );
    return this.#callTrace(span, parent, stage, undefined);
  }

  send(queue: string, parent?: CallTrace): SendTrace {
    const otel = this.#api;
    if (!this.tracing()) return NOOP_SEND;
    const base = parent instanceof OtelCall ? parent.context : otel.context.active();
    const span = this.#tracer.startSpan(
      `send ${queue}`,
      {
        kind: otel.SpanKind.PRODUCER,
        attributes: {
          'messaging.system': SYSTEM,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': queue,
        },
      },
      base,
    );
    const carrier: Record<string, string> = {};
    otel.propagation.inject(otel.trace.setSpan(base, span), carrier);
    return {
      carrier: Object.keys(carrier).length === 0 ? undefined : carrier,
      end: (error, sqsMessageId) => {
        if (sqsMessageId !== undefined) span.setAttribute('messaging.message.id', sqsMessageId);
        if (error !== undefined) failSpan(otel, span, error);
        span.end();
      },
    };
  }

  count(outcome: 'processed' | 'failed' | 'dead_lettered', stage: string): void {
    this.#counters[outcome].add(1, { 'sqspipes.stage': stage });
  }

  observeInHand(read: () => Iterable<readonly [string, number]>): void {
    this.#inHand.addCallback((result) => {
      for (const [stage, inHand] of read()) result.observe(inHand, { 'sqspipes.stage': stage });
    });
  }

  #callTrace(
    span: OtelApi.Span,
    parent: OtelApi.Context,
    stage: string,
    queue: string | undefined,
  ): CallTrace {
    const otel = this.#api;
    const started = performance.now();
    const context = otel.trace.setSpan(parent, span);
    return new OtelCall(context, otel, (error) => {
      if (error !== undefined) failSpan(otel, span, error);
      span.end();
      if (this.#metered) {
        this.#duration.record((performance.now() - started) / 1000, durationAttributes(stage, queue, error));
      }
    });
  }
}

class OtelCall implements CallTrace {
  readonly context: OtelApi.Context;
  readonly #otel: typeof OtelApi;
  readonly #end: (error?: unknown) => void;
  #ended = false;

  constructor(context: OtelApi.Context, otel: typeof OtelApi, end: (error?: unknown) => void) {
    this.context = context;
    this.#otel = otel;
    this.#end = end;
  }

  run<T>(fn: () => T): T {
    return this.#otel.context.with(this.context, fn);
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#end(error);
  }
}

function failSpan(otel: typeof OtelApi, span: OtelApi.Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: otel.SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** Attributes of `messaging.process.duration`. */
function durationAttributes(stage: string, queue: string | undefined, error: unknown): OtelApi.Attributes {
  return {
    'messaging.system': SYSTEM,
    'sqspipes.stage': stage,
    ...(queue === undefined ? {} : { 'messaging.destination.name': queue }),
    ...(error === undefined ? {} : { 'error.type': errorType(error) }),
  };
}

/** `error.type`: the error's class name (low cardinality), else `_OTHER`. */
function errorType(error: unknown): string {
  return error instanceof Error ? error.name || error.constructor.name : '_OTHER';
}
