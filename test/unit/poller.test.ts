import type { Message } from '@aws-sdk/client-sqs';
import { expect, it } from 'vitest';
import { Capacity } from '../../src/worker/capacity.ts';
import { LevelPoller } from '../../src/worker/poller.ts';

/** Receives answered by the test, oldest first; records what each asked for. */
class ScriptedReceives {
  readonly asked: number[] = [];
  readonly #answers: ((messages: Message[]) => void)[] = [];
  receive(_url: string, max: number): Promise<Message[]> {
    this.asked.push(max);
    return new Promise((resolve) => this.#answers.push(resolve));
  }
  get inFlight(): number {
    return this.#answers.length;
  }
  /** Answers the oldest receive in flight with `count` messages, then lets the poller react. */
  async answer(count: number): Promise<void> {
    while (this.#answers.length === 0) await settle();
    this.#answers.shift()?.(messages(count));
    await settle();
  }
}

let seq = 0;
const messages = (count: number): Message[] =>
  Array.from({ length: count }, () => ({ MessageId: `m${++seq}`, ReceiptHandle: `h${seq}`, Body: '{}' }));
const settle = () => new Promise((resolve) => setImmediate(resolve));

function poller(lanes: number) {
  const io = new ScriptedReceives();
  const capacity = new Capacity(1000);
  let inHand = 0;
  const level = new LevelPoller(
    0,
    'q',
    io,
    capacity,
    { visibility: 30, lanes, waitSeconds: (busy) => (busy ? 2 : 20) },
    {
      inHand: () => inHand,
      waiting: () => 0, // the workers take everything at once: always short of work
      messages: (got) => {
        inHand += got.length;
      },
      empty() {},
      failed() {},
      recovered() {},
    },
  );
  return { io, level };
}

it('a busy level runs one receive while SQS gives less than asked, and more once a receive comes back full', async () => {
  const { io, level } = poller(4);
  level.start();
  await settle();
  expect(io.inFlight).toBe(1); // idle: one long poll for one message
  expect(io.asked).toEqual([1]);
  await io.answer(1); // full: SQS may have more, the level is busy
  expect(io.inFlight).toBe(4);
  for (let i = 0; i < 4; i++) await io.answer(3); // each came back with 3 of 10: the queue is drained
  expect(io.inFlight).toBe(1); // one lane goes on; the others wait for a full receive
  await io.answer(2);
  expect(io.inFlight).toBe(1);
  await io.answer(10); // full again: a backlog, open the lanes
  expect(io.inFlight).toBe(4);
  const stopped = level.stop();
  for (let i = 0; i < 4; i++) await io.answer(0);
  await stopped;
});
