/**
 * examples/log-summary.ts (map-reduce with a join) tested in-process with the testing kit, on its
 * small sample examples/data/log-summary/shop.log (examples-log-summary.test.ts runs the stages as
 * processes on the access logs). The join keeps its state in S3: the test makes a bucket on the
 * kit's SQS endpoint (fauxqs and LocalStack serve S3 there); ElasticMQ has none, so it skips there.
 */
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSqs, testPipeline, type TestSqs } from '../../src/testing/index.ts';
import { listKeys, s3Unavailable } from '../support/s3-bucket.ts';
import { uniquePrefix } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`examples-kit-log-summary.test.ts: ${skipped}`);

// The example reads LOG_SUMMARY_DIR when it is imported: its small sample.
process.env['LOG_SUMMARY_DIR'] = fileURLToPath(new URL('../../examples/data/log-summary', import.meta.url));
// The example imports 'sqspipes': here, the code under test rather than a stale dist/.
vi.mock('sqspipes', () => import('../../src/index.ts'));
const { logSummaryPipeline } = await import('../../examples/log-summary.ts');
delete process.env['LOG_SUMMARY_DIR'];

/** shop.log: 11 lines, a blank one and one cut short among them. */
const SHOP = {
  file: 'shop.log',
  lines: 11,
  requests: 9,
  skipped: 2,
  bytes: 13_604,
  statuses: { 200: 5, 302: 1, 304: 1, 404: 1, 500: 1 },
  // `/products?page=2` counts as `/products`; the ties at 1 go in path order.
  topPaths: [
    { path: '/products', requests: 3 },
    { path: '/', requests: 2 },
    { path: '/cart', requests: 1 },
  ],
};

describe.skipIf(skipped !== undefined)('examples/log-summary.ts with sqspipes/testing', () => {
  const bucket = uniquePrefix('logsum').toLowerCase();
  let sqs: TestSqs;
  let s3: S3Client;
  const startHarness = () =>
    testPipeline(
      (connection) => logSummaryPipeline({ ...connection, payloads: { bucket, prefix: 'sqspipes/' } }),
      { sqs, label: 'log-summary' },
    );
  beforeAll(async () => {
    sqs = await startSqs();
    const { endpoint, region, credentials } = sqs;
    s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
    const location =
      region === 'us-east-1'
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
  });
  afterAll(async () => {
    const Objects = (await listKeys(s3, bucket)).map((Key) => ({ Key }));
    if (Objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
    await sqs.close();
  });

  it('fans a file out per line, filters the blank and malformed lines, joins the rest into its summary', async () => {
    await using harness = await startHarness();
    const run = await harness.run({ source: { limit: 1 } }); // the source runs once
    expect(run.byStage.files).toEqual(['shop.log']);
    expect(run.byStage.lines).toHaveLength(1 + 11); // the file's info, then its lines
    expect(run.byStage.parse).toHaveLength(1 + 9); // the 2 filtered lines output nothing
    expect(run.outputs).toEqual([SHOP]);
    expect(run.deadLetters).toEqual([]);
    expect(run.failures).toEqual([]);
  });

  it("resolves submit()'s result with the summary of a file given by its text, every line filtered or not", async () => {
    await using harness = await startHarness();
    await harness.start();
    const blank = await harness.submit({ file: 'rotated.log', text: '\n   \ncut short by a rotation\n' });
    const shop = await harness.submit('shop.log');
    expect(await blank.result()).toEqual([
      { file: 'rotated.log', lines: 3, requests: 0, skipped: 3, bytes: 0, statuses: {}, topPaths: [] },
    ]);
    expect(await shop.result()).toEqual([SHOP]);
  });
});
