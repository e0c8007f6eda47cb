/**
 * How the attributes of an existing queue differ from what the pipeline wants (pure: no I/O), and
 * which differences SQS lets SetQueueAttributes change on a live queue, messages kept.
 */

/** One attribute the queue has with another value than the pipeline wants. */
export interface AttributeChange {
  readonly name: string;
  readonly wanted: string;
  /** What the queue has now; `undefined` when it does not have the attribute set. */
  readonly actual: string | undefined;
}

export interface AttributeDrift {
  /** Differences SetQueueAttributes fixes in place. */
  readonly mutable: readonly AttributeChange[];
  /** Differences only a new queue can fix (today: FifoQueue). */
  readonly immutable: readonly AttributeChange[];
}

/**
 * Attributes SetQueueAttributes accepts (AWS SQS API reference). Every other attribute, FifoQueue
 * first of all, is fixed when the queue is created.
 */
const MUTABLE: ReadonlySet<string> = new Set([
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'Policy',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
]);

/** SetQueueAttributes can change `name` on a live queue. */
export function isMutable(name: string): boolean {
  return MUTABLE.has(name);
}

/**
 * Differences between the `wanted` attributes and the queue's `actual` ones. An attribute the
 * server does not report (an emulator without that feature) is not a difference, except a KMS key
 * on a queue that says it uses SQS-managed encryption.
 */
export function attributeDrift(
  wanted: Readonly<Record<string, string>>,
  actual: Readonly<Record<string, string | undefined>>,
): AttributeDrift {
  const mutable: AttributeChange[] = [];
  const immutable: AttributeChange[] = [];
  for (const [name, value] of Object.entries(wanted)) {
    const has = actual[name];
    if (has === undefined ? !unsetKmsKey(name, actual) : sameAttribute(name, value, has)) continue;
    (isMutable(name) ? mutable : immutable).push({ name, wanted: value, actual: has });
  }
  return { mutable, immutable };
}

/**
 * The attributes to send to SetQueueAttributes for `changes`: the changed values, plus turning
 * SQS-managed encryption off when the queue moves to a KMS key (a queue has one kind at a time).
 */
export function attributeUpdate(
  changes: readonly AttributeChange[],
  actual: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const update = Object.fromEntries(changes.map((c) => [c.name, c.wanted]));
  if (update['KmsMasterKeyId'] !== undefined && actual['SqsManagedSseEnabled']?.toLowerCase() === 'true')
    update['SqsManagedSseEnabled'] = 'false';
  return update;
}

/** `name` is the KMS key, unset on a queue that uses SQS-managed encryption instead. */
function unsetKmsKey(name: string, actual: Readonly<Record<string, string | undefined>>): boolean {
  return name === 'KmsMasterKeyId' && actual['SqsManagedSseEnabled']?.toLowerCase() === 'true';
}

/** The same value of attribute `name`: a redrive policy compared as JSON, the rest as text. */
export function sameAttribute(name: string, wanted: string, actual: string): boolean {
  if (wanted === actual) return true;
  if (name === 'RedrivePolicy') {
    try {
      const a: unknown = JSON.parse(wanted);
      const b: unknown = JSON.parse(actual);
      return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
    } catch {
      return false;
    }
  }
  return wanted.toLowerCase() === actual.toLowerCase();
}

function normalize(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .map(([k, v]) => [k, String(v)])
      .sort(),
  );
}
