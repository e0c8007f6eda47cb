/**
 * The queue of pending deletes of stored bodies (src/time/domain-timers.ts) on the test
 * backend's SQS and S3: a delete is made only once its hold has passed, by whoever sweeps, and
 * survives the process that scheduled it; a message naming objects that are not the domain's is
 * dropped without touching them. ElasticMQ has no S3: the file skips there in one sentence.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { destroyCommand } from '../../src/cli/operator/destroy.ts';
import { TaskClient } from '../../src/index.ts';
import { DomainTimers, deleteQueueName } from '../../src/time/domain-timers.ts';
import { kindPrefix } from '../../src/payloads/keys.ts';
import { resolvePayloadOptions } from '../../src/payloads/options.ts';
import type { S3Source } from '../../src/payloads/s3-client.ts';
import { PayloadStore } from '../../src/payloads/store.ts';
import { Provisioner } from '../../src/queues/provisioner.ts';
import type { Logger } from '../../src/types.ts';
import { collect } from '../support/pipeline.ts';
import { listKeys, s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { backendEnv, deleteQueuesWithPrefix, queueExists, rawClient, uniquePrefix } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`payload-deletes.test.ts: ${skipped}`);

const { endpoint, region, credentials } = backendEnv();
const source: S3Source = { endpoint, region, credentials: async () => credentials };

function recorder(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { debug() {}, info() {}, error() {}, warn: (_f, message) => warnings.push(message ?? ''), warnings };
}

describe.skipIf(skipped !== undefined)('the queue of pending deletes of stored bodies', () => {
  const bucket = testBucket('deletes');
  const domain = uniquePrefix('deletes');
  const layout = { prefix: 'sqspipes/', domain };
  const ours = kindPrefix(layout, 'payload');
  const sqs = rawClient();
  const s3 = s3Client();
  afterAll(async () => {
    await deleteQueuesWithPrefix(sqs, domain);
    sqs.destroy();
    s3.destroy();
  });

  /** A store and its delete queue, as a client makes them (see connection.ts). */
  function parts(holdSeconds: number, logger: Logger = recorder()) {
    const options = resolvePayloadOptions({ bucket, prefix: layout.prefix });
    if (options === undefined) throw new Error('unreachable');
    const store: PayloadStore = new PayloadStore({
      options,
      source,
      logger,
      deleteDelayMs: 10,
      scheduleDeletes: (b, keys) => queue.schedule(b, keys),
    });
    const queue = new DomainTimers({
      sqs,
      provisioner: new Provisioner(sqs, { settleMs: 0 }),
      domain,
      kmsKeyId: undefined,
      logger,
      timing: { holdSeconds, everyMs: 50 },
    });
    queue.deleteWith({
      deleteKeys: (b, keys) => store.deleteKeys(b, keys),
      owns: (b, key) => b === bucket && key.startsWith(ours),
    });
    return { store, queue };
  }

  const left = async (keys: readonly string[]) =>
    (await listKeys(s3, bucket)).filter((key) => keys.includes(key));

  /** Sweeps until `keys` are gone (each sweep is a short poll: a delayed message is not there yet). */
  async function sweepUntilGone(queue: DomainTimers, keys: readonly string[]): Promise<number> {
    let sweeps = 0;
    while ((await left(keys)).length > 0) {
      await queue.sweepOnce();
      sweeps++;
      if (sweeps > 2000)
        throw new Error(`still there after ${sweeps} sweeps: ${(await left(keys)).join(', ')}`);
    }
    return sweeps;
  }

  it('deletes acknowledged bodies only after the hold, from a process other than the one that scheduled them', async () => {
    const writer = parts(2);
    const keys = Array.from({ length: 12 }, (_, i) => `${ours}k${i}`);
    await Promise.all(keys.map((key) => writer.store.put(key, key)));
    for (const key of keys) writer.store.deleteLater(bucket, key);
    await writer.store.close(); // the process ends: its deletes are in the queue, not in memory
    const scheduledAt = Date.now();

    const sweeper = parts(2); // another process of the domain
    await sweeper.queue.sweepOnce();
    expect(await left(keys)).toHaveLength(12); // held: the message is not visible yet
    await sweepUntilGone(sweeper.queue, keys);
    expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(1000); // never before its hold (SQS's delay)
    // The message was deleted once its keys were: nothing more to sweep.
    const url = await sweeper.queue.url();
    const rest = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(rest.Messages ?? []).toEqual([]);
    await sweeper.store.close();
  });

  it('keeps sweeping while a run asks for it, and stops when the last one is done', async () => {
    const { store, queue } = parts(0);
    const keys = [`${ours}swept-1`, `${ours}swept-2`];
    await Promise.all(keys.map((key) => store.put(key, key)));
    const stopA = queue.keepSweeping();
    const stopB = queue.keepSweeping();
    await stopA(); // B still sweeps
    await store.deleteKeys(bucket, []); // nothing: a no-op
    await queue.schedule(bucket, keys);
    while ((await left(keys)).length > 0) await new Promise((r) => setTimeout(r, 20));
    await stopB();
    await stopB(); // idempotent
    await store.close();
  });

  it("is deleted with the pipeline's queues: by client.destroy() and by `sqspipes destroy`", async () => {
    const exists = (name: string) => queueExists(sqs, name);
    for (const how of ['client', 'operator'] as const) {
      const mine = uniquePrefix(`del${how}`);
      const client = new TaskClient({
        domain: mine,
        endpoint,
        region,
        credentials,
        payloads: { bucket, prefix: layout.prefix },
        [Symbol.for('sqspipes.queueSettleMs')]: 0,
      });
      client.registerTasks([{ name: 'work', method: (x: unknown) => x, input: true }]);
      await client.enqueue('work', 1);
      await collect(client.run('work', { limit: 1 })); // a run makes the queue as it starts
      expect(await exists(deleteQueueName(mine))).toBe(true);
      if (how === 'client') {
        await client.destroy();
      } else {
        const printed: string[] = [];
        const ctx = { sqs, domain: mine, json: false, note: (text: string) => printed.push(text) };
        const log = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
        try {
          await destroyCommand(ctx, true, { available: false, ask: async () => false });
        } finally {
          log.mockRestore();
        }
        expect(printed).toEqual([]);
      }
      expect(await exists(deleteQueueName(mine))).toBe(false);
      expect(await exists(`${mine}-work-p0.fifo`)).toBe(false);
      await client.close();
    }
  });

  it('drops a message that names objects outside the domain, leaving them', async () => {
    const logger = recorder();
    const { store, queue } = parts(0, logger);
    const foreign = 'elsewhere/precious';
    await store.put(foreign, 'keep me');
    const url = await queue.url();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify({ v: 1, bucket, keys: [foreign] }),
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'not json' }));
    while (logger.warnings.filter((w) => w.includes('neither a timer nor names a stored body')).length < 2) {
      await queue.sweepOnce();
    }
    expect(await left([foreign])).toEqual([foreign]);
    const rest = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(rest.Messages ?? []).toEqual([]);
    await store.close();
  });
});
