/**
 * The payload store on the S3 of the test backend: fauxqs and LocalStack serve S3 on their SQS
 * endpoint. ElasticMQ has none, so the S3 part skips there. The answers no emulator gives (403,
 * a redirect to another region, a KMS denial) come from a small HTTP server of this file.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import type { Logger } from '../../src/types.ts';
import { PayloadMissingError, PayloadStoreError } from '../../src/payloads/errors.ts';
import { payloadKey } from '../../src/payloads/keys.ts';
import { resolvePayloadOptions } from '../../src/payloads/options.ts';
import { s3SourceOf, type S3Source } from '../../src/payloads/s3-client.ts';
import { CHECK_KEY, PayloadStore } from '../../src/payloads/store.ts';
import { listKeys, s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { backendEnv } from '../support/sqs.ts';

const { endpoint, region, credentials } = backendEnv();
const source: S3Source = { endpoint, region, credentials: async () => credentials };
const PREFIX = 'sqspipes/';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`payload-store.test.ts: ${skipped}`);

/** A logger that keeps its warnings. */
function recorder(): Logger & { warnings: { fields: object; message: string | undefined }[] } {
  const warnings: { fields: object; message: string | undefined }[] = [];
  return {
    debug() {},
    info() {},
    error() {},
    warn: (fields, message) => warnings.push({ fields, message }),
    warnings,
  };
}

/** The error `promise` rejects with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe.skipIf(skipped !== undefined)(
  skipped ?? `payload store on the S3 of ${inject('sqsBackend')}`,
  () => {
    const bucket = testBucket('payload');
    /** Only to look at the bucket: the stores under test make their own clients. */
    const raw = s3Client();
    afterAll(() => raw.destroy());

    function store(options: Record<string, unknown> = {}, logger: Logger = recorder()): PayloadStore {
      const resolved = resolvePayloadOptions({ bucket, prefix: PREFIX, ...options });
      if (resolved === undefined) throw new Error('unreachable');
      return new PayloadStore({ options: resolved, source, logger });
    }

    async function keysUnder(prefix: string): Promise<string[]> {
      return (await listKeys(raw, bucket)).filter((key) => key.startsWith(prefix));
    }

    async function currentRules() {
      const output = await raw.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
      return output.Rules ?? [];
    }

    it('stores and reads a body byte for byte, and a repeated put rewrites the same object', async () => {
      const payloads = store();
      const body = JSON.stringify({ v: 1, text: 'é€😀'.repeat(200_000) }); // about 1.8 MiB of UTF-8
      const key = payloadKey({ prefix: PREFIX, domain: 'rt' }, 'rt-next-0.fifo', 'dedup-1');
      await payloads.put(key, body);
      expect(await payloads.get(bucket, key)).toBe(body);
      await payloads.put(key, 'second');
      expect(await payloads.get(bucket, key)).toBe('second');
      expect(await keysUnder(`${PREFIX}rt/`)).toEqual([key]);
      expect(payloads.requests).toEqual(
        new Map([
          ['PutObject', 2],
          ['GetObject', 2],
        ]),
      );
      await payloads.close();
    });

    it('makes its S3 client from the SQS client: region, endpoint (path style) and credentials', async () => {
      const sqs = new SQSClient({ endpoint, region, credentials });
      const fromSqs = s3SourceOf(sqs, { endpoint, source: 'option', region }, {});
      expect(fromSqs.endpoint).toBe(endpoint);
      const resolved = resolvePayloadOptions({ bucket, prefix: PREFIX });
      if (resolved === undefined) throw new Error('unreachable');
      const payloads = new PayloadStore({ options: resolved, source: fromSqs, logger: recorder() });
      await payloads.put(`${PREFIX}from-sqs`, 'x');
      expect(await payloads.get(bucket, `${PREFIX}from-sqs`)).toBe('x');
      await payloads.close();
      sqs.destroy();
    });

    it('reports a missing object or bucket as PayloadMissingError naming both', async () => {
      const payloads = store();
      const gone = await rejection(payloads.get(bucket, `${PREFIX}never-written`));
      expect(gone).toBeInstanceOf(PayloadMissingError);
      expect(gone).toMatchObject({ bucket, key: `${PREFIX}never-written` });
      expect((gone as Error).message).toContain(`s3://${bucket}/${PREFIX}never-written is missing`);
      const noBucket = await rejection(payloads.get(`${bucket}-nope`, 'k'));
      expect(noBucket).toBeInstanceOf(PayloadMissingError);
      expect((noBucket as Error).message).toContain(`the bucket \`${bucket}-nope\` does not exist`);
      await payloads.close();
    });

    it('deletes in batches of at most 1000 keys, on flush and on close', async () => {
      const payloads = store({ prefix: `${PREFIX}del/` });
      const keys = Array.from({ length: 1001 }, (_, i) => `${PREFIX}del/k${i}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => payloads.put(key, key)));
      }
      expect(await keysUnder(`${PREFIX}del/`)).toHaveLength(1001);
      for (const key of keys) payloads.deleteLater(bucket, key);
      payloads.deleteLater(bucket, `${PREFIX}del/never-written`); // S3 deletes a missing key quietly
      await payloads.flush();
      expect(await keysUnder(`${PREFIX}del/`)).toEqual([]);
      expect(payloads.requests.get('DeleteObjects')).toBe(2);
      await payloads.put(`${PREFIX}del/last`, 'x');
      payloads.deleteLater(bucket, `${PREFIX}del/last`);
      await payloads.close();
      await payloads.close(); // idempotent
      expect(await keysUnder(`${PREFIX}del/`)).toEqual([]);
    });

    it('logs a delete that fails, and goes on', async () => {
      const logger = recorder();
      const payloads = store({}, logger);
      payloads.deleteLater(`${bucket}-nope`, 'k');
      await payloads.flush();
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]?.message).toContain('the lifecycle rule will expire them');
      expect(logger.warnings[0]?.fields).toMatchObject({ bucket: `${bucket}-nope`, keys: 1 });
      await payloads.close();
    });

    it('check() writes and reads its object; a missing bucket is an error naming it, the action and the fix', async () => {
      const payloads = store();
      await payloads.check();
      expect(await keysUnder(`${PREFIX}${CHECK_KEY}`)).toEqual([`${PREFIX}${CHECK_KEY}`]);
      await payloads.close();

      const missing = resolvePayloadOptions({ bucket: `${bucket}-nope`, prefix: PREFIX });
      if (missing === undefined) throw new Error('unreachable');
      const wrong = new PayloadStore({ options: missing, source, logger: recorder() });
      const error = await rejection(wrong.check());
      expect(error).toBeInstanceOf(PayloadStoreError);
      expect(error).toMatchObject({ problem: 'no-bucket', bucket: `${bucket}-nope`, action: 'PutObject' });
      expect((error as Error).message).toContain(
        `The S3 bucket \`${bucket}-nope\` does not exist (PutObject`,
      );
      expect((error as Error).message).toContain(`create it (\`aws s3 mb s3://${bucket}-nope\``);
      await wrong.close();
    });

    it('checks, installs (idempotently) and re-checks the lifecycle rule, keeping other rules', async () => {
      const payloads = store();
      expect((await payloads.lifecycle()).state).toBe('missing');
      const logs = {
        ID: 'logs',
        Status: 'Enabled' as const,
        Filter: { Prefix: 'logs/' },
        Expiration: { Days: 90 },
      };
      await raw.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: { Rules: [logs] },
        }),
      );
      expect((await payloads.lifecycle()).state).toBe('missing');

      const first = await payloads.installLifecycle();
      expect(first.action).toBe('installed');
      expect(first.report.state).toBe('ok');
      const report = await payloads.lifecycle();
      expect(report).toEqual({
        state: 'ok',
        description: `Lifecycle rule "sqspipes sqspipes/" expires objects under \`sqspipes/\` of S3 bucket \`${bucket}\` after 15 days.`,
      });
      expect((await payloads.installLifecycle()).action).toBe('unchanged');
      expect((await payloads.installLifecycle(20)).action).toBe('updated');
      expect((await payloads.lifecycle()).description).toContain('after 20 days');

      const other = store({ prefix: 'other/' });
      expect((await other.installLifecycle()).action).toBe('installed');
      expect((await other.lifecycle()).state).toBe('ok');
      expect((await payloads.lifecycle()).state).toBe('ok');

      const short = {
        ID: 'short',
        Status: 'Enabled' as const,
        Filter: { Prefix: 'sqspipes/rt/' },
        Expiration: { Days: 2 },
      };
      const current = await currentRules();
      await raw.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: bucket,
          LifecycleConfiguration: { Rules: [...current, short] },
        }),
      );
      const tooShort = await payloads.lifecycle();
      expect(tooShort.state).toBe('too-short');
      expect(tooShort.description).toContain('rule "short" expires objects after 2 days');
      // Every install kept the rules it found: the logs rule, the other prefix's.
      expect((await currentRules()).map((r) => r.ID).sort()).toEqual(
        ['logs', 'short', 'sqspipes other/', 'sqspipes sqspipes/'].sort(),
      );
      await Promise.all([payloads.close(), other.close()]);
    });

    it('refuses to install a rule for an empty prefix (it would expire the whole bucket)', async () => {
      const payloads = store({ prefix: '' });
      const error = await rejection(payloads.installLifecycle());
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('would expire every object of the S3 bucket');
      await payloads.close();
    });
  },
);

describe('payload store: what S3 answers and no emulator does', () => {
  /** An HTTP server that answers every request with `answer`; a store on it with a client of one attempt. */
  async function answering(answer: (req: IncomingMessage, res: ServerResponse) => void) {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(req, res));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s3Client = new S3Client({
      endpoint: url,
      region: 'eu-west-1',
      credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    const options = resolvePayloadOptions({ bucket: 'my-bucket', prefix: 'p/', s3Client });
    if (options === undefined) throw new Error('unreachable');
    const payloads = new PayloadStore({ options, source, logger: recorder() });
    return {
      payloads,
      async close() {
        await payloads.close();
        s3Client.destroy();
        server.close();
      },
    };
  }
  const xml = (code: string, message: string, extra = '') =>
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>1</RequestId></Error>`;

  it('403 AccessDenied: names the permission and the resource to grant', async () => {
    const s3 = await answering((_req, res) => res.writeHead(403).end(xml('AccessDenied', 'Access Denied')));
    const error = await rejection(s3.payloads.check());
    expect(error).toBeInstanceOf(PayloadStoreError);
    expect(error).toMatchObject({ problem: 'access-denied', bucket: 'my-bucket', action: 'PutObject' });
    expect((error as Error).message).toBe(
      'S3 denied PutObject on s3://my-bucket/p/sqspipes.check: grant s3:PutObject on arn:aws:s3:::my-bucket/p/* to the identity in use',
    );
    const read = await rejection(s3.payloads.get('my-bucket', 'p/k'));
    expect((read as Error).message).toContain(
      'S3 answers the same for a missing object when the identity lacks s3:ListBucket on arn:aws:s3:::my-bucket',
    );
    await s3.close();
  });

  it('a denied lifecycle read is reported (unreadable), not thrown; a too-short expiry is refused', async () => {
    const s3 = await answering((_req, res) => res.writeHead(403).end(xml('AccessDenied', 'Access Denied')));
    expect(await s3.payloads.lifecycle()).toEqual({
      state: 'unreadable',
      description:
        'Cannot read the lifecycle rules: S3 denied GetBucketLifecycleConfiguration on bucket `my-bucket`: grant s3:GetLifecycleConfiguration on arn:aws:s3:::my-bucket to the identity in use',
    });
    const short = await rejection(s3.payloads.installLifecycle(14));
    expect(short).toBeInstanceOf(ConfigError);
    expect((short as Error).message).toBe(
      'Expected the lifecycle expiry in days to be an integer from 15 to 36500, got `14` (number)',
    );
    await s3.close();
  });

  it("403 on the bucket's KMS key: names the KMS permissions", async () => {
    const message = 'User: arn:aws:sts::1:assumed-role/r is not authorized to perform: kms:GenerateDataKey';
    const s3 = await answering((_req, res) => res.writeHead(403).end(xml('AccessDenied', message)));
    const error = await rejection(s3.payloads.check());
    expect((error as Error).message).toContain('grant kms:GenerateDataKey and kms:Decrypt on that key');
    await s3.close();
  });

  it('301 to another region: names the bucket region and the fix', async () => {
    const s3 = await answering((_req, res) =>
      res
        .writeHead(301, { 'x-amz-bucket-region': 'ap-south-1' })
        .end(
          xml(
            'PermanentRedirect',
            'The bucket you are attempting to access must be addressed using the specified endpoint.',
          ),
        ),
    );
    const error = await rejection(s3.payloads.check());
    expect(error).toMatchObject({ problem: 'wrong-region', bucket: 'my-bucket' });
    expect((error as Error).message).toContain(
      'The S3 bucket `my-bucket` is in region ap-south-1, not eu-west-1 (PutObject on s3://my-bucket/p/sqspipes.check)',
    );
    expect((error as Error).message).toContain("an S3Client made with `region: 'ap-south-1'`");
    await s3.close();
  });

  it('an endpoint where nothing listens: unreachable', async () => {
    const s3Client = new S3Client({
      endpoint: 'http://127.0.0.1:9',
      region,
      credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    const options = resolvePayloadOptions({ bucket: 'my-bucket', s3Client });
    if (options === undefined) throw new Error('unreachable');
    const payloads = new PayloadStore({ options, source, logger: recorder() });
    const error = await rejection(payloads.check());
    expect(error).toMatchObject({ problem: 'unreachable', action: 'PutObject' });
    expect((error as Error).message).toContain('Cannot reach S3 at http://127.0.0.1:9');
    await payloads.close();
    s3Client.destroy();
  });
});
