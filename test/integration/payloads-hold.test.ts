/**
 * Stored bodies a run holds, on the backend's S3: a stop ends a read of a stored body (or the
 * bucket check at start) that S3 does not answer, without dead-lettering anything, and a run with
 * a slow worker holds no more stored bytes than its budget. ElasticMQ has no S3: the file skips
 * there in one sentence.
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { InputInfo, Logger, TaskClient } from '../../src/index.ts';
import { STORED_BYTES_BUDGET } from '../../src/worker/stored-bytes.ts';
import { startProxy } from '../support/action-proxy.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { backendEnv } from '../support/sqs.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`payloads-hold.test.ts: ${skipped}`);

const MiB = 1024 * 1024;
const quick = { pollWaitSeconds: 1 };

/**
 * A proxy in front of the backend's S3 that leaves the requests that match what it holds
 * unanswered: `held` resolves with the first one, `closed` when the client gave up on it (closed
 * its connection).
 */
async function startHoldingProxy() {
  let hold: { method: string; path: RegExp } | undefined;
  let onHeld: ((req: IncomingMessage) => void) | undefined;
  const proxy = await startProxy(backendEnv().endpoint, (req) => {
    if (hold === undefined || req.method !== hold.method || !hold.path.test(req.url ?? '')) return undefined;
    onHeld?.(req);
    return 'hang';
  });
  const { region, credentials } = backendEnv();
  const s3 = new S3Client({ endpoint: proxy.url, forcePathStyle: true, region, credentials });
  return {
    s3,
    /** Holds the requests of `method` whose path matches `path`, from now on. */
    hold(method: string, path: RegExp): { held: Promise<void>; closed: Promise<void> } {
      hold = { method, path };
      let closed!: Promise<void>;
      const held = new Promise<void>((resolve) => {
        onHeld = (req) => {
          onHeld = undefined;
          closed = once(req.socket, 'close').then(() => {});
          resolve();
        };
      });
      return { held, closed: held.then(() => closed) };
    },
    release(): void {
      hold = undefined;
    },
    stop: async () => {
      s3.destroy();
      await proxy.stop();
    },
  };
}

/** Records every input `client` dead-letters. */
function deadLetters(client: TaskClient): InputInfo[] {
  const dead: InputInfo[] = [];
  client.on('deadLettered', (info) => dead.push(info));
  return dead;
}

describe.skipIf(skipped !== undefined)('a stop while S3 does not answer', () => {
  const bucket = testBucket('payloadhold');
  const stages = [{ method: (s: string) => s.length, name: 'step', input: true }];
  let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;
  afterAll(() => proxy?.stop());

  it('ends a read of a stored body at once; the message comes back, not dead-lettered', async () => {
    proxy = await startHoldingProxy();
    const payloads = { bucket, prefix: 'sqspipes/', threshold: 64 * 1024, s3Client: proxy.s3 };
    const client = testClient('plhold', stages, { payloads, ...quick });
    const dead = deadLetters(client);
    const stop = new AbortController();
    const run = collect(client.run('step', { signal: stop.signal }));
    // Once the level is idle, what comes is brought by a long poll, which a stop abandons.
    await once(client, 'idle');
    const { held, closed } = proxy.hold('GET', /\/payload\//);
    await client.enqueue('step', 'x'.repeat(MiB));
    await held;
    stop.abort();
    expect(await run).toEqual([]);
    await closed; // the read was aborted, not left to S3's timeouts
    proxy.release();
    expect(await collect(client.run('step', { limit: 1 }))).toEqual([MiB]);
    expect(dead).toEqual([]);
  });

  it('ends the bucket check of a run that is starting', async () => {
    proxy ??= await startHoldingProxy();
    const payloads = { bucket, prefix: 'sqspipes/', s3Client: proxy.s3 };
    const client = testClient('plcheck', stages, { payloads, ...quick });
    const { held, closed } = proxy.hold('PUT', /sqspipes\.check/);
    const stop = new AbortController();
    const run = collect(client.run('step', { signal: stop.signal }));
    await held;
    stop.abort();
    expect(await run).toEqual([]);
    await closed;
    proxy.release();
  });
});

describe.skipIf(skipped !== undefined)('a run with a slow worker and many stored bodies', () => {
  const bucket = testBucket('payloadbudget');
  const inputs = 40;
  const bodyBytes = 3 * MiB;
  let storedPeak = 0;
  let inHandPeak = 0;
  let reached: () => void = () => {};
  const budgetReached = new Promise<void>((resolve) => (reached = resolve));
  const noop = () => {};
  const logger: Logger = {
    debug: (fields) => {
      const { storedBytes } = fields as { storedBytes?: number };
      if (storedBytes === undefined) return;
      storedPeak = Math.max(storedPeak, storedBytes);
      inHandPeak = Math.max(inHandPeak, client.stats().inHand);
      if (storedBytes >= STORED_BYTES_BUDGET - bodyBytes) reached();
    },
    info: noop,
    warn: noop,
    error: noop,
  };
  // The worker takes no input until the run holds its budget of stored bytes: the receives have
  // every chance to bring more than they should.
  const slow = async (s: string) => {
    await budgetReached;
    return s.length;
  };
  const payloads = { bucket, prefix: 'sqspipes/', threshold: 64 * 1024 };
  const client = testClient('plbudget', [{ method: slow, name: 'slow', input: true }], {
    payloads,
    logger,
    ...quick,
  });

  it('holds no more stored bytes than its budget (and one body), and processes every input once', async () => {
    for (let i = 0; i < inputs; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => String(i + j).padEnd(bodyBytes, 'x'));
      await Promise.all(batch.map((value) => client.enqueue('slow', value)));
    }
    const dead = deadLetters(client);
    const outputs = await collect<number>(client.run('slow', { workers: 1, limit: inputs }));
    expect(outputs).toEqual(Array.from({ length: inputs }, () => bodyBytes));
    expect(dead).toEqual([]);
    expect(storedPeak).toBeGreaterThanOrEqual(STORED_BYTES_BUDGET - bodyBytes);
    expect(storedPeak).toBeLessThanOrEqual(STORED_BYTES_BUDGET + bodyBytes);
    expect(inHandPeak).toBeLessThanOrEqual(Math.floor(STORED_BYTES_BUDGET / bodyBytes) + 1);
  });
});
