/**
 * A join stage that dead-letters one item while another item's last branch is still on its way
 * goes on receiving: the other item is gathered. (A stall reported here was the test's: its runs
 * stopped on the join's `deadLettered` event, before the other item's last branch was gathered.
 * Stop the runs on the items' outcomes, as `runWhile` does.)
 */
import { describe, expect, it } from 'vitest';
import { fanOut, ItemError, type StageEntry, type TaskClient } from '../../src/index.ts';
import { testClient } from '../support/pipeline.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`join-stall.test.ts: ${skipped}`);

const quick = {
  pollWaitSeconds: 1,
  [Symbol.for('sqspipes.payloadDeleteTiming')]: { holdSeconds: 0, everyMs: 100 },
};

/** The stages; `work` holds `held` until `release` settles. */
function stages(held: string, release: Promise<unknown>): StageEntry[] {
  return [
    { name: 'split', input: true, method: (line: string) => fanOut(line.split(' ')) },
    {
      name: 'work',
      retries: 0,
      method: async (word: string) => {
        if (word === 'boom') throw new Error('bad word');
        if (word === held) await release;
        return word.length > 4 ? fanOut([word.slice(0, 2), word.slice(2)]) : word.toUpperCase();
      },
    },
    { name: 'gather', method: (words: string[]) => words.join(','), join: 'split' },
  ];
}

/** Runs split, work and gather of `client` until `done` settles (the items' outcomes, not an event). */
async function runWhile<T>(client: TaskClient, done: Promise<T>): Promise<T> {
  const stop = new AbortController();
  const runs = ['split', 'work', 'gather'].map(async (name) => {
    for await (const _ of client.run(name, { signal: stop.signal })) void _;
  });
  try {
    return await done;
  } finally {
    stop.abort();
    await Promise.all(runs);
  }
}

describe.skipIf(skipped !== undefined)('a join that dead-letters an item', () => {
  const bucket = testBucket('joinstall');
  const payloads = { bucket, prefix: 'sqspipes/' };

  it("goes on receiving another item's branches", async () => {
    let deadAtJoin = (): void => {};
    const release = new Promise<void>((resolve) => (deadAtJoin = resolve));
    // `ick`, the last branch of `ab quick`, reaches the join only after it dead-lettered `x boom`.
    const client = testClient('joinstall', stages('ick', release), { payloads, ...quick });
    client.on('deadLettered', (info) => {
      if (info.stage === 'gather') deadAtJoin();
    });
    const joined = await client.submit('ab quick');
    const failing = await client.submit('x boom');
    const outcome = Promise.all([
      joined.result(),
      failing.result().then(
        () => 'gathered',
        (error: unknown) => error,
      ),
    ]);
    const [gathered, failed] = await runWhile(client, outcome);
    expect(gathered).toEqual(['AB,qu,ick']);
    expect(failed).toBeInstanceOf(ItemError);
  });
});
