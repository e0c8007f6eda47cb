import { type JoinContext, runInContext, type TaskContext, taskContext, type TaskInput } from '../context.ts';
import { setTimer, type Timer } from '../time/timers.ts';
import { CallStop, LazyAbort, type StopSource } from './call-stop.ts';

/** A call that ran past the stage's `timeout`. */
export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
}

/** A call in progress. */
export interface Call<T> {
  /** The outcome: what `work` resolved with, or its error, or a {@link CallTimeoutError}. */
  readonly result: Promise<T>;
  /** Settles when `work` itself has returned, even long after a timeout. */
  readonly settled: Promise<unknown>;
}

/**
 * The context a stage call sees: its signal is made only if the stage asks for it. A class, whose
 * getter every context shares: an object literal with a getter of its own per call gives each
 * context its own hidden class (measured: ~25 µs per message more over three stages).
 */
class CallContext implements TaskContext {
  readonly stage: string;
  readonly priority: number;
  readonly messageId: string | undefined;
  readonly receiveCount: number;
  readonly attempt: number;
  readonly inputs: readonly TaskInput[];
  readonly state: unknown;
  /** Set by a join once its item is complete (see {@link joinCalled}). */
  join: JoinContext | undefined = undefined;
  readonly #stop: CallStop;

  constructor(context: Omit<TaskContext, 'signal'>, stop: CallStop) {
    this.stage = context.stage;
    this.priority = context.priority;
    this.messageId = context.messageId;
    this.receiveCount = context.receiveCount;
    this.attempt = context.attempt;
    this.inputs = context.inputs;
    this.state = context.state;
    this.#stop = stop;
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }
}

/** Inside a call of a join stage: what `taskContext().join` tells of the item it joins. */
export function joinCalled(join: JoinContext): void {
  const context = taskContext();
  if (context instanceof CallContext) context.join = join;
}

/**
 * Runs `work` inside its {@link TaskContext}, whose signal aborts when any of `sources` does.
 * `work` is the stage method AND the iteration of what it returns: a generator's body runs when
 * it is iterated, and must see its context too. `work` gets the call's {@link CallStop}, to
 * produce no output once the call was given up (its late outputs are dropped). With `timeout`,
 * the call counts as failed after that many ms and stops; `settled` tells when it really ends,
 * so that the caller can hold the worker slot (and the input's retry) until then.
 */
export function callStage<T>(
  context: Omit<TaskContext, 'signal'>,
  sources: readonly StopSource[],
  timeout: number | undefined,
  work: (stop: CallStop) => Promise<T> | T,
): Call<T> {
  const timer = timeout === undefined ? undefined : new LazyAbort();
  const stop = new CallStop(timer === undefined ? sources : [...sources, timer]);
  const full = new CallContext(context, stop);
  const call = Promise.resolve().then(() => runInContext(full, () => work(stop)));
  const settled = call.then(
    () => undefined,
    () => undefined,
  );
  if (timeout === undefined || timer === undefined) return { result: call, settled };
  let handle: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    handle = setTimer(timeout, () => {
      const error = new CallTimeoutError(`call exceeded the stage's timeout of ${timeout} ms`);
      timer.abort(error);
      reject(error);
    });
  });
  late.catch(() => {});
  settled.then(
    () => handle?.cancel(),
    () => {}, // settled never rejects
  );
  return { result: Promise.race([call, late]), settled };
}
