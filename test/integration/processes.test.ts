import { describe, expect, it } from 'vitest';
import { NUMBERS_SCRIPT, startStage } from '../support/spawn.ts';
import { testDomain } from '../support/sqs.ts';

describe('three stages in three OS processes', () => {
  const domain = testDomain('procs');

  it('carries 1000 inputs through, every output correct and exactly once', async () => {
    const env = { SQSPIPES_DOMAIN: domain };
    const total = 1000;
    const stages = [
      startStage(NUMBERS_SCRIPT, ['numbers', '8', '--limit', String(total), '--print'], env),
      startStage(NUMBERS_SCRIPT, ['square', '16', '--limit', String(total), '--idle-timeout', '30000'], env),
      startStage(NUMBERS_SCRIPT, ['label', '8', '--limit', String(total), '--idle-timeout', '30000'], env),
    ];
    const codes = await Promise.all(stages.map((s) => s.exited));
    expect(codes, stages.map((s) => s.stderr()).join('\n')).toEqual([0, 0, 0]);
    const [source, , last] = stages;
    expect(source?.lines).toHaveLength(total);
    const labels = (last?.lines ?? []) as string[];
    expect(labels).toHaveLength(total);
    expect(new Set(labels).size).toBe(total);
    const expected = Array.from({ length: total }, (_, i) => `${i + 1}:${(i + 1) ** 2}`);
    expect([...labels].sort()).toEqual(expected.sort());
  });
});
