import { AsyncLocalStorage } from 'node:async_hooks';

/** What a stage method can learn about the call it is in, through {@link taskContext}. */
export interface TaskContext {
  /** The stage being run. */
  readonly stage: string;
  /** Aborted when the call must stop (run stopping past its shutdown timeout). */
  readonly signal: AbortSignal;
  /** Priority level of the input (source stage: 0). */
  readonly priority: number;
  /** SQS message id of the input (undefined for the source stage). */
  readonly messageId: string | undefined;
  /** How many times SQS has delivered this input, this time included (1 for the source stage). */
  readonly receiveCount: number;
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
