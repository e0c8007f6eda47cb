import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { startStage } from '../support/spawn.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';

const SCRIPT = fileURLToPath(new URL('../fixtures/traced-pipeline.ts', import.meta.url));

interface SpanLine {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  status: { code: number };
  pid: number;
}

const KIND = { INTERNAL: 0, PRODUCER: 3, CONSUMER: 4 };

function readLines(file: string): SpanLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SpanLine);
}

describe('OpenTelemetry', () => {
  const domain = testDomain('otel');

  it('every item is one trace across the 3 stage processes, by the messaging conventions', async () => {
    const total = 20;
    const dir = tmpdir();
    const files = ['numbers', 'square', 'label'].map((s) => join(dir, `${domain}-${s}.spans`));
    const metricsFile = join(dir, `${domain}-square.metrics`);
    const env = (i: number) => ({
      SQSPIPES_DOMAIN: domain,
      SQSPIPES_SPANS_FILE: files[i] as string,
      ...(i === 1 ? { SQSPIPES_METRICS_FILE: metricsFile } : {}),
    });
    const stages = [
      startStage(SCRIPT, ['numbers', '--limit', String(total)], env(0)),
      startStage(SCRIPT, ['square', '--limit', String(total), '--idle-timeout', '30000'], env(1)),
      startStage(SCRIPT, ['label', '--limit', String(total), '--idle-timeout', '30000'], env(2)),
    ];
    const codes = await Promise.all(stages.map((s) => s.exited));
    expect(codes, stages.map((s) => s.stderr()).join('\n')).toEqual([0, 0, 0]);

    const spans = files.flatMap(readLines);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const traces = new Map<string, SpanLine[]>();
    for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
    expect(traces.size).toBe(total);
    const squareQueue = `${domain}-square-p0.fifo`;
    const labelQueue = `${domain}-label-p0.fifo`;
    for (const [, items] of traces) {
      expect(new Set(items.map((s) => s.pid)).size).toBe(3);
      const names = items.map((s) => s.name).sort();
      expect(names).toEqual(
        [
          'run numbers',
          `send ${squareQueue}`,
          `process ${squareQueue}`,
          'user-work',
          `send ${labelQueue}`,
          `process ${labelQueue}`,
        ].sort(),
      );
      const find = (name: string) => items.find((s) => s.name === name) as SpanLine;
      const parentOf = (name: string) => byId.get(find(name).parentSpanId ?? '')?.name;
      expect(parentOf(`send ${squareQueue}`)).toBe('run numbers');
      expect(parentOf(`process ${squareQueue}`)).toBe(`send ${squareQueue}`);
      expect(parentOf('user-work')).toBe(`process ${squareQueue}`);
      expect(parentOf(`send ${labelQueue}`)).toBe(`process ${squareQueue}`);
      expect(parentOf(`process ${labelQueue}`)).toBe(`send ${labelQueue}`);
      expect(find(`send ${squareQueue}`)).toMatchObject({
        kind: KIND.PRODUCER,
        attributes: {
          'messaging.system': 'aws_sqs',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': squareQueue,
          'messaging.message.id': expect.any(String) as string,
        },
      });
      const processed = find(`process ${labelQueue}`);
      expect(processed).toMatchObject({
        kind: KIND.CONSUMER,
        attributes: {
          'messaging.system': 'aws_sqs',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': labelQueue,
          'sqspipes.stage': 'label',
        },
      });
      // The consumer's message id is the one the producer's send got from SQS.
      expect(processed.attributes['messaging.message.id']).toBe(
        find(`send ${labelQueue}`).attributes['messaging.message.id'],
      );
      expect(find('run numbers').kind).toBe(KIND.INTERNAL);
    }

    const collected = JSON.parse(readFileSync(metricsFile, 'utf8')) as {
      name: string;
      points: { attributes: Record<string, unknown>; value: unknown }[];
    }[];
    const metric = (name: string) => collected.find((m) => m.name === name);
    expect(metric('sqspipes.messages.processed')?.points).toEqual([
      { attributes: { 'sqspipes.stage': 'square' }, value: total },
    ]);
    expect(metric('messaging.process.duration')?.points[0]?.value).toMatchObject({ count: total });
    expect(metric('messaging.process.duration')?.points[0]?.attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'sqspipes.stage': 'square',
    });
    expect(metric('sqspipes.messages.in_hand')?.points[0]).toMatchObject({
      attributes: { 'sqspipes.stage': 'square' },
      value: expect.any(Number) as number,
    });
  });

  it('without a provider nothing is recorded: no trace context in the messages', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const client = new TaskClient({ domain, endpoint, region, credentials });
    client.registerTasks([
      { name: 'numbers', method: () => 1 },
      { name: 'square', method: (n: number) => n },
    ]);
    const raw = rawClient();
    try {
      await client.enqueue('square', 7);
      const url = (await client.queues()).find((q) => q.name === `${domain}-square-p0.fifo`)?.url;
      const out = await raw.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
      const body = JSON.parse(out.Messages?.[0]?.Body ?? '{}') as Record<string, unknown>;
      expect(body['d']).toBe(7);
      expect(body).not.toHaveProperty('tc');
    } finally {
      raw.destroy();
      await client.close();
    }
  });
});
