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
  /** At a join stage, once its item is complete: the item and the branches lost on the way. */
  readonly join?: JoinContext | undefined;
}

/** What a join stage's call learns of its item (`taskContext().join`). */
export interface JoinContext {
  /** Id of the split's input whose branches are joined. */
  readonly item: string;
  /**
   * Branches dead-lettered on the way (with `joinFailures: 'call'`; else the join is not
   * called), in fan-out order; `position`: how many of the values come before it.
   */
  readonly failed: readonly BranchFailure[];
}

/** A branch of a joined item that was dead-lettered before it reached the join. */
export interface BranchFailure {
  /** The branch's token (the id of the output that opened it). */
  readonly branch: string;
  /** The stage that dead-lettered it. */
  readonly stage: string;
  readonly reason: string;
  readonly position: number;
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
