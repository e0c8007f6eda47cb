import type { Message } from '@aws-sdk/client-sqs';
import { expect, it } from 'vitest';
import { Capacity } from '../../src/worker/capacity.ts';
import { LevelPoller } from '../../src/worker/poller.ts';

/** Receives answered by the test, oldest first; records what each asked for. */
class ScriptedReceives {
  readonly asked: number[] = [];
  readonly waits: number[] = [];
  readonly #answers: { resolve: (messages: Message[]) => void; reject: (error: Error) => void }[] = [];
  receive(_url: string, max: number, waitSeconds: number): Promise<Message[]> {
    this.asked.push(max);
    this.waits.push(waitSeconds);
    return new Promise((resolve, reject) => this.#answers.push({ resolve, reject }));
  }
  get inFlight(): number {
    return this.#answers.length;
  }
  /** Answers the oldest receive in flight with `count` messages, then lets the poller react. */
  async answer(count: number): Promise<void> {
    while (this.#answers.length === 0) await settle();
    this.#answers.shift()?.resolve(messages(count));
    await settle();
  }
  /** Fails the oldest receive in flight. */
  async fail(): Promise<void> {
    while (this.#answers.length === 0) await settle();
    this.#answers.shift()?.reject(new Error('unreachable'));
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
  const said = { caughtUp: 0 };
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
      caughtUp() {
        said.caughtUp++;
      },
    },
  );
  return { io, level, said };
}

it('a busy level runs one receive while SQS gives less than asked, and more once a receive comes back full', async () => {
  const { io, level } = poller(4);
  level.start();
  await settle();
  expect(io.asked).toEqual([10]); // the look at the queue when the run starts
  await io.answer(0); // nothing there
  expect(io.inFlight).toBe(1); // idle: one long poll for one message
  expect(io.asked).toEqual([10, 1]);
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

it('looks at its queue first (a batch, no wait) and says once when SQS has no more in sight', async () => {
  const { io, level, said } = poller(1);
  level.start();
  await settle();
  expect(io.asked).toEqual([10]);
  expect(io.waits).toEqual([0]); // an empty higher level holds the lower ones for one round trip only
  await io.answer(10); // full: there may be more
  expect(said.caughtUp).toBe(0);
  expect(io.waits).toEqual([0, 2]); // busy now
  await io.answer(4); // less than asked: caught up
  expect(said.caughtUp).toBe(1);
  await io.answer(0);
  await io.answer(3);
  expect(said.caughtUp).toBe(1); // said once
  const stopped = level.stop();
  await io.answer(0);
  await stopped;
});

it('says it caught up when its receive fails (a level SQS does not answer holds no other)', async () => {
  const { io, level, said } = poller(1);
  level.start();
  await io.fail();
  expect(said.caughtUp).toBe(1);
  await level.stop();
});
