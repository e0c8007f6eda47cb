/**
 * The bodies `peek` and the dashboard show of messages that carry a pointer to S3 (AWS's Extended
 * Client format, as sqspipes' `payloads` option sends them): read from S3 with `--payload-bucket`
 * (never deleted), otherwise where they are and their size.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { describe } from '../../errors.ts';
import { PayloadMissingError, PayloadPointerError, PayloadTooLargeError } from '../../payloads/errors.ts';
import { decodePointer } from '../../payloads/pointer.ts';
import type { PayloadAccess } from './payload-access.ts';

/** A body stored in S3, as `peek --json` shows it. */
export interface StoredBody {
  readonly bucket: string;
  readonly key: string;
  /** Its byte length, as the message's size attribute says; null when it does not. */
  readonly size: number | null;
  /** True: the body shown is the stored one, read from S3. */
  readonly read: boolean;
  /** Not read: why (no `--payload-bucket`, the object is gone, …). */
  readonly unread?: string;
}

/** The body to show of one message. */
export interface ShownBody {
  /** The message's body, or the stored one once read. */
  readonly body: string;
  /** Where the body is stored; undefined: it came in the message. */
  readonly stored?: StoredBody;
  /** The message carries a pointer's attribute, but its body is not a pointer: why. */
  readonly broken?: string;
  /** S3 cannot be used as given (missing bucket, permission denied, …): the error, in the CLI's words. */
  readonly failure?: unknown;
}

/** Says to give `--payload-bucket`. */
const NO_BUCKET = 'give --payload-bucket to read it';

/** The body of each of `messages` (in order), stored ones read through `payloads` when given. */
export function shownBodies(
  messages: readonly Message[],
  payloads: PayloadAccess | undefined,
): Promise<ShownBody[]> {
  return Promise.all(messages.map((message) => shownBody(message, payloads)));
}

async function shownBody(message: Message, payloads: PayloadAccess | undefined): Promise<ShownBody> {
  const body = message.Body ?? '';
  let pointer;
  try {
    pointer = decodePointer(body, message.MessageAttributes);
  } catch (error) {
    if (!(error instanceof PayloadPointerError)) throw error;
    return { body, broken: error.message };
  }
  if (pointer === undefined) return { body };
  const where = { bucket: pointer.bucket, key: pointer.key, size: pointer.size ?? null };
  if (payloads === undefined) return { body, stored: { ...where, read: false, unread: NO_BUCKET } };
  try {
    const text = await payloads.store.get(pointer.bucket, pointer.key);
    return { body: text, stored: { ...where, read: true } };
  } catch (error) {
    // An object gone or too large concerns this message only; anything else, the setup.
    const own = error instanceof PayloadMissingError || error instanceof PayloadTooLargeError;
    const explained = own ? error : payloads.explain(error);
    const stored = { ...where, read: false, unread: describe(explained) };
    return own ? { body, stored } : { body, stored, failure: explained };
  }
}
