import { AsyncLocalStorage } from 'node:async_hooks';

/** One input of the call, as {@link TaskContext.inputs} describes it. */
export interface TaskInput {
  /** SQS message id of the input. */
  readonly messageId: string;
  /** Priority level of the input. */
  readonly priority: number;
  /** How many times SQS has delivered this input, this time included. */
  readonly receiveCount: number;
  /** This call's attempt on the input in this process: 1, then 2, … on retries. */
  readonly attempt: number;
}

/** What a stage method can learn about the call it is in, through {@link taskContext}. */
export interface TaskContext {
  /** The stage being run. */
  readonly stage: string;
  /**
   * Aborted when the call must stop: its `timeout` passed, the run is stopping past its
   * shutdown timeout, or SQS's 12-hour visibility limit is near. Made when first read (a getter:
   * a spread copy of the context does not carry it).
   */
  readonly signal: AbortSignal;
  /** Priority level of the input (source stage: 0; batch: the level of the first input). */
  readonly priority: number;
  /** SQS message id of the input (undefined for the source stage and for batch calls). */
  readonly messageId: string | undefined;
  /** How many times SQS has delivered this input, this time included (1 for the source stage; batch: the most of its inputs). */
  readonly receiveCount: number;
  /** This call's attempt on the input: 1, then 2, … on retries (batch: the most of its inputs). */
  readonly attempt: number;
  /** Every input of the call, in order: one for a plain stage, the batch's for a batch handler, none for the source. */
  readonly inputs: readonly TaskInput[];
  /** What the stage's `setup()` returned in this process (undefined without one). */
  readonly state: unknown;
}

const storage = new AsyncLocalStorage<TaskContext>();

/**
 * The context of the stage call running now. Stage methods keep their plain signatures
 * (`method(input, ...args)`), so the context comes from here instead of an extra argument.
 * Throws when called outside a stage call.
 */
export function taskContext(): TaskContext {
  const context = storage.getStore();
  if (context === undefined) throw new Error('taskContext() was called outside a stage call');
  return context;
}

export function runInContext<T>(context: TaskContext, fn: () => T): T {
  return storage.run(context, fn);
}
