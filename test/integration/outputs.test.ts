/**
 * Outputs travel as JSON or not at all: an output JSON would change silently fails its input as
 * a throw would (retried, then dead-lettered), with an OutputError naming the stage and the path.
 */
import { describe, expect, it, vi } from 'vitest';
import { type InputInfo, OutputError } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';

describe('an output that is not JSON', () => {
  const tags = (word: string) => ({ word, tags: word === 'bad' ? new Map([['a', 1]]) : ['a'] });
  const client = testClient('outputs', [
    { method: () => null, name: 'source' },
    { method: tags, name: 'tags', retries: 1, retryDelay: 0 },
    { method: (x: unknown) => x, name: 'sink' },
  ]);

  it('fails its input with an OutputError naming stage and path; retried, then dead-lettered', async () => {
    const failed: [Error, InputInfo][] = [];
    const retried: InputInfo[] = [];
    const dead: (InputInfo & { reason: string })[] = [];
    client.on('failed', (error, info) => failed.push([error, info]));
    client.on('retried', (info) => retried.push(info));
    client.on('deadLettered', (info) => dead.push(info));
    await client.enqueue('tags', 'good');
    await client.enqueue('tags', 'bad');

    const out = await collect(client.run('tags', { limit: 2, idleTimeout: 5000 }));

    expect(out).toEqual([{ word: 'good', tags: ['a'] }]);
    expect(failed.map(([, info]) => info.attempt)).toEqual([1, 2]);
    const [error] = failed[0] ?? [];
    expect(error).toBeInstanceOf(OutputError);
    expect(error).toMatchObject({ stage: 'tags' });
    expect(error?.message).toBe(
      'Stage `tags` produced an output that cannot be sent: output.tags is a Map, which JSON sends as {}: convert it, e.g. Object.fromEntries(map) or [...map]',
    );
    expect(retried).toHaveLength(1);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.reason).toContain('output.tags is a Map');
    // SQS's ApproximateNumberOfMessages is eventually consistent (LocalStack's lagged once, in CI):
    // the dead-lettered message must show in the DLQ's count within a bounded wait.
    await vi.waitFor(
      async () =>
        expect((await client.queues()).find((q) => q.stage === 'tags' && q.level === 'dlq')?.visible).toBe(1),
      { timeout: 10_000, interval: 250 },
    );
    // Only the good output reached the next stage.
    expect(await collect(client.run('sink', { limit: 1, idleTimeout: 3000 }))).toEqual([
      { word: 'good', tags: ['a'] },
    ]);
  });
});
