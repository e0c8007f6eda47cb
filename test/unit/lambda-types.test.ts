/**
 * `@types/aws-lambda`'s shapes fit ours (src/lambda/types.ts), so a user's Lambda code typed with
 * that package works with `client.lambda(stage)` without casts. tsc checks the assignments
 * (`npm run typecheck`); the function holding them is never called.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSHandler, SQSRecord } from 'aws-lambda';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  LambdaBatchResponse,
  LambdaContextLike,
  LambdaSqsEvent,
  LambdaSqsHandler,
  LambdaSqsRecord,
} from '../../src/lambda/types.ts';

/** Each line compiles only if the value on the right fits the type on the left. */
function assignments(
  record: SQSRecord,
  event: SQSEvent,
  context: Context,
  response: SQSBatchResponse,
  ours: LambdaSqsHandler,
): unknown[] {
  const asRecord: LambdaSqsRecord = record;
  const asEvent: LambdaSqsEvent = event;
  const asContext: LambdaContextLike = context;
  const asResponse: LambdaBatchResponse = response;
  const asAnswer: SQSBatchResponse = { batchItemFailures: [] } satisfies LambdaBatchResponse;
  // As a user writes it: `export const handler: SQSHandler = client.lambda('stage')`.
  const asHandler: SQSHandler = ours;
  return [asRecord, asEvent, asContext, asResponse, asAnswer, asHandler];
}

describe("aws-lambda's types fit sqspipes' Lambda types", () => {
  it('takes a Context, and answers what an SQSBatchResponse is, both ways', () => {
    expectTypeOf<Context>().toExtend<LambdaContextLike>();
    expectTypeOf<SQSBatchResponse>().toExtend<LambdaBatchResponse>();
    expectTypeOf<LambdaBatchResponse>().toExtend<SQSBatchResponse>();
    expect(assignments).toBeTypeOf('function');
  });
});
