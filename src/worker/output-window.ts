/**
 * Bounds the outputs a run has produced and not yet seen through: sent to SQS and handed to the
 * consumer. A producer (a method's fan-out or generator, the source's loop) waits for room before
 * each output, so a stage that produces faster than SQS accepts or the consumer reads is paused,
 * not buffered without limit.
 */
/** Outputs a run may have produced and not yet sent and handed over. */
export const OUTPUT_WINDOW = 1000;

export class OutputWindow {
  readonly #size: number;
  #open = 0;
  #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Resolves when one more output may be produced (at once while there is room). */
  admit(): Promise<void> | undefined {
    if (this.#open < this.#size) {
      this.#open++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** An admitted output has been seen through (or given up): its room goes to the next producer. */
  done(): void {
    const next = this.#waiting.shift();
    if (next !== undefined)
      next(); // the room passes on as it is
    else this.#open--;
  }

  /** Outputs admitted and not yet done. */
  get open(): number {
    return this.#open;
  }
}
