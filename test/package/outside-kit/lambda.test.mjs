// A stage on AWS Lambda, as a user checks it from outside with the test kit's own event source
// simulator: lambda-pipeline.mjs's `source` and `sink` run as stage processes, while this file runs
// `middle` through `client.lambda('middle')` behind `localEventSource` (what Lambda's SQS event
// source mapping does), one mapping on its input and one on its queue of timers
// (`<domain>-middle-later`). The middle runs here rather than in a child process: a Lambda
// function is a handler someone else invokes, and here the test sees each invocation, the
// client's `failed`/`deadLettered` events and each call of the method. Every item reaches the sink
// exactly once, in its key's order, though every 7th fails its first attempt; items for later
// arrive once and never early; a raw body that is not an envelope is dead-lettered with its reason.
// Only sqspipes' public exports and its stage CLI, and the SQS client for what SQS itself does.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, test } from 'vitest';
import { expectOrderPerKey, localEventSource, orderViolations, startSqs } from 'sqspipes/testing';
import { failsFirst, KEYS, LATE_N, lambdaClient, PER_KEY } from './lambda-pipeline.mjs';

const SCRIPT = fileURLToPath(new URL('./lambda-pipeline.mjs', import.meta.url));
const ITEMS = KEYS * PER_KEY;
/** How long the test waits for the sink's outputs before it stops to say what is missing. */
const GATHER_MS = 70_000;
/** Longest wait for the queues to drain once everything arrived (late duplicates). */
const DRAIN_MS = 15_000;
const POISON = '{"not": "an envelope"';

const sqs = await startSqs();
const connection = { endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials };
afterAll(() => sqs.close());

/** Wakes whoever waits for a condition each time `check()` is called (on each event). */
class Waiters {
  #waiters = [];
  check() {
    for (const w of this.#waiters) if (w.ready()) w.resolve();
    this.#waiters = this.#waiters.filter((w) => !w.ready());
  }
  /** Resolves once `ready()` holds, or `signal` aborted. */
  until(ready, signal) {
    if (ready() || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ ready, resolve });
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** `node lambda-pipeline.mjs <args>`: each JSON line of its stdout goes to `onLine`. */
function startStage(args, env, onLine = () => {}) {
  const child = spawn(process.execPath, [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { args, child, lines: [], stderr: '' };
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      const value = JSON.parse(line);
      p.lines.push(value);
      onLine(value);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (p.stderr += chunk));
  // 'close': after the last of its stdout was read.
  p.exited = once(child, 'close').then(([code, signal]) => code ?? signal);
  return p;
}

describe('a middle stage on Lambda (localEventSource) between stage processes, from outside', () => {
  const domain = `lam${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  /** Every call of `middle`, in the order they were made. */
  const calls = [];
  const waiters = new Waiters();
  const onCall = (call) => {
    calls.push(call);
    waiters.check();
  };
  const client = lambdaClient({ domain, ...connection, onCall });
  const raw = new SQSClient(connection);
  const processes = [];
  let events;

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await events?.stop();
    await client.destroy();
    await client.close();
    raw.destroy();
  }, 60_000);

  test(
    `${ITEMS} keyed items and ${KEYS} items for later reach the sink once each, in order per key, every 7th failing its first attempt on Lambda; a poison body is dead-lettered`,
    { timeout: GATHER_MS + DRAIN_MS + 30_000 },
    async () => {
      const started = Date.now();
      const failed = [];
      const dead = [];
      client.on('failed', (error, info) => failed.push({ error, info }));
      client.on('deadLettered', (info) => dead.push(info));
      // The queues a deployment creates, then the URLs of the middle's two mappings.
      await client.createQueues();
      const queues = await client.queues();
      const input = queues.find((q) => q.stage === 'middle' && q.level === 0)?.url;
      const later = await raw.send(new GetQueueUrlCommand({ QueueName: `${domain}-middle-later` }));
      expect(input).toBeDefined();
      expect(later.QueueUrl).toBeDefined();

      const env = {
        ...process.env,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
        AWS_REGION: sqs.region,
        AWS_ACCESS_KEY_ID: sqs.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: sqs.credentials.secretAccessKey,
        LAMBDA_DOMAIN: domain,
      };
      const seen = new Set();
      const sink = startStage(['sink', '8', '--quiet'], env, (output) => {
        seen.add(output.n);
        waiters.check();
      });
      processes.push(sink);
      events = localEventSource({
        sqs,
        queueUrls: [input, later.QueueUrl],
        handler: client.lambda('middle'),
        batchSize: 10,
        maximumConcurrency: 4,
        waitSeconds: 1,
        timeoutMs: 20_000,
      });
      await events.start();
      const source = startStage(['source', String(KEYS), '--limit', String(KEYS), '--quiet'], env);
      processes.push(source);
      expect(await source.exited, source.stderr).toBe(0);

      // Once the middle made a third of its calls: a body that is not an envelope, sent into its
      // input by something else, among the records still coming.
      const gathered = AbortSignal.timeout(GATHER_MS);
      await waiters.until(() => calls.length >= ITEMS / 3, gathered);
      await raw.send(
        new SendMessageCommand({
          QueueUrl: input,
          MessageBody: POISON,
          MessageGroupId: 'poison',
          MessageDeduplicationId: `poison-${domain}`,
        }),
      );
      await waiters.until(() => seen.size >= ITEMS + KEYS, gathered);
      const gatheredIn = Date.now() - started;
      // Nothing left in flight or waiting in the middle's and the sink's inputs: no late copy.
      const busy = async () =>
        (await client.queues()).filter(
          (q) => q.level !== 'dlq' && q.stage !== 'source' && q.visible + q.inFlight > 0,
        );
      for (const by = Date.now() + DRAIN_MS; (await busy()).length > 0 && Date.now() < by;) await sleep(250);
      await events.stop();
      sink.child.kill('SIGTERM');
      expect(await sink.exited, sink.stderr).toBe(0);
      const outputs = sink.lines;
      const stats = events.stats;

      const middleOf = new Map(); // n → its calls
      for (const call of calls) middleOf.set(call.n, [...(middleOf.get(call.n) ?? []), call]);
      const late = calls.filter((c) => c.n >= LATE_N);
      const lateness = late.map((c) => c.at - c.due).toSorted((a, b) => a - b);
      const fromTimers = events.invocations
        .filter((i) => i.queueUrl === later.QueueUrl)
        .reduce((sum, i) => sum + i.deleted.length, 0);
      const poisoned = events.invocations.filter((i) => i.event.Records.some((r) => r.body === POISON));
      const repeated = [...middleOf.values()].filter((cs) => cs.filter((c) => !c.fails).length > 1).length;
      console.log(
        `Lambda stage from outside on ${sqs.name}: ${outputs.length} outputs gathered in ${gatheredIn} ms ` +
          `(${Date.now() - started} ms with the drain); ${stats.invocations} invocations ` +
          `(${stats.maxInFlight} at most at once), ${stats.recordsReceived} records received, ` +
          `${stats.recordsDeleted} deleted, ${stats.recordsFailed} left as failed; ` +
          `${calls.length} calls of middle, ${failed.length} failed, ${repeated} items run twice, ` +
          `receive count up to ${Math.max(...calls.map((c) => c.receiveCount))}; ` +
          `${fromTimers} timers through the later mapping, items for later ${lateness[0]} to ` +
          `${lateness.at(-1)} ms after due; the poison body in a batch of ` +
          `${poisoned.map((i) => i.event.Records.length).join(', ')}`,
      );

      // Exactly once at the sink: every item and item for later, each value once, from one message.
      const expected = [
        ...Array.from({ length: ITEMS }, (_, n) => n),
        ...Array.from({ length: KEYS }, (_, k) => LATE_N + k),
      ];
      expect([...seen].toSorted((a, b) => a - b)).toEqual(expected);
      expect(outputs).toHaveLength(ITEMS + KEYS);
      expect(new Set(outputs.map((o) => o.message)).size).toBe(outputs.length);
      for (const o of outputs) expect(o.twice).toBe(o.n * 2);
      // Order per key at the sink, and in the middle's calls that succeeded.
      expectOrderPerKey(
        outputs,
        (o) => o.key,
        (o) => o.seq,
      );
      expect(
        orderViolations(
          calls.filter((c) => !c.fails),
          (c) => c.key,
          (c) => c.seq,
        ),
      ).toEqual([]);
      // Failures: each first attempt of every 7th item (its first receive: a record that went back
      // behind its group's failure before it ran is on a later attempt), then its retry.
      const failing = calls.filter((c) => c.fails);
      expect(failing.length).toBeGreaterThan(0);
      expect(failing.every((c) => failsFirst(c.n) && c.receiveCount === 1)).toBe(true);
      // On Lambda each receive is an attempt.
      expect(calls.filter((c) => c.attempt !== c.receiveCount)).toEqual([]);
      expect(failed).toHaveLength(failing.length);
      expect(stats.recordsFailed).toBeGreaterThanOrEqual(failing.length);
      // Items for later: through the middle's mapping of its queue of timers, never called early.
      expect(fromTimers).toBeGreaterThanOrEqual(KEYS);
      expect(late.filter((c) => c.at < c.due)).toEqual([]);
      expect(late.map((c) => c.n).toSorted((a, b) => a - b)).toEqual(expected.slice(ITEMS));
      // The answers keep FIFO order as Lambda requires: once a record of a group is listed as
      // failed, so is every later record of that group in the batch.
      const overtaking = events.invocations.flatMap(({ event, failed: listed }) => {
        const broken = new Set();
        return event.Records.filter((r) => {
          const group = r.attributes.MessageGroupId; // undefined: a timer (standard queue)
          if (group !== undefined && listed.includes(r.messageId)) broken.add(group);
          return broken.has(group) && !listed.includes(r.messageId);
        }).map((r) => ({ group: r.attributes.MessageGroupId, messageId: r.messageId }));
      });
      expect(overtaking, 'records deleted after a failed record of their group').toEqual([]);
      // The poison body: dead-lettered with its reason, alone, its record deleted (not failed).
      expect(poisoned).toHaveLength(1);
      const poison = poisoned[0].event.Records.find((r) => r.body === POISON);
      expect(poisoned[0].deleted).toContain(poison.messageId);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ stage: 'middle' });
      expect(dead[0].reason).toMatch(/^not a sqspipes envelope/);
      const dlq = (await client.queues()).find((q) => q.stage === 'middle' && q.level === 'dlq');
      expect(dlq?.visible).toBe(1);
      expect(stats).toMatchObject({ errors: 0, timedOut: 0, threw: 0, invalid: 0, inFlight: 0 });
    },
  );
});
