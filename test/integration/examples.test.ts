import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testDomain } from '../support/sqs.ts';
import { startStage } from '../support/spawn.ts';

// The examples import 'sqspipes'; the `sqspipes-source` export condition resolves that to
// src/index.ts, so these tests run the examples on the code under test, not on a stale dist/.
const SOURCE = ['--conditions=sqspipes-source'];
const ACCESS_LOGS = fileURLToPath(new URL('../../examples/access-logs.ts', import.meta.url));

describe('examples/access-logs.ts', () => {
  const domain = testDomain('logs');

  it(
    'turns the sample logs into hourly totals, one stage per process, the bad lines to the DLQ',
    { timeout: 60_000 },
    async () => {
      const env = { SQSPIPES_DOMAIN: domain };
      const idle = ['--idle-timeout', '5000', '--quiet'];
      const stages = [
        startStage(ACCESS_LOGS, ['files', '--limit', '1', '--quiet'], env, SOURCE),
        startStage(ACCESS_LOGS, ['lines', '2', '--limit', '3', ...idle], env, SOURCE),
        startStage(ACCESS_LOGS, ['parse', '4', '--limit', '362', ...idle], env, SOURCE),
        startStage(ACCESS_LOGS, ['tally', '1', '--limit', '360', ...idle], env, SOURCE),
      ];
      const codes = await Promise.all(stages.map((s) => s.exited));
      expect(codes, stages.map((s) => s.stderr()).join('\n')).toEqual([0, 0, 0, 0]);
      const [files, lines, parsed, totals] = stages.map((s) => s.lines);
      expect(files).toEqual(['access-1.log', 'access-2.log', 'access-3.log']);
      expect(lines).toHaveLength(362);
      expect(parsed).toHaveLength(360);
      // The last totals printed for each hour add up to every well-formed line.
      const last = new Map<string, { requests: number }>();
      for (const t of totals as { hour: string; requests: number }[]) last.set(t.hour, t);
      expect([...last.values()].reduce((n, t) => n + t.requests, 0)).toBe(360);
      expect(stages[2]?.stderr()).toMatch(/access-2\.log:4\d is not in Common Log Format/);
    },
  );
});
