/**
 * Options that SQS can change on a live queue are updated in place when the stage starts, its
 * messages kept, and said on the logger; no `destroy` is needed. Failed before: a changed
 * `retries` made the stage's start throw a QueueConfigError on the redrive policy.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type Logger, type StageEntry, TaskClient } from '../../src/index.ts';
import { inputQueueName } from '../../src/queues/naming.ts';
import { REDRIVE_SLACK } from '../../src/queues/topology.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { backendEnv, rawClient } from '../support/sqs.ts';

const source = { method: () => null, name: 'source' };
const stages = (retries: number, visibilityTimeout: number): StageEntry[] => [
  source,
  { method: (x: unknown) => x, name: 'work', retries, visibilityTimeout },
];

/** A logger that keeps what is said at `warn` and `debug`. */
function recordingLogger(): Logger & { warnings: string[]; debugs: string[] } {
  const warnings: string[] = [];
  const debugs: string[] = [];
  return {
    warnings,
    debugs,
    debug: (_obj: object, msg?: string) => debugs.push(msg ?? ''),
    info() {},
    warn: (_obj: object, msg?: string) => warnings.push(msg ?? ''),
    error() {},
  };
}

async function maxReceiveCount(queue: string): Promise<number> {
  const sqs = rawClient();
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    const policy = JSON.parse(out.Attributes?.RedrivePolicy ?? '{}') as { maxReceiveCount?: unknown };
    return Number(policy.maxReceiveCount);
  } finally {
    sqs.destroy();
  }
}

describe('changing a stage option on live queues', () => {
  const first = testClient('inplace', stages(2, 30));
  const queue = inputQueueName(first.domain, 'work', 0);

  it('updates the redrive policy in place on start, keeps the queued messages, and says so', async () => {
    await first.enqueue('work', 'one');
    expect(await collect(first.run('work', { limit: 1 }))).toEqual(['one']);
    expect(await maxReceiveCount(queue)).toBe(2 + 1 + REDRIVE_SLACK);
    await first.enqueue('work', 'left before the change');

    // A producer with the new options neither fails nor changes the consumer's queue.
    const { endpoint, region, credentials } = backendEnv();
    const producerLog = recordingLogger();
    const producer = new TaskClient({
      domain: first.domain,
      endpoint,
      region,
      credentials,
      logger: producerLog,
    });
    producer.registerTasks(stages(5, 60));
    await producer.enqueue('work', 'sent by the new producer');
    await producer.close();
    expect(await maxReceiveCount(queue)).toBe(2 + 1 + REDRIVE_SLACK);
    expect(producerLog.warnings).toEqual([]);

    const log = recordingLogger();
    const next = new TaskClient({ domain: first.domain, endpoint, region, credentials, logger: log });
    next.registerTasks(stages(5, 60));
    try {
      const out = await collect(next.run('work', { limit: 2 }));
      expect(out.sort()).toEqual(['left before the change', 'sent by the new producer']);
    } finally {
      await next.close();
    }
    expect(await maxReceiveCount(queue)).toBe(5 + 1 + REDRIVE_SLACK);
    const said = log.warnings.filter((w) => w.includes(queue) && w.includes('RedrivePolicy'));
    expect(said).toHaveLength(1);
    const count = (n: number) => new RegExp(`maxReceiveCount"?:"?${n}\\b`);
    expect(said[0]).toMatch(count(2 + 1 + REDRIVE_SLACK));
    expect(said[0]).toMatch(count(5 + 1 + REDRIVE_SLACK));
  });
});
