import { describe, expect, it } from 'vitest';
import { failOn } from '../../src/testing/index.ts';

const same = (x: unknown) => x;

describe('failOn() checks its options when called, not when a call fails', () => {
  it('refuses an attempt that is not a whole number from 1', () => {
    expect(() => failOn(same, { attempt: 0 })).toThrow('failOn: `attempt` must be a whole number from 1');
    expect(() => failOn(same, { attempt: [] })).toThrow(/`attempt`/);
    expect(() => failOn(same, { attempt: [1, 1.5] })).toThrow(/got 1,1.5/);
  });

  it('refuses an error that is neither an Error nor a function, and a when that is no function', () => {
    const untyped = (value: unknown) => value as Error;
    expect(() => failOn(same, { error: untyped('disk full') })).toThrow(
      'failOn: `error` must be an Error, or a function of the attempt returning one, got "disk full"',
    );
    expect(() => failOn(same, { when: untyped(true) as never })).toThrow('failOn: `when` must be a function');
  });

  it('accepts an Error, a function, and keeps the name', () => {
    expect(failOn(same, { error: new Error('disk full'), attempt: [1, 2] }).name).toBe('same');
    expect(failOn(same, { error: (n) => new Error(`attempt ${n}`) }).name).toBe('same');
  });
});
