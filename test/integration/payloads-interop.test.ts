/**
 * Interop with AWS's Extended Client for Python (issue 23): a 3 MiB message a Python producer
 * stores in S3 is processed by a sqspipes stage, and that stage's 3 MiB output is read by the
 * Python client, whose body is our envelope. Skipped where the backend has no S3 (ElasticMQ) or
 * the machine no Python, saying so.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../src/envelope.ts';
import { enqueueId } from '../../src/ids.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { pythonExtendedClient } from '../support/python-extended-client.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';

const noS3 = await s3Unavailable();
const lookup = noS3 === undefined ? await pythonExtendedClient() : undefined;
const skip = noS3 ?? (lookup !== undefined && 'skip' in lookup ? lookup.skip : undefined);
if (skip !== undefined) console.warn(`payloads-interop.test.ts: ${skip}`);

const MiB = 1024 * 1024;

describe.skipIf(skip !== undefined)('sqspipes and the Python Extended Client, both ways', () => {
  const python = () => {
    if (lookup === undefined || !('client' in lookup)) throw new Error('unreachable: the suite is skipped');
    return lookup.client;
  };
  const bucket = testBucket('pyinterop');
  const stages = [
    { method: (s: string) => s.toUpperCase(), name: 'upper', input: true },
    { method: (s: string) => s.length, name: 'sink' },
  ];
  const client = testClient('pyinterop', stages, {
    payloads: { bucket, threshold: 64 * 1024 },
    pollWaitSeconds: 1,
  });
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sqspipes-interop-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("processes a Python producer's 3 MiB message, and its 3 MiB output is read by the Python client", async () => {
    await client.createQueues();
    const queueUrl = (name: string) =>
      client.queues().then((queues) => queues.find((q) => q.name === name)?.url ?? '');
    const value = 'abcdé'.repeat((3 * MiB) / 6);
    const id = `-${enqueueId(undefined).slice(1)}`; // an id may start with '-': never taken for a flag
    const file = join(dir, 'envelope.json');
    await writeFile(file, encodeEnvelope({ id, value }));
    await python().send({
      queueUrl: await queueUrl(`${client.domain}-upper-p0.fifo`),
      bucket,
      bodyFile: file,
      groupId: id,
      deduplicationId: id,
    });
    expect(await collect(client.run('upper', { limit: 1 }))).toEqual([value.toUpperCase()]);

    const [received] = await python().receive({
      queueUrl: await queueUrl(`${client.domain}-sink-p0.fifo`),
      outDir: dir,
      delete: true,
    });
    expect(received?.offloaded).toBe(true);
    const body = await readFile(received?.file ?? '', 'utf8');
    const decoded = decodeEnvelope(body);
    expect(decoded.ok && decoded.envelope.value).toBe(value.toUpperCase());
  });
});
