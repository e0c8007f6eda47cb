import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { TaskEvents } from '../../src/events.ts';
import type { RunIo } from '../../src/sqs/run-io.ts';
import type { ReceiptSource } from '../../src/sqs/sqs-io.ts';
import { resolveStages } from '../../src/stage.ts';
import { Capacity } from '../../src/worker/capacity.ts';
import { Delivery, type DeliveryDeps } from '../../src/worker/delivery.ts';
import { Heartbeat } from '../../src/worker/heartbeat.ts';
import { Intake } from '../../src/worker/intake.ts';

/** Our own SQS layer, faked: receives answer from a script, the rest is recorded. */
class ScriptedIo {
  readonly calls: string[] = [];
  readonly #answers: ((messages: Message[]) => void)[] = [];
  receive(): Promise<Message[]> {
    return new Promise((resolve) => this.#answers.push(resolve));
  }
  /** Answers the oldest receive in flight. */
  async answer(messages: Message[]): Promise<void> {
    while (this.#answers.length === 0) await new Promise((resolve) => setImmediate(resolve));
    this.#answers.shift()?.(messages);
    await new Promise((resolve) => setImmediate(resolve));
  }
  delete(_url: string, message: ReceiptSource): Promise<unknown> {
    this.calls.push(`delete ${message.receiptHandle}`);
    return Promise.resolve();
  }
  changeVisibility(_url: string, message: ReceiptSource, seconds: number): Promise<unknown> {
    this.calls.push(`visibility ${message.receiptHandle} ${seconds}`);
    return Promise.resolve();
  }
}

const envelope = (id: string) => JSON.stringify({ v: 1, id, p: 0, d: id });

function wire() {
  const [, stage] = resolveStages('d', [
    { name: 'src', method: () => null },
    { name: 'work', method: (x: unknown) => x },
  ]);
  const io = new ScriptedIo();
  const state = { stopping: false };
  const scheduled: Delivery[] = [];
  const capacity = new Capacity(20);
  const wiring: { intake?: Intake } = {};
  const heartbeat = new Heartbeat(io, 30, () => {});
  const deps: DeliveryDeps & { heartbeat: Heartbeat } = {
    stage: stage!,
    io: io as unknown as RunIo,
    heartbeat,
    events: new TaskEvents(),
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    stopping: () => state.stopping,
    failFast: undefined,
    deadLetterUrl: () => Promise.resolve('dlq'),
    ended: (d, outcome) => {
      capacity.release(1);
      wiring.intake?.ended(d, outcome);
    },
    retry: () => {},
  };
  const intake = new Intake({
    io,
    capacity,
    queues: [{ level: 0, url: 'q' }],
    visibility: 30,
    lanes: 1,
    waitSeconds: () => 1,
    extend: () => {},
    deliver: (url, level, message, env) => new Delivery(url, level, message, env, deps),
    schedule: (deliveries) => scheduled.push(...deliveries),
    stopping: () => state.stopping,
    quota: () => Number.POSITIVE_INFINITY,
    waiting: () => 0,
    caughtUp: () => {},
    on: { received() {}, empty() {}, failed() {}, recovered() {} },
  });
  wiring.intake = intake;
  intake.start();
  return { io, state, scheduled, deps };
}

describe('Intake', () => {
  it('deletes, never hands back, a copy of an input acknowledged in this run, even while stopping', async () => {
    const { io, state, scheduled, deps } = wire();
    await io.answer([{ MessageId: 'm1', ReceiptHandle: 'h1', Body: envelope('e1') }]);
    const [first] = scheduled;
    first?.begin();
    first?.acknowledge(1);
    expect(io.calls).toEqual(['delete h1']);
    state.stopping = true; // the run stops; a receive still in flight brings the same message again
    await io.answer([{ MessageId: 'm1', ReceiptHandle: 'h2', Body: envelope('e1') }]);
    expect(io.calls).toEqual(['delete h1', 'delete h2']);
    expect(scheduled).toHaveLength(1);
    deps.heartbeat.stop();
  });

  it('takes a message it handed back, returned by a receive before the hand-back answered, as a new delivery', async () => {
    // SQS promises no order between the answers of concurrent calls (seen on ElasticMQ).
    const { io, scheduled, deps } = wire();
    await io.answer([{ MessageId: 'm1', ReceiptHandle: 'h1', Body: envelope('e1') }]);
    const [first] = scheduled;
    first?.release(); // visibility 0 sent; its answer has not come back yet
    await io.answer([{ MessageId: 'm1', ReceiptHandle: 'h2', Body: envelope('e1') }]);
    expect(scheduled).toHaveLength(2);
    const second = scheduled[1];
    expect(second).not.toBe(first);
    expect(second?.receiptHandle).toBe('h2');
    expect(second?.state).toBe('waiting'); // it will run, not be dropped as a copy of the first
    expect(io.calls).toEqual(['visibility h1 0']);
    second?.release();
    deps.heartbeat.stop();
  });
});
