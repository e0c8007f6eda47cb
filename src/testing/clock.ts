/**
 * The kit's own clock: the timer functions as they were when the kit was loaded, so that a test
 * that fakes timers afterwards (`vi.useFakeTimers()`) does not freeze the kit's waits. The engine
 * itself runs on the global timers: see the README's "Testing your pipeline" on fake timers.
 */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realNow = performance.now.bind(performance);

/** Milliseconds on a monotonic clock no fake timer moves. */
export function now(): number {
  return realNow();
}

/** Resolves after `ms` milliseconds of real time, or as soon as `wake` is called. */
export function pause(ms: number): { done: Promise<void>; wake: () => void } {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const handle = realSetTimeout(resolve, ms);
    wake = () => {
      realClearTimeout(handle);
      resolve();
    };
  });
  return { done, wake };
}
