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
    'turns the sample logs into one total per hour, sorted, one stage per process, the bad lines to the DLQ',
    { timeout: 60_000 },
    async () => {
      const env = { SQSPIPES_DOMAIN: domain };
      // The header's commands; `--limit` ends each stage as soon as its inputs are done.
      const idle = ['--idle-timeout', '10000', '--quiet'];
      const stages = [
        startStage(ACCESS_LOGS, ['files', '--limit', '1', '--quiet', '--print'], env, SOURCE),
        startStage(ACCESS_LOGS, ['lines', '2', '--limit', '3', ...idle, '--print'], env, SOURCE),
        startStage(ACCESS_LOGS, ['parse', '4', '--limit', '362', ...idle, '--print'], env, SOURCE),
        startStage(ACCESS_LOGS, ['tally', '--limit', '360', ...idle], env, SOURCE),
      ];
      const codes = await Promise.all(stages.map((s) => s.exited));
      expect(codes, stages.map((s) => s.stderr()).join('\n')).toEqual([0, 0, 0, 0]);
      const [files, lines, parsed, totals] = stages.map((s) => s.lines);
      expect(files).toEqual(['access-1.log', 'access-2.log', 'access-3.log']);
      expect(lines).toHaveLength(362);
      expect(parsed).toHaveLength(360);
      // tally prints once, when it stops: one line per hour, in time order, adding up to every
      // well-formed line (40 requests an hour in the sample files).
      const hours = Array.from({ length: 9 }, (_, i) => `2026-11-23T${String(8 + i).padStart(2, '0')}`);
      const hourly = totals as { hour: string; requests: number; bytes: number; errors: number }[];
      expect(hourly.map((t) => t.hour)).toEqual(hours);
      for (const t of hourly) expect([t.requests, t.bytes > 0, t.errors >= 0]).toEqual([40, true, true]);
      expect(stages[2]?.stderr()).toMatch(/access-2\.log:4\d is not in Common Log Format/);
    },
  );
});
