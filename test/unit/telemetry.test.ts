import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTelemetry } from '../../src/observe/otel-telemetry.ts';
import type { Telemetry } from '../../src/observe/telemetry.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  telemetry = await loadTelemetry();
});

afterAll(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

const spanNamed = (name: string) => exporter.getFinishedSpans().find((s) => s.name === name);

describe('telemetry (OpenTelemetry API present, provider registered)', () => {
  it("a call's span is the child of the span that sent its input; a failed call records its error type", () => {
    exporter.reset();
    const send = telemetry.send('app-a-p0.fifo');
    expect(send.carrier?.['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    send.end(undefined, 'sqs-id-1');
    const call = telemetry.call('a', () => [
      { queue: 'app-a-p0.fifo', messageId: 'sqs-id-1', carrier: send.carrier },
    ]);
    const inner = call.run(() => trace.getActiveSpan());
    call.end(new TypeError('bad input'));
    const sent = spanNamed('send app-a-p0.fifo');
    const processed = spanNamed('process app-a-p0.fifo');
    expect(processed?.parentSpanContext?.spanId).toBe(sent?.spanContext().spanId);
    expect(processed?.spanContext().traceId).toBe(sent?.spanContext().traceId);
    expect(inner?.spanContext().spanId).toBe(processed?.spanContext().spanId);
    expect(processed?.attributes).toMatchObject({
      'messaging.message.id': 'sqs-id-1',
      'error.type': 'TypeError',
    });
    expect(processed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(sent?.attributes['messaging.message.id']).toBe('sqs-id-1');
  });

  it("a batch call links to each input's sender instead of a parent", () => {
    exporter.reset();
    const a = telemetry.send('app-b-p0.fifo');
    const b = telemetry.send('app-b-p0.fifo');
    a.end();
    b.end();
    const call = telemetry.call('b', () => [
      { queue: 'app-b-p0.fifo', messageId: '1', carrier: a.carrier },
      { queue: 'app-b-p0.fifo', messageId: '2', carrier: b.carrier },
    ]);
    call.end();
    const processed = spanNamed('process app-b-p0.fifo');
    expect(processed?.parentSpanContext).toBeUndefined();
    expect(processed?.links).toHaveLength(2);
    expect(processed?.attributes['messaging.batch.message_count']).toBe(2);
  });

  it("a join's call is a span inside the call's, linked to the senders of the item's branches", () => {
    exporter.reset();
    const branches = [telemetry.send('app-j-p0.fifo'), telemetry.send('app-j-p0.fifo')];
    for (const b of branches) b.end();
    const call = telemetry.call('gather', () => [
      { queue: 'app-gather-p0.fifo', messageId: '1', carrier: branches[1]?.carrier },
    ]);
    const carriers = branches.flatMap((b) => (b.carrier === undefined ? [] : [b.carrier]));
    const joined = call.run(() => telemetry.joined('gather', carriers));
    const active = joined.run(() => trace.getActiveSpan());
    joined.end();
    call.end();
    const join = spanNamed('join gather');
    const processed = spanNamed('process app-gather-p0.fifo');
    expect(join?.parentSpanContext?.spanId).toBe(processed?.spanContext().spanId);
    expect(active?.spanContext().spanId).toBe(join?.spanContext().spanId);
    expect(join?.links.map((l) => l.context.spanId)).toEqual(
      branches.map((b) => b.carrier?.['traceparent']?.split('-')[2]),
    );
  });
});
