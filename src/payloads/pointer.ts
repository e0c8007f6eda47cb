/**
 * The pointer to a body stored in S3, in the wire format of AWS's Extended Client Libraries
 * (Java `amazon-sqs-java-extended-client-lib` over `payloadoffloading-common`, Python
 * `amazon-sqs-extended-client`), so that their producers and consumers and ours read each other.
 *
 * Checked against their sources (payloadoffloading-common 2.2.0, amazon-sqs-java-extended-client-lib
 * 2.1.2, amazon-sqs-extended-client 1.0.1), and by running Java's `PayloadS3Pointer.toJson()`:
 * - Body: Jackson with default typing writes
 *   `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"B","s3Key":"K"}]`:
 *   no spaces, bucket first, non-ASCII as is. Python's `json.dumps` writes the same with spaces
 *   after `,` and `:` and non-ASCII as `\uXXXX`. We write Java's bytes and read any JSON spelling.
 * - Attribute `ExtendedPayloadSize`, DataType `Number`, StringValue the UTF-8 byte length of the
 *   stored body in decimal. Java (2.1.2) still SENDS the legacy `SQSLargePayloadSize` by default
 *   (`useLegacyReservedAttributeName = true`); Python sends `ExtendedPayloadSize`.
 * - Detection: both libraries decide "this is a pointer" by the presence of either attribute
 *   alone, never by the body, and ignore its value. Java reads the legacy class
 *   `com.amazon.sqs.javamessaging.MessageS3Pointer` by replacing it with the new name; Python
 *   ignores the class. A body that looks like a pointer without the attribute is a plain body.
 * - Both refuse to send a message that already carries a reserved attribute, and allow at most
 *   9 attributes of the user's (SQS's 10, one taken by the size).
 */
import { PayloadPointerError } from './errors.ts';

/** The class name Java's payloadoffloading library writes (and we write). */
export const POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer';
/** The class name of the Java extended client before version 2 (read, never written). */
export const LEGACY_POINTER_CLASS = 'com.amazon.sqs.javamessaging.MessageS3Pointer';
/** The Number attribute that marks a pointer and carries the stored body's byte length. */
export const SIZE_ATTRIBUTE = 'ExtendedPayloadSize';
/** The attribute older clients (and Java 2.x by default) use instead (read, never written). */
export const LEGACY_SIZE_ATTRIBUTE = 'SQSLargePayloadSize';
/** Both reserved names: a receive must ask for them (`MessageAttributeNames`) to see pointers. */
export const POINTER_ATTRIBUTES = [SIZE_ATTRIBUTE, LEGACY_SIZE_ATTRIBUTE] as const;

/** Where a body is stored, and its size when the message said. */
export interface PayloadPointer {
  readonly bucket: string;
  readonly key: string;
  /** The stored body's byte length from the size attribute; undefined when not a decimal integer. */
  readonly size: number | undefined;
}

/** A message attribute as the SDK gives it (only the fields read here). */
export interface AttributeValue {
  readonly DataType?: string | undefined;
  readonly StringValue?: string | undefined;
}

/** The message body and attributes that carry a pointer. */
export interface EncodedPointer {
  readonly body: string;
  readonly attributes: { readonly [SIZE_ATTRIBUTE]: { DataType: 'Number'; StringValue: string } };
}

/** The body and attribute that point to `key` in `bucket`, where a body of `size` bytes is stored. */
export function encodePointer(bucket: string, key: string, size: number): EncodedPointer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Invalid payload size ${size}`);
  return {
    // JSON.stringify writes what Jackson writes: no spaces, keys in this order, non-ASCII as is.
    body: JSON.stringify([POINTER_CLASS, { s3BucketName: bucket, s3Key: key }]),
    attributes: { [SIZE_ATTRIBUTE]: { DataType: 'Number', StringValue: String(size) } },
  };
}

/**
 * The pointer a received message carries, or undefined for a plain body (no reserved attribute,
 * whatever the body looks like). Throws {@link PayloadPointerError} when a reserved attribute is
 * there but the body is not a pointer of either class with a non-empty bucket and key.
 */
export function decodePointer(
  body: string,
  attributes: Readonly<Record<string, AttributeValue>> | undefined,
): PayloadPointer | undefined {
  const attribute = [SIZE_ATTRIBUTE, LEGACY_SIZE_ATTRIBUTE].find((name) => attributes?.[name] !== undefined);
  if (attribute === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PayloadPointerError(attribute, 'its body is not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) {
    throw new PayloadPointerError(attribute, 'its body is not a JSON array of a class name and an object');
  }
  const [kind, fields] = parsed as [unknown, unknown];
  if (kind !== POINTER_CLASS && kind !== LEGACY_POINTER_CLASS) {
    throw new PayloadPointerError(
      attribute,
      `its body names the class ${JSON.stringify(kind)}, not ${POINTER_CLASS} or ${LEGACY_POINTER_CLASS}`,
    );
  }
  const bucket = field(fields, 's3BucketName');
  const key = field(fields, 's3Key');
  if (bucket === undefined || key === undefined) {
    throw new PayloadPointerError(attribute, 'its body lacks a non-empty s3BucketName or s3Key');
  }
  return { bucket, key, size: sizeOf(attributes?.[attribute]) };
}

function field(fields: unknown, name: string): string | undefined {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const value = (fields as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** AWS's clients ignore the value: so do we, beyond reading a plain decimal integer. */
function sizeOf(value: AttributeValue | undefined): number | undefined {
  const text = value?.StringValue;
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}
