/**
 * S3 on the test backend (fauxqs and LocalStack serve it on the SQS endpoint, path-style; ElasticMQ
 * has none): a client, the reason to skip where there is none, and a bucket per test file.
 */
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, inject } from 'vitest';
import { backendEnv, uniquePrefix } from './sqs.ts';

export function s3Client(): S3Client {
  const { endpoint, region, credentials } = backendEnv();
  return new S3Client({ endpoint, region, credentials, forcePathStyle: true });
}

/** One sentence saying why the backend has no S3 to test with, or undefined when it has. */
export async function s3Unavailable(): Promise<string | undefined> {
  const backend = inject('sqsBackend');
  if (/elasticmq/i.test(backend)) return `${backend} has no S3, so the tests of payloads in S3 are skipped.`;
  const s3 = s3Client();
  try {
    await s3.send(new ListBucketsCommand({}));
    return undefined;
  } catch (error) {
    // The embedded fauxqs always serves S3: a failure there is a failure, not a reason to skip.
    if (backend.startsWith('fauxqs')) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return `${backend} answers no S3 request (ListBuckets: ${reason}), so the tests of payloads in S3 are skipped.`;
  } finally {
    s3.destroy();
  }
}

/**
 * A bucket of the current describe block: named now, created before its tests, emptied and
 * deleted after them (like `testDomain` for queues).
 */
export function testBucket(label: string): string {
  const bucket = uniquePrefix(label).toLowerCase();
  const s3 = s3Client();
  beforeAll(async () => {
    const { region } = backendEnv();
    const location =
      region === 'us-east-1'
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
  });
  afterAll(async () => {
    await emptyBucket(s3, bucket);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });
  return bucket;
}

/** The keys of every object in the bucket. */
export async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return keys;
}

async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  const keys = await listKeys(s3, bucket);
  for (let i = 0; i < keys.length; i += 1000) {
    const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
  }
}
