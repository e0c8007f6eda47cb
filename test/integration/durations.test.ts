/**
 * "Never" through the public API: `idleTimeout: Infinity` and `shutdownTimeout: Infinity` used to
 * become 1 ms timers (Node's overflow): a TimeoutOverflowWarning every millisecond while idle, and
 * a stop that aborted running calls after 1 s instead of waiting for them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { taskContext } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const started = gate();
const finish = gate();
let aborted = false;

async function slow(value: unknown): Promise<unknown> {
  const { signal } = taskContext();
  signal.addEventListener('abort', () => (aborted = true), { once: true });
  started.open();
  await finish.promise;
  return value;
}

// Short long polls, so that the stop reaches its wait for running calls soon after the abort.
const client = testClient('never', [{ method: () => null, name: 'source' }, slow], { pollWaitSeconds: 1 });

it('Infinity arms no overflowing timer, and a stop waits for a running call', async () => {
  const overflows: Error[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'TimeoutOverflowWarning') overflows.push(warning);
  };
  process.on('warning', onWarning);
  try {
    const stop = new AbortController();
    await client.enqueue('slow', 'kept');
    const options = { idleTimeout: Infinity, shutdownTimeout: Infinity, signal: stop.signal };
    const run = collect(client.run('slow', options));
    await started.promise;
    stop.abort();
    // Longer than a receive in flight (1 s) plus the 1 ms + 1 s grace after which Infinity used
    // to abort the call: a lower bound on the time the stop waits, never an upper one.
    await sleep(4000);
    expect(aborted).toBe(false);
    finish.open();
    expect(await run).toEqual(['kept']);
    expect(aborted).toBe(false);
    expect(overflows).toEqual([]);
  } finally {
    process.off('warning', onWarning);
  }
});
