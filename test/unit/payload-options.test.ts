import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import {
  bucketNameProblem,
  DEFAULT_THRESHOLD_BYTES,
  resolvePayloadOptions,
} from '../../src/payloads/options.ts';

/** The ConfigError `value` gets, checked to contain every fragment. */
function refused(value: unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    resolvePayloadOptions(value);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
}

describe('payloads option', () => {
  it('is off when absent', () => {
    expect(resolvePayloadOptions(undefined)).toBeUndefined();
  });

  it('fills in the defaults', () => {
    expect(resolvePayloadOptions({ bucket: 'my-bucket' })).toEqual({
      bucket: 'my-bucket',
      prefix: '',
      threshold: 384 * 1024,
      compress: false,
      s3Client: undefined,
    });
    expect(DEFAULT_THRESHOLD_BYTES).toBe(393_216);
  });

  it('keeps what is given', () => {
    const s3Client = new S3Client({ region: 'eu-west-1' });
    try {
      expect(
        resolvePayloadOptions({
          bucket: 'b.example-1',
          prefix: 'sqs/pipes_1/',
          threshold: 1024,
          compress: true,
          s3Client,
        }),
      ).toEqual({ bucket: 'b.example-1', prefix: 'sqs/pipes_1/', threshold: 1024, compress: true, s3Client });
    } finally {
      s3Client.destroy();
    }
  });

  it('refuses what is not an object, and unknown keys', () => {
    refused('my-bucket', 'Expected `payloads` to be an object with at least `bucket`, got `"my-bucket"`');
    refused({ bucket: 'b00', treshold: 5 }, 'Unknown option `treshold` in `payloads`');
  });

  it.each([
    [undefined, '3 to 63'],
    ['ab', '3 to 63'],
    ['a'.repeat(64), '3 to 63'],
    ['My-Bucket', '3 to 63'],
    ['under_score', '3 to 63'],
    ['-dash', '3 to 63'],
    ['dash-', '3 to 63'],
    ['two..dots', 'without two adjacent periods'],
    ['192.168.5.4', 'not formatted as an IP address'],
    ['xn--bucket', 'not starting with `xn--`'],
    ['sthree-bucket', 'not starting with `sthree-`'],
    ['amzn-s3-demo-bucket', 'not starting with `amzn-s3-demo-`'],
    ['bucket-s3alias', 'not ending with `-s3alias`'],
    ['bucket--ol-s3', 'not ending with `--ol-s3`'],
    ['bucket.mrap', 'not ending with `.mrap`'],
  ])('refuses the bucket name %j', (bucket, fragment) => {
    refused({ bucket }, 'Expected `payloads.bucket` to be an S3 bucket name', fragment);
  });

  it('accepts names at the limits', () => {
    for (const name of ['abc', 'a'.repeat(63), '1.2.3', 'my.bucket-2', '192.168.5.4x']) {
      expect(bucketNameProblem(name)).toBeUndefined();
    }
  });

  it.each([
    ['no-slash'],
    ['/leading/'],
    ['double//'],
    ['./'],
    ['a/../'],
    ['star*/'],
    ['spa ce/'],
    ['é/'],
    [`${'a'.repeat(512)}/`],
    [5],
  ])('refuses the prefix %j', (prefix) => {
    refused({ bucket: 'b00', prefix }, 'Expected `payloads.prefix` to be empty or segments');
  });

  it('accepts an empty prefix and nested ones', () => {
    for (const prefix of ['', 'a/', 'a.b/c-d/e_f/', `${'a'.repeat(511)}/`]) {
      expect(resolvePayloadOptions({ bucket: 'b00', prefix })?.prefix).toBe(prefix);
    }
  });

  it.each([[1023], [1_048_577], [2048.5], ['4096'], [Number.NaN]])(
    'refuses the threshold %j',
    (threshold) => {
      refused(
        { bucket: 'b00', threshold },
        'Expected `payloads.threshold` to be an integer from 1024 to 1048576',
      );
    },
  );

  it('accepts thresholds from 1 KiB to 1 MiB', () => {
    expect(resolvePayloadOptions({ bucket: 'b00', threshold: 1024 })?.threshold).toBe(1024);
    expect(resolvePayloadOptions({ bucket: 'b00', threshold: 1_048_576 })?.threshold).toBe(1_048_576);
  });

  it('refuses an s3Client that is not one', () => {
    refused({ bucket: 'b00', s3Client: {} }, 'Expected `payloads.s3Client` to be an S3Client');
    refused({ bucket: 'b00', s3Client: { send() {} } }, 'an S3Client from @aws-sdk/client-s3');
  });
});
