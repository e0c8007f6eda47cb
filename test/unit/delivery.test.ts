import type { Message } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StageError } from '../../src/errors.ts';
import { TaskEvents } from '../../src/events.ts';
import type { RunIo } from '../../src/sqs/run-io.ts';
import type { ReceiptSource } from '../../src/sqs/sqs-io.ts';
import { resolveStages } from '../../src/stage.ts';
import { Delivery, type DeliveryDeps, type Outcome } from '../../src/worker/delivery.ts';
import { Heartbeat, MAX_LEASE_MS } from '../../src/worker/heartbeat.ts';

/** Our own SQS layer, faked: records what a delivery asks of it. */
class FakeIo {
  readonly calls: string[] = [];
  deleteFails = false;
  delete(url: string, message: ReceiptSource): Promise<unknown> {
    this.calls.push(`delete ${message.receiptHandle}`);
    return this.deleteFails ? Promise.reject(new Error('receipt handle expired')) : Promise.resolve();
  }
  changeVisibility(url: string, message: ReceiptSource, seconds: number): Promise<unknown> {
    this.calls.push(`visibility ${message.receiptHandle} ${seconds}`);
    return Promise.resolve();
  }
  send(url: string): Promise<unknown> {
    this.calls.push(`send ${url}`);
    return Promise.resolve();
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function setup(stageOptions: Record<string, unknown> = {}) {
  const [, stage] = resolveStages('d', [
    { name: 'src', method: () => null },
    { name: 'work', method: (x: unknown) => x, ...stageOptions },
  ]);
  const io = new FakeIo();
  const events = new TaskEvents();
  const seen: string[] = [];
  for (const name of [
    'processed',
    'failed',
    'retried',
    'deadLettered',
    'visibilityLimit',
    'error',
  ] as const) {
    events.on(name, () => seen.push(name));
  }
  const ended: Outcome[] = [];
  const retried: Delivery[] = [];
  const deps: DeliveryDeps = {
    stage: stage!,
    io: io as unknown as RunIo,
    heartbeat: new Heartbeat(io, 30, () => {}),
    events,
    logger: silent,
    stopping: () => false,
    failFast: undefined,
    deadLetterUrl: () => Promise.resolve('dlq'),
    ended: (_d, outcome) => ended.push(outcome),
    retry: (d) => retried.push(d),
  };
  const message: Message = { MessageId: 'm1', ReceiptHandle: 'h1', Body: '{}', Attributes: {} };
  const delivery = new Delivery('input', 0, message, { id: 'e1', value: 1 }, deps);
  return { delivery, io, seen, ended, retried, deps };
}

const failure = () => new StageError('work', 'm1', new Error('boom'));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Delivery', () => {
  it('is acknowledged once; `processed` only after SQS confirmed the delete', async () => {
    const { delivery, io, seen, ended } = setup();
    delivery.begin();
    delivery.acknowledge(1);
    delivery.acknowledge(1);
    delivery.release();
    expect(ended).toEqual(['acked']);
    expect(io.calls).toEqual(['delete h1']);
    await vi.runAllTimersAsync();
    expect(seen).toEqual(['processed']);
  });

  it('emits no `processed` when the delete fails', async () => {
    const { delivery, io, seen } = setup();
    io.deleteFails = true;
    delivery.begin();
    delivery.acknowledge(1);
    await vi.runAllTimersAsync();
    expect(seen).toEqual(['error']);
  });

  it('reads the latest receipt handle when a delete is sent (SQS delivered it again meanwhile)', () => {
    const { delivery, io } = setup();
    delivery.begin();
    delivery.renew({ MessageId: 'm1', ReceiptHandle: 'h2', Attributes: { ApproximateReceiveCount: '2' } });
    delivery.acknowledge(1);
    expect(io.calls).toEqual(['delete h2']);
    expect(delivery.receiveCount).toBe(2);
  });

  it('retries a failed input in hand after its delay, then dead-letters it after the last attempt', async () => {
    const { delivery, io, seen, ended, retried } = setup({ retries: 1, retryDelay: 500 });
    delivery.begin();
    delivery.fail(failure());
    expect(delivery.state).toBe('backoff');
    expect(io.calls).toEqual([]); // not handed back: no receive count spent
    await vi.advanceTimersByTimeAsync(499);
    expect(retried).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(retried).toEqual([delivery]);
    delivery.begin();
    expect(delivery.attempts).toBe(2);
    delivery.fail(failure());
    await vi.runAllTimersAsync();
    expect(io.calls).toEqual(['send dlq', 'delete h1']);
    expect(ended).toEqual(['dead-lettered']);
    expect(seen).toEqual(['failed', 'retried', 'failed', 'deadLettered']);
  });

  it('does not start a retry before the timed-out call it follows has returned', async () => {
    const { delivery, retried } = setup({ retries: 1, retryDelay: 0 });
    let finish!: () => void;
    delivery.begin();
    delivery.runsUntil(new Promise<void>((resolve) => (finish = resolve)));
    delivery.fail(failure());
    await vi.advanceTimersByTimeAsync(1000);
    expect(retried).toEqual([]);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(retried).toEqual([delivery]);
  });

  it('hands a failed input back with its delay when the run is stopping, and a waiting one at once', () => {
    const { delivery, io, ended, deps } = setup({ retries: 2, retryDelay: 5000 });
    (deps as { stopping: () => boolean }).stopping = () => true;
    delivery.begin();
    delivery.fail(failure());
    expect(io.calls).toEqual(['visibility h1 5']);
    expect(ended).toEqual(['released']);
  });

  it('falls back to 1 s when retryDelay returns something unusable, and says so', () => {
    const { delivery, seen } = setup({ retries: 1, retryDelay: () => Number.NaN });
    delivery.begin();
    delivery.fail(failure());
    expect(delivery.state).toBe('backoff');
    expect(seen).toEqual(['failed', 'error', 'retried']);
  });

  it('hands back, clamped to the lease left, a retry delay that would pass the 12-hour limit', () => {
    const { delivery, io } = setup({ retries: 1, retryDelay: 11 * 60 * 60 * 1000 });
    vi.setSystemTime(Date.now() + 2 * 60 * 60 * 1000); // in hand for 2 h already
    delivery.begin();
    delivery.fail(failure());
    const [call] = io.calls;
    const seconds = Number(call?.split(' ')[2]);
    expect(call).toMatch(/^visibility h1 /);
    expect(seconds).toBeLessThanOrEqual((MAX_LEASE_MS - 2 * 60 * 60 * 1000) / 1000);
    expect(seconds).toBeGreaterThan(9 * 60 * 60);
  });

  it('aborts its call signal and says so when the heartbeat reaches the 12-hour limit', async () => {
    const { delivery, io, seen } = setup();
    delivery.begin();
    vi.setSystemTime(delivery.receivedAt + MAX_LEASE_MS - 20_000);
    delivery.leaseUntil = Date.now(); // due for an extension
    await vi.advanceTimersByTimeAsync(10_000); // one heartbeat tick
    expect(delivery.cappedStop.aborted).toBe(true);
    expect(seen).toContain('visibilityLimit');
    const extension = io.calls.find((c) => c.startsWith('visibility'));
    expect(Number(extension?.split(' ')[2])).toBeLessThan(20);
    delivery.acknowledge(0);
  });
});
