import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '@aws-sdk/client-sqs';
import type { SqsIo } from '../sqs/sqs-io.ts';
import type { Capacity } from './capacity.ts';

/** Messages one receive asks for at most (SQS's limit). */
export const RECEIVE_MAX = 10;
/** Long poll of an idle level: at most ~3 requests a minute while nothing arrives. */
const IDLE_WAIT_SECONDS = 20;
/** Wait of a busy level: short, so that a stop can let the receive finish before handing back. */
const BUSY_WAIT_SECONDS = 2;
/** Pause after a failed receive (SQS unreachable): the stage waits instead of spinning. */
const RETRY_MS = 1000;

export interface PollerHandlers {
  /** Messages of this level in hand (waiting or running). */
  inHand(): number;
  messages(messages: Message[]): void;
  empty(): void;
  failed(error: unknown): void;
  recovered(): void;
}

/**
 * Receives from one input queue (one priority level) while there is room in hand. A busy level
 * (its last receive returned messages, or some of its messages are in hand) asks for up to 10
 * messages with a 2 s wait; an idle one long-polls 20 s for a single message, holding one place,
 * so that an idle higher level never starves a busy lower one.
 *
 * Stopping lets a short receive finish (its messages are handed back by the caller) and aborts a
 * long one. SQS keeps an aborted long poll open on its side until its wait ends, and gives it
 * any message that becomes visible meanwhile (nobody reads that answer, so the message stays
 * hidden for its visibility timeout). A long poll starts only when nothing of this level is in
 * hand, so no message of ours is handed back into one; {@link releaseDelay} guards the rest.
 */
export class LevelPoller {
  readonly level: number;
  readonly url: string;
  readonly #io: SqsIo;
  readonly #capacity: Capacity;
  readonly #visibility: number;
  readonly #on: PollerHandlers;
  readonly #stopped = new AbortController();
  #receive: { readonly aborter: AbortController; readonly until: number; readonly long: boolean } | undefined;
  #deadUntil = 0;
  #busy = false;
  #loop: Promise<void> | undefined;

  constructor(
    level: number,
    url: string,
    io: SqsIo,
    capacity: Capacity,
    visibility: number,
    on: PollerHandlers,
  ) {
    this.level = level;
    this.url = url;
    this.#io = io;
    this.#capacity = capacity;
    this.#visibility = visibility;
    this.#on = on;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops receiving; resolves once no receive of this poller is in flight on our side. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    const receive = this.#receive;
    if (receive?.long === true) {
      this.#deadUntil = receive.until;
      receive.aborter.abort();
    }
    await this.#loop;
  }

  /** Seconds to keep a message handed back to this queue hidden, to outlive an aborted long poll. */
  releaseDelay(): number {
    return Math.max(0, Math.ceil((this.#deadUntil - Date.now()) / 1000));
  }

  async #run(): Promise<void> {
    const stopped = this.#stopped.signal;
    while (!stopped.aborted) {
      const busy = this.#busy || this.#on.inHand() > 0;
      const want = busy ? RECEIVE_MAX : 1;
      const room = await this.#capacity.reserve(this.level, want, stopped);
      if (room === 0) break;
      const wait = busy ? BUSY_WAIT_SECONDS : IDLE_WAIT_SECONDS;
      const aborter = new AbortController();
      this.#receive = { aborter, until: Date.now() + wait * 1000, long: wait > BUSY_WAIT_SECONDS };
      let messages: Message[];
      try {
        messages = await this.#io.receive(this.url, room, wait, this.#visibility, aborter.signal);
      } catch (error) {
        this.#capacity.release(room);
        if (stopped.aborted) break;
        this.#on.failed(error);
        await sleep(RETRY_MS, undefined, { signal: stopped }).catch(() => {});
        continue;
      } finally {
        this.#receive = undefined;
      }
      this.#on.recovered();
      this.#capacity.release(room - messages.length);
      this.#busy = messages.length > 0;
      if (messages.length > 0) this.#on.messages(messages);
      else this.#on.empty();
    }
  }
}
