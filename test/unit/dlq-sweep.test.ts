import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { REASON_ATTRIBUTE } from '../../src/queues/naming.ts';
import { hasReason, movedBySqsReason } from '../../src/worker/dlq-sweep.ts';

describe('movedBySqsReason', () => {
  it('says SQS moved it, after how many receives before the sweep, and the queue’s maxReceiveCount', () => {
    expect(movedBySqsReason(102, 100)).toBe(
      'moved to the dead-letter queue by SQS after 101 receives (maxReceiveCount 100): it was received that many times without completing (a crash each time, or peeks)',
    );
  });

  it('quotes no count that cannot be one (a message sent there by hand, or no count at all)', () => {
    for (const count of [1, 0, Number.NaN]) {
      const reason = movedBySqsReason(count, 100);
      expect(reason).toMatch(/^moved to the dead-letter queue by SQS \(maxReceiveCount 100\)/);
      expect(reason).not.toMatch(/after/);
    }
  });
});

describe('hasReason', () => {
  const withAttributes = (attributes: Message['MessageAttributes']): Message => ({
    MessageId: 'm',
    Body: '{}',
    ...(attributes === undefined ? {} : { MessageAttributes: attributes }),
  });

  it('is true for a message sqspipes dead-lettered (its reason attribute is set)', () => {
    expect(hasReason(withAttributes({ [REASON_ATTRIBUTE]: { DataType: 'String', StringValue: 'x' } }))).toBe(
      true,
    );
  });

  it('is false for one SQS moved (no attributes, or others only)', () => {
    expect(hasReason(withAttributes(undefined))).toBe(false);
    expect(hasReason(withAttributes({ other: { DataType: 'String', StringValue: 'x' } }))).toBe(false);
  });
});
