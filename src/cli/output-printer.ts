/**
 * Prints a stage's outputs as JSON lines on a stream (stdout) without ever waiting for it: the
 * stage's loop goes on at its own pace whoever reads (or does not read) the other end.
 *
 * A line goes out whole or not at all. Once the stream refuses more (`write()` returned false:
 * its buffer is full because the reader is slower than the stage), the lines that follow are
 * dropped and counted until it drains; after a write error (EPIPE: the reader went away) every
 * line is dropped. The first drop is said at once, the count when the stage stops. So the memory
 * a slow reader can hold is the stream's buffer plus one line. (Node writes to a pipe
 * asynchronously, the case this is for; to a file or a terminal on Linux, synchronously: those
 * never fill, and a terminal paused with Ctrl-S stops the process as it does any program.)
 */
export class OutputPrinter {
  readonly #stream: NodeJS.WritableStream;
  readonly #warn: (message: string) => void;
  #full = false;
  #broken = false;
  #dropped = 0;

  /**
   * `warn` gets one line when the first output is dropped. Listens for the stream's errors for
   * good: a reader that goes away after the stage stopped does not crash the process either.
   */
  constructor(stream: NodeJS.WritableStream, warn: (message: string) => void) {
    this.#stream = stream;
    this.#warn = warn;
    stream.on('error', this.#onError);
  }

  /** Lines dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Writes `output` as one JSON line, or drops it (see the class). */
  print(output: unknown): void {
    if (this.#full || this.#broken) {
      if (this.#dropped++ === 0) {
        this.#warn(
          this.#broken
            ? 'stdout was closed by its reader: output lines are dropped'
            : 'stdout is not read fast enough: output lines are dropped until it catches up',
        );
      }
      return;
    }
    if (!this.#stream.write(`${JSON.stringify(output) ?? 'null'}\n`)) {
      this.#full = true;
      this.#stream.once('drain', () => (this.#full = false));
    }
  }

  readonly #onError = (): void => {
    this.#broken = true;
  };
}
