import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRIES, resolveStages } from '../../src/stage.ts';

function gen() {
  return 1;
}
function work(x: unknown) {
  return x;
}

describe('retries of the source stage', () => {
  it('defaults to 0 for the source (a failed call is skipped), DEFAULT_RETRIES for later stages', () => {
    const [source, next] = resolveStages('d', [gen, work]);
    expect(source?.retries).toBe(0);
    expect(next?.retries).toBe(DEFAULT_RETRIES);
  });

  it('accepts `retries` and `retryDelay` on the source', () => {
    const [source] = resolveStages('d', [{ method: gen, retries: 3, retryDelay: 250 }, work]);
    expect(source?.retries).toBe(3);
    expect(source?.retryDelay(1)).toBe(250);
  });
});
