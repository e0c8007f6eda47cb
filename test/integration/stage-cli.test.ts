import { readFileSync } from 'node:fs';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
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

  /** Queues whose name starts with `name`: a usage error must create none. */
  async function queuesOf(name: string): Promise<string[]> {
    const raw = rawClient();
    const listed = await raw.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    raw.destroy();
    return listed.QueueUrls ?? [];
  }

  it('rejects an unknown stage with one line and exit code 2', async () => {
    const p = startStage(NUMBERS_SCRIPT, ['nope'], { SQSPIPES_DOMAIN: domain() });
    expect(await p.exited).toBe(2);
    expect(p.stderr().trim()).toBe(
      'Unknown stage `nope`: registered stages are `numbers`, `square`, `label` (see --help)',
    );
  });

  it('rejects bad flags in flag language, with exit code 2, before it touches SQS', async () => {
    const name = domain();
    const cases: [string[], string][] = [
      [['square', '0'], 'workers must be a positive integer, got "0"'],
      [['square', '--limit', 'abc'], '--limit must be a positive integer, got "abc"'],
      [
        ['square', '--idle-timeout', '30d'],
        '--idle-timeout must be a duration from 0 to 2147483647 ms (about 24.9 days): ms (10000) or an integer and a unit (30s, 5m, 2h, 1d), or never, got "30d"',
      ],
      [
        ['square', '--progress-interval', '0'],
        '--progress-interval must be a duration from 1 to 2147483647 ms (about 24.9 days): ms (10000) or an integer and a unit (30s, 5m, 2h, 1d), got "0"',
      ],
      [['square', '--limit'], '--limit needs a value'],
      [['square', '--limt', '3'], 'Unknown option --limt'],
      [
        ['square', '--priority', '1'],
        "--priority applies to the first stage (numbers) only: later stages keep their input's level",
      ],
      // Checked against the stage by run(): `square` has one level.
      [
        ['square', '--max-priority', '3'],
        '--max-priority must be an integer from 0 to 0 for stage `square`, got "3"',
      ],
    ];
    for (const [args, message] of cases) {
      const p = startStage(NUMBERS_SCRIPT, args, { SQSPIPES_DOMAIN: name });
      expect(await p.exited, args.join(' ')).toBe(2);
      expect(p.stderr()).toBe(`${message} (see --help)\n`);
      expect(p.lines).toEqual([]);
    }
    expect(await queuesOf(name)).toEqual([]);
  });

  it('prints the version of sqspipes with --version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const p = startStage(NUMBERS_SCRIPT, ['--version'], { SQSPIPES_DOMAIN: domain() });
    expect(await p.exited).toBe(0);
    expect(p.lines).toEqual([version]);
    expect(p.stderr()).toBe('');
  });

  it('exits 1 when SQS cannot be reached, with one line that says why', async () => {
    const p = startStage(NUMBERS_SCRIPT, ['square', '--quiet'], {
      SQSPIPES_DOMAIN: domain(),
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
      AWS_MAX_ATTEMPTS: '1',
    });
    expect(await p.exited).toBe(1);
    expect(p.stderr().trim().split('\n').at(-1)).toContain('127.0.0.1:9');
  });

  it('lists the stages in --help, and the Node options that keep the memory of a long run flat', async () => {
    const p = startStage(NUMBERS_SCRIPT, ['--help'], { SQSPIPES_DOMAIN: domain() });
    expect(await p.exited).toBe(0);
    expect(p.lines.join('\n')).toContain('numbers → square → label');
    expect(p.lines.join('\n')).toContain('NODE_OPTIONS="--max-semi-space-size=16 --max-old-space-size=1024"');
    expect(p.lines.join('\n')).toMatch(/Exit codes: 0 stopped gracefully/);
  });

  it('by default sets a failing input aside in the DLQ, says so on stderr, and goes on', async () => {
    const name = domain();
    const client = fixtureClient(name);
    await client.enqueue('square', 7);
    await client.enqueue('square', 8);
    const p = startStage(NUMBERS_SCRIPT, ['square', '2', '--idle-timeout', '1000', '--quiet', '--print'], {
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
    // Stopping on its idle timeout is said in one info line, even without --verbose; no debug lines.
    const stopping = p
      .stderr()
      .split('\n')
      .filter((line) => line.includes('stopping'));
    expect(stopping).toEqual([
      'sqspipes info: stopping: no input for 1 s (idle timeout) stage="square" idleTimeout=1000',
    ]);
    expect(p.stderr()).not.toContain('debug');
    expect((await client.queues()).find((q) => q.level === 'dlq')?.visible).toBe(1);
    await client.close();
  });

  it('with --fail-fast exits 1 with a one-line reason; the input waits in the DLQ', async () => {
    const name = domain();
    const client = fixtureClient(name);
    await client.enqueue('square', 7);
    const p = startStage(
      NUMBERS_SCRIPT,
      ['square', '2', '--idle-timeout', '20000', '--fail-fast', '--quiet', '--verbose'],
      { SQSPIPES_DOMAIN: name, SQSPIPES_FAIL_ON: '7' },
    );
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain('sqspipes debug: stopping: an input failed its last attempt (failFast)');
    const lines = p.stderr().trim().split('\n');
    // With --verbose the reason's stack follows it: the reason is the first line not starting with sqspipes.
    const reason = lines.find((line) => !line.startsWith('sqspipes ')) ?? '';
    expect(reason).toMatch(/^Stage `square` failed on message \S+: .*square refuses 7$/);
    expect(await client.redrive('square')).toBe(1);
    const again = startStage(
      NUMBERS_SCRIPT,
      ['square', '--limit', '1', '--idle-timeout', '20000', '--quiet', '--verbose', '--print'],
      { SQSPIPES_DOMAIN: name },
    );
    expect(await again.exited).toBe(0);
    expect(again.lines).toEqual([{ n: 7, sq: 49 }]);
    expect(again.stderr()).toContain('sqspipes debug: stopping: limit reached stage="square" limit=1\n');
    await client.close();
  });

  it('stops gracefully on SIGTERM: exits 0 and loses nothing', async () => {
    const name = domain();
    const client = fixtureClient(name);
    for (let i = 1; i <= 40; i++) await client.enqueue('square', i);
    const p = startStage(NUMBERS_SCRIPT, ['square', '1', '--verbose', '--print'], { SQSPIPES_DOMAIN: name });
    await p.waitForLines(3);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain('sqspipes debug: stopping: received SIGTERM stage="square"\n');
    // What the stopped process did not finish, another one finishes (nothing, when the first one
    // got through all 40 before the signal: --limit 0 would be a usage error).
    const left = 40 - p.lines.length;
    const rest =
      left === 0
        ? undefined
        : startStage(
            NUMBERS_SCRIPT,
            ['square', '4', '--limit', String(left), '--idle-timeout', '20000', '--print'],
            {
              SQSPIPES_DOMAIN: name,
            },
          );
    if (rest !== undefined) expect(await rest.exited, rest.stderr()).toBe(0);
    const all = [...p.lines, ...(rest?.lines ?? [])].map((o) => (o as { n: number }).n).sort((a, b) => a - b);
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

  it('gives running calls --shutdown-timeout on a stop, then abandons them', async () => {
    // Before: the flag was read and checked, but never reached the run (30 s, the default).
    const name = domain();
    const p = startStage(NUMBERS_SCRIPT, ['square', '--shutdown-timeout', '500', '--verbose'], {
      SQSPIPES_DOMAIN: name,
      SQSPIPES_HANG: '1',
    });
    const client = fixtureClient(name);
    await client.enqueue('square', 1);
    await waitForText(() => p.stderr(), 'hanging');
    p.child.kill('SIGTERM');
    await p.exited;
    expect(p.stderr()).toContain('calls still running past shutdownTimeout were abandoned');
    await client.close();
  }, 20_000);

  it('with --verbose logs the queues, the workers, each receive, why it stops and a summary; no bodies', async () => {
    const name = domain();
    const client = fixtureClient(name);
    await client.enqueue('square', 12_345);
    await client.enqueue('square', 54_321);
    const p = startStage(
      NUMBERS_SCRIPT,
      ['square', '3', '--idle-timeout', '1000', '--quiet', '--verbose', '--print'],
      {
        SQSPIPES_DOMAIN: name,
      },
    );
    expect(await p.exited).toBe(0);
    expect(p.lines).toHaveLength(2);
    const log = p.stderr();
    expect(log).toContain(
      `sqspipes debug: running stage="square" consumes=["${name}-square-p0.fifo"] ` +
        `sendsTo=["${name}-label-p0.fifo"] deadLetters="${name}-square-dlq.fifo" workers=3 batch=1\n`,
    );
    const received = [...log.matchAll(/sqspipes debug: received stage="square" level=0 count=(\d+)/g)];
    expect(received.reduce((n, match) => n + Number(match[1]), 0)).toBe(2);
    expect(log).toContain(
      'sqspipes info: stopping: no input for 1 s (idle timeout) stage="square" idleTimeout=1000\n',
    );
    expect(log).toMatch(
      /sqspipes debug: summary stage="square" seconds=[\d.]+ processed=2 outputs=2 failed=0 retried=0 deadLettered=0 sqsRequests=\d+\n/,
    );
    for (const body of ['12345', '54321', '152399025']) expect(log).not.toContain(body);
    await client.close();
  });

  it('with --verbose the first stage logs where it sends, its workers, and that it reached --limit', async () => {
    const name = domain();
    const p = startStage(
      NUMBERS_SCRIPT,
      ['numbers', '2', '--limit', '3', '--quiet', '--verbose', '--print'],
      {
        SQSPIPES_DOMAIN: name,
      },
    );
    expect(await p.exited).toBe(0);
    expect(p.lines).toHaveLength(3);
    const log = p.stderr();
    expect(log).toContain(
      `sqspipes debug: running (source: calls the stage, no input queue) stage="numbers" ` +
        `sendsTo=["${name}-square-p0.fifo"] workers=2 limit=3\n`,
    );
    expect(log).toContain('sqspipes debug: stopping: limit reached stage="numbers" limit=3\n');
    expect(log).toMatch(/sqspipes debug: summary stage="numbers" seconds=[\d.]+ processed=3 outputs=3 /);
  });

  it('a source that reached --limit exits once its outputs were sent, not at its shutdown timeout', async () => {
    // Before: the stop's wait for deliveries left its 30-second timer running, and the process
    // lived on until it fired (this test's timeout, 25 s, then failed it; it exits in ~3 s).
    const p = startStage(NUMBERS_SCRIPT, ['numbers', '--limit', '2', '--quiet'], {
      SQSPIPES_DOMAIN: domain(),
    });
    expect(await p.exited).toBe(0);
  }, 25_000);

  it('prints the outputs of the last stage only, unless --print or --no-print says otherwise', async () => {
    const name = domain();
    const client = fixtureClient(name);
    for (const n of [1, 2]) await client.enqueue('square', n);
    for (const n of [3, 4]) await client.enqueue('label', { n, sq: n * n });
    const run = async (args: string[], count: number) => {
      const p = startStage(NUMBERS_SCRIPT, [...args, '--limit', String(count), '--quiet'], {
        SQSPIPES_DOMAIN: name,
      });
      expect(await p.exited, p.stderr()).toBe(0);
      return p.lines;
    };
    // square's outputs go on to label: not printed by default.
    expect(await run(['square'], 1)).toEqual([]);
    expect(await run(['square', '--print'], 1)).toHaveLength(1);
    expect(await run(['label'], 1)).toHaveLength(1);
    expect(await run(['label', '--no-print'], 1)).toEqual([]);
    await client.close();
  });

  it('never waits for a stdout nobody reads: drops what it cannot take, and counts it on stderr', async () => {
    const name = domain();
    const client = fixtureClient(name);
    const total = 12;
    for (let n = 1; n <= total; n++) await client.enqueue('label', { n, sq: n * n });
    // Lines of 200 kB: the first one fills the pipe and stdout's buffer.
    const p = startStage(NUMBERS_SCRIPT, ['label', '2', '--limit', String(total), '--quiet', '--verbose'], {
      SQSPIPES_DOMAIN: name,
      SQSPIPES_PAD: '200000',
    });
    p.child.stdout?.pause();
    // Every input is processed while nobody reads: the summary comes before stdout is read at all.
    await waitForText(() => p.stderr(), 'summary');
    expect(p.stderr()).toMatch(new RegExp(`summary stage="label" .*processed=${total} `));
    expect(p.stderr()).toContain('sqspipes warn: stdout is not read fast enough: output lines are dropped');
    p.child.stdout?.resume();
    expect(await p.exited).toBe(0);
    const dropped = Number(/sqspipes warn: (\d+) output lines were not printed/.exec(p.stderr())?.[1]);
    expect(dropped).toBeGreaterThan(0);
    expect(p.lines.length + dropped).toBe(total);
    // What was printed is whole lines.
    for (const line of p.lines) expect(line).toMatch(/^\d+:\d+x{200000}$/);
    await client.close();
  });

  it('goes on when the reader of its stdout goes away (EPIPE), and exits 0', async () => {
    const name = domain();
    const client = fixtureClient(name);
    const total = 6;
    for (let n = 1; n <= total; n++) await client.enqueue('label', { n, sq: n * n });
    const p = startStage(NUMBERS_SCRIPT, ['label', '--limit', String(total), '--quiet', '--verbose'], {
      SQSPIPES_DOMAIN: name,
    });
    p.child.stdout?.destroy();
    expect(await p.exited, p.stderr()).toBe(0);
    expect(p.stderr()).toMatch(new RegExp(`summary stage="label" .*processed=${total} `));
    expect(p.stderr()).toMatch(/sqspipes warn: \d+ output lines were not printed/);
    await client.close();
  });
});
