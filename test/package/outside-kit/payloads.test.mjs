// Large payloads through S3, as a user checks them from outside (README: "Large payloads through
// S3", "The stage CLI"): payloads-pipeline.mjs run as stage processes, two per stage, fed items of
// 3 MiB while stage processes are killed with SIGKILL and restarted; then AWS's Python Extended
// Client sends an item into the pipeline and reads its output. Only sqspipes' public exports and
// CLIs, the AWS SDK's S3 client and the SQS of sqspipes/testing (fauxqs serves S3 too).
// PAYLOAD_ITEMS sets the number of items (12 by default). SQSPIPES_PYTHON_EXTENDED_CLIENT names a
// Python with amazon-sqs-extended-client and boto3; without it the Python part is skipped.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { devNull, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startSqs } from 'sqspipes/testing';
import { documentsClient, PREFIX, rotate, stamp, stretch } from './payloads-pipeline.mjs';

const SCRIPT = fileURLToPath(new URL('./payloads-pipeline.mjs', import.meta.url));
const ITEMS = Number(process.env.PAYLOAD_ITEMS ?? 12);
const STAGES = ['stretch', 'rotate', 'stamp'];
const PROCESSES = 2;
/** Items enqueued ahead of the pipeline's outputs: bounds the bytes in flight. */
const WINDOW = 8;
const MIN_KILLS = 4;
const MiB = 1024 * 1024;

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const expectedOf = (input) => sha256(stamp(rotate(stretch(input))));

const WORDS = ['zoo', 'ångström', 'o', 'naïve', '東京', 'über', '🦀', 'photo', 'façade', 'x'];
/** `<id>|` and about 3 MiB of words (1 to 4 UTF-8 bytes a character), the same for the same id. */
function documentOf(id) {
  const words = [`${id}|`];
  let bytes = 0;
  let state = Number.parseInt(sha256(id).slice(0, 8), 16) | 1;
  while (bytes < 3 * MiB) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const word = WORDS[(state >>> 0) % WORDS.length];
    words.push(word, ' ');
    bytes += Buffer.byteLength(word) + 1;
  }
  return words.join('');
}

const sqs = await startSqs();
const credentials = sqs.credentials;
const s3 = new S3Client({ endpoint: sqs.endpoint, region: sqs.region, credentials, forcePathStyle: true });
const bucket = `docs-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const location =
  sqs.region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: sqs.region } };
const noS3 = await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location })).then(
  () => undefined,
  (error) => {
    if (sqs.backend === 'fauxqs') throw error; // the embedded fauxqs always serves S3
    return `${sqs.name} answers no S3 request (CreateBucket: ${error.name}), so the test of large payloads through S3 is skipped.`;
  },
);
if (noS3 !== undefined) console.warn(`outside-kit: ${noS3}`);
const python = process.env.SQSPIPES_PYTHON_EXTENDED_CLIENT || undefined;
const noPython =
  python === undefined
    ? "SQSPIPES_PYTHON_EXTENDED_CLIENT names no Python with AWS's Extended Client, so the Python part of the payloads test is skipped."
    : undefined;
if (noS3 === undefined && noPython !== undefined) console.warn(`outside-kit: ${noPython}`);

afterAll(async () => {
  if (noS3 === undefined) {
    for (;;) {
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      if (Contents.length === 0) break;
      const Objects = Contents.map(({ Key }) => ({ Key }));
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
  s3.destroy();
  await sqs.close();
});

/** Counts the pipeline's outputs, and wakes whoever waits for a count. */
class Progress {
  count = 0;
  #waiters = [];
  add() {
    this.count++;
    for (const w of this.#waiters) if (this.count >= w.count) w.resolve();
    this.#waiters = this.#waiters.filter((w) => this.count < w.count);
  }
  /** Resolves once `count` outputs arrived, or `stop` aborted. */
  until(count, stop) {
    if (this.count >= count || stop.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      stop.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** `node payloads-pipeline.mjs <stage> 2 --quiet`, with the stderr it wrote and its exit. */
function startStage(stage, env) {
  const child = spawn(process.execPath, [SCRIPT, stage, String(PROCESSES), '--quiet'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const process_ = { stage, child, stderr: '' };
  child.stderr.setEncoding('utf8').on('data', (chunk) => (process_.stderr += chunk));
  process_.exited = once(child, 'exit').then(([code, signal]) => code ?? signal);
  return process_;
}

/** Runs a Python program with the Extended Client; resolves with its stdout's JSON lines. */
async function runPython(source, args) {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_ENDPOINT_URL: sqs.endpoint,
    AWS_DEFAULT_REGION: sqs.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_CONFIG_FILE: devNull,
    AWS_SHARED_CREDENTIALS_FILE: devNull,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const { stdout } = await promisify(execFile)(python, ['-c', source, ...args], {
    env,
    timeout: 90_000,
    maxBuffer: 16 * MiB,
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

// Shared by both programs: the Extended Client's S3 client with path-style URLs, the only ones an
// emulator on 127.0.0.1 answers.
const PYTHON_CLIENT = `
import hashlib, json, sys, time, uuid
import sqs_extended_client  # every boto3 SQS client is now an Extended Client
import boto3
from botocore.config import Config

sqs = boto3.client("sqs")
sqs.s3_client = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
`;

/** Sends the file argv[3] as the value of a sqspipes envelope, its body through S3. */
const PYTHON_PRODUCER = `${PYTHON_CLIENT}
queue_url, bucket, path = sys.argv[1:4]
with open(path, encoding="utf-8") as f:
    value = f.read()
sqs.large_payload_support = bucket
envelope = json.dumps({"v": 1, "id": str(uuid.uuid4()), "p": 0, "d": value}, ensure_ascii=False)
sent = sqs.send_message(QueueUrl=queue_url, MessageBody=envelope,
                        MessageGroupId=str(uuid.uuid4()), MessageDeduplicationId=str(uuid.uuid4()))
print(json.dumps({"messageId": sent["MessageId"], "bytes": len(envelope.encode("utf-8"))}))
`;

/**
 * Receives from argv[1] until a message whose value starts with argv[2] arrives (or argv[3]
 * seconds pass): one line per message, what its body holds. Leaves the messages in the queue.
 */
const PYTHON_CONSUMER = `${PYTHON_CLIENT}
queue_url, wanted, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    wait = max(1, min(20, int(deadline - time.monotonic())))
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                              VisibilityTimeout=60, MessageAttributeNames=["All"])
    found = False
    for message in got.get("Messages", []):
        body = json.loads(message["Body"])
        value = body.get("d") if isinstance(body, dict) else None
        text = value if isinstance(value, str) else ""
        found = found or text.startswith(wanted)
        print(json.dumps({
            "offloaded": sqs.is_s3_receipt_handle(message["ReceiptHandle"]),
            "keys": sorted(body) if isinstance(body, dict) else None,
            "v": body.get("v") if isinstance(body, dict) else None,
            "id": body.get("id") if isinstance(body, dict) else None,
            "start": text[:24],
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "bytes": len(text.encode("utf-8")),
        }), flush=True)
    if found:
        break
`;

describe.skipIf(noS3 !== undefined)(
  'large payloads through S3, from outside: stage processes under SIGKILL, and a Python client',
  () => {
    const domain = `docs${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const client = documentsClient({
      domain,
      bucket,
      endpoint: sqs.endpoint,
      region: sqs.region,
      credentials,
    });
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_REGION: sqs.region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      PIPELINE_DOMAIN: domain,
      PIPELINE_BUCKET: bucket,
    };
    /** The stage processes now running, by name (`stretch#0`…). */
    const running = new Map();
    let dir = '';

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'payloads-outside-'));
      // `npx sqspipes payloads --install-lifecycle`, as the README says to do once per bucket.
      const require = createRequire(import.meta.url);
      const manifest = require.resolve('sqspipes/package.json');
      const bin = join(dirname(manifest), JSON.parse(readFileSync(manifest, 'utf8')).bin.sqspipes);
      const args = ['payloads', '--bucket', bucket, '--prefix', PREFIX, '--install-lifecycle'];
      await promisify(execFile)(process.execPath, [bin, ...args, '--endpoint', sqs.endpoint], { env });
      await client.createQueues();
    }, 60_000);

    afterAll(async () => {
      for (const p of running.values()) p.child.kill('SIGKILL');
      await Promise.all([...running.values()].map((p) => p.exited));
      await client.destroy();
      await client.close();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    }, 60_000);

    test(
      `carries ${ITEMS} items of 3 MiB through 3 stages of ${PROCESSES} processes each, killed and restarted, each output once and byte for byte`,
      { timeout: 120_000 + ITEMS * 3_000 },
      async () => {
        const expected = new Map();
        const outputs = new Map(); // id → the hash of each output of that id
        const progress = new Progress();
        const done = new AbortController();
        const feeding = (async () => {
          for (let n = 0; n < ITEMS; n++) {
            await progress.until(n - WINDOW + 1, done.signal);
            if (done.signal.aborted) return;
            const id = `doc-${String(n).padStart(4, '0')}`;
            const input = documentOf(id);
            expected.set(id, expectedOf(input));
            await client.enqueue('stretch', input, { id });
          }
        })();
        for (const stage of STAGES) {
          for (let i = 0; i < PROCESSES; i++) running.set(`${stage}#${i}`, startStage(stage, env));
        }
        let kills = 0;
        // A kill after each few outputs (a random number of them), of a random stage process,
        // restarted at once: what it held comes back after its visibility timeout.
        const chaos = (async () => {
          while (!done.signal.aborted && (kills < MIN_KILLS || progress.count < ITEMS * 0.6)) {
            await progress.until(progress.count + 1 + Math.floor(Math.random() * 2), done.signal);
            if (done.signal.aborted) break;
            const names = [...running.keys()];
            const name = names[Math.floor(Math.random() * names.length)];
            const victim = running.get(name);
            victim.child.kill('SIGKILL');
            await victim.exited;
            kills++;
            running.set(name, startStage(victim.stage, env));
          }
        })();

        try {
          for await (const value of client.run('collect', { idleTimeout: 60_000 })) {
            const id = value.slice(0, value.indexOf('|'));
            outputs.set(id, [...(outputs.get(id) ?? []), sha256(value)]);
            progress.add();
            if (outputs.size === ITEMS) break;
          }
        } finally {
          done.abort();
          await Promise.all([feeding, chaos]);
        }
        const report = [...running].map(([name, p]) => `${name}:\n${p.stderr.slice(-2000)}`).join('\n');
        expect(outputs.size, report).toBe(ITEMS);
        expect([...outputs].filter(([, hashes]) => hashes.length > 1).map(([id]) => id)).toEqual([]);
        expect([...expected].filter(([id, hash]) => outputs.get(id)?.[0] !== hash).map(([id]) => id)).toEqual(
          [],
        );
        expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
        // No second copy of an output waits in `collect`'s queue either.
        const queues = await client.queues();
        expect(queues.find((q) => q.name === `${domain}-collect-p0.fifo`)?.visible).toBe(0);
        console.log(`payloads from outside: ${ITEMS} items of 3 MiB, ${kills} SIGKILLs, each output once`);
      },
    );

    test.skipIf(noPython !== undefined)(
      "takes a Python producer's 3 MiB message through the pipeline, and a Python consumer gets the output's envelope",
      { timeout: 120_000 },
      async () => {
        const urlOf = async (stage) =>
          (await client.queues()).find((q) => q.name === `${domain}-${stage}-p0.fifo`)?.url;
        const id = `py-${randomUUID()}`;
        const input = documentOf(id);
        const file = join(dir, 'input.txt');
        await writeFile(file, input);
        const [sent] = await runPython(PYTHON_PRODUCER, [await urlOf('stretch'), bucket, file]);
        expect(sent.bytes).toBeGreaterThan(3 * MiB);

        // The stage processes take it through; `collect` has no consumer now but the Python one.
        const received = await runPython(PYTHON_CONSUMER, [await urlOf('collect'), `${id}|`, '60']);
        const output = stamp(rotate(stretch(input)));
        expect(received).toEqual([
          {
            offloaded: true,
            keys: expect.arrayContaining(['v', 'id', 'd']),
            v: 1,
            id: expect.any(String),
            start: output.slice(0, 24),
            sha256: sha256(output),
            bytes: Buffer.byteLength(output),
          },
        ]);
        expect(received[0].bytes).toBeGreaterThan(3 * MiB);
      },
    );

    test('stops every stage process gracefully on SIGTERM (exit code 0)', { timeout: 60_000 }, async () => {
      const stopping = [...running.values()];
      running.clear();
      for (const p of stopping) p.child.kill('SIGTERM');
      const codes = await Promise.all(stopping.map((p) => p.exited));
      const report = stopping.map((p) => `${p.stage}:\n${p.stderr.slice(-2000)}`).join('\n');
      expect(codes, report).toEqual(stopping.map(() => 0));
    });
  },
);
