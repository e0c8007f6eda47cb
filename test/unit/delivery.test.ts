import type { Message } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseLostError, SqsError, StageError } from '../../src/errors.ts';
import { TaskEvents } from '../../src/events.ts';
import type { RunIo } from '../../src/sqs/run-io.ts';
import type { ReceiptSource } from '../../src/sqs/sqs-io.ts';
import { resolveStages } from '../../src/stage.ts';
import { Delivery, type DeliveryDeps, type Outcome } from '../../src/worker/delivery.ts';
import { Heartbeat, MAX_LEASE_MS } from '../../src/worker/heartbeat.ts';
import { maxReceiveCount } from '../../src/queues/topology.ts';
import type { Reporter } from '../../src/replies/reporter.ts';

/** Our own SQS layer, faked: records what a delivery asks of it. */
class FakeIo {
  readonly calls: string[] = [];
  deleteFails = false;
  /** What a visibility change answers: accepted, refused with this error, or left pending. */
  visibility: 'ok' | 'pending' | Error = 'ok';
  /** Settles the pending visibility changes: accepted, or refused with `error`. */
  readonly pending: ((error?: Error) => void)[] = [];
  delete(url: string, message: ReceiptSource): Promise<unknown> {
    this.calls.push(`delete ${message.receiptHandle}`);
    return this.deleteFails ? Promise.reject(new Error('receipt handle expired')) : Promise.resolve();
  }
  changeVisibility(url: string, message: ReceiptSource, seconds: number): Promise<unknown> {
    this.calls.push(`visibility ${message.receiptHandle} ${seconds}`);
    const answer = this.visibility;
    if (answer === 'ok') return Promise.resolve();
    if (answer !== 'pending') return Promise.reject(answer);
    return new Promise((resolve, reject) =>
      this.pending.push((error) => (error === undefined ? resolve(undefined) : reject(error))),
    );
  }
  send(url: string): Promise<unknown> {
    this.calls.push(`send ${url}`);
    return Promise.resolve();
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function setup(stageOptions: Record<string, unknown> = {}, receiveCount = 1) {
  const [, stage] = resolveStages('d', [
    { name: 'src', method: () => null },
    { name: 'work', method: (x: unknown) => x, ...stageOptions },
  ]);
  const io = new FakeIo();
  const events = new TaskEvents();
  const seen: string[] = [];
  for (const name of [
    'processed',
    'failed',
    'retried',
    'deadLettered',
    'visibilityLimit',
    'error',
  ] as const) {
    events.on(name, () => seen.push(name));
  }
  const ended: Outcome[] = [];
  const retried: Delivery[] = [];
  const deps: DeliveryDeps = {
    stage: stage!,
    io: io as unknown as RunIo,
    heartbeat: new Heartbeat(io, 30, () => {}),
    events,
    logger: silent,
    stopping: () => false,
    failFast: undefined,
    deadLetterUrl: () => Promise.resolve('dlq'),
    ended: (_d, outcome) => ended.push(outcome),
    retry: (d) => retried.push(d),
  };
  const message: Message = {
    MessageId: 'm1',
    ReceiptHandle: 'h1',
    Body: '{}',
    Attributes: { ApproximateReceiveCount: String(receiveCount) },
  };
  const delivery = new Delivery('input', 0, message, { id: 'e1', value: 1 }, deps);
  return { delivery, io, seen, ended, retried, deps };
}

const failure = () => new StageError('work', 'm1', new Error('boom'));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Delivery', () => {
  it('is acknowledged once; `processed` only after SQS confirmed the delete', async () => {
    const { delivery, io, seen, ended } = setup();
    delivery.begin();
    delivery.acknowledge(1);
    delivery.acknowledge(1);
    delivery.release();
    expect(ended).toEqual(['acked']);
    expect(io.calls).toEqual(['delete h1']);
    await vi.runAllTimersAsync();
    expect(seen).toEqual(['processed']);
  });

  it('emits no `processed` when the delete fails', async () => {
    const { delivery, io, seen } = setup();
    io.deleteFails = true;
    delivery.begin();
    delivery.acknowledge(1);
    await vi.runAllTimersAsync();
    expect(seen).toEqual(['error']);
  });

  it('reads the latest receipt handle when a delete is sent (SQS delivered it again meanwhile)', () => {
    const { delivery, io } = setup();
    delivery.begin();
    delivery.renew({ MessageId: 'm1', ReceiptHandle: 'h2', Attributes: { ApproximateReceiveCount: '2' } });
    delivery.acknowledge(1);
    expect(io.calls).toEqual(['delete h2']);
    expect(delivery.receiveCount).toBe(2);
  });

  it('retries a failed input in hand after its delay, then dead-letters it after the last attempt', async () => {
    const { delivery, io, seen, ended, retried } = setup({ retries: 1, retryDelay: 500 });
    delivery.begin();
    delivery.fail(failure());
    expect(delivery.state).toBe('backoff');
    expect(io.calls).toEqual([]); // not handed back: no receive count spent
    await vi.advanceTimersByTimeAsync(499);
    expect(retried).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(retried).toEqual([delivery]);
    delivery.begin();
    expect(delivery.attempts).toBe(2);
    delivery.fail(failure());
    await vi.runAllTimersAsync();
    expect(io.calls).toEqual(['send dlq', 'delete h1']);
    expect(ended).toEqual(['dead-lettered']);
    expect(seen).toEqual(['failed', 'retried', 'failed', 'deadLettered']);
  });

  it('does not start a retry before the timed-out call it follows has returned', async () => {
    const { delivery, retried } = setup({ retries: 1, retryDelay: 0 });
    let finish!: () => void;
    delivery.begin();
    delivery.runsUntil(new Promise<void>((resolve) => (finish = resolve)));
    delivery.fail(failure());
    await vi.advanceTimersByTimeAsync(1000);
    expect(retried).toEqual([]);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(retried).toEqual([delivery]);
  });

  it('hands a failed input back with its delay when the run is stopping, and a waiting one at once', () => {
    const { delivery, io, ended, deps } = setup({ retries: 2, retryDelay: 5000 });
    (deps as { stopping: () => boolean }).stopping = () => true;
    delivery.begin();
    delivery.fail(failure());
    expect(io.calls).toEqual(['visibility h1 5']);
    expect(ended).toEqual(['released']);
  });

  it('falls back to 1 s when retryDelay returns something unusable, and says so', () => {
    const { delivery, seen } = setup({ retries: 1, retryDelay: () => Number.NaN });
    delivery.begin();
    delivery.fail(failure());
    expect(delivery.state).toBe('backoff');
    expect(seen).toEqual(['failed', 'error', 'retried']);
  });

  it('hands back, clamped to the lease left, a retry delay that would pass the 12-hour limit', () => {
    const { delivery, io } = setup({ retries: 1, retryDelay: 11 * 60 * 60 * 1000 });
    vi.setSystemTime(Date.now() + 2 * 60 * 60 * 1000); // in hand for 2 h already
    delivery.begin();
    delivery.fail(failure());
    const [call] = io.calls;
    const seconds = Number(call?.split(' ')[2]);
    expect(call).toMatch(/^visibility h1 /);
    expect(seconds).toBeLessThanOrEqual((MAX_LEASE_MS - 2 * 60 * 60 * 1000) / 1000);
    expect(seconds).toBeGreaterThan(9 * 60 * 60);
  });

  it('aborts its call signal and says so when the heartbeat reaches the 12-hour limit', async () => {
    const { delivery, io, seen } = setup();
    delivery.begin();
    vi.setSystemTime(delivery.receivedAt + MAX_LEASE_MS - 20_000);
    delivery.leaseUntil = Date.now(); // due for an extension
    await vi.advanceTimersByTimeAsync(10_000); // one heartbeat tick
    expect(delivery.cappedStop.aborted).toBe(true);
    expect(seen).toContain('visibilityLimit');
    const extension = io.calls.find((c) => c.startsWith('visibility'));
    expect(Number(extension?.split(' ')[2])).toBeLessThan(20);
    delivery.acknowledge(0);
  });

  it('is not deleted when its sender could not be told it was dead-lettered: it comes back', async () => {
    const made = setup({ retries: 0 });
    const { deps, io, seen, ended } = made;
    made.delivery.acknowledge(0); // the one setup() made: out of the way
    await vi.advanceTimersByTimeAsync(0);
    for (const list of [io.calls, seen, ended]) list.length = 0;
    const reporter = { dead: () => Promise.reject(new Error('reply queue unreachable')) };
    const message: Message = { MessageId: 'm2', ReceiptHandle: 'h2', Body: '{}', Attributes: {} };
    const reply = { queue: 'q', item: 'i', token: 't', status: false };
    const delivery = new Delivery(
      'input',
      0,
      message,
      { id: 'e2', value: 1, reply },
      {
        ...deps,
        reporter: reporter as unknown as Reporter,
      },
    );
    delivery.begin();
    delivery.fail(failure());
    await vi.runAllTimersAsync();
    expect(io.calls).toEqual(['send dlq', 'visibility h2 0']);
    expect(ended).toEqual(['released']);
    expect(seen).toEqual(['failed', 'error']);
  });

  describe('when its lease is lost', () => {
    const refused = () =>
      new SqsError('ChangeMessageVisibilityBatch entry failed on input: ReceiptHandleIsInvalid', {
        code: 'ReceiptHandleIsInvalid',
      });
    /** Brings it to its next extension: less than half of its visibility (30 s) left. */
    const dueForExtension = () => vi.advanceTimersByTimeAsync(20_000);

    it('its call signal aborts with a LeaseLostError when SQS refuses its receipt handle', async () => {
      const { delivery, io, ended, seen } = setup();
      io.visibility = refused();
      delivery.begin();
      const signal = delivery.leaseStop.signal;
      await dueForExtension();
      expect(io.calls).toEqual(['visibility h1 30']);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(LeaseLostError);
      expect(String((signal.reason as Error).message)).toMatch(
        /lost its lease on message m1.*ReceiptHandleIsInvalid/,
      );
      expect(seen).toContain('error');
      expect(ended).toEqual([]); // in hand until its call returns
      await vi.advanceTimersByTimeAsync(60_000);
      expect(io.calls).toEqual(['visibility h1 30']); // not extended any more
      // Its call then returns: its input is neither acknowledged nor handed back with that handle.
      delivery.acknowledge(1);
      await vi.advanceTimersByTimeAsync(0);
      expect(io.calls).toEqual(['visibility h1 30']);
      expect(ended).toEqual(['released']);
    });

    it('extensions that keep failing otherwise: the call goes on until its visibility has lapsed', async () => {
      const { delivery, io, ended } = setup();
      io.visibility = new Error('socket hang up');
      delivery.begin();
      const leaseUntil = delivery.leaseUntil;
      await dueForExtension();
      expect(io.calls.length).toBeGreaterThan(0);
      expect(delivery.leaseStop.aborted).toBe(false);
      expect(delivery.leaseUntil).toBe(leaseUntil); // not extended: only an accepted change counts
      await vi.advanceTimersByTimeAsync(leaseUntil - Date.now() + 10_000);
      expect(delivery.leaseStop.aborted).toBe(true);
      expect(delivery.leaseStop.reason).toBeInstanceOf(LeaseLostError);
      // Its call fails (it was aborted): not retried here with a stale handle.
      delivery.fail(failure());
      expect(delivery.state).toBe('ended');
      expect(ended).toEqual(['released']);
      expect(io.calls.every((c) => c.startsWith('visibility'))).toBe(true);
    });

    it('a failure for a handle renewed meanwhile (SQS gave it to this process again) loses nothing', async () => {
      const { delivery, io, ended } = setup();
      io.visibility = 'pending';
      delivery.begin();
      await dueForExtension();
      expect(io.pending).toHaveLength(1);
      delivery.renew({ MessageId: 'm1', ReceiptHandle: 'h2', Attributes: { ApproximateReceiveCount: '2' } });
      io.pending[0]?.(refused());
      await vi.advanceTimersByTimeAsync(0);
      expect(delivery.leaseStop.aborted).toBe(false);
      delivery.acknowledge(1);
      expect(ended).toEqual(['acked']);
      expect(io.calls.at(-1)).toBe('delete h2');
    });

    it('a waiting input that loses its lease is not run: it ends when a worker takes it', async () => {
      const { delivery, io, ended } = setup();
      io.visibility = refused();
      await dueForExtension();
      expect(delivery.leaseLost).toBe(true);
      expect(delivery.begin()).toBe(false);
      expect(ended).toEqual(['released']);
      expect(io.calls).toEqual(['visibility h1 30']);
    });

    it('a lost lease is back when SQS gives the input to this process again (an outage ended)', async () => {
      const { delivery, io, ended } = setup();
      io.visibility = new Error('connect ECONNREFUSED');
      delivery.begin();
      await vi.advanceTimersByTimeAsync(40_000); // past its visibility: lost
      expect(delivery.leaseLost).toBe(true);
      delivery.renew({ MessageId: 'm1', ReceiptHandle: 'h2', Attributes: { ApproximateReceiveCount: '2' } });
      expect(delivery.leaseLost).toBe(false);
      io.visibility = 'ok';
      delivery.acknowledge(1); // the call ran on: acknowledged with the new handle
      expect(ended).toEqual(['acked']);
      expect(io.calls.at(-1)).toBe('delete h2');
    });
  });

  describe('on the last receive its queue allows (maxReceiveCount)', () => {
    const last = maxReceiveCount({ retries: 2 });

    /** A delivery of a submitted item, received `count` times, with what its sender is told. */
    function submitted(count: number) {
      const made = setup({ retries: 2, retryDelay: 5000 }, count);
      const reports: string[] = [];
      const reporter = {
        dead: (_to: unknown, reason: string) => {
          reports.push(`dead: ${reason}`);
          return Promise.resolve();
        },
        status: () => Promise.resolve(),
      };
      const reasons: string[] = [];
      made.deps.events.on('deadLettered', (info) => reasons.push(info.reason));
      const deps = { ...made.deps, reporter: reporter as unknown as Reporter };
      const message: Message = {
        MessageId: 'm1',
        ReceiptHandle: 'h1',
        Body: '{}',
        Attributes: { ApproximateReceiveCount: String(count) },
      };
      made.delivery.acknowledge(0); // the one setup() made: out of the way
      made.io.calls.length = 0;
      made.ended.length = 0;
      const envelope = { id: 'e1', value: 1, reply: { queue: 'q', item: 'i', token: 't', status: false } };
      const delivery = new Delivery('input', 0, message, envelope, deps);
      return { ...made, delivery, deps, reports, reasons };
    }

    it('a waiting input that must go back (a stop, a limit, the consumer gone) is dead-lettered with why', async () => {
      const { delivery, io, ended, reports, reasons } = submitted(last);
      expect(delivery.lastReceive).toBe(true);
      delivery.release();
      await vi.runAllTimersAsync();
      expect(io.calls).toEqual(['send dlq', 'delete h1']);
      expect(ended).toEqual(['dead-lettered']);
      expect(reasons).toEqual([
        expect.stringMatching(new RegExp(`^received ${last} times without completing`)),
      ]);
      expect(reports).toEqual([`dead: ${reasons[0]}`]);
    });

    it('a failed input of a stopping run is dead-lettered with its error, not handed back with its delay', async () => {
      const { delivery, io, deps, reasons } = submitted(last);
      (deps as { stopping: () => boolean }).stopping = () => true;
      delivery.begin();
      delivery.fail(failure());
      await vi.runAllTimersAsync();
      expect(io.calls).toEqual(['send dlq', 'delete h1']);
      expect(reasons).toEqual([expect.stringMatching(/receive budget .* last attempt failed: .*boom/)]);
    });

    it('one still within the budget goes back as before; a failed dead-letter send hands it back all the same', async () => {
      const before = submitted(last - 1);
      before.delivery.release();
      expect(before.io.calls).toEqual(['visibility h1 0']);
      const { delivery, io, ended } = submitted(last);
      io.send = () => Promise.reject(new Error('DLQ unreachable'));
      delivery.release();
      await vi.runAllTimersAsync();
      expect(io.calls).toEqual(['visibility h1 0']);
      expect(ended).toEqual(['released']);
    });
  });
});

describe('Delivery.group', () => {
  const message = (id: string): Message => ({ MessageId: id, ReceiptHandle: `h-${id}`, Body: '{}' });

  it('at a join, is the item a message is a branch of, whatever key it inherited (its folds never run at once)', () => {
    const { deps } = setup({ join: 'src' });
    const frames = (token: string) => [{ join: 'work', item: 'X', token }];
    const a = new Delivery(
      'input',
      0,
      message('a'),
      { id: 'a', value: 1, key: 'k1', frames: frames('b1') },
      deps,
    );
    const b = new Delivery(
      'input',
      0,
      message('b'),
      { id: 'b', value: 2, key: 'k2', frames: frames('b2') },
      deps,
    );
    const other = new Delivery(
      'input',
      0,
      message('c'),
      { id: 'c', value: 3, frames: [{ join: 'work', item: 'Y', token: 'b' }] },
      deps,
    );
    // Before: each took its key, or its own message id (no key): one item's folds ran at once.
    expect(a.group).toBe(b.group);
    expect(other.group).not.toBe(a.group);
  });

  it('elsewhere, is the key, or the message itself', () => {
    const { deps } = setup();
    expect(new Delivery('input', 0, message('a'), { id: 'a', value: 1, key: 'k1' }, deps).group).toBe('k1');
    expect(new Delivery('input', 0, message('b'), { id: 'b', value: 1 }, deps).group).toBe('b');
  });
});

describe('Delivery.deadLetter of a join’s item', () => {
  it('sends the copy, then marks the item done, then deletes; a failure to mark it hands it back', async () => {
    const { delivery, io } = setup();
    delivery.begin();
    const done = async () => void io.calls.push('done');
    delivery.deadLetter('lost branches', undefined, { body: '{"partial":1}', done });
    await vi.runAllTimersAsync();
    // Before: done first, so that a crash before the send left the item done and never dead-lettered.
    expect(io.calls).toEqual(['send dlq', 'done', 'delete h1']);

    const again = setup();
    again.delivery.begin();
    const failing = async () => {
      throw new Error('S3 is away');
    };
    again.delivery.deadLetter('lost branches', undefined, { done: failing });
    await vi.runAllTimersAsync();
    expect(again.io.calls).toEqual(['send dlq', 'visibility h1 0']);
  });
});
