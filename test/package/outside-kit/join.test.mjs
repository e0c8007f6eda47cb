// A join after fan-out, as a user checks it from outside (README: "Join after fan-out", "Results
// back to the sender", "The stage CLI", "The operator CLI"): join-pipeline.mjs run as stage
// processes, two per stage (source → split → work → gather → sink), killed with SIGKILL at random
// and restarted, while this file reads `collect`, the last stage. Every item is gathered exactly
// once with exactly its branches' values in fan-out order; an item submitted with submit() gets
// its join's output from result(); an item whose branch is dead-lettered fails, with a reason that
// names the branch. Only sqspipes' public exports and CLIs, and the S3 client for the bucket.
// JOIN_ITEMS sets the number of items (40 by default), JOIN_MAX_BRANCHES the most branches an item
// opens (12 by default). A join keeps its items' state in S3: without S3 (ElasticMQ) the file skips.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, test } from 'vitest';
import { ItemError } from 'sqspipes';
import { startSqs } from 'sqspipes/testing';
import { expectedValues, joinClient, POISON } from './join-pipeline.mjs';

const SCRIPT = fileURLToPath(new URL('./join-pipeline.mjs', import.meta.url));
const ITEMS = Number(process.env.JOIN_ITEMS ?? 40);
const MAX_BRANCHES = Number(process.env.JOIN_MAX_BRANCHES ?? 12);
/** Items fed with submit() besides the source's (numbers ITEMS and up), and the poisoned one. */
const SUBMITTED = 3;
const STAGES = ['source', 'split', 'work', 'gather', 'sink'];
const PROCESSES = 2;
/** Items a source process emits before it exits (`--limit`). */
const SLICE = Math.max(4, Math.round(ITEMS / 20));
/** Items emitted and not yet gathered: spreads the outputs (and so the kills) over the run. */
const WINDOW = 16;
const MIN_KILLS = 6;
/** Longest wait for the queues to drain once every item was gathered (late duplicates). */
const DRAIN_MS = 60_000;
/** The test's timeout, and how long it may wait for its items before it stops to say why. */
const TIMEOUT_MS = 180_000 + ITEMS * 2_000;
const GATHER_MS = TIMEOUT_MS - DRAIN_MS - 60_000;

const sqs = await startSqs();
const credentials = sqs.credentials;
const s3 = new S3Client({ endpoint: sqs.endpoint, region: sqs.region, credentials, forcePathStyle: true });
const bucket = `join-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const location =
  sqs.region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: sqs.region } };
const noS3 = await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location })).then(
  () => undefined,
  (error) => {
    if (sqs.backend === 'fauxqs') throw error; // the embedded fauxqs always serves S3
    return `${sqs.name} answers no S3 request (CreateBucket: ${error.name}) and a join keeps its items' state in S3 (\`payloads: { bucket }\`), so the test of the join is skipped.`;
  },
);
if (noS3 !== undefined) console.warn(`outside-kit: ${noS3}`);

afterAll(async () => {
  if (noS3 === undefined) {
    for (;;) {
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      if (Contents.length === 0) break;
      const Objects = Contents.map(({ Key }) => ({ Key }));
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
  s3.destroy();
  await sqs.close();
});

/** Counts the items gathered, and wakes whoever waits for a count. */
class Progress {
  count = 0;
  #waiters = [];
  add() {
    this.count++;
    for (const w of this.#waiters) if (this.count >= w.count) w.resolve();
    this.#waiters = this.#waiters.filter((w) => this.count < w.count);
  }
  /** Resolves once `count` items were gathered, or `stop` aborted. */
  until(count, stop) {
    if (this.count >= count || stop.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      stop.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** `npx sqspipes <args>` (the operator CLI of the installed package); its stdout. */
async function operator(args, env) {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('sqspipes/package.json');
  const bin = join(dirname(manifest), JSON.parse(readFileSync(manifest, 'utf8')).bin.sqspipes);
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args], { env });
  return stdout;
}

describe.skipIf(noS3 !== undefined)(
  'a join after fan-out, from outside: stage processes under SIGKILL, submit() and the DLQ',
  () => {
    const domain = `join${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const client = joinClient({
      domain,
      bucket,
      maxBranches: MAX_BRANCHES,
      endpoint: sqs.endpoint,
      region: sqs.region,
      credentials,
    });
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_REGION: sqs.region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      JOIN_DOMAIN: domain,
      JOIN_BUCKET: bucket,
      JOIN_MAX_BRANCHES: String(MAX_BRANCHES),
    };
    /** The stage processes now running, by slot (`split#0`…); each slot's supervisor restarts its process. */
    const running = new Map();
    /** The slots' supervisors: the source's end once every item was sent, the others' at the stop. */
    const sourceSlots = [];
    const stageSlots = [];
    /** Exits no one asked for (not SIGKILL, not SIGTERM at the end, not a source's slice done). */
    const unexpected = [];
    const stopping = new AbortController();
    let starts = 0;

    /** `node join-pipeline.mjs <stage> --quiet [args]`, with the stderr it wrote and its exit. */
    function start(stage, extraEnv, args) {
      starts++;
      const child = spawn(process.execPath, [SCRIPT, stage, '--quiet', ...args], {
        env: { ...env, ...extraEnv },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const p = { stage, child, stderr: '' };
      child.stderr.setEncoding('utf8').on('data', (chunk) => (p.stderr += chunk));
      p.exited = once(child, 'exit').then(([code, signal]) => code ?? signal);
      return p;
    }

    /**
     * Runs slot `name` until the stop, starting its process again whenever it was killed; resolves
     * with its process's exit. A killed source process sends its slice again: SQS drops the copies.
     */
    async function supervise(name, stage, extraEnv = {}, args = []) {
      for (;;) {
        const p = start(stage, extraEnv, args);
        running.set(name, p);
        const exit = await p.exited;
        running.delete(name);
        if (exit === 'SIGKILL' && !stopping.signal.aborted) continue; // the chaos: start it again
        return { exit, stderr: p.stderr };
      }
    }

    /** A source slot: one process per slice of items from `slices()`, each exiting after its slice. */
    async function sourceSlot(name, slices) {
      for (let slice = await slices(); slice !== undefined; slice = await slices()) {
        const { from, to } = slice;
        const args = ['--limit', String(to - from)]; // one call per item
        const { exit, stderr } = await supervise(
          name,
          'source',
          { JOIN_FROM: `${from}`, JOIN_TO: `${to}` },
          args,
        );
        if (stopping.signal.aborted) return;
        if (exit !== 0)
          unexpected.push(`${name} (items ${from} to ${to - 1}) exited with ${exit}:\n${stderr}`);
      }
    }

    /** A slot of a consuming stage: its process runs until the stop. */
    async function stageSlot(name, stage) {
      const { exit, stderr } = await supervise(name, stage);
      if (!stopping.signal.aborted) unexpected.push(`${name} exited with ${exit}:\n${stderr}`);
      return exit;
    }

    afterAll(async () => {
      stopping.abort();
      for (const p of running.values()) p.child.kill('SIGKILL');
      await Promise.all([...sourceSlots, ...stageSlots]);
      await client.destroy();
      await client.close();
    }, 60_000);

    test(
      `gathers each of ${ITEMS + SUBMITTED} items exactly once, its branches' values in fan-out order, through ${PROCESSES} processes per stage killed and restarted; a lost branch fails its item`,
      { timeout: TIMEOUT_MS + 30_000 },
      async () => {
        const started = Date.now();
        await client.createQueues();
        const progress = new Progress();
        const done = new AbortController();

        // The source's items 0 to ITEMS - 1, a slice at a time for each source process.
        let emitted = 0;
        const slices = async () => {
          // Both source slots wait here: each looks again at what is left once it wakes.
          while (emitted < ITEMS && !done.signal.aborted) {
            if (progress.count > emitted - WINDOW) {
              const slice = { from: emitted, to: Math.min(ITEMS, emitted + SLICE) };
              emitted = slice.to;
              return slice;
            }
            await progress.until(emitted - WINDOW + 1, done.signal);
          }
          return undefined;
        };
        for (let i = 0; i < PROCESSES; i++) sourceSlots.push(sourceSlot(`source#${i}`, slices));
        for (const stage of STAGES.slice(1)) {
          for (let i = 0; i < PROCESSES; i++) stageSlots.push(stageSlot(`${stage}#${i}`, stage));
        }

        // Beside the source: items submitted, whose result() is the join's output, and the poisoned.
        const submittedNumbers = Array.from({ length: SUBMITTED }, (_, i) => ITEMS + i);
        const timeout = GATHER_MS;
        const submissions = await Promise.all(submittedNumbers.map((n) => client.submit(n, { timeout })));
        const poisoned = await client.submit(POISON, { timeout });
        const results = Promise.allSettled([...submissions, poisoned].map((s) => s.result()));

        // A kill after some progress (a random number of items gathered, then a random moment), of
        // a random stage process; its supervisor starts it again at once.
        let kills = 0;
        const chaos = (async () => {
          const step = Math.max(2, Math.round(ITEMS / 20));
          while (!done.signal.aborted && (kills < MIN_KILLS || progress.count < ITEMS * 0.6)) {
            await progress.until(progress.count + 1 + Math.floor(Math.random() * step), done.signal);
            await sleep(Math.random() * 1000);
            if (done.signal.aborted) break;
            const names = [...running.keys()];
            const victim = running.get(names[Math.floor(Math.random() * names.length)]);
            if (victim === undefined) continue;
            victim.child.kill('SIGKILL');
            await victim.exited;
            kills++;
          }
        })();

        // `collect` in this process: each output with its id (an item with no value has no number).
        const outputs = [];
        const distinct = new Set();
        try {
          const signal = AbortSignal.timeout(GATHER_MS);
          for await (const output of client.run('collect', { idleTimeout: 60_000, withIds: true, signal })) {
            outputs.push(output);
            const { item } = output.value;
            const key = item === null ? `id:${output.id}` : `item:${item}`;
            if (!distinct.has(key)) {
              distinct.add(key);
              progress.add();
            }
            if (distinct.size === ITEMS + SUBMITTED) break;
          }
        } finally {
          done.abort();
          await chaos;
        }
        const gatheredIn = Math.round((Date.now() - started) / 1000);

        // What is still on its way (a late duplicate) is taken while the processes run; `collect`'s
        // queue keeps whatever reaches it now. The dead-letter queues keep the poisoned item.
        const busy = async () =>
          (await client.queues())
            .filter((q) => q.stage !== 'collect' && q.level !== 'dlq' && q.visible + q.inFlight > 0)
            .map((q) => q.name);
        const drainedBy = Date.now() + DRAIN_MS;
        while ((await busy()).length > 0 && Date.now() < drainedBy) await sleep(250);
        // The source processes exit by themselves once their slices are sent; the others stop
        // gracefully on SIGTERM, each with exit code 0.
        await Promise.all(sourceSlots);
        stopping.abort();
        const last = [...running.entries()];
        for (const [, p] of last) p.child.kill('SIGTERM');
        const codes = await Promise.all(stageSlots);
        const queues = await client.queues();
        const left = queues
          .filter((q) => q.visible + q.inFlight > 0)
          .map((q) => `${q.name}: ${q.visible + q.inFlight}`)
          .toSorted();

        // What each item got, against what its branches make of it.
        const all = [...Array.from({ length: ITEMS }, (_, n) => n), ...submittedNumbers];
        const expected = new Map(all.map((n) => [n, expectedValues(n, MAX_BRANCHES)]));
        const byItem = new Map();
        for (const { value } of outputs) {
          if (value.item !== null) byItem.set(value.item, [...(byItem.get(value.item) ?? []), value.values]);
        }
        const wrong = [...expected].flatMap(([n, values]) => {
          if (values.length === 0) return [];
          const got = (byItem.get(n) ?? []).map((v) => JSON.stringify(v));
          if (got.length === 1 && got[0] === JSON.stringify(values)) return [];
          return [`item ${n}: expected ${JSON.stringify(values)}, got ${got.join(' and ') || 'nothing'}`];
        });
        const unknown = [...byItem.keys()].filter((n) => !(expected.get(n)?.length > 0));
        const empties = [...expected.values()].filter((values) => values.length === 0).length;
        const ids = outputs.map((o) => o.id);
        const branches = [...expected.values()].reduce((sum, v) => sum + v.length, 0);
        console.log(
          `join from outside on ${sqs.name}: ${ITEMS} items from the source and ${SUBMITTED} submitted ` +
            `(up to ${MAX_BRANCHES} branches, ${branches} values, ${empties} items with none) and one poisoned, ` +
            `gathered in ${gatheredIn} s, ${Math.round((Date.now() - started) / 1000)} s in all; ` +
            `${kills} SIGKILLs, ${starts} process starts; ${outputs.length} outputs, ${wrong.length} items wrong or missing; ` +
            `queues left: ${left.join(', ') || 'none'}`,
        );
        const logs = last.map(([name, p]) => `${name}:\n${p.stderr.slice(-2000)}`).join('\n');
        expect(unexpected).toEqual([]);
        expect(wrong, logs).toEqual([]);
        expect(unknown).toEqual([]);
        expect(outputs.filter((o) => o.value.item === null)).toHaveLength(empties);
        expect(new Set(ids).size).toBe(ids.length);
        expect(outputs).toHaveLength(ITEMS + SUBMITTED);
        expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
        expect(codes, logs).toEqual(stageSlots.map(() => 0));
        // Nothing left but the poisoned item: its branch in `work`'s DLQ, the item in `gather`'s.
        expect(left, 'queues with a message left, with how many').toEqual([
          `${domain}-gather-dlq.fifo: 1`,
          `${domain}-work-dlq.fifo: 1`,
        ]);

        // submit(): each item's result is its join's output; the poisoned one rejects, naming its branch.
        const settled = await results;
        expect(settled.slice(0, SUBMITTED)).toEqual(
          submittedNumbers.map((n) => {
            const values = expected.get(n);
            return { status: 'fulfilled', value: [{ item: values.length === 0 ? null : n, values }] };
          }),
        );
        const lost = settled[SUBMITTED];
        const poison = /branch \S+ at stage `work`: .*branch 1000000\.2 is poison/;
        expect(lost.status).toBe('rejected');
        expect(lost.reason).toBeInstanceOf(ItemError);
        expect(lost.reason).toMatchObject({
          end: 'dead-lettered',
          stage: 'gather',
          reason: expect.stringMatching(poison),
        });

        // `npx sqspipes peek gather --dlq`: the reason the join recorded names the branch and why.
        const peeked = JSON.parse(
          await operator(
            ['peek', 'gather', '--dlq', '--json', '--domain', domain, '--endpoint', sqs.endpoint],
            env,
          ),
        );
        expect(peeked).toHaveLength(1);
        expect(peeked[0].deadLetterReason).toMatch(
          /^join `gather` of item \S+ failed: 1 of its branches were dead-lettered/,
        );
        expect(peeked[0].deadLetterReason).toMatch(poison);
      },
    );
  },
);
