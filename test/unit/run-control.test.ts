import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { RunControl } from '../../src/worker/run-control.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

it('stops idleTimeout after the last touch, however many touches came before', () => {
  const control = new RunControl({ idleTimeout: 1000 });
  const stopped = vi.fn();
  control.begin(stopped);
  for (let i = 0; i < 10; i++) {
    vi.advanceTimersByTime(300);
    control.touch();
  }
  vi.advanceTimersByTime(999);
  expect(stopped).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(stopped).toHaveBeenCalledOnce();
  expect(control.stopping).toBe(true);
});

it('does not stop while busy; a touch once it is not busy starts the countdown again', () => {
  let busy = true;
  const control = new RunControl({ idleTimeout: 500 });
  const stopped = vi.fn();
  control.begin(stopped, () => busy);
  vi.advanceTimersByTime(2000);
  expect(stopped).not.toHaveBeenCalled();
  busy = false;
  control.touch();
  vi.advanceTimersByTime(499);
  expect(stopped).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(stopped).toHaveBeenCalledOnce();
});

it('tells how long until the idle timeout', () => {
  const control = new RunControl({ idleTimeout: 1000 });
  control.begin(() => {});
  vi.advanceTimersByTime(400);
  expect(control.idleRemainingMs).toBe(600);
  control.touch();
  expect(control.idleRemainingMs).toBe(1000);
  control.requestStop();
});

// Input may be received (and held) before the run begins (its queues' checks and the stage's
// setup still running): the idle countdown starts at begin(), never before.
it('counts idleTimeout from begin(), not from input touched before it', () => {
  const control = new RunControl({ idleTimeout: 1000 });
  const stopped = vi.fn();
  control.touch();
  vi.advanceTimersByTime(5000);
  expect(control.stopping).toBe(false);
  control.begin(stopped);
  vi.advanceTimersByTime(999);
  expect(stopped).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(stopped).toHaveBeenCalledOnce();
});
