import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@aws-sdk/client-sqs';
import type { Capacity } from './capacity.ts';

/** Messages one receive asks for at most (SQS's limit). */
export const RECEIVE_MAX = 10;
/** Wait of a busy level: short, so that a stop can let the receive finish before handing back. */
export const BUSY_WAIT_SECONDS = 2;
/**
 * Wait of a level's first receive, a look at its queue when the run starts: no wait, so that an
 * empty higher level does not hold up the lower ones (see Scheduler.caughtUp).
 */
const LOOK_WAIT_SECONDS = 0;
/** Pause after a failed receive (SQS unreachable): the stage waits instead of spinning. */
const RETRY_MS = 1000;
/**
 * Visibility an idle level's long poll asks for, in seconds: what it brings is extended to the
 * stage's visibility at once, and a poll abandoned by a stop hides a message this long only.
 */
export const IDLE_LEASE_SECONDS = 2;

export interface PollerHandlers {
  /** Messages of this level in hand (waiting or running). */
  inHand(): number;
  /** Messages waiting for a worker that run before what this level brings (its level or above). */
  waiting(): number;
  /**
   * Said once, the first time a receive comes back with less than it asked for (SQS has no more in
   * sight) or fails: the lower levels need not wait for this one (see Scheduler.caughtUp).
   */
  caughtUp(): void;
  /** Messages received, kept invisible for `visibility` seconds (a short idle lease, or the stage's). */
  messages(messages: Message[], visibility: number): void;
  empty(): void;
  failed(error: unknown): void;
  recovered(): void;
}

/** What a poller receives through. */
export interface ReceiveIo {
  receive(
    url: string,
    max: number,
    waitSeconds: number,
    visibility: number,
    signal: AbortSignal,
  ): Promise<Message[]>;
}

/**
 * Receives from one input queue (one priority level) while there is room in hand. A busy level
 * (its last receive returned messages, or some of its messages are in hand) asks for up to 10
 * messages with a 2 s wait; an idle one long-polls (`waitSeconds(false)`, 20 s by default) for a
 * single message, holding one place, so that an idle higher level never starves a busy lower one.
 *
 * A busy level runs several receives at once (up to `lanes`) while its workers are short of
 * work and SQS has more to give (its last receive came back full), so that one round trip at a
 * time does not cap intake at 10 messages. A receive that came back with less than it asked for
 * found the queue drained: further receives in flight would only split the trickle into more
 * requests (a stage fed slower than it works would make more than one per message), so one lane
 * polls until a receive comes back full again.
 *
 * SQS keeps an abandoned long poll open on its side and gives it whatever becomes visible
 * meanwhile, into an answer nobody reads, hidden for the visibility the poll asked for. So an
 * idle level's long poll asks for a short one ({@link IDLE_LEASE_SECONDS}; the run extends what
 * it brings at once) and a stop abandons it at once; a busy level's receive (2 s) asks for the
 * stage's visibility, and a stop waits for it to end (until the stop's deadline) and hands back
 * what it brings.
 *
 * The first receive of a level is a look at its queue, shaped like a busy one but with no wait: a
 * backlog queued before the run comes in batches at once, and the first time a receive comes back
 * with less than it asked the poller says so ({@link PollerHandlers.caughtUp}).
 */
export class LevelPoller {
  readonly level: number;
  readonly url: string;
  readonly #io: ReceiveIo;
  readonly #capacity: Capacity;
  readonly #visibility: number;
  readonly #lanes: number;
  readonly #waitSeconds: (busy: boolean) => number;
  readonly #on: PollerHandlers;
  readonly #stopped = new AbortController();
  /** Receives in flight, by whether a stop abandons them at once (idle long polls). */
  readonly #receiving = new Map<AbortController, { idle: boolean }>();
  /** Receive loops: lanes beyond the first run only while the level is busy. */
  readonly #loops: Promise<void>[] = [];
  #busy = false;
  /** The last receive brought all it asked for: SQS likely has more. */
  #full = false;
  #wakers: (() => void)[] = [];
  /** The level's first receive (a look at its queue) was made. */
  #looked = false;
  /** {@link PollerHandlers.caughtUp} was said. */
  #caughtUp = false;

  constructor(
    level: number,
    url: string,
    io: ReceiveIo,
    capacity: Capacity,
    options: { visibility: number; lanes: number; waitSeconds: (busy: boolean) => number },
    on: PollerHandlers,
  ) {
    this.level = level;
    this.url = url;
    this.#io = io;
    this.#capacity = capacity;
    this.#visibility = options.visibility;
    this.#lanes = options.lanes;
    this.#waitSeconds = options.waitSeconds;
    this.#on = on;
  }

  start(): void {
    if (this.#loops.length > 0) return;
    for (let lane = 0; lane < this.#lanes; lane++) this.#loops.push(this.#run(lane));
  }

  /**
   * Stops receiving: idle long polls are abandoned at once, busy receives (2 s at most) are
   * waited for until `deadline` aborts. Resolves once no receive of this level is in flight.
   */
  async stop(deadline?: AbortSignal): Promise<void> {
    this.#stopped.abort();
    this.#wake();
    for (const [receive, { idle }] of this.#receiving) if (idle) receive.abort();
    const abandonAll = () => {
      for (const receive of this.#receiving.keys()) receive.abort();
    };
    if (deadline?.aborted === true) abandonAll();
    else deadline?.addEventListener('abort', abandonAll, { once: true });
    try {
      await Promise.all(this.#loops);
    } finally {
      deadline?.removeEventListener('abort', abandonAll);
    }
  }

  /** Busy receives in flight now: those a stop waits for. */
  get busyReceiving(): number {
    let count = 0;
    for (const { idle } of this.#receiving.values()) if (!idle) count++;
    return count;
  }

  async #run(lane: number): Promise<void> {
    const stopped = this.#stopped.signal;
    while (!stopped.aborted) {
      const looking = !this.#looked; // lanes past the first sleep until the look came back
      const busy = looking || this.#busy || this.#on.inHand() > 0;
      // A busy level's lane k receives only while fewer than 10·(k+1) inputs wait for a worker:
      // intake follows the workers' demand. Fast stages get many receives in flight; slow ones keep
      // a small prefetch and leave the rest to other processes. Lanes past the first also need SQS
      // to have more (the last receive came back full). An idle level's first lane always
      // long-polls for one message (a higher level is never kept waiting by a lower backlog).
      const sleeping = busy
        ? this.#on.waiting() >= RECEIVE_MAX * (lane + 1) || (lane > 0 && !this.#full)
        : lane > 0;
      if (sleeping) {
        await new Promise<void>((resolve) => this.#wakers.push(resolve));
        continue;
      }
      // With work already waiting, there is no hurry: wait for room for a full batch.
      const min = busy && this.#on.waiting() > 0 ? RECEIVE_MAX : 1;
      const room = await this.#capacity.reserve(this.level, min, busy ? RECEIVE_MAX : 1, stopped);
      if (room === 0) break;
      this.#looked = true;
      let messages: Message[];
      const visibility = busy ? this.#visibility : Math.min(this.#visibility, IDLE_LEASE_SECONDS);
      const receive = new AbortController();
      this.#receiving.set(receive, { idle: !busy });
      try {
        const wait = looking ? LOOK_WAIT_SECONDS : this.#waitSeconds(busy);
        messages = await this.#io.receive(this.url, room, wait, visibility, receive.signal);
      } catch (error) {
        this.#capacity.received(room, 0);
        if (stopped.aborted) break;
        this.#on.failed(error);
        this.#sayCaughtUp();
        await sleep(RETRY_MS, undefined, { signal: stopped }).catch(() => {});
        continue;
      } finally {
        this.#receiving.delete(receive);
      }
      this.#on.recovered();
      this.#busy = messages.length > 0;
      this.#full = messages.length >= room;
      if (messages.length > 0) {
        this.#wake();
        this.#on.messages(messages, visibility); // in hand (waiting for a worker) before their room is settled
      } else this.#on.empty();
      if (messages.length < room) this.#sayCaughtUp(); // after its messages are in hand
      this.#capacity.received(room, messages.length);
    }
  }

  #sayCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.#on.caughtUp();
  }

  /** Fewer inputs wait for a worker: sleeping lanes look again. */
  wake(): void {
    this.#wake();
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }
}
