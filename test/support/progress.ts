/** Counts the outputs of a chaos test's last stage, and wakes whoever waits for a count. */
export class Progress {
  count = 0;
  #waiters: { count: number; resolve: () => void }[] = [];

  add(): void {
    this.count++;
    for (const w of this.#waiters.filter((w) => this.count >= w.count)) w.resolve();
    this.#waiters = this.#waiters.filter((w) => this.count < w.count);
  }

  /** Resolves once `count` outputs arrived, or `stop` aborted. */
  until(count: number, stop: AbortSignal): Promise<void> {
    if (this.count >= count || stop.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      stop.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}
