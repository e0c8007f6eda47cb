/**
 * The OpenTelemetry implementation of {@link Telemetry} (see telemetry.ts for what is recorded),
 * loaded only when `@opentelemetry/api` is installed.
 */
import type * as OtelApi from '@opentelemetry/api';
import {
  type CallTrace,
  NO_TELEMETRY,
  NOOP_CALL,
  NOOP_SEND,
  type PermitsReading,
  type TimersReading,
  type SendTrace,
  type Telemetry,
  type TraceCarrier,
  type TracedInput,
} from './telemetry.ts';

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
  readonly #meter: OtelApi.Meter;
  readonly #permitsHeld: OtelApi.ObservableGauge;
  readonly #permitsWaiting: OtelApi.ObservableGauge;
  readonly #timersWaiting: OtelApi.ObservableGauge;
  readonly #timersNextDue: OtelApi.ObservableGauge;

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
    this.#meter = meter;
    this.#permitsHeld = meter.createObservableGauge('sqspipes.permits.held', {
      unit: '{permit}',
      description:
        'Permits of a fleet-wide limit held here: slots of calls running (maxConcurrency), or rate permits used within the last period (rateLimit)',
    });
    this.#permitsWaiting = meter.createObservableGauge('sqspipes.permits.waiting', {
      unit: '{call}',
      description: 'Calls waiting here for a permit of a fleet-wide limit (rateLimit, maxConcurrency)',
    });
    this.#timersWaiting = meter.createObservableGauge('sqspipes.timers.waiting', {
      unit: '{item}',
      description:
        "Items for later in a stage's queue of timers, as this process's sweeps saw them within the last hop (15 minutes)",
    });
    this.#timersNextDue = meter.createObservableGauge('sqspipes.timers.next_due', {
      unit: 's',
      description: 'Seconds until the next item for later of a stage is due, among those this process saw',
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

  joined(stage: string, carriers: readonly TraceCarrier[]): CallTrace {
    const otel = this.#api;
    if (!this.tracing()) return NOOP_CALL;
    const links = carriers.flatMap((carrier) => {
      const context = otel.trace.getSpanContext(otel.propagation.extract(otel.ROOT_CONTEXT, carrier));
      return context === undefined ? [] : [{ context }];
    });
    const parent = otel.context.active();
    const span = this.#tracer.startSpan(
      `join ${stage}`,
      {
        kind: otel.SpanKind.INTERNAL,
        links,
        attributes: { 'sqspipes.stage': stage },
      },
      parent,
    );
    return new OtelCall(otel.trace.setSpan(parent, span), otel, (error) => {
      if (error !== undefined) failSpan(otel, span, error);
      span.end();
    });
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

  observePermits(read: () => Iterable<PermitsReading>): void {
    const held = this.#permitsHeld;
    const waiting = this.#permitsWaiting;
    // One reading for both gauges.
    this.#meter.addBatchObservableCallback(
      (result) => {
        for (const r of read()) {
          const attributes = { 'sqspipes.stage': r.stage, 'sqspipes.permit.kind': r.kind };
          result.observe(held, r.held, attributes);
          result.observe(waiting, r.waiting, attributes);
        }
      },
      [held, waiting],
    );
  }

  observeTimers(read: () => Iterable<TimersReading>): void {
    const waiting = this.#timersWaiting;
    const nextDue = this.#timersNextDue;
    this.#meter.addBatchObservableCallback(
      (result) => {
        for (const r of read()) {
          const attributes = { 'sqspipes.stage': r.stage };
          result.observe(waiting, r.waiting, attributes);
          if (r.nextDueIn !== undefined) result.observe(nextDue, r.nextDueIn, attributes);
        }
      },
      [waiting, nextDue],
    );
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
