/**
 * Carries a stage's outputs to the `for await` loop of `run()`, and tells the producer when the
 * consumer has handled each one (it asked for the next, or left the loop): only then is the
 * input acknowledged. Once the consumer leaves, pushes resolve `false` at once.
 */
interface Slot<T> {
  readonly value: T;
  readonly settle: (handled: boolean) => void;
}

export class OutputChannel<T> implements AsyncIterable<T> {
  #buffer: Slot<T>[] = [];
  #wake: (() => void) | undefined;
  #handing: Slot<T> | undefined;
  #ended = false;
  #closed = false;
  #error: unknown;
  #failed = false;

  /** Resolves `true` once the consumer has handled `value`, `false` if it never will. */
  push(value: T): Promise<boolean> {
    if (this.#closed || this.#ended) return Promise.resolve(false);
    return new Promise<boolean>((settle) => {
      this.#buffer.push({ value, settle });
      this.#signal();
    });
  }

  /** No more outputs: the loop ends after the buffered ones, rejecting with `error` if given. */
  end(error?: unknown): void {
    if (error !== undefined && !this.#failed) {
      this.#failed = true;
      this.#error = error;
    }
    this.#ended = true;
    this.#signal();
  }

  /** True once the consumer has left the loop. */
  get closed(): boolean {
    return this.#closed;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    try {
      while (true) {
        this.#handing?.settle(true);
        this.#handing = undefined;
        const slot = this.#buffer.shift();
        if (slot !== undefined) {
          this.#handing = slot;
          yield slot.value;
          continue;
        }
        if (this.#ended) {
          if (this.#failed) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      // The consumer left (break, throw or end): what it got counts as handled, the rest not.
      this.#handing?.settle(true);
      this.#handing = undefined;
      this.#closed = true;
      for (const slot of this.#buffer) slot.settle(false);
      this.#buffer = [];
    }
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
