// Time and flow control, as a user checks them from outside (README: "Items for later",
// "Schedules", "Fleet-wide limits", "The stage CLI"): time-and-limits-pipeline.mjs run as stage
// processes, some killed with SIGKILL, while this file feeds the pipelines and reads their last
// stage. Items for later arrive once, never before they are due, through kills of the processes
// that hold their timers; a source every second with 3 replicas, one killed mid-tick, gives one
// item per tick; `maxConcurrency` holds across 3 processes, and a killed process's slots come back.
// Only sqspipes' public exports and its stage CLI, on the SQS of sqspipes/testing.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { startSqs } from 'sqspipes/testing';
import {
  delaysClient,
  SLOT_CALL_MS,
  SLOTS,
  slotsClient,
  TICK_EVERY_MS,
  ticksClient,
} from './time-and-limits-pipeline.mjs';

const SCRIPT = fileURLToPath(new URL('./time-and-limits-pipeline.mjs', import.meta.url));
/** Longest wait for the queues to drain once everything arrived (late duplicates). */
const DRAIN_MS = 30_000;

const sqs = await startSqs();
const connection = { endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials };
afterAll(() => sqs.close());

const domainOf = (what) => `tl${what}${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

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

/**
 * The stage processes of one pipeline, by slot (`wait#0`…): each slot's supervisor starts its
 * process again when it was SIGKILLed (if asked to), until `stop()`. Each JSON line a process
 * writes on stdout is a record of a call, handed to `onRecord(record, process)`.
 */
class Fleet {
  running = new Map();
  records = [];
  /** Exits no one asked for (not SIGKILL, not a SIGTERM at the stop ending with 0). */
  unexpected = [];
  starts = 0;
  kills = 0;
  onRecord = () => {};
  #env;
  #stopping = false;
  #supervisors = [];

  constructor(pipeline, domain) {
    this.#env = {
      ...process.env,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_REGION: sqs.region,
      AWS_ACCESS_KEY_ID: sqs.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sqs.credentials.secretAccessKey,
      TL_PIPELINE: pipeline,
      TL_DOMAIN: domain,
    };
  }

  /** Runs `node time-and-limits-pipeline.mjs <stage> <workers> --quiet` in slot `name`. */
  slot(name, stage, workers, { restart }) {
    const supervise = async () => {
      for (;;) {
        const p = this.#start(name, stage, workers);
        this.running.set(name, p);
        const exit = await p.exited;
        this.running.delete(name);
        if (exit === 'SIGKILL' && restart && !this.#stopping) continue;
        // Killed by the stop's SIGTERM itself: the process was still starting (its CLI handles
        // SIGTERM from before its run sends any request), so it took nothing: as good as 0.
        const stoppedEarly = this.#stopping && exit === 'SIGTERM';
        if (exit !== 'SIGKILL' && !(this.#stopping && exit === 0) && !stoppedEarly)
          this.unexpected.push(`${name} exited with ${exit}:\n${p.stderr.slice(-2000)}`);
        return { name, exit: stoppedEarly ? 0 : exit, stderr: p.stderr };
      }
    };
    this.#supervisors.push(supervise());
  }

  #start(name, stage, workers) {
    this.starts++;
    const child = spawn(process.execPath, [SCRIPT, stage, String(workers), '--quiet'], {
      env: this.#env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = { name, child, stderr: '' };
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const record = JSON.parse(line);
        this.records.push(record);
        this.onRecord(record, p);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (p.stderr += chunk));
    // 'close': after the last of its stdout was read.
    p.exited = once(child, 'close').then(([code, signal]) => code ?? signal);
    return p;
  }

  /** SIGKILLs process `p` now; resolves once it is gone. */
  async kill(p) {
    this.kills++;
    p.child.kill('SIGKILL');
    await p.exited;
  }

  /** Stops every process gracefully (SIGTERM); resolves with each slot's last exit. */
  stop() {
    this.#stopping = true;
    for (const p of this.running.values()) p.child.kill('SIGTERM');
    return Promise.all(this.#supervisors);
  }

  /** For afterAll: SIGKILLs whatever still runs. */
  async abort() {
    this.#stopping = true;
    for (const p of this.running.values()) p.child.kill('SIGKILL');
    await Promise.all(this.#supervisors);
  }
}

/**
 * Reads `stage` (the last) in this process until `stop` aborts, as `{ id, value }`: `onOutput` for
 * each. Resolves with the outputs.
 */
async function readLast(client, stage, stop, onOutput) {
  const outputs = [];
  for await (const output of client.run(stage, { withIds: true, signal: stop })) {
    outputs.push(output);
    onOutput(output);
  }
  return outputs;
}

/** Waits (up to DRAIN_MS) until the queues of `stages` hold nothing visible or in flight. */
async function drain(client, stages) {
  const busy = async () =>
    (await client.queues()).filter((q) => stages.includes(q.stage) && q.visible + q.inFlight > 0);
  const by = Date.now() + DRAIN_MS;
  while ((await busy()).length > 0 && Date.now() < by) await sleep(250);
}

const logs = (stopped) => stopped.map(({ name, stderr }) => `${name}:\n${stderr.slice(-1500)}`).join('\n');

describe('items for later, from outside', () => {
  const ITEMS = 30;
  const MIN_KILLS = 4;
  const GATHER_MS = 180_000;
  const domain = domainOf('d');
  const client = delaysClient({ domain, ...connection });
  const fleet = new Fleet('delays', domain);

  afterAll(async () => {
    await fleet.abort();
    await client.destroy();
    await client.close();
  }, 60_000);

  test(
    `${ITEMS} items due in 2 to 20 s (enqueue() and submit() with delay or at, delayed() outputs) each reach the last stage once, never called before due, while the 2 processes holding their timers are SIGKILLed and restarted`,
    { timeout: GATHER_MS + DRAIN_MS + 60_000 },
    async () => {
      const started = Date.now();
      await client.createQueues();
      fleet.slot('plan#0', 'plan', 4, { restart: true });
      fleet.slot('wait#0', 'wait', 8, { restart: true });
      fleet.slot('wait#1', 'wait', 8, { restart: true });

      // Item n is due 2 s + n × 18 / 29 s from its send: a third through enqueue() with `delay`, a
      // third through enqueue() with `at` or submit() with `delay`, a third through `plan`'s
      // delayed(item, { at }).
      const submissions = [];
      const items = new Map();
      const sends = Array.from({ length: ITEMS }, async (_, n) => {
        const delay = 2000 + Math.round((n * 18_000) / (ITEMS - 1));
        const due = Date.now() + delay;
        const item = { n, due };
        items.set(n, item);
        if (n % 3 === 0) await client.enqueue('wait', item, { delay });
        else if (n % 3 === 1 && n % 2 === 1) await client.enqueue('wait', item, { at: due });
        else if (n % 3 === 1) submissions.push(await client.submit(item, { stage: 'wait', delay }));
        else await client.enqueue('plan', item);
      });
      await Promise.all(sends);
      const results = Promise.all(submissions.map((s) => s.result()));
      results.catch(() => {}); // awaited below, after the other checks

      const waiters = new Waiters();
      const seen = new Set();
      const stopSink = new AbortController();
      const sink = readLast(client, 'done', stopSink.signal, (output) => {
        seen.add(output.value.n);
        waiters.check();
      });
      // A kill once the first item arrived, then every 4 to 6 items, each after a random moment,
      // of one of `wait`'s processes (whichever holds timers, or long-polls for them, then).
      const gathered = AbortSignal.timeout(GATHER_MS);
      for (let next = 1; seen.size < ITEMS && !gathered.aborted; next += 4 + Math.floor(Math.random() * 3)) {
        await waiters.until(() => seen.size >= Math.min(next, ITEMS), gathered);
        if (seen.size >= ITEMS || gathered.aborted) break;
        await sleep(Math.random() * 1000);
        const victim = fleet.running.get(`wait#${Math.floor(Math.random() * 2)}`);
        if (victim !== undefined) await fleet.kill(victim);
      }
      await waiters.until(() => seen.size >= ITEMS, gathered);
      const gatheredIn = Math.round((Date.now() - started) / 1000);

      await drain(client, ['plan', 'wait', 'done']);
      const stopped = await fleet.stop();
      stopSink.abort();
      const outputs = await sink;

      const calls = fleet.records.filter((r) => r.stage === 'wait');
      const early = calls.filter((r) => r.at < r.due);
      const firstCall = new Map();
      for (const r of calls) if (!firstCall.has(r.n)) firstCall.set(r.n, r.at - r.due);
      const lateness = [...firstCall.values()].toSorted((a, b) => a - b);
      const latest = [...firstCall].find(([, late]) => late === lateness.at(-1))?.[0];
      console.log(
        `items for later from outside on ${sqs.name}: ${ITEMS} items gathered in ${gatheredIn} s; ` +
          `${fleet.kills} SIGKILLs, ${fleet.starts} process starts; ${calls.length} calls of \`wait\` ` +
          `(${calls.length - firstCall.size} repeated), ${early.length} early; ${outputs.length} outputs; ` +
          `first call after due: median ${lateness[lateness.length >> 1]} ms, max ${lateness.at(-1)} ms (item ${latest})`,
      );
      expect(fleet.unexpected).toEqual([]);
      expect(
        stopped.map((s) => s.exit),
        logs(stopped),
      ).toEqual(stopped.map(() => 0));
      expect(early, 'calls before the item was due').toEqual([]);
      expect([...seen].toSorted((a, b) => a - b)).toEqual(Array.from({ length: ITEMS }, (_, n) => n));
      // Exactly once: each item's output has one id, and SQS dropped the copies a repeated call sent.
      expect(new Set(outputs.map((o) => o.id)).size).toBe(outputs.length);
      expect(outputs).toHaveLength(ITEMS);
      // Each output is its item as sent (when each call came, and none before due: `early` above).
      for (const { value } of outputs) expect(value).toEqual(items.get(value.n));
      // submit(): each result() is its item's one output.
      const submitted = (await results).map((values) => values.map((v) => v.n));
      expect(submitted.toSorted((a, b) => a[0] - b[0])).toEqual(
        Array.from({ length: ITEMS }, (_, n) => n)
          .filter((n) => n % 3 === 1 && n % 2 === 0)
          .map((n) => [n]),
      );
      expect(fleet.kills).toBeGreaterThanOrEqual(MIN_KILLS);
    },
  );
});

describe('a scheduled source with 3 replicas, from outside', () => {
  const TICKS = 18;
  /** Ticks seen before the kill of the replica calling the next one. */
  const KILL_AFTER = 6;
  const GATHER_MS = 120_000;
  const domain = domainOf('t');
  const client = ticksClient({ domain, ...connection });
  const fleet = new Fleet('ticks', domain);

  afterAll(async () => {
    await fleet.abort();
    await client.destroy();
    await client.close();
  }, 60_000);

  test(
    `every ${TICK_EVERY_MS} ms over ${TICKS} ticks: one item per tick instant reaches the last stage, none missing, none twice, though the replica calling a tick was SIGKILLed then (and restarted)`,
    { timeout: GATHER_MS + DRAIN_MS + 60_000 },
    async () => {
      await client.createQueues();
      const waiters = new Waiters();
      const instants = new Set();
      const stopSink = new AbortController();
      const sink = readLast(client, 'ticked', stopSink.signal, (output) => {
        instants.add(output.value);
        waiters.check();
      });
      // Once KILL_AFTER ticks arrived: SIGKILL the replica that records the next call, at once
      // (before it acknowledged the tick, most likely); its supervisor starts it again.
      let victim;
      fleet.onRecord = (record, p) => {
        if (victim !== undefined || instants.size < KILL_AFTER || record.stage !== 'tick') return;
        victim = { name: p.name, instant: record.instant, killed: fleet.kill(p) };
      };
      for (let i = 0; i < 3; i++) fleet.slot(`tick#${i}`, 'tick', 1, { restart: true });

      const gathered = AbortSignal.timeout(GATHER_MS);
      await waiters.until(() => instants.size >= TICKS, gathered);
      await victim?.killed;
      const stopped = await fleet.stop();
      await drain(client, ['ticked']);
      stopSink.abort();
      const outputs = await sink;

      const ticks = [...instants].map((iso) => Date.parse(iso)).toSorted((a, b) => a - b);
      const first = ticks[0] ?? 0;
      const expected = Array.from({ length: ticks.length }, (_, i) => first + i * TICK_EVERY_MS);
      const calls = fleet.records.filter((r) => r.stage === 'tick');
      const called = new Set(calls.map((r) => r.instant));
      console.log(
        `schedule from outside on ${sqs.name}: ${ticks.length} ticks reached the last stage, ` +
          `${outputs.length} outputs; ${calls.length} calls of ${called.size} ticks; ` +
          `${fleet.kills} SIGKILL (${victim?.name} calling ${victim?.instant}), ${fleet.starts} process starts`,
      );
      expect(fleet.unexpected).toEqual([]);
      expect(
        stopped.map((s) => s.exit),
        logs(stopped),
      ).toEqual(stopped.map(() => 0));
      expect(victim, 'a replica was killed while it called a tick').toBeDefined();
      expect(ticks.length).toBeGreaterThanOrEqual(TICKS);
      // One tick per instant on the schedule's grid, none missing between the first and the last.
      expect(ticks.every((t) => t % TICK_EVERY_MS === 0)).toBe(true);
      expect(ticks).toEqual(expected);
      expect(outputs).toHaveLength(ticks.length);
      expect(new Set(outputs.map((o) => o.id)).size).toBe(outputs.length);
      // Called once per tick, but for the tick the killed replica may have been calling.
      expect(calls.length - called.size).toBeLessThanOrEqual(fleet.kills);
    },
  );
});

describe('maxConcurrency across processes, from outside', () => {
  // Calls of SLOT_CALL_MS (1.5 s): the killed process's slots come back (30 s after it died, at
  // most) while many items are left, so the other two run SLOTS calls at once again.
  const ITEMS = 60;
  const PROCESSES = 3;
  const WORKERS = 8;
  /** Items done before the kill of the process that starts the next call. */
  const KILL_AFTER = 12;
  const GATHER_MS = 150_000;
  const domain = domainOf('s');
  const client = slotsClient({ domain, ...connection });
  const fleet = new Fleet('slots', domain);

  afterAll(async () => {
    await fleet.abort();
    await client.destroy();
    await client.close();
  }, 60_000);

  test(
    `maxConcurrency: ${SLOTS} over ${PROCESSES} processes × ${WORKERS} workers never runs more than ${SLOTS} calls at once; a process SIGKILLed in a call gives its slots back and the other two finish the ${ITEMS} items`,
    { timeout: GATHER_MS + DRAIN_MS + 60_000 },
    async () => {
      await client.createQueues();
      await Promise.all(Array.from({ length: ITEMS }, (_, n) => client.enqueue('slot', n)));
      const waiters = new Waiters();
      const seen = new Set();
      const stopSink = new AbortController();
      const sink = readLast(client, 'slotted', stopSink.signal, (output) => {
        seen.add(output.value);
        waiters.check();
      });
      // Once KILL_AFTER items are done: SIGKILL the process that starts the next call, at once
      // (it holds a slot, maybe more); it is not started again.
      let victim;
      fleet.onRecord = (record, p) => {
        if (victim !== undefined || seen.size < KILL_AFTER || record.event !== 'start') return;
        victim = { name: p.name, pid: record.pid, killed: fleet.kill(p).then(() => Date.now()) };
      };
      for (let i = 0; i < PROCESSES; i++) fleet.slot(`slot#${i}`, 'slot', WORKERS, { restart: false });

      const gathered = AbortSignal.timeout(GATHER_MS);
      await waiters.until(() => seen.size >= ITEMS, gathered);
      const killedAt = await victim?.killed;
      await drain(client, ['slot', 'slotted']);
      const stopped = await fleet.stop();
      stopSink.abort();
      const outputs = await sink;

      // Each call from its start to its end; a call of the killed process that never ended, to
      // the moment it was gone. At a tie an end comes first (the slot is given back after it).
      const records = fleet.records.filter((r) => r.stage === 'slot');
      const ends = new Map(records.filter((r) => r.event === 'end').map((r) => [`${r.pid}:${r.call}`, r.at]));
      const calls = records
        .filter((r) => r.event === 'start')
        .map((r) => ({ ...r, end: ends.get(`${r.pid}:${r.call}`) }));
      const cut = calls.filter((c) => c.end === undefined);
      const peakOf = (list) => {
        const events = list.flatMap((c) => [
          { at: c.at, step: 1 },
          { at: c.end ?? killedAt ?? Number.POSITIVE_INFINITY, step: -1 },
        ]);
        events.sort((a, b) => a.at - b.at || a.step - b.step);
        let now = 0;
        let peak = 0;
        for (const { step } of events) peak = Math.max(peak, (now += step));
        return peak;
      };
      const peak = peakOf(calls);
      // The calls started after the kill (the other two processes'): back to SLOTS at once.
      const after = calls.filter((c) => c.at > (killedAt ?? Number.POSITIVE_INFINITY));
      const peakAfter = peakOf(after);
      const slotsBack = after.find((c) => peakOf(after.filter((d) => d.at <= c.at)) === SLOTS);
      console.log(
        `maxConcurrency from outside on ${sqs.name}: ${ITEMS} items of ${SLOT_CALL_MS} ms, ${calls.length} calls, ` +
          `at most ${peak} at once (limit ${SLOTS}); ${victim?.name} SIGKILLed in ${cut.length} calls, ` +
          `${after.length} calls after it, ${peakAfter} at once (first ${SLOTS} at once ` +
          `${slotsBack === undefined ? 'never' : `${slotsBack.at - killedAt} ms after the kill`}); ` +
          `${outputs.length} outputs`,
      );
      expect(fleet.unexpected).toEqual([]);
      expect(
        stopped.filter((s) => s.name !== victim?.name).map((s) => s.exit),
        logs(stopped),
      ).toEqual(Array.from({ length: PROCESSES - 1 }, () => 0));
      expect(victim, 'a process was killed in a call').toBeDefined();
      expect(cut.length, 'calls of the killed process cut short').toBeGreaterThanOrEqual(1);
      expect(cut.every((c) => c.pid === victim.pid)).toBe(true);
      expect(peak).toBeLessThanOrEqual(SLOTS);
      expect(peakAfter, "the killed process's slots came back to the others").toBe(SLOTS);
      expect([...seen].toSorted((a, b) => a - b)).toEqual(Array.from({ length: ITEMS }, (_, n) => n));
      expect(outputs).toHaveLength(ITEMS);
      expect(new Set(outputs.map((o) => o.id)).size).toBe(outputs.length);
    },
  );
});
