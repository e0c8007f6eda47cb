/**
 * Bounds the messages in hand (running and prefetched). Receivers reserve room before they ask
 * SQS for messages; when room frees up, waiting receivers of higher priority levels go first.
 */
interface Waiter {
  readonly level: number;
  readonly max: number;
  readonly resolve: (granted: number) => void;
}

export class Capacity {
  readonly #limit: number;
  #used = 0;
  #waiters: Waiter[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Waits for room, then reserves up to `max` places (at least 1). Resolves 0 if aborted. */
  reserve(level: number, max: number, signal: AbortSignal): Promise<number> {
    if (signal.aborted) return Promise.resolve(0);
    const free = this.#limit - this.#used;
    if (free > 0 && this.#waiters.length === 0) return Promise.resolve(this.#take(max));
    return new Promise<number>((resolve) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(0);
      };
      const waiter: Waiter = {
        level,
        max,
        resolve: (granted) => {
          signal.removeEventListener('abort', onAbort);
          resolve(granted);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#waiters.sort((a, b) => b.level - a.level);
    });
  }

  /** Gives back `count` places and lets waiting receivers in. */
  release(count: number): void {
    this.#used = Math.max(0, this.#used - count);
    while (this.#waiters.length > 0 && this.#used < this.#limit) {
      const waiter = this.#waiters.shift() as Waiter;
      waiter.resolve(this.#take(waiter.max));
    }
  }

  get used(): number {
    return this.#used;
  }

  #take(max: number): number {
    const granted = Math.max(1, Math.min(max, this.#limit - this.#used));
    this.#used += granted;
    return granted;
  }
}
