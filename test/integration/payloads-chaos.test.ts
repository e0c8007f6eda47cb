/**
 * Issue 23's acceptance: items of 3 MiB through three stages of two processes each, killed with
 * SIGKILL at random moments and restarted, with bodies through S3. Every item reaches the last
 * stage exactly once, byte for byte (its hash), and once the deletes came due and were swept, the
 * payload prefix holds no object but those of dead-lettered messages and those a SIGKILL
 * orphaned between an acknowledgement and its scheduled delete (see `leftovers`). SQSPIPES_PAYLOAD_CHAOS_ITEMS sets the number of items (40 by
 * default); SQSPIPES_PAYLOAD_CHAOS_KEEP_TRACE=1 keeps the trace file. ElasticMQ has no S3: the
 * file skips there in one sentence.
 *
 * The S3 clients (the stage processes' and this one's) are the SDK's, set as sqspipes sets its
 * own, with a middleware that appends each put, get and delete to a trace file: what tells an
 * object a SIGKILL orphaned from one left behind otherwise.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { QueueInfo } from '../../src/index.ts';
import { decodePointer } from '../../src/payloads/pointer.ts';
import {
  DELETE_TIMING,
  type Digest,
  digest,
  itemId,
  itemInput,
  mix,
  PAYLOAD_PREFIX,
  payloadsChaosClient,
  shift,
  trace,
  tracedS3Client,
} from '../fixtures/payloads-chaos-pipeline.ts';
import { listKeys, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { type StageProcess, startStage } from '../support/spawn.ts';
import { backendEnv, rawClient, testDomain } from '../support/sqs.ts';
import { Progress } from '../support/progress.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`payloads-chaos.test.ts: ${skipped}`);

const SCRIPT = fileURLToPath(new URL('../fixtures/payloads-chaos-pipeline.ts', import.meta.url));
const ITEMS = Number(process.env['SQSPIPES_PAYLOAD_CHAOS_ITEMS'] ?? 40);
const STAGES = ['mix', 'shift', 'digest'] as const;
const PROCESSES = 2;
/** Items enqueued and not yet out of the last stage: bounds the bytes in flight. */
const WINDOW = 12;
const MIN_KILLS = 6;

/** The peak resident memory of process `pid` (this one by default) in MiB, or 0 off Linux. */
function peakMiB(pid?: number): number {
  try {
    const status = readFileSync(`/proc/${pid ?? 'self'}/status`, 'utf8');
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** The S3 keys the messages in the dead-letter queues point to (read, then left hidden a minute). */
async function deadLetteredKeys(queues: readonly QueueInfo[]): Promise<string[]> {
  const raw = rawClient();
  const keys: string[] = [];
  for (const queue of queues.filter((q) => q.level === 'dlq' && q.url !== undefined)) {
    for (;;) {
      const { Messages = [] } = await raw.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 60,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      for (const m of Messages) {
        const pointer = decodePointer(m.Body ?? '', m.MessageAttributes);
        if (pointer !== undefined) keys.push(pointer.key);
      }
    }
  }
  raw.destroy();
  return keys;
}

/**
 * Objects left behind, by what the trace (lines `<ms> <who> <command> <key>` and `<ms> SIGKILL <pid>`,
 * in the order they happened) says of each:
 * - `orphaned`: last read by a process SIGKILLed after that read, and neither scheduled for
 *   deletion nor deleted: the process died between its acknowledgement and sending the key to the
 *   queue of pending deletes (a round trip), or before it acknowledged (then its message comes
 *   back, is read again and the object is deleted: such a key is not left). The lifecycle rule's.
 * - `rewritten`: put again after it was deleted: an input processed again (the process that sent
 *   its output was killed before acknowledging it) rewrote its output's object after the next
 *   stage had deleted it, and SQS dropped the second send as a duplicate.
 * - `scheduled`: its delete is in the queue of pending deletes, not yet swept.
 * - `unexplained`: anything else.
 */
function leftovers(
  keys: readonly string[],
  lines: readonly string[],
): Record<'orphaned' | 'rewritten' | 'scheduled' | 'unexplained', string[]> {
  const out = {
    orphaned: [] as string[],
    rewritten: [] as string[],
    scheduled: [] as string[],
    unexplained: [] as string[],
  };
  const killedAt = new Map<string, number>();
  lines.forEach((line, i) => {
    const [, what, pid] = line.split(' ');
    if (what === 'SIGKILL' && pid !== undefined) killedAt.set(pid, i);
  });
  for (const key of keys) {
    const events = lines.flatMap((line, i) => {
      const [, who = '', command = '', k] = line.split(' ');
      return k === key ? [{ i, pid: who.slice(who.indexOf(':') + 1), command }] : [];
    });
    const deleted = events.findLastIndex((e) => e.command === 'DeleteObjectsCommand');
    const scheduled = events.findLastIndex((e) => e.command === 'ScheduleDelete');
    const lastRead = events.findLast((e) => e.command === 'GetObjectCommand');
    if (deleted >= 0 && events.slice(deleted).some((e) => e.command === 'PutObjectCommand')) {
      out.rewritten.push(key);
    } else if (scheduled > deleted) {
      out.scheduled.push(key);
    } else if (
      deleted === -1 &&
      scheduled === -1 &&
      lastRead !== undefined &&
      (killedAt.get(lastRead.pid) ?? -1) > lastRead.i
    ) {
      // (A put after that read is a redo's rewrite, whose send SQS dropped: no reader came after.)
      out.orphaned.push(key);
    } else {
      out.unexplained.push(key);
    }
  }
  return out;
}

describe.skipIf(skipped !== undefined)('payloads through S3 under SIGKILL chaos', () => {
  const domain = testDomain('pchaos');
  const bucket = testBucket('pchaos');
  const dir = mkdtempSync(join(tmpdir(), 'sqspipes-pchaos-'));
  const traceFile = join(dir, 'trace.log');
  afterAll(() => {
    if (process.env['SQSPIPES_PAYLOAD_CHAOS_KEEP_TRACE'] === undefined)
      rmSync(dir, { recursive: true, force: true });
    else console.log(`payloads chaos: trace kept in ${traceFile}`);
  });

  it(
    `carries ${ITEMS} items of 3 MiB through 3 stages of ${PROCESSES} processes each, exactly once, leaving no object a SIGKILL did not orphan`,
    { timeout: 120_000 + ITEMS * 3_000 },
    async () => {
      const started = Date.now();
      const { endpoint, region, credentials } = backendEnv();
      const s3 = tracedS3Client(traceFile, `test:${process.pid}`, { endpoint, region, credentials });
      const client = payloadsChaosClient({
        domain,
        endpoint,
        region,
        credentials,
        payloads: { bucket, prefix: PAYLOAD_PREFIX, s3Client: s3 },
        ...DELETE_TIMING,
      });
      await client.createQueues();

      const expected = new Map<string, Digest>();
      const outputs = new Map<string, Digest[]>();
      const progress = new Progress();
      const done = new AbortController();
      // Feeds the items, at most WINDOW ahead of the last stage's outputs.
      const feeding = (async () => {
        for (let n = 0; n < ITEMS; n++) {
          await progress.until(n - WINDOW + 1, done.signal);
          if (done.signal.aborted) return;
          const input = itemInput(n);
          expected.set(itemId(n), digest(shift(mix(input))));
          await client.enqueue('mix', input, { id: itemId(n) });
        }
      })();

      const env = {
        SQSPIPES_DOMAIN: domain,
        SQSPIPES_PAYLOAD_BUCKET: bucket,
        SQSPIPES_PAYLOAD_TRACE: traceFile,
      };
      const start = (stage: string) => startStage(SCRIPT, [stage, '--quiet'], env);
      const running = new Map<string, StageProcess>(
        STAGES.flatMap((stage) =>
          Array.from({ length: PROCESSES }, (_, i) => [`${stage}#${i}`, start(stage)] as const),
        ),
      );
      let kills = 0;
      let peakStage = 0;
      // Each kill waits for some progress since the one before (a random number of outputs, then a
      // random moment), as in chaos.test.ts: killing on a clock alone could kill faster than
      // processes start.
      const chaos = (async () => {
        const step = Math.max(2, Math.round(ITEMS / 20));
        while (!done.signal.aborted && (kills < MIN_KILLS || progress.count < ITEMS * 0.6)) {
          await progress.until(progress.count + 1 + Math.floor(Math.random() * step), done.signal);
          await sleep(Math.random() * 1000);
          if (done.signal.aborted) break;
          const names = [...running.keys()];
          const victim = names[Math.floor(Math.random() * names.length)] ?? '';
          const target = running.get(victim);
          const pid = target?.child.pid;
          peakStage = Math.max(peakStage, peakMiB(pid));
          trace(traceFile, `SIGKILL ${pid}`);
          target?.child.kill('SIGKILL');
          await target?.exited;
          kills++;
          running.set(victim, start(victim.slice(0, victim.indexOf('#'))));
        }
      })();

      try {
        for await (const output of client.run('sink', { idleTimeout: 60_000 })) {
          const d = output as Digest;
          outputs.set(d.id, [...(outputs.get(d.id) ?? []), d]);
          progress.add();
          trace(traceFile, `OUTPUT ${d.id}`);
          if (outputs.size === ITEMS) break;
        }
      } finally {
        done.abort();
        await Promise.all([feeding, chaos]);
      }
      const ours = `${PAYLOAD_PREFIX}${domain}/payload/`;
      const look = async (exclude: readonly string[]) => {
        const keys = (await listKeys(s3, bucket)).filter((k) => k.startsWith(ours) && !exclude.includes(k));
        return leftovers(keys, readFileSync(traceFile, 'utf8').split('\n'));
      };
      // The processes sweep the deletes as they come due (30 s after their acknowledgement): wait
      // for them while they run, then stop them (SIGTERM: gracefully).
      const sweptBy = Date.now() + 60_000;
      if (outputs.size === ITEMS) {
        while ((await look([])).scheduled.length > 0 && Date.now() < sweptBy) await sleep(500);
      }
      for (const p of running.values()) peakStage = Math.max(peakStage, peakMiB(p.child.pid));
      trace(traceFile, 'SIGTERM');
      for (const p of running.values()) p.child.kill('SIGTERM');
      await Promise.all([...running.values()].map((p) => p.exited));
      if (outputs.size < ITEMS) {
        for (const [name, p] of running) console.log(`${name} stderr:\n${p.stderr().slice(-3000)}`);
      }
      const queues = await client.queues();
      const dlqKeys = await deadLetteredKeys(queues);
      // A delete scheduled as a process stopped is swept by the next run of the domain: this one.
      let left = await look(dlqKeys);
      if (left.scheduled.length > 0) {
        const stop = new AbortController();
        const sweeping = client.run('mix', { signal: stop.signal })[Symbol.asyncIterator]().next();
        while ((left = await look(dlqKeys)).scheduled.length > 0 && Date.now() < sweptBy + 60_000) {
          await sleep(500);
        }
        stop.abort();
        await sweeping;
      }
      await client.close();
      const seconds = Math.round((Date.now() - started) / 1000);

      const repeated = [...outputs].filter(([, list]) => list.length > 1).map(([id]) => id);
      const wrong = [...expected].filter(
        ([id, d]) => JSON.stringify(outputs.get(id)?.[0]) !== JSON.stringify(d),
      );
      s3.destroy();

      console.log(
        `payloads chaos: ${ITEMS} items of 3 MiB in ${seconds} s, ${kills} SIGKILLs; ` +
          `${[...outputs.values()].flat().length} outputs, ${outputs.size} distinct, ${wrong.length} not as expected; ` +
          `objects left: ${dlqKeys.length} of dead-lettered messages, ${left.orphaned.length} orphaned by a SIGKILL, ` +
          `${left.rewritten.length} rewritten after their delete, ${left.scheduled.length} not swept, ` +
          `${left.unexplained.length} unexplained; ` +
          `peak RSS: a stage process ${peakStage} MiB, this process ${peakMiB()} MiB, ` +
          `vitest's main process (where fauxqs runs) ${peakMiB(process.ppid)} MiB`,
      );
      expect(repeated).toEqual([]);
      expect(outputs.size).toBe(ITEMS);
      expect(wrong).toEqual([]);
      // Nothing is left in the pipeline's queues: no late duplicate, nothing dead-lettered.
      expect(queues.filter((q) => q.visible + q.inFlight > 0).map((q) => q.name)).toEqual([]);
      // Each with what the trace says of it (and the kills), to tell what happened.
      const lines = readFileSync(traceFile, 'utf8').split('\n');
      const history = (key: string) => [
        key,
        ...lines.filter((l) => l.includes(key) || l.includes('SIGKILL')),
      ];
      expect(left.unexplained.map(history)).toEqual([]);
      expect(left.scheduled.map(history)).toEqual([]);
      // Possible if a delete came before a redo's rewrite: deletes wait past SQS's deduplication
      // window (here, past a redo's time).
      expect(left.rewritten).toEqual([]);
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    },
  );
});
