/**
 * The harness of the interop tests with AWS's Extended Client for Python (issue 23), proved on the
 * test backend's SQS and S3 without sqspipes: what the Python client writes on the wire (read with the
 * raw SDKs), and how it reads pointers we write. Skipped where the backend has no S3 (ElasticMQ) or
 * the machine no Python >= 3.10, saying so.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonScriptError, pythonExtendedClient } from '../support/python-extended-client.ts';
import { s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { rawClient, testDomain } from '../support/sqs.ts';

const POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MIB = 1024 * 1024;

const noS3 = await s3Unavailable();
const lookup = noS3 === undefined ? await pythonExtendedClient() : undefined;
const skip = noS3 ?? (lookup !== undefined && 'skip' in lookup ? lookup.skip : undefined);
if (skip !== undefined) console.warn(skip);

describe.skipIf(skip !== undefined)('AWS Extended Client for Python (the interop harness)', () => {
  const python = () => {
    if (lookup === undefined || !('client' in lookup)) throw new Error('unreachable: the suite is skipped');
    return lookup.client;
  };
  const prefix = testDomain('pyext');
  const bucket = testBucket('pyext');
  const sqs = rawClient();
  const s3 = s3Client();
  let dir = '';
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sqspipes-pyext-'));
  });
  afterAll(async () => {
    sqs.destroy();
    s3.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  async function fifoQueue(): Promise<string> {
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: `${prefix}q${++n}.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    return created.QueueUrl ?? '';
  }

  /** `size` bytes of UTF-8 text with multi-byte characters, written to a file of their own. */
  async function bodyFile(size: number): Promise<{ file: string; bytes: Buffer }> {
    const head = Buffer.from('h\u00e9llo \u20ac \u{1f600} ');
    const tail = Buffer.from(
      randomBytes(size)
        .toString('base64')
        .slice(0, size - head.length),
    );
    const bytes = Buffer.concat([head, tail]);
    const file = join(dir, `body-${++n}.txt`);
    await writeFile(file, bytes);
    return { file, bytes };
  }

  /** Puts `body` under `key` and sends a pointer to it with the raw SDK, as sqspipes will. */
  async function sendPointer(
    queueUrl: string,
    key: string,
    body: Buffer,
    names = { pointerClass: POINTER_CLASS, sizeAttribute: 'ExtendedPayloadSize' },
  ): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify([names.pointerClass, { s3BucketName: bucket, s3Key: key }]),
        MessageAttributes: {
          [names.sizeAttribute]: { DataType: 'Number', StringValue: String(body.length) },
        },
        MessageGroupId: 'g',
        MessageDeduplicationId: key.replaceAll('/', '-'),
      }),
    );
  }

  async function objectExists(key: string): Promise<boolean> {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (error) {
      if (error instanceof NotFound) return false;
      throw error;
    }
  }

  async function messagesInQueue(queueUrl: string): Promise<number> {
    const { Attributes: a = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
  }

  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('sends 3 MiB as an S3 pointer in AWS format and reads it back byte-identical', async () => {
    const queueUrl = await fifoQueue();
    const { file, bytes } = await bodyFile(3 * MIB);
    const sent = await python().send({
      queueUrl,
      bucket,
      bodyFile: file,
      groupId: 'g1',
      deduplicationId: 'd1',
    });
    expect(sent).toMatchObject({ sha256: sha256(bytes), length: 3 * MIB });

    // On the wire, read with the raw SDK (VisibilityTimeout 0: visible again at once).
    const raw = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
        WaitTimeSeconds: 5,
      }),
    );
    const message = raw.Messages?.[0];
    const key = /"s3Key": "([^"]+)"/.exec(message?.Body ?? '')?.[1] ?? '';
    expect(key).toMatch(UUID);
    expect(message?.Body).toBe(`["${POINTER_CLASS}", {"s3BucketName": "${bucket}", "s3Key": "${key}"}]`);
    expect(message?.Body).toBe(sent.sentBody);
    expect(message?.MessageAttributes).toEqual({
      ExtendedPayloadSize: { DataType: 'Number', StringValue: String(3 * MIB) },
    });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(bytes)).toBe(true);

    // Back through the Python client, deleted by it: the body is whole, the object stays (by default).
    const [received] = await python().receive({ queueUrl, delete: true, outDir: dir });
    expect(received).toMatchObject({
      sha256: sha256(bytes),
      length: 3 * MIB,
      messageAttributes: {},
      attributes: { MessageGroupId: 'g1', MessageDeduplicationId: 'd1' },
      offloaded: true,
      deleted: true,
    });
    expect((await readFile(received!.file!)).equals(bytes)).toBe(true);
    expect(await messagesInQueue(queueUrl)).toBe(0);
    expect(await objectExists(key)).toBe(true);
  });

  it('reads pointers whose key we chose, legacy names too, and deletes the object only when asked', async () => {
    const queueUrl = await fifoQueue();
    const kept = `sqspipes-test/${prefix}/kept`;
    const deleted = `sqspipes-test/${prefix}/deleted`;
    const [first, second] = [Buffer.from('x'.repeat(300_000)), Buffer.from('\u00e9'.repeat(200_000))];

    await sendPointer(queueUrl, kept, first);
    const [a] = await python().receive({ queueUrl, delete: true });
    expect(a).toMatchObject({ sha256: sha256(first), length: first.length, offloaded: true, deleted: true });
    expect(await objectExists(kept)).toBe(true);

    const legacy = {
      pointerClass: 'com.amazon.sqs.javamessaging.MessageS3Pointer',
      sizeAttribute: 'SQSLargePayloadSize',
    };
    await sendPointer(queueUrl, deleted, second, legacy);
    const [b] = await python().receive({ queueUrl, delete: true, deletePayload: true });
    expect(b).toMatchObject({
      sha256: sha256(second),
      length: second.length,
      messageAttributes: {},
      offloaded: true,
    });
    expect(await objectExists(deleted)).toBe(false);
    expect(await messagesInQueue(queueUrl)).toBe(0);
  });

  it('passes a message without ExtendedPayloadSize through untouched, even one that looks like a pointer', async () => {
    const queueUrl = await fifoQueue();
    const small = Buffer.from('a small body, \u00e9');
    const lookalike = Buffer.from(
      JSON.stringify([POINTER_CLASS, { s3BucketName: bucket, s3Key: 'nothing-here' }]),
    );
    for (const [i, body] of [small, lookalike].entries()) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body.toString(),
          MessageGroupId: 'g',
          MessageDeduplicationId: `m${i}`,
        }),
      );
    }
    const received = await python().receive({ queueUrl, count: 2, delete: true });
    expect(received.map((m) => [m.sha256, m.offloaded])).toEqual([
      [sha256(small), false],
      [sha256(lookalike), false],
    ]);
  });

  it('fails the whole receive call with NoSuchKey on a pointer to a missing object', async () => {
    const queueUrl = await fifoQueue();
    const key = `sqspipes-test/${prefix}/missing`;
    await sendPointer(queueUrl, key, Buffer.from('soon gone'));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const failure = python().receive({ queueUrl, delete: true });
    await expect(failure).rejects.toBeInstanceOf(PythonScriptError);
    await expect(failure).rejects.toMatchObject({ type: 'NoSuchKey', code: 'NoSuchKey' });
    // The message stays received (in flight): it comes back after its visibility timeout.
    expect(await messagesInQueue(queueUrl)).toBe(1);
  });
});
