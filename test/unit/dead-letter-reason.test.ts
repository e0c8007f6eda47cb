import { describe, expect, it } from 'vitest';
import { deadLetterReason, REASON_ATTRIBUTE } from '../../src/cli/operator/dead-letter-reason.ts';
import { REDRIVE_SLACK } from '../../src/queues/topology.ts';

/** A message as a peek of a dead-letter queue receives it (that receive counted). */
const received = (count: number | undefined, reason?: string) => ({
  ...(count === undefined ? {} : { Attributes: { ApproximateReceiveCount: String(count) } }),
  ...(reason === undefined
    ? {}
    : { MessageAttributes: { [REASON_ATTRIBUTE]: { DataType: 'String', StringValue: reason } } }),
});

describe('deadLetterReason', () => {
  it('gives the reason sqspipes recorded', () => {
    expect(deadLetterReason(received(1, 'Stage `a` failed: boom'))).toEqual({
      text: 'Stage `a` failed: boom',
      recorded: true,
    });
  });

  it('says SQS moved a message received as often as a redrive policy of sqspipes allows', () => {
    // The least maxReceiveCount sqspipes sets is 1 + REDRIVE_SLACK (retries 0); this peek is one receive.
    const least = 1 + REDRIVE_SLACK;
    expect(deadLetterReason(received(least + 1))).toEqual({
      text: `moved by SQS after ${least} receives (no reason recorded)`,
      recorded: false,
    });
  });

  it('claims nothing for a message received too rarely for that, or without a count', () => {
    for (const count of [1, 2, REDRIVE_SLACK + 1, undefined]) {
      expect(deadLetterReason(received(count))).toEqual({ text: 'no reason recorded', recorded: false });
    }
  });
});
