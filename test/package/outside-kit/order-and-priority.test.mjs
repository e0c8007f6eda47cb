// Order per key and priority levels, as a user checks them with sqspipes/testing (README:
// "Ordering and priorities", "Failures and order").
import { afterAll, beforeAll, expect, test } from 'vitest';
import { expectOrderPerKey, failOn, orderViolations, startSqs, testPipeline } from 'sqspipes/testing';

let sqs;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(() => sqs?.close());

test('keeps the order per `group` key through every stage, failures and retries included', async () => {
  const inputs = [];
  for (let seq = 0; seq < 6; seq++) for (const key of ['a', 'b', 'c']) inputs.push({ key, seq });
  const tag = (item) => ({ ...item, tagged: true });
  // In `check`: the order of its calls, and whether two calls of one key ever overlapped.
  const calls = [];
  const running = new Map();
  let overlaps = 0;
  async function check(item) {
    running.set(item.key, (running.get(item.key) ?? 0) + 1);
    if (running.get(item.key) > 1) overlaps++;
    calls.push(item);
    await new Promise((resolve) => setImmediate(resolve));
    running.set(item.key, running.get(item.key) - 1);
    return { ...item, checked: true };
  }
  const harness = await testPipeline(
    [
      {
        // Odd positions fail their first attempt: "a failure never lets a later message of its
        // key overtake it".
        method: failOn(tag, { attempt: 1, when: (item) => item.seq % 2 === 1 }),
        input: true,
        group: (item) => item.key,
        retryDelay: 0,
        workers: 4,
      },
      // No `group` of its own: the key is "kept by later stages unless they declare their own".
      { method: check, workers: 4 },
    ],
    { sqs },
  );
  try {
    const run = await harness.run({ inputs });
    expect(run.outputs).toHaveLength(18);
    expect(run.retried).toBe(9);
    expectOrderPerKey(
      run.outputs,
      (item) => item.key,
      (item) => item.seq,
    );
    expect(
      orderViolations(
        calls,
        (item) => item.key,
        (item) => item.seq,
      ),
    ).toEqual([]);
    expect(overlaps).toBe(0); // "processed one at a time"
  } finally {
    await harness.close();
  }
});

test('orderViolations lists, and expectOrderPerKey throws on, a key whose order broke', () => {
  const keyOf = (item) => item.key;
  const positionOf = (item) => item.seq;
  const fine = [
    { key: 'a', seq: 1 },
    { key: 'b', seq: 2 },
    { key: 'a', seq: 2 },
    { key: 'b', seq: 3 },
  ];
  const broken = [
    { key: 'a', seq: 2 },
    { key: 'b', seq: 1 },
    { key: 'a', seq: 1 },
  ];
  expect(orderViolations(fine, keyOf, positionOf)).toEqual([]);
  expect(() => expectOrderPerKey(fine, keyOf, positionOf)).not.toThrow();
  expect(orderViolations(broken, keyOf, positionOf)).toHaveLength(1);
  expect(() => expectOrderPerKey(broken, keyOf, positionOf)).toThrow();
});

test('takes an input at a higher priority level ahead of a lower-level backlog', async () => {
  const order = [];
  const work = (value) => {
    order.push(value);
    return value;
  };
  const harness = await testPipeline([{ method: work, input: true, priorities: 2, workers: 1 }], { sqs });
  try {
    // A backlog of 40 at level 0, then one at level 1, all queued before the stage runs.
    for (let i = 0; i < 40; i++) await harness.client.enqueue('work', i);
    await harness.client.enqueue('work', 'urgent', { priority: 1 });
    const run = await harness.run({ inputs: [] });
    expect(run.outputs).toHaveLength(41);
    // "processed next, ahead of a lower-level backlog (beyond the at most `workers + 10` in
    // hand)": with 1 worker, at most 11 of the backlog before it (it came last: 41st without
    // priorities).
    expect(order.indexOf('urgent')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('urgent')).toBeLessThanOrEqual(11);
  } finally {
    await harness.close();
  }
});
