/**
 * A first stage registered with `input: true` consumes an input queue like any later stage; a
 * first stage without it is still a source. Validation only: nothing here touches the network.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, type StageEntry, TaskClient } from '../../src/index.ts';
import { resolveStages } from '../../src/stage.ts';
import { Topology } from '../../src/queues/topology.ts';

const offline = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1' } as const;
const work = (x: unknown) => x;
const store = (x: unknown) => x;

function topology(entries: readonly StageEntry[]): Topology {
  return new Topology('shop', resolveStages('shop', entries), { highThroughput: false });
}

describe('a first stage with `input: true`', () => {
  it('consumes: it has input queues by level and a dead-letter queue', () => {
    const queues = topology([{ method: work, input: true, priorities: 2 }, store]).queues();
    expect(queues.map((q) => q.spec.name)).toEqual([
      'shop-work-p0.fifo',
      'shop-work-p1.fifo',
      'shop-work-dlq.fifo',
      'shop-store-p0.fifo',
      'shop-store-dlq.fifo',
    ]);
  });

  it('may be the only stage', () => {
    const [stage] = resolveStages('shop', [{ method: work, input: true }]);
    expect(stage?.consumes).toBe(true);
    expect(topology([{ method: work, input: true }]).queues()).toHaveLength(2);
  });

  it("takes the options of a consuming stage (retries, batch), not the source's (interval)", () => {
    const [stage] = resolveStages('shop', [{ method: work, input: true, batch: 5 }]);
    expect(stage?.retries).toBe(2);
    expect(stage?.batch).toBe(5);
    expect(() => resolveStages('shop', [{ method: work, input: true, interval: 10 }])).toThrow(
      /`interval` of stage `work` applies to the first stage only, when it is a source/,
    );
  });

  it('is what enqueue() may feed; its run takes no `priority`', async () => {
    const client = new TaskClient({ domain: 'shop', ...offline }).registerTasks([
      { method: work, input: true },
      store,
    ]);
    expect(() => client.run('work', { priority: 0 })).toThrow(ConfigError);
    // Past validation: the closed port fails the request, not the stage check.
    await expect(client.enqueue('work', 1)).rejects.not.toBeInstanceOf(ConfigError);
    await client.close();
  });
});

describe('a first stage without `input`', () => {
  it('is still a source: no queues of its own', () => {
    const [source] = resolveStages('shop', [work, store]);
    expect(source?.consumes).toBe(false);
    expect(
      topology([work, store])
        .queues()
        .map((q) => q.spec.name),
    ).toEqual(['shop-store-p0.fifo', 'shop-store-dlq.fifo']);
    expect(resolveStages('shop', [{ method: work, input: false }, store])[0]?.consumes).toBe(false);
  });

  it('refuses `input: false` on a later stage and a non-boolean anywhere', () => {
    expect(() => resolveStages('shop', [work, { method: store, input: false }])).toThrow(
      /`input` of stage `store` can be false on the first stage only/,
    );
    expect(() => resolveStages('shop', [{ method: work, input: 'yes' as unknown as boolean }])).toThrow(
      /Expected `input` of stage `work` to be a boolean/,
    );
  });
});
