/**
 * examples/log-summary.ts run as its header says: one OS process per stage, on the sample access
 * logs, the join's state in a bucket of the test backend (examples-kit-log-summary.test.ts tests
 * the same pipeline in-process). ElasticMQ has no S3: the file skips there in one sentence.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { startStage } from '../support/spawn.ts';
import { testDomain } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`examples-log-summary.test.ts: ${skipped}`);

// The examples import 'sqspipes'; the `sqspipes-source` export condition resolves that to
// src/index.ts, so these tests run the examples on the code under test, not on a stale dist/.
const SOURCE = ['--conditions=sqspipes-source'];
const LOG_SUMMARY = fileURLToPath(new URL('../../examples/log-summary.ts', import.meta.url));

/** The summaries of examples/data/access-*.log (counted apart with awk). */
const SUMMARIES = [
  {
    file: 'access-1.log',
    lines: 120,
    requests: 120,
    skipped: 0,
    bytes: 2_209_624,
    statuses: { 200: 91, 301: 7, 304: 5, 404: 8, 500: 9 },
    topPaths: [
      { path: '/index.html', requests: 25 },
      { path: '/api/orders/17', requests: 22 },
      { path: '/api/orders', requests: 18 }, // tied with /static/app.js: path order
    ],
  },
  {
    file: 'access-2.log',
    lines: 122,
    requests: 120,
    skipped: 2, // two lines of garbage
    bytes: 2_138_701,
    statuses: { 200: 90, 301: 11, 304: 6, 404: 8, 500: 5 },
    topPaths: [
      { path: '/', requests: 21 },
      { path: '/api/orders', requests: 21 },
      { path: '/login', requests: 18 },
    ],
  },
  {
    file: 'access-3.log',
    lines: 120,
    requests: 120,
    skipped: 0,
    bytes: 2_208_724,
    statuses: { 200: 92, 301: 6, 304: 8, 404: 10, 500: 4 },
    topPaths: [
      { path: '/api/orders', requests: 28 },
      { path: '/', requests: 21 },
      { path: '/index.html', requests: 19 },
    ],
  },
];

describe.skipIf(skipped !== undefined)('examples/log-summary.ts', () => {
  const domain = testDomain('logsum');
  const bucket = testBucket('logsum');

  it(
    'summarizes each sample log once, one stage per process, the join on two processes',
    { timeout: 90_000 },
    async () => {
      const env = { SQSPIPES_DOMAIN: domain, SQSPIPES_PAYLOAD_BUCKET: bucket };
      // The header's commands; `--limit` ends a stage once its inputs are done: `lines` takes the
      // 3 files, `parse` their 362 lines and 3 info branches.
      const idle = ['--idle-timeout', '30000', '--quiet'];
      const start = (args: string[]) => startStage(LOG_SUMMARY, args, env, SOURCE);
      const stages = [
        start(['files', '--limit', '1', '--quiet']),
        start(['lines', '2', '--limit', '3', ...idle]),
        start(['parse', '8', '--limit', '365', ...idle]),
      ];
      // Two join processes: the summary of a file may be made by either, once.
      const joins = [start(['summary', '2', ...idle]), start(['summary', '2', ...idle])];
      const printed = () => joins.flatMap((j) => j.lines);
      // A join takes many inputs per output (a file's branches), so it ends on a signal instead.
      await Promise.race([
        new Promise<void>((resolve) => {
          for (const j of joins) j.child.stdout?.on('data', () => printed().length >= 3 && resolve());
        }),
        Promise.all(joins.map((j) => j.exited)).then(() => {}),
      ]);
      for (const j of joins) j.child.kill('SIGTERM');
      const all = [...stages, ...joins];
      const codes = await Promise.all(all.map((s) => s.exited));
      expect(codes, all.map((s) => s.stderr()).join('\n')).toEqual([0, 0, 0, 0, 0]);
      expect(printed().toSorted((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
        SUMMARIES,
      );
    },
  );
});
