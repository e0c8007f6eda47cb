import { sleep } from '../time/timers.ts';
import type { Message } from '@aws-sdk/client-sqs';
import { SqsError } from '../errors.ts';
import type { OutgoingMessage, ReceiptSource, SqsIo } from './sqs-io.ts';

/**
 * The SQS requests of one run, over the client's shared {@link SqsIo}: the run waits for its own
 * requests when it stops, and gives up on its own alone, never on another run's.
 */
export class RunIo {
  readonly #io: SqsIo;
  readonly #giveUp = new AbortController();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(io: SqsIo) {
    this.#io = io;
  }

  /**
   * Aborting `signal` abandons the receive: SQS may still hand the abandoned poll a message and
   * hide it for `visibility` seconds (see the poller). `messageAttributes`: those to return too.
   */
  receive(
    url: string,
    max: number,
    waitSeconds: number,
    visibility: number,
    signal?: AbortSignal,
    messageAttributes?: readonly string[],
  ): Promise<Message[]> {
    return this.#io.receive(url, max, waitSeconds, visibility, signal, { messageAttributes });
  }

  send(url: string, message: OutgoingMessage): Promise<unknown> {
    return this.#track(this.#io.send(url, message, this.#giveUp.signal));
  }

  delete(url: string, message: ReceiptSource): Promise<unknown> {
    return this.#track(this.#io.delete(url, message, this.#giveUp.signal));
  }

  changeVisibility(url: string, message: ReceiptSource, seconds: number): Promise<unknown> {
    return this.#track(this.#io.changeVisibility(url, message, seconds, this.#giveUp.signal));
  }

  /**
   * Waits for this run's requests, retries included. After `timeoutMs` (SQS unreachable) it gives
   * up on those not yet on the wire, as if the process had died: SQS delivers their inputs again.
   * Resolves with the number given up.
   */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const timer = new AbortController();
      const late = sleep(left, timer.signal); // Infinity (shutdownTimeout: never): no timer
      await Promise.race([Promise.allSettled([...this.#pending]), late]);
      timer.abort();
    }
    const abandoned = this.#pending.size;
    if (abandoned > 0) {
      this.#giveUp.abort(
        new SqsError(`SQS did not accept pending requests within ${timeoutMs} ms; giving up on them`),
      );
    }
    return abandoned;
  }

  /** Requests of this run not yet accepted by SQS (retries included). */
  get pending(): number {
    return this.#pending.size;
  }

  #track<T>(request: Promise<T>): Promise<T> {
    this.#pending.add(request);
    const forget = () => this.#pending.delete(request);
    request.then(forget, forget);
    return request;
  }
}
