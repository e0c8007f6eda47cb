/**
 * Bodies compressed to travel in SQS (`payloads.compress`): Brotli (quality 4), then base64, since
 * an SQS body is text. A body is sent compressed only when that saves at least a tenth of it, and
 * the compressed form is then what the threshold decides on: JSON records shrink to about a
 * fifth, so bodies up to about 1.8 MiB stay in SQS instead of S3 (`npm run
 * bench:payload-compression`). Objects in S3 are never compressed: they stay exactly the body, for
 * AWS's Extended Clients (and S3 bills per request, not per byte).
 *
 * A compressed message carries the String attribute `sqspipes-encoding: br-base64`. Every
 * sqspipes receiver decodes it, with or without `payloads`; a consumer that is not sqspipes (an
 * Extended Client, a plain SQS reader) would see base64, which is why compression is opt-in.
 */
import { Buffer } from 'node:buffer';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants } from 'node:zlib';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/** The message attribute that says how a body is encoded. */
export const ENCODING_ATTRIBUTE = 'sqspipes-encoding';
/** Its one value: Brotli, then base64. */
export const BROTLI_BASE64 = 'br-base64';
/** The attribute as sent, and the bytes SQS counts for it. */
const ENCODED: Readonly<Record<string, MessageAttributeValue>> = {
  [ENCODING_ATTRIBUTE]: { DataType: 'String', StringValue: BROTLI_BASE64 },
};
export const ENCODING_ATTRIBUTE_BYTES = ENCODING_ATTRIBUTE.length + 'String'.length + BROTLI_BASE64.length;

/** Smaller bodies are sent as they are: a request is billed per 64 KiB, whatever it saves below. */
export const MIN_COMPRESSED_BYTES = 8 * 1024;
/** A compressed body is sent only when at most this share of the body's bytes. */
const MAX_RATIO = 0.9;
/** Even the best ratio measured (JSON records: 0.2 of the body, base64 included) leaves more. */
const BEST_RATIO = 0.15;

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** A body that cannot be decoded: the input is dead-lettered with this as its reason. */
export class EncodedBodyError extends Error {
  override name = 'EncodedBodyError';
}

/**
 * Whether a body of `bytes` (UTF-8) is worth trying to compress to fit under `threshold`: big
 * enough to save a billed chunk, and small enough that a good ratio can bring it under.
 */
export function worthCompressing(bytes: number, threshold: number): boolean {
  return bytes >= MIN_COMPRESSED_BYTES && bytes * BEST_RATIO <= threshold;
}

/**
 * `body` compressed and base64'd with its attribute, or undefined when that does not save a tenth
 * of its `bytes` (already compressed data, base64 of an image).
 */
export async function compressBody(
  body: string,
  bytes: number,
): Promise<{ body: string; attributes: Readonly<Record<string, MessageAttributeValue>> } | undefined> {
  const packed = await compress(Buffer.from(body, 'utf8'), {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 4,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes,
    },
  });
  const encoded = packed.toString('base64');
  return encoded.length <= bytes * MAX_RATIO ? { body: encoded, attributes: ENCODED } : undefined;
}

/** True when a received message says its body is encoded (the attribute, any value). */
export function isEncoded(message: Message): boolean {
  return message.MessageAttributes?.[ENCODING_ATTRIBUTE] !== undefined;
}

/**
 * The body of an encoded received message, decoded. Throws an {@link EncodedBodyError} for an
 * encoding this version does not know, or a body that is not what it says.
 */
export async function decodeBody(message: Message): Promise<string> {
  const encoding = message.MessageAttributes?.[ENCODING_ATTRIBUTE]?.StringValue;
  if (encoding !== BROTLI_BASE64) {
    throw new EncodedBodyError(
      `its body is encoded as ${JSON.stringify(encoding ?? null)} (attribute ${ENCODING_ATTRIBUTE}), which this version of sqspipes cannot decode`,
    );
  }
  try {
    return (await decompress(Buffer.from(message.Body ?? '', 'base64'))).toString('utf8');
  } catch (error) {
    throw new EncodedBodyError(
      `its compressed body (${ENCODING_ATTRIBUTE}: ${BROTLI_BASE64}) could not be decoded: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
