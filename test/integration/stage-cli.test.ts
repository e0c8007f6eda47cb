import { afterAll, describe, expect, it } from 'vitest';
import { TaskClient } from '../../src/index.ts';
import { backendEnv, deleteQueuesWithPrefix, rawClient, uniquePrefix } from '../support/sqs.ts';
import { NUMBERS_SCRIPT, startStage, waitForText } from '../support/spawn.ts';

describe('stage CLI', () => {
  const prefix = uniquePrefix('cli');
  let n = 0;
  const domain = () => `${prefix}${++n}`;
  afterAll(async () => {
    const raw = rawClient();
    await deleteQueuesWithPrefix(raw, prefix);
    raw.destroy();
  });

  /** A client on the fixture's pipeline, to enqueue and inspect from the test. */
  function fixtureClient(name: string): TaskClient {
    const { endpoint, region, credentials } = backendEnv();
    const client = new TaskClient({ domain: name, endpoint, region, credentials });
    const noop = () => null;
    return client.registerTasks([
      { method: noop, name: 'numbers' },
      { method: noop, name: 'square' },
      { method: noop, name: 'label' },
    ]);
  }

  it('rejects an unknown stage with one line and exit code 2', async () => {
    const p = startStage(NUMBERS_SCRIPT, ['nope'], { SQSPIPES_DOMAIN: domain() });
    expect(await p.exited).toBe(2);
    expect(p.stderr().trim()).toBe(
      'Unknown stage `nope`: registered stages are `numbers`, `square`, `label`',
    );
  });

  it('rejects a bad worker count with one line and exit code 2', async () => {
    for (const workers of ['0', 'many', '1.5']) {
      const p = startStage(NUMBERS_SCRIPT, ['square', workers], { SQSPIPES_DOMAIN: domain() });
      expect(await p.exited).toBe(2);
      expect(p.stderr().trim().split('\n')).toHaveLength(1);
      expect(p.stderr()).toMatch(/workers/);
    }
  });

  it('lists the stages in --help, and the Node options that keep the memory of a long run flat', async () => {
    const p = startStage(NUMBERS_SCRIPT, ['--help'], { SQSPIPES_DOMAIN: domain() });
    expect(await p.exited).toBe(0);
    expect(p.lines.join('\n')).toContain('numbers → square → label');
    expect(p.lines.join('\n')).toContain('NODE_OPTIONS="--max-semi-space-size=16 --max-old-space-size=1024"');
  });

  it('by default sets a failing input aside in the DLQ, says so on stderr, and goes on', async () => {
    const name = domain();
    const client = fixtureClient(name);
    await client.enqueue('square', 7);
    await client.enqueue('square', 8);
    const p = startStage(NUMBERS_SCRIPT, ['square', '2', '--idle-timeout', '1000', '--quiet'], {
      SQSPIPES_DOMAIN: name,
      SQSPIPES_FAIL_ON: '7',
    });
    expect(await p.exited).toBe(0);
    expect(p.lines).toEqual([{ n: 8, sq: 64 }]);
    const moved = p
      .stderr()
      .split('\n')
      .find((line) => line.includes('dead-letter queue'));
    expect(moved).toMatch(/square/);
    expect(moved).toMatch(/square refuses 7/);
    expect(moved).toMatch(/messageId/);
    expect((await client.queues()).find((q) => q.level === 'dlq')?.visible).toBe(1);
    await client.close();
  });

  it('with --fail-fast exits 1 with a one-line reason; the input waits in the DLQ', async () => {
    const name = domain();
    const client = fixtureClient(name);
    await client.enqueue('square', 7);
    const p = startStage(
      NUMBERS_SCRIPT,
      ['square', '2', '--idle-timeout', '20000', '--fail-fast', '--quiet'],
      { SQSPIPES_DOMAIN: name, SQSPIPES_FAIL_ON: '7' },
    );
    expect(await p.exited).toBe(1);
    const last = p.stderr().trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^Stage `square` failed on message \S+: .*square refuses 7$/);
    expect(await client.redrive('square')).toBe(1);
    const again = startStage(NUMBERS_SCRIPT, ['square', '--limit', '1', '--idle-timeout', '20000'], {
      SQSPIPES_DOMAIN: name,
    });
    expect(await again.exited).toBe(0);
    expect(again.lines).toEqual([{ n: 7, sq: 49 }]);
    await client.close();
  });

  it('stops gracefully on SIGTERM: exits 0 and loses nothing', async () => {
    const name = domain();
    const client = fixtureClient(name);
    for (let i = 1; i <= 40; i++) await client.enqueue('square', i);
    const p = startStage(NUMBERS_SCRIPT, ['square', '1'], { SQSPIPES_DOMAIN: name });
    await p.waitForLines(3);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const seen = p.lines.length;
    const rest = startStage(
      NUMBERS_SCRIPT,
      ['square', '4', '--limit', String(40 - seen), '--idle-timeout', '20000'],
      {
        SQSPIPES_DOMAIN: name,
      },
    );
    expect(await rest.exited).toBe(0);
    const all = [...p.lines, ...rest.lines].map((o) => (o as { n: number }).n).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await client.close();
  });

  it('exits at once on a second signal', async () => {
    const name = domain();
    const p = startStage(NUMBERS_SCRIPT, ['square'], { SQSPIPES_DOMAIN: name, SQSPIPES_HANG: '1' });
    const client = fixtureClient(name);
    await client.enqueue('square', 1);
    await waitForText(() => p.stderr(), 'hanging');
    p.child.kill('SIGINT');
    // Signals of one kind sent back to back may merge into one: wait until the first was seen.
    await waitForText(() => p.stderr(), 'stopping gracefully');
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(130);
    await client.close();
  });
});
