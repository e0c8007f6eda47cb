/**
 * sqspipes' answer to a FIFO batch matches AWS Lambda Powertools' `SqsFifoPartialProcessorAsync`
 * with `skipGroupOnError` (the rule AWS documents for FIFO: once a record of a group failed, it
 * and every later record of that group are reported), on random batches. sqspipes does not use
 * Powertools: its engine already runs one group's records one after another and distinct groups
 * side by side, and decides each record's end (retry delay, dead letter) itself; this test keeps
 * the two rules the same.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { batchResponse } from '../../src/lambda/batch-response.ts';

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function record(messageId: string, group: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: '{}',
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: group,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:d-stage-p0.fifo',
    awsRegion: 'us-east-1',
  };
}

describe("the FIFO answer, against Powertools' SqsFifoPartialProcessorAsync (skipGroupOnError)", () => {
  it.each(Array.from({ length: 200 }, (_, seed) => seed))('agrees on random batch %i', async (seed) => {
    const next = random(seed);
    const size = 1 + Math.floor(next() * 10);
    const records = Array.from({ length: size }, (_, i) => record(`m${i}`, `g${Math.floor(next() * 3)}`));
    const fails = new Set(records.filter(() => next() < 0.3).map((r) => r.messageId));
    // Powertools: records one after another; a record of a failed group is skipped (and reported).
    const event: SQSEvent = { Records: records };
    const theirs = await processPartialResponse(
      event,
      async (r: SQSRecord) => {
        if (fails.has(r.messageId)) throw new Error('fails');
      },
      new SqsFifoPartialProcessorAsync(),
      { skipGroupOnError: true, throwOnFullBatchFailure: false },
    );
    // sqspipes: a record after its group's failure never runs (it goes back with its group), so
    // it ends failed too; the answer then lists the same records.
    const failedGroups = new Set<string>();
    const ends = records.map((r) => {
      const group = r.attributes.MessageGroupId ?? '';
      const failed = failedGroups.has(group) || fails.has(r.messageId);
      if (failed) failedGroups.add(group);
      return { messageId: r.messageId, group, end: failed ? ('failed' as const) : ('done' as const) };
    });
    const ours = batchResponse(ends);
    expect(ours.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      theirs.batchItemFailures.map((f) => f.itemIdentifier),
    );
    // And the answer alone enforces the rule, should a later record of a failed group have run.
    const ranAnyway = ends.map((e) =>
      e.end === 'failed' && !fails.has(e.messageId) ? { ...e, end: 'done' as const } : e,
    );
    expect(batchResponse(ranAnyway)).toEqual(ours);
  });
});
