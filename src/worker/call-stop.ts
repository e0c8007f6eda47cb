/**
 * What stops a call: the run giving up on its calls, the stage's timeout, SQS's 12-hour limit on
 * one of its inputs. Checked by flag; an AbortSignal is made only when something asks for one (the
 * stage reading `taskContext().signal`). Combining signals with `AbortSignal.any` for every call
 * cost weak references and bookkeeping on the run's long-lived signal, for calls that are almost
 * never aborted and rarely look at their signal.
 */

/**
 * A reason to stop that may never come: its AbortSignal exists only once asked for. An `advisory`
 * one only tells the call (its signal aborts): what the call still produces counts, as the cause
 * may pass (a lost lease that SQS gives back to this process).
 */
export class LazyAbort {
  readonly advisory: boolean;
  #aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;

  constructor(options: { readonly advisory?: boolean } = {}) {
    this.advisory = options.advisory ?? false;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }
}

export type StopSource = AbortSignal | LazyAbort;

/** The stop of one call: stopped once any of its sources is. */
export class CallStop {
  readonly #sources: readonly StopSource[];
  #signal: AbortSignal | undefined;

  constructor(sources: readonly StopSource[]) {
    this.#sources = sources;
  }

  /** Throws the reason of a source that stopped the call, if one did (an advisory one does not). */
  throwIfAborted(): void {
    for (const source of this.#sources) {
      if (source.aborted && !(source instanceof LazyAbort && source.advisory)) throw source.reason;
    }
  }

  /** One AbortSignal for the whole call, made on first use. */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const signals = this.#sources.map((s) => (s instanceof LazyAbort ? s.signal : s));
      this.#signal = signals.length === 1 && signals[0] !== undefined ? signals[0] : AbortSignal.any(signals);
    }
    return this.#signal;
  }
}
