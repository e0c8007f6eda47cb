/**
 * Bodies over the threshold through S3 (the client's `payloads` option), end to end on the
 * backend's S3: outputs, enqueue and submit results larger than SQS carries arrive byte for byte,
 * the objects are deleted once acknowledged, and a pointer that cannot be read dead-letters its
 * input with the reason. ElasticMQ has no S3: the file skips there in one sentence.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { encodeEnvelope } from '../../src/envelope.ts';
import { describe, expect, it } from 'vitest';
import { type InputInfo, TaskClient } from '../../src/index.ts';
import { encodePointer } from '../../src/payloads/pointer.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { listKeys, s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { backendEnv, rawClient } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`payloads.test.ts: ${skipped}`);

const MiB = 1024 * 1024;
/** A string of `bytes` UTF-8 bytes, with some multi-byte characters, that differs by `seed`. */
const text = (bytes: number, seed: string) =>
  `${seed}é`.repeat(Math.ceil(bytes / (seed.length + 2))).slice(0, bytes);
const quick = {
  pollWaitSeconds: 1,
  // Stored bodies deleted as soon as a run sweeps (not 6 minutes after their acknowledgement).
  [Symbol.for('sqspipes.payloadDeleteTiming')]: { holdSeconds: 0, everyMs: 100 },
};

/** Runs `stage` until it dead-letters an input; the reasons given. */
async function deadLetterReasons(client: TaskClient, stage: string): Promise<string[]> {
  const reasons: string[] = [];
  const stop = new AbortController();
  const dead = (info: InputInfo & { reason: string }) => {
    reasons.push(info.reason);
    stop.abort();
  };
  client.on('deadLettered', dead);
  await collect(client.run(stage, { signal: stop.signal }));
  client.off('deadLettered', dead);
  return reasons;
}

describe.skipIf(skipped !== undefined)('payloads through S3', () => {
  const bucket = testBucket('payloads');
  const payloads = { bucket, prefix: 'sqspipes/', threshold: 64 * 1024 };

  it('carries 3 MiB through three stages byte for byte, and deletes every object once acknowledged', async () => {
    const grow = (s: string) => `${s}${s.slice(0, MiB)}`; // 2 MiB in, 3 MiB out
    const stages = [
      { method: () => null, name: 'source' },
      { method: grow, name: 'grow' },
      { method: (s: string) => s, name: 'pass' },
      { method: (s: string) => s.length, name: 'measure' },
    ];
    const client = testClient('payload3', stages, { payloads, ...quick });
    const inputs = ['a', 'b', 'c'].map((seed) => text(2 * MiB, seed));
    await Promise.all(inputs.map((value) => client.enqueue('grow', value)));
    const grown = await collect<string>(client.run('grow', { limit: 3 }));
    expect(grown.map((s) => s.length).toSorted()).toEqual(inputs.map((s) => grow(s).length).toSorted());
    const passed = await collect<string>(client.run('pass', { limit: 3 }));
    expect(passed.toSorted()).toEqual(inputs.map(grow).toSorted());
    const measured = await collect<number>(client.run('measure', { limit: 3 }));
    expect(measured.toSorted()).toEqual(passed.map((s) => s.length).toSorted());
    // The deletes wait in the domain's queue of pending deletes (here without a hold) for a run
    // to sweep them: this idle one.
    const s3 = s3Client();
    const left = async () =>
      (await listKeys(s3, bucket)).filter((key) => key.includes(`/${client.domain}/payload/`));
    const stop = new AbortController();
    const idle = collect(client.run('measure', { signal: stop.signal }));
    while ((await left()).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    stop.abort();
    await idle;
    await client.close();
    s3.destroy();
  });

  it('resolves a submit() whose result is 5 MiB with it', async () => {
    const big = (seed: string) => text(5 * MiB, seed);
    const client = testClient('payload5', [{ method: big, name: 'make', input: true }], {
      payloads,
      ...quick,
    });
    const run = collect(client.run('make', { limit: 1 }));
    const submission = await client.submit('z');
    expect(await submission.result()).toEqual([big('z')]);
    await run;
  });

  it('dead-letters an input whose stored body is gone, saying so; and one a client without payloads receives', async () => {
    const { endpoint, region, credentials } = backendEnv();
    const stages = [{ method: (s: string) => s, name: 'step', input: true }];
    const client = testClient('payloadgone', stages, { payloads, ...quick });
    await client.createQueues();
    const raw = rawClient();
    const { QueueUrl } = await raw.send(
      new GetQueueUrlCommand({ QueueName: `${client.domain}-step-p0.fifo` }),
    );
    const send = async (id: string) => {
      const pointer = encodePointer(bucket, `sqspipes/${client.domain}/payload/${id}`, 10);
      await raw.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: pointer.body,
          MessageAttributes: pointer.attributes,
          MessageGroupId: id,
          MessageDeduplicationId: id,
        }),
      );
    };
    await send('gone');
    expect(await deadLetterReasons(client, 'step')).toEqual([
      expect.stringMatching(/^its body stored in S3 could not be read: .*missing/),
    ]);

    // A stored body a client without `payloads` receives: dead-lettered, and still a pointer in
    // the dead-letter queue, so that its redrive (by that client too) reaches a stage that reads it.
    const s3 = s3Client();
    const key = `sqspipes/${client.domain}/payload/nopayloads`;
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: encodeEnvelope({ id: 'np', value: 'hello' }) }),
    );
    s3.destroy();
    await send('nopayloads');
    const plain = new TaskClient({ domain: client.domain, endpoint, region, credentials, ...quick });
    plain.registerTasks(stages);
    expect(await deadLetterReasons(plain, 'step')).toEqual([expect.stringMatching(/no `payloads` option/)]);
    expect(await plain.redrive('step')).toBe(2); // with the first one, whose body is gone
    await plain.close();
    raw.destroy();
    let output: unknown;
    for await (output of client.run('step')) break;
    expect(output).toBe('hello');
  });

  it('with compress, keeps a 1 MiB JSON body in SQS, compressed, which any sqspipes receiver decodes; an unknown encoding is dead-lettered', async () => {
    const { endpoint, region, credentials } = backendEnv();
    // Records of an order batch: JSON compresses to about a fifth, base64 included.
    const records = Array.from({ length: 11_000 }, (_, i) => ({
      id: `order-${i}`,
      customer: `customer-${i % 97}`,
      total: (i * 7.31) % 500,
      items: [{ sku: `sku-${i % 13}`, qty: 1 + (i % 4) }],
    }));
    const stages = [
      { method: (r: unknown) => r, name: 'pack', input: true },
      { method: (r: typeof records) => r.length, name: 'count' },
    ];
    const client = testClient('payloadzip', stages, {
      payloads: { ...payloads, threshold: 384 * 1024, compress: true },
      ...quick,
    });
    expect(Buffer.byteLength(JSON.stringify(records))).toBeGreaterThan(MiB);
    await client.enqueue('pack', records);
    expect(await collect(client.run('pack', { limit: 1 }))).toEqual([records]);

    // In `count`'s queue: compressed, in SQS, nothing written to S3.
    const raw = rawClient();
    const { QueueUrl } = await raw.send(
      new GetQueueUrlCommand({ QueueName: `${client.domain}-count-p0.fifo` }),
    );
    const seen = await raw.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
        WaitTimeSeconds: 5,
      }),
    );
    const message = seen.Messages?.[0];
    expect(message?.MessageAttributes?.['sqspipes-encoding']?.StringValue).toBe('br-base64');
    expect(message?.MessageAttributes?.['ExtendedPayloadSize']).toBeUndefined();
    expect(Buffer.byteLength(message?.Body ?? '')).toBeLessThan(384 * 1024);
    const s3 = s3Client();
    expect((await listKeys(s3, bucket)).filter((k) => k.includes(`/${client.domain}/payload/`))).toEqual([]);
    s3.destroy();

    // A client without `payloads` (or compress) decodes it all the same.
    const plain = new TaskClient({ domain: client.domain, endpoint, region, credentials, ...quick });
    plain.registerTasks(stages);
    expect(await collect(plain.run('count', { limit: 1 }))).toEqual([records.length]);

    // An encoding this version does not know: dead-lettered, saying so.
    const pack = await raw.send(new GetQueueUrlCommand({ QueueName: `${client.domain}-pack-p0.fifo` }));
    await raw.send(
      new SendMessageCommand({
        QueueUrl: pack.QueueUrl,
        MessageBody: 'KLUv/QBYAQAA',
        MessageAttributes: { 'sqspipes-encoding': { DataType: 'String', StringValue: 'zstd-base64' } },
        MessageGroupId: 'z',
        MessageDeduplicationId: 'z',
      }),
    );
    raw.destroy();
    expect(await deadLetterReasons(plain, 'pack')).toEqual([
      expect.stringMatching(/encoded as "zstd-base64" .*cannot decode/),
    ]);
    await plain.close();
  });
});
