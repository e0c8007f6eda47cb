/**
 * The permit gauges of a client (src/observe/client-metrics.ts, otel-telemetry.ts):
 * `sqspipes.permits.held` and `sqspipes.permits.waiting`, by stage and limit, summed over the
 * client's runs of a stage, read from each run's `limitStats` whenever the meter collects. The runs
 * here are stand-ins with their figures; the integration test (status-limits.test.ts) reads them
 * from real runs.
 */
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskEvents } from '../../src/events.ts';
import {
  type MeteredRun,
  observeClient,
  permitReadings,
  timerReadings,
} from '../../src/observe/client-metrics.ts';
import { loadTelemetry } from '../../src/observe/otel-telemetry.ts';

class Reader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const reader = new Reader();

beforeAll(() => {
  // Before loadTelemetry: the metrics API has no proxy (each test file runs in its own process).
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});

afterAll(() => {
  metrics.disable();
});

const permits = (held: number, waiting: number) => ({ limit: 5, held, waiting, acquired: held });

async function points(name: string): Promise<{ attributes: unknown; value: unknown }[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value }));
}

describe('permit gauges', () => {
  it('sums the runs of a stage by limit; a run without limits (a source) adds nothing', () => {
    const active = new Map<MeteredRun, string>([
      [{ inHand: 0, limitStats: { rate: permits(3, 1), slots: permits(2, 4) } }, 'work'],
      [{ inHand: 0, limitStats: { slots: permits(1, 0) } }, 'work'],
      [{ inHand: 0, limitStats: {} }, 'sink'],
      [{ inHand: 0 }, 'source'],
    ]);
    expect(permitReadings(active)).toEqual([
      { stage: 'work', kind: 'rate', held: 3, waiting: 1 },
      { stage: 'work', kind: 'slots', held: 3, waiting: 4 },
    ]);
  });

  it('reports them to the meter, read at each collection, by the stage and kind attributes', async () => {
    const telemetry = await loadTelemetry();
    const run = { inHand: 2, limitStats: { slots: permits(2, 3) } };
    const active = new Map([[run, 'work']]);
    observeClient(telemetry, new TaskEvents(), active);
    const attributes = { 'sqspipes.stage': 'work', 'sqspipes.permit.kind': 'slots' };
    expect(await points('sqspipes.permits.held')).toEqual([{ attributes, value: 2 }]);
    expect(await points('sqspipes.permits.waiting')).toEqual([{ attributes, value: 3 }]);
    run.limitStats = { slots: permits(1, 0) };
    expect(await points('sqspipes.permits.held')).toEqual([{ attributes, value: 1 }]);
    expect(await points('sqspipes.permits.waiting')).toEqual([{ attributes, value: 0 }]);
    expect(await points('sqspipes.messages.in_hand')).toEqual([
      { attributes: { 'sqspipes.stage': 'work' }, value: 2 },
    ]);
  });
});

describe('timer gauges', () => {
  it('reads each stage once (its runs share its queue of timers), with the seconds to the next due', () => {
    const now = 1_000_000;
    const active = new Map<MeteredRun, string>([
      [{ inHand: 0, timerStats: { waiting: 3, nextDue: now + 90_000 } }, 'remind'],
      [{ inHand: 0, timerStats: { waiting: 3, nextDue: now + 90_000 } }, 'remind'],
      [{ inHand: 0, timerStats: { waiting: 0, nextDue: undefined } }, 'sink'],
      [{ inHand: 0 }, 'source'],
    ]);
    expect(timerReadings(active, now)).toEqual([
      { stage: 'remind', waiting: 3, nextDueIn: 90 },
      { stage: 'sink', waiting: 0, nextDueIn: undefined },
    ]);
  });

  it('reports them to the meter: sqspipes.timers.waiting, and .next_due when one was seen', async () => {
    const telemetry = await loadTelemetry();
    const active = new Map<MeteredRun, string>([
      [{ inHand: 0, timerStats: { waiting: 2, nextDue: Date.now() + 60_000 } }, 'remind'],
    ]);
    observeClient(telemetry, new TaskEvents(), active);
    const attributes = { 'sqspipes.stage': 'remind' };
    expect(await points('sqspipes.timers.waiting')).toEqual([{ attributes, value: 2 }]);
    const [due] = await points('sqspipes.timers.next_due');
    expect(due?.attributes).toEqual(attributes);
    expect(due?.value).toBeGreaterThan(50);
  });
});
