import { once } from 'node:events';
import { expect, it } from 'vitest';
import { taskContext } from '../../src/context.ts';
import { callStage, CallTimeoutError } from '../../src/worker/call.ts';
import { CallStop, LazyAbort } from '../../src/worker/call-stop.ts';

const context = {
  stage: 's',
  priority: 0,
  messageId: 'm',
  receiveCount: 1,
  attempt: 1,
  inputs: [],
  state: undefined,
};

it('a LazyAbort aborted before anyone asked for its signal gives an aborted signal with its reason', () => {
  const lazy = new LazyAbort();
  const reason = new Error('capped');
  lazy.abort(reason);
  lazy.abort(new Error('again')); // the first reason stays
  expect(lazy.aborted).toBe(true);
  expect(lazy.signal.aborted).toBe(true);
  expect(lazy.signal.reason).toBe(reason);
});

it("a LazyAbort's signal, once asked for, aborts with it", () => {
  const lazy = new LazyAbort();
  const { signal } = lazy;
  expect(signal.aborted).toBe(false);
  lazy.abort('stop');
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBe('stop');
});

it('a CallStop stops when any source does, and throws that reason', () => {
  const run = new AbortController();
  const capped = new LazyAbort();
  const stop = new CallStop([run.signal, capped]);
  expect(() => stop.throwIfAborted()).not.toThrow();
  const signal = stop.signal;
  capped.abort(new Error('12 hours'));
  expect(() => stop.throwIfAborted()).toThrow('12 hours');
  expect(signal.aborted).toBe(true);
  expect(new CallStop([run.signal]).signal).toBe(run.signal); // one source: its own signal
});

it('an advisory source aborts the signal only: the call is told, and what it produces still counts', () => {
  const lost = new LazyAbort({ advisory: true });
  const stop = new CallStop([new AbortController().signal, lost]);
  const signal = stop.signal;
  lost.abort(new Error('lease lost'));
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toEqual(new Error('lease lost'));
  expect(() => stop.throwIfAborted()).not.toThrow();
});

it("the stage sees its call's signal in taskContext(), aborted by the timeout", async () => {
  let seen: AbortSignal | undefined;
  const call = callStage(context, [new AbortController().signal], 20, async () => {
    seen = taskContext().signal;
    await once(seen, 'abort');
    return 'late';
  });
  await expect(call.result).rejects.toBeInstanceOf(CallTimeoutError);
  await call.settled;
  expect(seen?.aborted).toBe(true);
  expect(seen?.reason).toBeInstanceOf(CallTimeoutError);
});

it('taskContext() carries the fields of the call', async () => {
  const call = callStage(context, [new AbortController().signal], undefined, () => {
    const { stage, messageId, attempt, signal } = taskContext();
    return { stage, messageId, attempt, aborted: signal.aborted };
  });
  await expect(call.result).resolves.toEqual({ stage: 's', messageId: 'm', attempt: 1, aborted: false });
});
