import { describe, expect, it } from 'vitest';
import { ReplyListener } from '../../src/replies/listener.ts';
import { decodeReport, encodeEnd, encodeStatus, type Report } from '../../src/replies/report.ts';
import { PendingItem } from '../../src/replies/submission.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function endReport(item: string, stage: string, results: unknown[]): Report {
  const [body] = encodeEnd({
    item,
    token: item,
    stage,
    nonce: 'n',
    children: [],
    results: results.map((r) => JSON.stringify(r)),
    attempt: 1,
    at: 1000,
  });
  return decodeReport(body) as Report;
}

function listener(): ReplyListener {
  // Following items needs no SQS: only the reply queue and the receive loop do.
  return new ReplyListener({
    sqs: undefined as never,
    io: undefined as never,
    domain: 'app',
    logger: quiet,
    diagnose: (e) => e,
    waitSeconds: 1,
    kmsKeyId: undefined,
    highThroughput: false,
  });
}

describe('PendingItem', () => {
  it("the last stage's end report is its `finished` status: statuses() ends with it", async () => {
    const item = new PendingItem('i', 'a', { timeoutMs: 60_000, statuses: true }, () => {});
    item.add(
      decodeReport(encodeStatus({ item: 'i', stage: 'b', status: 'received', attempt: 1, at: 1 })) as Report,
    );
    item.add(endReport('i', 'b', [42]));
    await expect(item.submission.result()).resolves.toEqual([42]);
    const seen: string[] = [];
    for await (const s of item.submission.statuses()) seen.push(`${s.stage}:${s.status}`);
    expect(seen).toEqual(['b:received', 'b:finished']);
  });

  it('without statuses asked for, end reports add none', async () => {
    const item = new PendingItem('i', 'a', { timeoutMs: 60_000, statuses: false }, () => {});
    item.add(endReport('i', 'b', [1]));
    const seen = [];
    for await (const s of item.submission.statuses()) seen.push(s);
    expect(seen).toEqual([]);
  });

  it('a timeout rejects with an ItemError and settles once', async () => {
    let settled = 0;
    const item = new PendingItem('i', 'a', { timeoutMs: 5, statuses: false }, () => settled++);
    await expect(item.submission.result()).rejects.toMatchObject({ name: 'ItemError', end: 'timeout' });
    item.add(endReport('i', 'b', [1]));
    expect(settled).toBe(1);
  });
});

describe('ReplyListener.follow', () => {
  it('an item submitted with a key is the same item again within the deduplication window, settled or not', () => {
    const replies = listener();
    const keyed = replies.follow('k', 'a', { timeoutMs: 60_000, statuses: false, keyed: true });
    expect(replies.known('k')).toBe(keyed);
    keyed.add(endReport('k', 'b', [1]));
    expect(replies.pending).toBe(0);
    expect(replies.known('k')).toBe(keyed);
    const random = replies.follow('r', 'a', { timeoutMs: 60_000, statuses: false, keyed: false });
    random.add(endReport('r', 'b', [1]));
    expect(replies.known('r')).toBeUndefined();
  });
});
