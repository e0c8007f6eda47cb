/**
 * Issue 24's acceptance: a join under SIGKILL chaos. `split` fans each item out into 0 to 50
 * branches, `work` filters some and fans one out again, `gather` (`join: 'split'`) gets each
 * item's values; two processes of each, killed with SIGKILL at random moments and restarted.
 * Every item is gathered exactly once, with exactly its branches' values in fan-out order, nothing
 * is dead-lettered, the queues end empty and every item's state in S3 is a tombstone. The second
 * test makes first attempts yield other outputs than their retries: only the deciding attempt's
 * branches count. SQSPIPES_JOIN_CHAOS_ITEMS sets the number of items (60 by default; the second
 * test takes half). The join keeps its state in S3: ElasticMQ has none, so the file skips there
 * in one sentence.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  expectedValues,
  type Gathered,
  joinChaosClient,
  PAYLOAD_PREFIX,
} from '../fixtures/join-chaos-pipeline.ts';
import { listKeys, s3Client, s3Unavailable, testBucket } from '../support/s3-bucket.ts';
import { type StageProcess, startStage } from '../support/spawn.ts';
import { backendEnv, testDomain } from '../support/sqs.ts';
import { Progress } from '../support/progress.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`join-chaos.test.ts: ${skipped}`);

const SCRIPT = fileURLToPath(new URL('../fixtures/join-chaos-pipeline.ts', import.meta.url));
const ITEMS = Number(process.env['SQSPIPES_JOIN_CHAOS_ITEMS'] ?? 60);
const STAGES = ['split', 'work', 'gather'] as const;
const PROCESSES = 2;
/** Items enqueued and not yet gathered: spreads the outputs (and so the kills) over the run. */
const WINDOW = 16;
const MIN_KILLS = 6;
/** Longest wait for the queues to drain once every item was gathered (late duplicates, decoys). */
const DRAIN_MS = 60_000;

interface Outcome {
  readonly seconds: number;
  /** Seconds until the last item was gathered (or the sink stayed idle). */
  readonly gathered: number;
  readonly kills: number;
  /** The sink's outputs, with their ids. */
  readonly outputs: readonly { id: string; value: Gathered }[];
  /** Queues with a message left (visible or in flight) once the processes stopped. */
  readonly leftInQueues: readonly string[];
  /** The items' tombstones in S3 (how many), and the states of items not joined. */
  readonly states: number;
  readonly notDone: readonly string[];
  /** First attempts that threw in the stage processes (flaky mode). */
  readonly firstAttempts: number;
  /** The stage processes' stderr (the killed ones' too). */
  readonly logs: readonly string[];
}

/**
 * Runs the pipeline on `items` items as 2 processes per stage, killing one at random after some
 * progress (at least `MIN_KILLS` times, until 60% of the items are gathered), until every item was
 * gathered, the sink stayed idle 30 s or `gatherMs` passed (then the test fails saying what it saw,
 * not timing out); then waits for the queues to drain and stops the processes.
 */
async function chaosRun(
  domain: string,
  bucket: string,
  items: number,
  flaky: boolean,
  gatherMs: number,
): Promise<Outcome> {
  const started = Date.now();
  const { endpoint, region, credentials } = backendEnv();
  const payloads = { bucket, prefix: PAYLOAD_PREFIX };
  const client = joinChaosClient({ domain, endpoint, region, credentials, payloads }, { flaky });
  await client.createQueues();

  const outputs: { id: string; value: Gathered }[] = [];
  const distinct = new Set<string>();
  const progress = new Progress();
  const done = new AbortController();
  // The second half of the items waits for the kills: a join that gathers fast (batched folds on
  // LocalStack) could otherwise finish 30 items before the sixth kill.
  let enoughKills = () => {};
  const killed = new Promise<void>((resolve) => (enoughKills = resolve));
  const feeding = (async () => {
    for (let n = 0; n < items; n++) {
      await progress.until(n - WINDOW + 1, done.signal);
      if (n === Math.ceil(items / 2)) await Promise.race([killed, once(done.signal)]);
      if (done.signal.aborted) return;
      await client.enqueue('split', n, { id: `item-${n}` });
    }
  })();

  const env = {
    SQSPIPES_DOMAIN: domain,
    SQSPIPES_PAYLOAD_BUCKET: bucket,
    SQSPIPES_JOIN_CHAOS_FLAKY: flaky ? '1' : '0',
  };
  const all: StageProcess[] = [];
  const start = (stage: string) => {
    const p = startStage(SCRIPT, [stage, '--quiet'], env);
    all.push(p);
    return p;
  };
  const running = new Map<string, StageProcess>(
    STAGES.flatMap((stage) =>
      Array.from({ length: PROCESSES }, (_, i) => [`${stage}#${i}`, start(stage)] as const),
    ),
  );
  let kills = 0;
  // Each kill waits for some progress since the one before (a random number of outputs, then a
  // random moment), as in chaos.test.ts: killing on a clock alone could kill faster than
  // processes start.
  const chaos = (async () => {
    const step = Math.max(2, Math.round(items / 20));
    while (!done.signal.aborted && (kills < MIN_KILLS || progress.count < items * 0.6)) {
      // Some progress, or 3 s without (the feed may be waiting for these kills).
      const next = progress.until(progress.count + 1 + Math.floor(Math.random() * step), done.signal);
      await Promise.race([next, sleep(3000)]);
      await sleep(Math.random() * 1000);
      if (done.signal.aborted) break;
      const names = [...running.keys()];
      const victim = names[Math.floor(Math.random() * names.length)] ?? '';
      const target = running.get(victim);
      target?.child.kill('SIGKILL');
      await target?.exited;
      kills++;
      if (kills === MIN_KILLS) enoughKills();
      running.set(victim, start(victim.slice(0, victim.indexOf('#'))));
    }
  })();

  try {
    const signal = AbortSignal.timeout(gatherMs);
    for await (const output of client.run('sink', { idleTimeout: 30_000, withIds: true, signal })) {
      const o = output as { id: string; value: Gathered };
      outputs.push(o);
      distinct.add(o.value.item === null ? `id:${o.id}` : `item:${o.value.item}`);
      progress.add();
      if (distinct.size === items) break;
    }
  } finally {
    done.abort();
    await Promise.all([feeding, chaos]);
  }
  const gathered = Math.round((Date.now() - started) / 1000);
  // What is still on its way (a late duplicate, a branch of an attempt that did not count) is
  // taken while the processes run; the sink's queue keeps whatever reaches it now.
  const busy = async () =>
    (await client.queues())
      .filter((q) => q.stage !== 'sink' && q.visible + q.inFlight > 0)
      .map((q) => q.name);
  const drainedBy = Date.now() + DRAIN_MS;
  while ((await busy()).length > 0 && Date.now() < drainedBy) await sleep(250);
  for (const p of running.values()) p.child.kill('SIGTERM');
  await Promise.all([...running.values()].map((p) => p.exited));
  const leftInQueues = (await client.queues())
    .filter((q) => q.visible + q.inFlight > 0)
    .map((q) => `${q.name}: ${q.visible} visible, ${q.inFlight} in flight`);
  await client.close();

  const s3 = s3Client();
  // Pending items' states are under join/, the tombstones of joined ones under joined/.
  const listed = await listKeys(s3, bucket);
  const keys = listed.filter((k) => k.startsWith(`${PAYLOAD_PREFIX}${domain}/joined/`));
  const notDone: string[] = [];
  for (const key of listed.filter((k) => k.startsWith(`${PAYLOAD_PREFIX}${domain}/join/`))) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = (await object.Body?.transformToString('utf-8')) ?? '';
    notDone.push(`${key}: ${body.slice(0, 600)}`);
  }
  s3.destroy();
  const logs = all.map((p) => p.stderr());
  return {
    seconds: Math.round((Date.now() - started) / 1000),
    gathered,
    kills,
    outputs,
    leftInQueues,
    states: keys.length,
    notDone,
    firstAttempts: logs.join('\n').split('a first attempt that does not count').length - 1,
    logs,
  };
}

/** Checks what `chaosRun` saw against what the pipeline's rules say of each item. */
function check(label: string, items: number, outcome: Outcome): void {
  const byItem = new Map<number, string[][]>();
  const ids = new Map<string, number>();
  let empties = 0;
  for (const { id, value } of outcome.outputs) {
    ids.set(id, (ids.get(id) ?? 0) + 1);
    if (value.item === null) empties++;
    else byItem.set(value.item, [...(byItem.get(value.item) ?? []), value.values]);
  }
  const expected = Array.from({ length: items }, (_, n) => expectedValues(n));
  const expectedEmpties = expected.filter((values) => values.length === 0).length;
  const wrong = expected.flatMap((values, n) => {
    if (values.length === 0) return [];
    const got = (byItem.get(n) ?? []).map((v) => JSON.stringify(v));
    if (got.length === 1 && got[0] === JSON.stringify(values)) return [];
    return [
      `item ${n}: expected ${JSON.stringify(values)}, got ${got.length === 0 ? 'nothing' : got.join(' and ')}`,
    ];
  });
  const unknown = [...byItem.keys()].filter((n) => !(n >= 0 && n < items && expected[n]?.length !== 0));
  const repeatedIds = [...ids].filter(([, count]) => count > 1).map(([id]) => id);
  console.log(
    `${label}: ${items} items (${expectedEmpties} with no value, ` +
      `${expected.reduce((sum, v) => sum + v.length, 0)} values) in ${outcome.seconds} s (gathered in ${outcome.gathered} s), ` +
      `${outcome.kills} SIGKILLs, ${outcome.firstAttempts} first attempts thrown; ` +
      `${outcome.outputs.length} outputs, ${wrong.length} items wrong or missing; ` +
      `${outcome.states} states in S3, ${outcome.notDone.length} not tombstones; ` +
      `${outcome.leftInQueues.length} queues not empty`,
  );
  if (wrong.length > 0 || outcome.leftInQueues.length > 0 || outcome.notDone.length > 0) {
    for (const log of outcome.logs) if (log !== '') console.log(`stage stderr:\n${log.slice(-3000)}`);
  }
  // Each item's state became a tombstone (an item with no branch has one too: its split reported);
  // one that did not shows the branches it still awaits.
  expect(outcome.notDone).toEqual([]);
  expect(outcome.states).toBe(items);
  expect(repeatedIds).toEqual([]);
  expect(unknown).toEqual([]);
  expect(wrong).toEqual([]);
  expect(empties).toBe(expectedEmpties);
  expect(outcome.outputs).toHaveLength(items);
  // Nothing left: no late duplicate reached the sink, nothing was dead-lettered.
  expect(outcome.leftInQueues).toEqual([]);
  expect(outcome.kills).toBeGreaterThanOrEqual(MIN_KILLS);
}

describe.skipIf(skipped !== undefined)('a join under SIGKILL chaos', () => {
  const bucket = testBucket('jchaos');
  const domains = { plain: testDomain('jchaos'), flaky: testDomain('jchaosflaky') };
  const flakyItems = Math.max(10, Math.round(ITEMS / 2));
  /** The test's timeout, and how long it may wait for its items before it stops to say why. */
  const timing = (items: number) => {
    const timeout = 240_000 + items * 2_000;
    return { timeout, gatherMs: timeout - DRAIN_MS - 60_000 };
  };

  it(
    `gathers each of ${ITEMS} items exactly once, its branches' values in fan-out order, through 2 processes per stage`,
    { timeout: timing(ITEMS).timeout },
    async () => {
      const outcome = await chaosRun(domains.plain, bucket, ITEMS, false, timing(ITEMS).gatherMs);
      check('join chaos', ITEMS, outcome);
    },
  );

  it(
    `counts only the deciding attempt's branches when first attempts yield other outputs, then throw (${flakyItems} items)`,
    { timeout: timing(flakyItems).timeout },
    async () => {
      const outcome = await chaosRun(domains.flaky, bucket, flakyItems, true, timing(flakyItems).gatherMs);
      check('join chaos, flaky first attempts', flakyItems, outcome);
      expect(outcome.firstAttempts).toBeGreaterThan(0);
    },
  );
});

/** Resolves once `signal` aborts. */
function once(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
