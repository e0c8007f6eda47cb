import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { backendEnv, childEnv, testDomain } from '../support/sqs.ts';
import { NUMBERS_SCRIPT, startStage } from '../support/spawn.ts';

/** util-linux `script` gives the child a pseudo-terminal, as a user's shell would. */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('stage CLI progress', () => {
  const domain = testDomain('progress');

  async function backlog(count: number): Promise<void> {
    const { endpoint, region, credentials } = backendEnv();
    const client = new TaskClient({ domain, endpoint, region, credentials }).registerTasks([
      { method: () => null, name: 'numbers' },
      { method: () => null, name: 'square' },
      { method: () => null, name: 'label' },
    ]);
    for (let i = 1; i <= count; i++) await client.enqueue('square', i);
    await client.close();
  }

  it.skipIf(!hasScript)('draws a live line in place on a terminal, and keeps stdout pure JSON', async () => {
    await backlog(5);
    const command = [
      process.execPath,
      NUMBERS_SCRIPT,
      'square',
      '2',
      '--limit',
      '5',
      '--idle-timeout',
      '10000',
      '--print',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    // stderr → the pty (what a person sees); stdout → a pipe, as in `node script.js … > out.jsonl`.
    const child = spawn('script', ['-qfec', `${command} 1>&3`, '/dev/null'], {
      env: childEnv({ SQSPIPES_DOMAIN: domain, TERM: 'xterm' }),
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (screen += d));
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const ESC = String.fromCharCode(27);
    expect(screen).toContain(`\r${ESC}[2Ksquare: `);
    expect(screen).toMatch(/square: \d+ in, \d+ out, 0 failed, [\d.]+\/s, \d+ in hand, backlog/);
    expect(screen).toContain('square: 5 in, 5 out, 0 failed');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('logs a plain line periodically when stderr is not a terminal, and nothing with --quiet', async () => {
    await backlog(6);
    const logged = startStage(NUMBERS_SCRIPT, ['square', '1', '--limit', '3', '--progress-interval', '50'], {
      SQSPIPES_DOMAIN: domain,
    });
    expect(await logged.exited).toBe(0);
    expect(logged.stderr()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z square: \d+ in, \d+ out, 0 failed/m);
    expect(logged.stderr()).not.toContain('\r');
    const quiet = startStage(
      NUMBERS_SCRIPT,
      ['square', '1', '--limit', '3', '--progress-interval', '50', '--quiet', '--print'],
      {
        SQSPIPES_DOMAIN: domain,
      },
    );
    expect(await quiet.exited).toBe(0);
    expect(quiet.stderr()).toBe('');
    expect(quiet.lines).toHaveLength(3);
  });
});
