import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chaosClient } from '../fixtures/chaos-pipeline.ts';
import { backendEnv, testDomain } from '../support/sqs.ts';
import { type StageProcess, startStage } from '../support/spawn.ts';

const SCRIPT = fileURLToPath(new URL('../fixtures/chaos-pipeline.ts', import.meta.url));
const INPUTS = 2000;

describe('chaos: stage processes killed with SIGKILL at random moments', () => {
  const domain = testDomain('chaos');

  it(`delivers each of ${INPUTS} inputs to the last stage exactly once`, { timeout: 180_000 }, async () => {
    const { endpoint, region, credentials } = backendEnv();
    const client = chaosClient(domain, { domain, endpoint, region, credentials });
    await Promise.all(
      Array.from({ length: INPUTS }, (_, i) => client.enqueue('square', i + 1, { id: `input-${i + 1}` })),
    );

    const env = { SQSPIPES_DOMAIN: domain };
    const running: Record<'square' | 'label', StageProcess> = {
      square: startStage(SCRIPT, ['square', '8'], env),
      label: startStage(SCRIPT, ['label', '8'], env),
    };
    const seen: string[] = [];
    let kills = 0;
    let done = false;
    // Each kill waits for some progress since the one before (a random number of outputs, then a
    // random moment): killing on a clock alone would, on a slow server or a busy machine, kill
    // processes faster than they start, and what they held would pass its receive limit.
    const chaos = (async () => {
      while (!done && (kills < 6 || seen.length < INPUTS * 0.6)) {
        // Small steps: a fast pipeline (2000 inputs in ~10 s) must still see its 6 kills.
        const after = seen.length + 10 + Math.floor(Math.random() * 40);
        while (!done && seen.length < after) await sleep(50);
        await sleep(Math.random() * 200);
        if (done) break;
        const victim = Math.random() < 0.5 ? 'square' : 'label';
        running[victim].child.kill('SIGKILL');
        await running[victim].exited;
        kills++;
        running[victim] = startStage(SCRIPT, [victim, '8'], env);
      }
    })();

    for await (const label of client.run('sink', { idleTimeout: 20_000 })) {
      seen.push(label as string);
      if (seen.length === INPUTS) break;
    }
    done = true;
    await chaos;
    for (const p of Object.values(running)) p.child.kill('SIGTERM');
    await Promise.all(Object.values(running).map((p) => p.exited));
    await sleep(500); // let a late duplicate, if any, reach the sink queue
    const late = await client.queues();
    await client.close();

    console.log(
      `chaos: ${kills} SIGKILLs; the last stage received ${seen.length} outputs, ${new Set(seen).size} distinct`,
    );
    console.log(late.map((q) => `${q.name}: ${q.visible} visible, ${q.inFlight} in flight`).join('\n'));
    const expected = Array.from({ length: INPUTS }, (_, i) => `${i + 1}:${(i + 1) ** 2}`);
    expect(new Set(seen).size).toBe(INPUTS);
    expect([...seen].sort()).toEqual(expected.sort());
    const sink = late.filter((q) => q.stage === 'sink');
    expect(sink.reduce((n, q) => n + q.visible + q.inFlight, 0)).toBe(0);
    // Nothing reached a dead-letter queue: each input's kills stayed within its receive limit.
    expect(late.filter((q) => q.level === 'dlq' && q.visible > 0).map((q) => q.name)).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(6);
  });
});
