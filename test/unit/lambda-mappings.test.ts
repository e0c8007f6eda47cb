import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/cli/operator/iam-policy.ts';
import { rolePolicy } from '../../src/cli/operator/iam-roles.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  type LambdaMappedStage,
  lambdaMappings,
  maxFunctionTimeoutSeconds,
  maximumConcurrencyOf,
  queueVisibilitySeconds,
} from '../../src/lambda/mappings.ts';
import type { Stage } from '../../src/stage.ts';

// A registered stage is what the mappings are made of.
const fits = (stage: Stage): LambdaMappedStage => stage;
void fits;

const settings = { batchSize: 10, functionResponseTypes: ['ReportBatchItemFailures'] };

describe('lambdaMappings', () => {
  it('maps each input level, lowest first, then the queue of timers; MaximumConcurrency on the inputs only', () => {
    const stage = { name: 'work', consumes: true, priorities: 2, maxConcurrency: 5 };
    expect(lambdaMappings('shop', stage)).toEqual([
      {
        stage: 'work',
        queueName: 'shop-work-p0.fifo',
        role: 'input',
        level: 0,
        ...settings,
        maximumConcurrency: 5,
      },
      {
        stage: 'work',
        queueName: 'shop-work-p1.fifo',
        role: 'input',
        level: 1,
        ...settings,
        maximumConcurrency: 5,
      },
      { stage: 'work', queueName: 'shop-work-later', role: 'later', ...settings },
    ]);
  });

  it('sets no MaximumConcurrency (nor a batching window) for a stage without maxConcurrency', () => {
    const mappings = lambdaMappings('shop', { name: 'store', consumes: true, priorities: 1 });
    expect(mappings.map((m) => Object.keys(m).sort())).toEqual([
      ['batchSize', 'functionResponseTypes', 'level', 'queueName', 'role', 'stage'],
      ['batchSize', 'functionResponseTypes', 'queueName', 'role', 'stage'],
    ]);
  });

  it('refuses a source: it has no input queue', () => {
    expect(() => lambdaMappings('shop', { name: 'gen', consumes: false, priorities: 1 })).toThrow(
      new ConfigError(
        'Stage `gen` is the first stage, a source: it has no input queue for Lambda to read (it calls its method in a loop); run it as a process, or register it with `input: true`',
      ),
    );
  });

  it("brings maxConcurrency into AWS's 2 to 1000, saying why", () => {
    expect(maximumConcurrencyOf(undefined)).toEqual({ value: undefined, note: undefined });
    expect(maximumConcurrencyOf(2)).toEqual({ value: 2, note: undefined });
    expect(maximumConcurrencyOf(1000)).toEqual({ value: 1000, note: undefined });
    const one = maximumConcurrencyOf(1);
    expect(one.value).toBe(2);
    expect(one.note).toMatch(
      /^maxConcurrency 1 cannot be a mapping's MaximumConcurrency \(AWS's minimum is 2\)/,
    );
    expect(one.note).toMatch(/reserved concurrency of 1/);
    expect(one.note).toMatch(/sqspipes' permits/);
    expect(maximumConcurrencyOf(5000)).toEqual({
      value: 1000,
      note: "maxConcurrency 5000 is over a mapping's largest MaximumConcurrency (AWS's maximum is 1000): set to 1000",
    });
    const clamped = lambdaMappings('shop', {
      name: 'work',
      consumes: true,
      priorities: 1,
      maxConcurrency: 1,
    });
    expect(clamped[0]?.maximumConcurrency).toBe(2);
  });

  it("bounds the function's timeout by the queues' VisibilityTimeout: SQS's default 30 s, which sqspipes leaves", () => {
    const mappings = lambdaMappings('shop', { name: 'work', consumes: true, priorities: 2 });
    expect(mappings.map(queueVisibilitySeconds)).toEqual([30, 30, 30]);
    expect(maxFunctionTimeoutSeconds(mappings)).toBe(30);
  });
});

describe('the stage role on Lambda', () => {
  it("grants what the mappings need on every mapped queue, and sending to the stage's dead-letter queue", () => {
    const scheme = { partition: 'aws', region: 'eu-west-1', account: '123456789012', domain: 'shop' };
    const policy = rolePolicy(scheme, parsePipeline('gen,work:2,store', 1), {
      role: 'stage',
      stage: 'work',
      kmsKey: undefined,
    });
    const actionsOn = (name: string) =>
      policy.Statement.filter((s) =>
        s.Resource.includes(`arn:aws:sqs:eu-west-1:123456789012:${name}`),
      ).flatMap((s) => s.Action);
    const esm = [
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ChangeMessageVisibility',
    ];
    for (const mapping of lambdaMappings('shop', { name: 'work', consumes: true, priorities: 2 })) {
      expect(actionsOn(mapping.queueName), mapping.queueName).toEqual(expect.arrayContaining(esm));
    }
    expect(actionsOn('shop-work-dlq.fifo')).toContain('sqs:SendMessage');
  });
});
