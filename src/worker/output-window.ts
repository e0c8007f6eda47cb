/**
 * Bounds the outputs a run has produced and not yet seen through: sent to SQS and handed to the
 * consumer, by count and by size. A producer (a method's fan-out or generator, the source's loop)
 * waits for room before each output, so a stage that produces faster than SQS accepts or the
 * consumer reads is paused, not buffered without limit.
 */
/** Outputs a run may have produced and not yet sent and handed over. */
export const OUTPUT_WINDOW = 1000;
/**
 * Bytes of message bodies a run may have produced and not yet sent (2 MiB): 200 outputs of 10 KB
 * (twenty full batches: SQS kept as busy as with 8 MiB in the fan-out benchmark), twenty of
 * 100 KB. An output larger than this on its own passes when the window is empty. Every body in
 * flight is also copied into its SDK request; with Node's default heap sizing, 8 MiB cost a
 * fanning stage 30-40 MiB more RSS.
 */
export const OUTPUT_WINDOW_BYTES = 2 * 1024 * 1024;

export class OutputWindow {
  readonly #size: number;
  readonly #maxBytes: number;
  #open = 0;
  #bytes = 0;
  #waiting: { bytes: number; resolve: () => void }[] = [];

  constructor(size: number, maxBytes = OUTPUT_WINDOW_BYTES) {
    this.#size = size;
    this.#maxBytes = maxBytes;
  }

  /**
   * Resolves when one more output of `bytes` may be produced (at once while there is room; in
   * order of asking otherwise).
   */
  admit(bytes = 0): Promise<void> | undefined {
    if (this.#waiting.length === 0 && this.#fits(bytes)) {
      this.#take(bytes);
      return undefined;
    }
    return new Promise<void>((resolve) => this.#waiting.push({ bytes, resolve }));
  }

  /** An admitted output of `bytes` has been seen through (or given up): its room goes on. */
  done(bytes = 0): void {
    this.#open--;
    this.#bytes -= bytes;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0] as { bytes: number; resolve: () => void };
      if (!this.#fits(next.bytes)) break;
      this.#waiting.shift();
      this.#take(next.bytes);
      next.resolve();
    }
  }

  /** Outputs admitted and not yet done. */
  get open(): number {
    return this.#open;
  }

  #fits(bytes: number): boolean {
    if (this.#open === 0) return true;
    return this.#open < this.#size && this.#bytes + bytes <= this.#maxBytes;
  }

  #take(bytes: number): void {
    this.#open++;
    this.#bytes += bytes;
  }
}
