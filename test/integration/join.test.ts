/**
 * The join stage (`join` option) end to end on the backend's SQS and S3: each item's branches,
 * fanned out by the split and filtered, dead-lettered or fanned out again on the way, are gathered
 * once, in fan-out order. The join keeps its items' state in S3: ElasticMQ has none, so the file
 * skips there in one sentence.
 */
import { describe, expect, it } from 'vitest';
import { fanOut, type InputInfo, type StageEntry, type TaskClient, taskContext } from '../../src/index.ts';
import { collect, testClient } from '../support/pipeline.ts';
import { s3Unavailable, testBucket } from '../support/s3-bucket.ts';

const skipped = await s3Unavailable();
if (skipped !== undefined) console.warn(`join.test.ts: ${skipped}`);

const quick = {
  pollWaitSeconds: 1,
  [Symbol.for('sqspipes.payloadDeleteTiming')]: { holdSeconds: 0, everyMs: 100 },
};

/** Runs the stages of `names` until the last yields `count` outputs; those outputs. */
async function runUntil(client: TaskClient, names: readonly string[], count: number): Promise<unknown[]> {
  const stop = new AbortController();
  const others = names.slice(0, -1).map((name) => collect(client.run(name, { signal: stop.signal })));
  const last = names.at(-1) ?? '';
  const out: unknown[] = [];
  try {
    // Not `limit`, which counts inputs: a join takes many (its items' branches) per output.
    for await (const value of client.run(last, { idleTimeout: 60_000 })) {
      out.push(value);
      if (out.length === count) break;
    }
    return out;
  } finally {
    stop.abort();
    await Promise.all(others);
  }
}

describe.skipIf(skipped !== undefined)('a join stage', () => {
  const bucket = testBucket('join');
  const payloads = { bucket, prefix: 'sqspipes/' };

  it('gathers each item once, its branches in fan-out order, filtered ones left out', async () => {
    const stages: StageEntry[] = [
      { name: 'source', method: () => null },
      { name: 'split', method: (line: string) => fanOut(line.split(' ')), input: true },
      { name: 'measure', method: (word: string) => (word.length <= 2 ? null : `${word}:${word.length}`) },
      { name: 'gather', method: (words: string[]) => words.join(' '), join: 'split' },
    ];
    const client = testClient('join', stages, { payloads, ...quick });
    const lines = ['the quick brown fox', 'a b c', 'jumps over it', 'lazy dogs sleep all day long'];
    for (const line of lines) await client.enqueue('split', line);
    const gathered = await runUntil(client, ['split', 'measure', 'gather'], lines.length);
    expect(gathered.toSorted()).toEqual(
      [
        'the:3 quick:5 brown:5 fox:3',
        '', // every branch filtered: the join is called with []
        'jumps:5 over:4',
        'lazy:4 dogs:4 sleep:5 all:3 day:3 long:4',
      ].toSorted(),
    );
  });

  it('covers a branch that fans out again, and fails an item whose branch was dead-lettered', async () => {
    const dead: (InputInfo & { reason: string })[] = [];
    const stages: StageEntry[] = [
      { name: 'source', method: () => null },
      { name: 'split', method: (line: string) => fanOut(line.split(' ')), input: true },
      {
        name: 'letters',
        method: (word: string) => {
          if (word === 'boom') throw new Error('no bombs here');
          return fanOut([...word]);
        },
        retries: 0,
      },
      { name: 'upper', method: (letter: string) => letter.toUpperCase() },
      { name: 'gather', method: (letters: string[]) => letters.join(''), join: 'split' },
    ];
    const client = testClient('joinnest', stages, { payloads, ...quick });
    client.on('deadLettered', (info) => dead.push(info));
    await client.enqueue('split', 'ab cd e');
    const failing = await client.submit('x boom y');
    await client.enqueue('split', 'fgh');
    // The runs go on until the failed item was dead-lettered too: stopping `gather` once the two
    // others were gathered left the failed item's last branch report unread now and then.
    const stop = new AbortController();
    const others = ['split', 'letters', 'upper'].map((name) =>
      collect(client.run(name, { signal: stop.signal })),
    );
    const gathered: unknown[] = [];
    let bothGathered = () => {};
    const both = new Promise<void>((resolve) => (bothGathered = resolve));
    const gather = (async () => {
      for await (const value of client.run('gather', { signal: stop.signal })) {
        gathered.push(value);
        if (gathered.length === 2) bothGathered();
      }
    })();
    try {
      await expect(failing.result()).rejects.toThrow(/join `gather` of item .* failed/);
      await both;
    } finally {
      stop.abort();
      await Promise.all([...others, gather]);
    }
    expect(gathered.toSorted()).toEqual(['ABCDE', 'FGH']);
    // `boom` went to `letters`' dead-letter queue, and its item to `gather`'s, saying why.
    const reasons = dead.map((d) => `${d.stage}: ${d.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^letters: .*no bombs here/),
        expect.stringMatching(
          /^gather: join `gather` of item .* failed: 1 of its branches .*`letters`: .*no bombs here/,
        ),
      ]),
    );
  });

  it("resolves submit()'s result with the join's output, and chains joins", async () => {
    const stages: StageEntry[] = [
      { name: 'source', method: () => null },
      { name: 'split', method: (text: string) => fanOut(text.split('. ')), input: true },
      { name: 'words', method: (sentence: string) => fanOut(sentence.split(' ')) },
      { name: 'count', method: (words: string[]) => words.length, join: 'words' },
      { name: 'total', method: (counts: number[]) => ({ counts }), join: 'split' },
    ];
    const client = testClient('joinchain', stages, { payloads, ...quick });
    const stop = new AbortController();
    const runs = ['split', 'words', 'count', 'total'].map((name) =>
      collect(client.run(name, { signal: stop.signal })),
    );
    try {
      const submitted = await client.submit('one two three. four five. six');
      expect(await submitted.result()).toEqual([{ counts: [3, 2, 1] }]);
    } finally {
      stop.abort();
      await Promise.all(runs);
    }
  });

  it('joins the branches of a source call', async () => {
    let calls = 0;
    const stages: StageEntry[] = [
      {
        name: 'source',
        method: () => (calls < 3 ? fanOut(Array.from({ length: ++calls }, (_, i) => i)) : null),
      },
      { name: 'double', method: (n: number) => n * 2 },
      { name: 'gather', method: (ns: number[]) => ns, join: 'source' },
    ];
    const client = testClient('joinsource', stages, { payloads, ...quick });
    const gathered = await runUntil(client, ['source', 'double', 'gather'], 3);
    expect(gathered.map((g) => JSON.stringify(g)).toSorted()).toEqual(['[0,2,4]', '[0,2]', '[0]']);
  });

  it('ends a branch whose first attempt fanned out one value and failed, and whose retry returns it', async () => {
    // Attempt 1 yields 'b' (a branch of its own) and throws; attempt 2 returns 'b' (carrying the
    // input's branch on). Named alike, the retry's message was dropped by SQS as a duplicate and
    // the item waited forever.
    const stages: StageEntry[] = [
      { name: 'source', method: () => null },
      { name: 'split', method: (line: string) => fanOut(line.split(' ')), input: true },
      {
        name: 'work',
        method: (word: string) => {
          if (word !== 'b' || taskContext().attempt > 1) return word;
          return (function* () {
            yield word;
            throw new Error('attempt 1 fails after its output');
          })();
        },
        retryDelay: 0,
      },
      { name: 'gather', method: (words: string[]) => words.join(''), join: 'split' },
    ];
    const client = testClient('joinretry', stages, { payloads, ...quick });
    await client.enqueue('split', 'a b c');
    expect(await runUntil(client, ['split', 'work', 'gather'], 1)).toEqual(['abc']);
  });
});
