/**
 * The operator CLI and large bodies stored in S3, spawned as a user runs it on the S3 of the test
 * backend: `enqueue --payload-bucket` stores what SQS cannot carry (a stage with `payloads` reads
 * it), `peek` shows where a stored body is, or the body itself with `--payload-bucket` (never
 * deleting it), `redrive` moves pointers as they are, the dashboard's dead letters show the same,
 * and S3's setup errors name the CLI's flags. ElasticMQ has no S3: the file skips there.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { PeekedMessage } from '../../src/cli/operator/peeked-message.ts';
import { encodeEnvelope } from '../../src/envelope.ts';
import { TaskClient } from '../../src/index.ts';
import { encodePointer } from '../../src/payloads/pointer.ts';
import { collect } from '../support/pipeline.ts';
import { listKeys, s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { startStage } from '../support/spawn.ts';
import { backendEnv, childEnv, rawClient, testDomain, uniquePrefix } from '../support/sqs.ts';

const OPERATOR = fileURLToPath(new URL('../../src/cli/operator-main.ts', import.meta.url));

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`operator-payload-bodies.test.ts: ${skipped}`);

const MiB = 1024 * 1024;
/** A string of `bytes` UTF-8 bytes, with multi-byte characters, that differs by `seed`. */
const text = (bytes: number, seed: string) =>
  `${seed}é`.repeat(Math.ceil(bytes / (seed.length + 2))).slice(0, bytes);

interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs `sqspipes <args>` with the backend's environment, `stdin` piped in (large values go there: an argument is at most 128 KiB). */
async function cli(
  args: readonly string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [OPERATOR, ...args], {
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(stdin);
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { code: code ?? signal ?? 'unknown', stdout, stderr };
}

/** `cli` that must succeed; resolves with stdout. */
async function ok(args: readonly string[], stdin = ''): Promise<string> {
  const result = await cli(args, stdin);
  expect(result.code, `sqspipes ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** `cli` that must fail with `code` and one line on stderr; resolves with that line. */
async function failure(
  args: readonly string[],
  code: number,
  stdin = '',
  env: Record<string, string> = {},
): Promise<string> {
  const result = await cli(args, stdin, env);
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0] ?? '';
}

describe.skipIf(skipped !== undefined)(skipped ?? 'operator CLI: bodies stored in S3', () => {
  const bucket = testBucket('opbody');
  const base = testDomain('opbody');
  const prefix = 'sq/';
  const s3 = s3Client();
  const raw = rawClient();
  const clients: TaskClient[] = [];
  let n = 0;
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    s3.destroy();
    raw.destroy();
  });

  /** A new domain with the queues of gen → work (work measures its input); its client reads S3. */
  async function pipeline(): Promise<{ domain: string; client: TaskClient }> {
    const domain = `${base}${++n}`;
    const { endpoint, region, credentials } = backendEnv();
    const client = new TaskClient({
      domain,
      endpoint,
      region,
      credentials,
      pollWaitSeconds: 1,
      payloads: { bucket, prefix },
    }).registerTasks([
      { name: 'gen', method: () => null },
      { name: 'work', method: (s: string) => s.length },
    ]);
    clients.push(client);
    await client.createQueues();
    return { domain, client };
  }

  const payloadFlags = ['--payload-bucket', bucket, '--payload-prefix', prefix];
  const storedKeys = async (domain: string) =>
    (await listKeys(s3, bucket)).filter((key) => key.startsWith(`${prefix}${domain}/payload/`));

  /** Sends `value` to `queue` as a pointer to an object written under the domain's payload keys. */
  async function sendPointer(domain: string, queue: string, id: string, value: unknown): Promise<string> {
    const key = `${prefix}${domain}/payload/${id}`;
    const body = encodeEnvelope({ id, value });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const pointer = encodePointer(bucket, key, Buffer.byteLength(body));
    const { QueueUrl } = await raw.send(new GetQueueUrlCommand({ QueueName: queue }));
    await raw.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: pointer.body,
        MessageAttributes: pointer.attributes,
        MessageGroupId: id,
        MessageDeduplicationId: id,
      }),
    );
    return key;
  }

  it('enqueue --payload-bucket stores a value SQS cannot carry; a stage with `payloads` reads it byte for byte', async () => {
    const { domain, client } = await pipeline();
    const big = text(2 * MiB, 'big');
    const stdin = `${JSON.stringify(big)}\n"small"\n`;
    const tooLarge = await failure(['enqueue', 'work', '-', '--domain', domain], 2, stdin);
    expect(tooLarge).toMatch(
      /^Stdin line 1 is \d+ bytes as a message, over SQS's limit of 1048576: give --payload-bucket \(the pipeline's payloads\.bucket\) to store it in S3/,
    );

    const sent = JSON.parse(
      await ok(['enqueue', 'work', '-', '--domain', domain, '--json', ...payloadFlags], stdin),
    ) as { sent: number; stored: number };
    expect(sent).toMatchObject({ sent: 2, stored: 1 });
    expect(await storedKeys(domain)).toHaveLength(1);

    const lengths = await collect<number>(client.run('work', { limit: 2 }));
    expect(lengths.toSorted((a, b) => a - b)).toEqual([5, big.length]);

    const line = await ok(['enqueue', 'work', '-', '--domain', domain, ...payloadFlags], JSON.stringify(big));
    expect(line).toBe(
      `sent 1 message to ${domain}-work-p0.fifo (1 body stored in s3://${bucket}/${prefix})\n`,
    );
  });

  it('peek shows where a stored body is, or with --payload-bucket the body itself, and never deletes it', async () => {
    const { domain } = await pipeline();
    const big = text(MiB + 1, 'peek');
    await ok(
      ['enqueue', 'work', '-', '--domain', domain, '--id', 'p1', ...payloadFlags],
      JSON.stringify(big),
    );
    const [key] = await storedKeys(domain);
    expect(key).toBeDefined();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

    const line = (await ok(['peek', 'work', '--domain', domain])).trim();
    const [where, message, receives, ...rest] = line.split('  ');
    expect([where, message?.startsWith('message='), receives]).toEqual(['p0', true, 'receives=1']);
    expect(rest.join('  ')).toBe(
      `body stored in S3 at s3://${bucket}/${key} (${head.ContentLength} bytes), not read: give --payload-bucket to read it`,
    );

    const unread = JSON.parse(await ok(['peek', 'work', '--domain', domain, '--json'])) as PeekedMessage[];
    expect(unread).toEqual([
      expect.objectContaining({
        envelope: false,
        stored: {
          bucket,
          key,
          size: head.ContentLength,
          read: false,
          unread: 'give --payload-bucket to read it',
        },
      }),
    ]);
    expect(unread[0]?.body).toBeUndefined();

    const read = JSON.parse(
      await ok(['peek', 'work', '--domain', domain, '--json', ...payloadFlags]),
    ) as PeekedMessage[];
    expect(read).toEqual([
      expect.objectContaining({
        envelope: true,
        value: big,
        stored: expect.objectContaining({ key, read: true }) as unknown,
      }),
    ]);
    const textLine = (await ok(['peek', 'work', '--domain', domain, ...payloadFlags])).trim();
    expect(textLine.startsWith(`p0  id=`)).toBe(true);
    expect(textLine).toContain(`  stored=s3://${bucket}/${key}  "peek`);
    expect(await storedKeys(domain)).toEqual([key]); // peek deleted nothing

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const gone = JSON.parse(
      await ok(['peek', 'work', '--domain', domain, '--json', ...payloadFlags]),
    ) as PeekedMessage[];
    expect(gone[0]?.stored).toMatchObject({ key, read: false });
    expect(gone[0]?.stored?.unread).toMatch(
      /^The body stored in S3 at s3:\/\/.* is missing \(no object has that key\)/,
    );
  });

  it('redrive moves a stored dead letter as the pointer it is, with no bucket given; peek then reads it', async () => {
    const { domain } = await pipeline();
    const key = await sendPointer(domain, `${domain}-work-dlq.fifo`, 'dead1', 'from the dead');
    expect(JSON.parse(await ok(['redrive', 'work', '--domain', domain, '--json']))).toMatchObject({
      moved: 1,
    });
    const peeked = JSON.parse(
      await ok(['peek', 'work', '--domain', domain, '--json', ...payloadFlags]),
    ) as PeekedMessage[];
    expect(peeked).toEqual([
      expect.objectContaining({
        queueLevel: 0,
        id: 'dead1',
        value: 'from the dead',
        stored: expect.objectContaining({ key, read: true }) as unknown,
      }),
    ]);
  });

  it("the dashboard's dead letters: where a stored body is, or with --payload-bucket the body", async () => {
    const { domain } = await pipeline();
    const key = await sendPointer(domain, `${domain}-work-dlq.fifo`, 'dead2', { big: 'value' });
    const deadLetters = async (flags: readonly string[]) => {
      const p = startStage(OPERATOR, ['dashboard', '--domain', domain, '--port', '0', ...flags], {});
      try {
        await p.waitForLines(1);
        const url = /^dashboard: (http:\/\/\S+)$/.exec(String(p.lines[0]))?.[1] ?? '';
        const response = await fetch(new URL('/api/dlq/work', url));
        expect(response.status).toBe(200);
        return ((await response.json()) as { messages: PeekedMessage[] }).messages;
      } finally {
        p.child.kill('SIGTERM');
        expect(await p.exited).toBe(0);
      }
    };
    expect(await deadLetters([])).toEqual([
      expect.objectContaining({
        envelope: false,
        stored: expect.objectContaining({ key, read: false }) as unknown,
      }),
    ]);
    expect(await deadLetters(payloadFlags)).toEqual([
      expect.objectContaining({
        id: 'dead2',
        value: { big: 'value' },
        stored: expect.objectContaining({ read: true }) as unknown,
      }),
    ]);
    expect(await storedKeys(domain)).toEqual([key]);
  });

  it("S3's setup errors name the CLI's flags, not the library's options", async () => {
    const { domain } = await pipeline();
    const missing = uniquePrefix('nobucket').toLowerCase();
    const big = JSON.stringify(text(MiB, 'x'));
    const line = await failure(
      ['enqueue', 'work', '-', '--domain', domain, '--payload-bucket', missing],
      1,
      big,
    );
    expect(line).toMatch(
      new RegExp(
        `^The S3 bucket \`${missing}\` does not exist \\(PutObject on s3://${missing}/${domain}/payload/`,
      ),
    );
    expect(line).toMatch(/or correct --payload-bucket$/);
    const checked = await failure(['payloads', '--bucket', missing], 1);
    expect(checked).toMatch(/or correct --bucket$/);
  });

  it('enqueue gives up on an S3 that never answers at --timeout, naming S3', async () => {
    const { domain } = await pipeline();
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const env = { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` };
    try {
      const args = ['enqueue', 'work', '-', '--domain', domain, ...payloadFlags, '--timeout', '1s'];
      const line = await failure(args, 1, JSON.stringify(text(MiB, 'slow')), env);
      expect(line).toMatch(
        new RegExp(
          `^S3 did not answer within 1s \\(region \\S+, endpoint ${env.AWS_ENDPOINT_URL_S3}\\): check that it is reachable, or give it longer with --timeout\\. `,
        ),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
