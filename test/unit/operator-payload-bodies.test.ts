/**
 * The operator CLI and bodies stored in S3, without S3: `--payload-bucket`/`--payload-prefix` of
 * enqueue, peek and dashboard; what peek shows of a pointer (read or not); and S3's setup errors
 * in the CLI's words (its flags) rather than the `payloads` option's.
 */
import * as sdk from '@aws-sdk/client-s3';
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { parseOperatorArgs } from '../../src/cli/operator/args.ts';
import type { DomainQueue } from '../../src/cli/operator/discover.ts';
import { UsageError } from '../../src/cli/operator/errors.ts';
import { explainS3, operatorS3Settings } from '../../src/cli/operator/payload-access.ts';
import { describeMessage, formatPeeked } from '../../src/cli/operator/peeked-message.ts';
import { shownBodies } from '../../src/cli/operator/stored-bodies.ts';
import { encodeEnvelope } from '../../src/envelope.ts';
import { PayloadStoreError } from '../../src/payloads/errors.ts';
import { encodePointer } from '../../src/payloads/pointer.ts';
import { diagnoseS3, type S3Call } from '../../src/payloads/s3-diagnose.ts';

const d = ['--domain', 'shop'];
const P = ['--payload-bucket', 'my-bucket'];

async function refusal(argv: readonly string[]): Promise<string> {
  const error: unknown = await parseOperatorArgs(argv).then(
    (parsed) => new Error(`accepted: ${JSON.stringify(parsed)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  return (error as Error).message;
}

describe('--payload-bucket of enqueue, peek and dashboard', () => {
  const lines = {
    enqueue: ['enqueue', 'work', '1'],
    peek: ['peek', 'work'],
    dashboard: ['dashboard'],
  };

  it.each(Object.entries(lines))('%s reads the bucket and prefix; none without them', async (_, line) => {
    expect(await parseOperatorArgs([...line, ...d, ...P, '--payload-prefix', 'sq/'])).toMatchObject({
      command: { payloads: { bucket: 'my-bucket', prefix: 'sq/' } },
    });
    expect(await parseOperatorArgs([...line, ...d, ...P])).toMatchObject({
      command: { payloads: { bucket: 'my-bucket', prefix: '' } },
    });
    expect(await parseOperatorArgs([...line, ...d])).toMatchObject({ command: { payloads: undefined } });
    const help = await parseOperatorArgs([line[0] ?? '', '--help']);
    expect(help.kind === 'print' ? help.text : '').toMatch(/--payload-bucket +the S3 bucket of large bodies/);
  });

  it.each([
    [
      [...lines.enqueue, ...d, '--payload-prefix', 'sq/'],
      '--payload-prefix applies only with --payload-bucket (see sqspipes enqueue --help)',
    ],
    [
      [...lines.peek, ...d, '--payload-bucket', 'My_Bucket'],
      `--payload-bucket must be an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit), got "My_Bucket" (see sqspipes peek --help)`,
    ],
    [
      [...lines.dashboard, ...d, ...P, '--payload-prefix', 'sq'],
      `--payload-prefix must be empty or segments of letters, digits, '.', '_' and '-' each ending with '/' (e.g. "sqspipes/"), at most 512 characters, got "sq" (see sqspipes dashboard --help)`,
    ],
    [['redrive', 'work', ...d, ...P], 'Unknown option --payload-bucket (see sqspipes redrive --help)'],
  ])('refuses %j', async (argv, message) => {
    expect(await refusal(argv)).toBe(message);
  });
});

describe('what peek shows of a body stored in S3', () => {
  const queue: DomainQueue = {
    name: 'shop-work-p0.fifo',
    url: 'http://sqs/q/shop-work-p0.fifo',
    stage: 'work',
    level: 0,
  } as DomainQueue;
  const body = encodeEnvelope({ id: 'e1', value: 'big' });
  const pointer = encodePointer('my-bucket', 'sq/shop/payload/abc', Buffer.byteLength(body));
  const message: Message = {
    MessageId: 'm1',
    Body: pointer.body,
    MessageAttributes: pointer.attributes,
    Attributes: { ApproximateReceiveCount: '2' },
  };
  const stored = { bucket: 'my-bucket', key: 'sq/shop/payload/abc', size: Buffer.byteLength(body) };

  it('without --payload-bucket: where it is and its size, never the pointer JSON', async () => {
    const [shown] = await shownBodies([message], undefined);
    const peeked = describeMessage(queue, message, shown);
    expect(peeked).toEqual({
      queue: queue.name,
      queueLevel: 0,
      messageId: 'm1',
      receiveCount: 2,
      envelope: false,
      reason: 'its body is stored in S3, not read: give --payload-bucket to read it',
      stored: { ...stored, read: false, unread: 'give --payload-bucket to read it' },
    });
    expect(formatPeeked(peeked)).toBe(
      `p0  message=m1  receives=2  body stored in S3 at s3://my-bucket/sq/shop/payload/abc (${stored.size} bytes), not read: give --payload-bucket to read it`,
    );
  });

  it('read: the stored envelope, with where it came from', () => {
    const peeked = describeMessage(queue, message, { body, stored: { ...stored, read: true } });
    expect(peeked).toMatchObject({ envelope: true, id: 'e1', value: 'big', stored: { read: true } });
    expect(formatPeeked(peeked)).toBe(
      'p0  id=e1  receives=2  stored=s3://my-bucket/sq/shop/payload/abc  "big"',
    );
  });

  it('a pointer attribute on a body that is no pointer: the raw body and why', async () => {
    const broken = { ...message, Body: 'not json' };
    const [shown] = await shownBodies([broken], undefined);
    expect(describeMessage(queue, broken, shown)).toMatchObject({
      envelope: false,
      body: 'not json',
      reason: expect.stringMatching(
        /carries the attribute ExtendedPayloadSize, .*its body is not JSON$/,
      ) as unknown,
    });
  });

  it('a plain body is shown as before', async () => {
    const plain = { MessageId: 'm2', Body: body };
    const [shown] = await shownBodies([plain], undefined);
    expect(describeMessage(queue, plain, shown)).toEqual(describeMessage(queue, plain));
  });
});

describe("S3's setup errors in the operator CLI's words", () => {
  const call: S3Call = {
    action: 'PutObject',
    bucket: 'my-bucket',
    key: 'sq/shop/payload/abc',
    prefix: 'sq/',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:4566',
  };
  const at = { prefix: call.prefix, region: call.region, endpoint: call.endpoint };
  const cli = operatorS3Settings('--payload-bucket');
  const both = (error: Error) => {
    const library = diagnoseS3(sdk, error, call) as PayloadStoreError;
    expect(library).toBeInstanceOf(PayloadStoreError);
    const own = explainS3(library, at, cli) as PayloadStoreError;
    expect(own).toBeInstanceOf(PayloadStoreError);
    expect(own).toMatchObject({ problem: library.problem, bucket: 'my-bucket', action: 'PutObject' });
    expect(own.cause).toBe(error);
    return { library: library.message, own: own.message };
  };
  const redirect = Object.assign(new Error('moved'), {
    name: 'PermanentRedirect',
    $metadata: { httpStatusCode: 301 },
    $response: { headers: { 'x-amz-bucket-region': 'ap-south-1' } },
  });

  it('a missing bucket: correct --payload-bucket, not payloads.bucket', () => {
    const { library, own } = both(new sdk.NoSuchBucket({ message: 'no', $metadata: {} }));
    expect(library).toMatch(/or correct `payloads\.bucket`$/);
    expect(own).toBe(library.replace('`payloads.bucket`', '--payload-bucket'));
  });

  it('a bucket in another region: no payloads.s3Client to pass from the CLI', () => {
    const { library, own } = both(redirect);
    expect(library).toMatch(/pass `payloads\.s3Client`/);
    expect(own).toBe(
      "The S3 bucket `my-bucket` is in region ap-south-1, not us-east-1 (PutObject on s3://my-bucket/sq/shop/payload/abc): the operator CLI makes its S3 client in the SQS client's region (--region, AWS_REGION), so it cannot use a bucket of another region",
    );
  });

  it("S3 out of reach: the CLI's endpoint flag", () => {
    const { own } = both(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    expect(own).toMatch(
      /the operator CLI uses the SQS endpoint \(--endpoint, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL\)/,
    );
  });

  it('wording the same in both: the same message; other errors as they are', () => {
    const denied = Object.assign(new Error('denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const { library, own } = both(denied);
    expect(own).toBe(library);
    const other = new Error('throttled');
    expect(explainS3(other, at, cli)).toBe(other);
  });

  it('`payloads --bucket` names its own flag', () => {
    const library = diagnoseS3(sdk, new sdk.NoSuchBucket({ message: 'no', $metadata: {} }), call);
    expect((explainS3(library, at, operatorS3Settings('--bucket')) as Error).message).toMatch(
      /or correct --bucket$/,
    );
  });
});
