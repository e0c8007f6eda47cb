import { describe, expect, it } from 'vitest';
import { PayloadPointerError } from '../../src/payloads/errors.ts';
import {
  decodePointer,
  encodePointer,
  LEGACY_POINTER_CLASS,
  LEGACY_SIZE_ATTRIBUTE,
  POINTER_ATTRIBUTES,
  POINTER_CLASS,
  SIZE_ATTRIBUTE,
} from '../../src/payloads/pointer.ts';

const size = (value: string) => ({ [SIZE_ATTRIBUTE]: { DataType: 'Number', StringValue: value } });
const legacySize = (value: string) => ({
  [LEGACY_SIZE_ATTRIBUTE]: { DataType: 'Number', StringValue: value },
});

describe('payload pointer: encode', () => {
  it("writes the bytes Java's PayloadS3Pointer.toJson() writes, and a Number size attribute", () => {
    // Output of payloadoffloading-common 2.2.0 for the same bucket and key (run once with Java).
    const java =
      '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"my-bucket","s3Key":"pre/fix/ключ \\"q\\""}]';
    const encoded = encodePointer('my-bucket', 'pre/fix/ключ "q"', 3_145_728);
    expect(encoded.body).toBe(java);
    expect(encoded.attributes).toEqual({
      ExtendedPayloadSize: { DataType: 'Number', StringValue: '3145728' },
    });
  });

  it('refuses a size that is not a byte count', () => {
    expect(() => encodePointer('b', 'k', -1)).toThrow(RangeError);
    expect(() => encodePointer('b', 'k', 1.5)).toThrow(RangeError);
  });

  it('round-trips', () => {
    const { body, attributes } = encodePointer('bucket-1', 'a/b/c', 42);
    expect(decodePointer(body, attributes)).toEqual({ bucket: 'bucket-1', key: 'a/b/c', size: 42 });
  });
});

describe('payload pointer: decode', () => {
  it("reads Python's spelling (json.dumps: spaces, \\u escapes) with ExtendedPayloadSize", () => {
    const python = `["${POINTER_CLASS}", {"s3BucketName": "b", "s3Key": "\\u043a\\u043b\\u044e\\u0447"}]`;
    expect(decodePointer(python, size('10'))).toEqual({ bucket: 'b', key: 'ключ', size: 10 });
  });

  it('reads the legacy size attribute SQSLargePayloadSize (what Java 2.x sends by default)', () => {
    const body = `["${POINTER_CLASS}",{"s3BucketName":"b","s3Key":"k"}]`;
    expect(decodePointer(body, legacySize('7'))).toEqual({ bucket: 'b', key: 'k', size: 7 });
  });

  it('reads the legacy class com.amazon.sqs.javamessaging.MessageS3Pointer', () => {
    const body = `["${LEGACY_POINTER_CLASS}",{"s3BucketName":"b","s3Key":"k"}]`;
    expect(decodePointer(body, legacySize('7'))).toEqual({ bucket: 'b', key: 'k', size: 7 });
    expect(decodePointer(body, size('7'))).toEqual({ bucket: 'b', key: 'k', size: 7 });
  });

  it('ignores key order and unknown fields, as Jackson does', () => {
    const body = `["${POINTER_CLASS}",{"s3Key":"k","extra":1,"s3BucketName":"b"}]`;
    expect(decodePointer(body, size('1'))).toEqual({ bucket: 'b', key: 'k', size: 1 });
  });

  it('reads a size that is not a decimal integer as unknown, as AWS clients ignore it', () => {
    const body = encodePointer('b', 'k', 1).body;
    expect(decodePointer(body, size('1e3'))?.size).toBeUndefined();
    expect(decodePointer(body, { [SIZE_ATTRIBUTE]: { DataType: 'Number' } })?.size).toBeUndefined();
  });

  it('takes a body that looks like a pointer, without the attribute, as a plain body', () => {
    const { body } = encodePointer('b', 'k', 1);
    expect(decodePointer(body, undefined)).toBeUndefined();
    expect(decodePointer(body, {})).toBeUndefined();
    expect(decodePointer(body, { S3Key: { DataType: 'String', StringValue: 'k' } })).toBeUndefined();
  });

  it('takes any body without the attribute as plain', () => {
    expect(decodePointer('{"v":1}', {})).toBeUndefined();
    expect(decodePointer('not json', undefined)).toBeUndefined();
  });

  it.each([
    ['not JSON', 'nope', 'not JSON'],
    ['an object', '{"s3BucketName":"b","s3Key":"k"}', 'not a JSON array'],
    ['three items', `["${POINTER_CLASS}",{"s3BucketName":"b","s3Key":"k"},1]`, 'not a JSON array'],
    [
      'another class',
      '["com.example.S3Pointer",{"s3BucketName":"b","s3Key":"k"}]',
      '"com.example.S3Pointer"',
    ],
    ['a class with a suffix', `["${POINTER_CLASS}2",{"s3BucketName":"b","s3Key":"k"}]`, 'names the class'],
    ['no key', `["${POINTER_CLASS}",{"s3BucketName":"b"}]`, 'lacks a non-empty'],
    ['an empty bucket', `["${POINTER_CLASS}",{"s3BucketName":"","s3Key":"k"}]`, 'lacks a non-empty'],
    ['a number key', `["${POINTER_CLASS}",{"s3BucketName":"b","s3Key":5}]`, 'lacks a non-empty'],
    ['fields in an array', `["${POINTER_CLASS}",["b","k"]]`, 'lacks a non-empty'],
  ])('with the attribute, refuses a body that is %s', (_, body, fragment) => {
    for (const attributes of [size('1'), legacySize('1')]) {
      let caught: unknown;
      try {
        decodePointer(body, attributes);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PayloadPointerError);
      expect((caught as Error).message).toContain(fragment);
      expect((caught as PayloadPointerError).attribute).toBe(Object.keys(attributes)[0]);
    }
  });

  it('names both reserved attributes for a receive to ask for', () => {
    expect([...POINTER_ATTRIBUTES]).toEqual(['ExtendedPayloadSize', 'SQSLargePayloadSize']);
  });
});
