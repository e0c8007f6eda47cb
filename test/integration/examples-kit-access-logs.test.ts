/**
 * examples/access-logs.ts tested in-process with the testing kit, on log files of the test's own
 * (examples.test.ts runs the example's stages as processes on its sample data).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectOrderPerKey, startSqs, testPipeline, type TestSqs } from '../../src/testing/index.ts';

// The example reads ACCESS_LOGS_DIR when it is imported: the test's files, written below.
const directory = await mkdtemp(join(tmpdir(), 'access-logs-'));
process.env['ACCESS_LOGS_DIR'] = directory;
// The example imports 'sqspipes': here, the code under test rather than a stale dist/.
vi.mock('sqspipes', () => import('../../src/index.ts'));
const { accessLogsPipeline } = await import('../../examples/access-logs.ts');
delete process.env['ACCESS_LOGS_DIR'];

/** A Common Log Format line of 1 Dec 2026, at `hour`:30. */
const clf = (hour: number, status = 200, bytes = '100', month = 'Dec') =>
  `203.0.113.7 - - [01/${month}/2026:${String(hour).padStart(2, '0')}:30:00 +0000] "GET / HTTP/1.1" ${status} ${bytes}`;
const hours = Array.from({ length: 24 }, (_, hour) => hour);

// One SQS for the file; each test a harness of its own (tally prints its totals when it stops).
const startHarness = () => testPipeline(accessLogsPipeline, { sqs, label: 'access-logs' });
let sqs: TestSqs;
beforeAll(async () => {
  sqs = await startSqs();
  // a.log: hours 0-11, a blank line (13), a malformed one (14), hours 12-23 (a 503 at 20).
  const a = [...hours.slice(0, 12).map((h) => clf(h)), '', 'not a log line'];
  a.push(...hours.slice(12).map((h) => clf(h, h === 20 ? 503 : 200)));
  await writeFile(join(directory, 'a.log'), `${a.join('\n')}\n`);
  await writeFile(join(directory, 'b.log'), hours.map((h) => clf(h, 200, h === 0 ? '-' : '100')).join('\n'));
  await writeFile(join(directory, 'notes.txt'), 'not a .log file: the source skips it');
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
  await sqs.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('examples/access-logs.ts with sqspipes/testing', () => {
  it('lists the files, parses their lines in order per file, dead-letters the malformed one, prints the totals', async () => {
    const printed = vi.spyOn(console, 'log').mockImplementation(() => {});
    await using harness = await startHarness();
    const run = await harness.run({ source: { limit: 1 } }); // the source runs once
    expect(run.byStage.files.toSorted()).toEqual(['a.log', 'b.log']);
    expect(run.byStage.lines).toHaveLength(25 + 24);
    expect(run.byStage.parse).toHaveLength(24 + 24);
    // `group` by file: each file's requests come out in its lines' order (here, hour by hour).
    expectOrderPerKey(
      run.byStage.parse,
      (request) => request.file,
      (request) => Number(request.hour.slice(-2)),
    );
    expect(run.deadLetters).toEqual([
      {
        stage: 'parse',
        value: { file: 'a.log', number: 14, text: 'not a log line' },
        reason: expect.stringContaining('a.log:14 is not in Common Log Format') as string,
      },
    ]);
    expect(run.failures).toHaveLength(1); // retries: 0
    expect(run.retried).toBe(0);

    // tally outputs nothing; when it stops (close() stops it) it prints one JSON line per hour.
    await harness.close();
    const totals = printed.mock.calls.map(([line]) => JSON.parse(String(line)) as unknown);
    expect(totals).toEqual(
      hours.map((h) => ({
        hour: `2026-12-01T${String(h).padStart(2, '0')}`,
        requests: 2,
        bytes: h === 0 ? 100 : 200,
        errors: h === 20 ? 1 : 0,
      })),
    );
  });

  it('parses lines fed to parse by hand: bytes "-" count 0, an unknown month dead-letters', async () => {
    await using harness = await startHarness();
    const run = await harness.run({
      stage: 'parse',
      stages: ['parse'],
      inputs: [
        { file: 'x.log', number: 1, text: clf(9, 404, '-') },
        { file: 'x.log', number: 2, text: clf(9, 200, '100', 'Foo') },
      ],
    });
    expect(run.byStage.parse).toEqual([{ file: 'x.log', hour: '2026-12-01T09', status: 404, bytes: 0 }]);
    expect(run.deadLetters).toMatchObject([{ stage: 'parse', value: { number: 2 } }]);
    expect(run.deadLetters[0]?.reason).toContain('x.log:2 is not in Common Log Format');
  });
});
