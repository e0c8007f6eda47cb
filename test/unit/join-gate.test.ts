/**
 * The join's fold of one message (src/join/gate.ts) against a store of our own that answers a
 * conflict the way S3's conditional writes do when another holder of the item's group wrote first.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope.ts';
import { encodeJoinState, foldEvents, markDone, newJoinState } from '../../src/join/fold.ts';
import { JoinGate } from '../../src/join/gate.ts';
import { CONFLICT, type JoinStateStore } from '../../src/payloads/join-state.ts';
import type { Stage } from '../../src/stage.ts';

const item = 'X';
const split = {
  kind: 'end',
  token: item,
  stage: 'split',
  nonce: 'n',
  part: 0,
  parts: 1,
  children: ['b1', 'b2'],
} as const;

describe('JoinGate.fold', () => {
  it('does not call the join again when a conflict shows that another holder completed the item', async () => {
    let body = encodeJoinState(
      foldEvents(newJoinState(item), [split, { kind: 'value', token: 'b1', value: '"one"' }]),
    );
    let version = 1;
    let conflicted = false;
    const store: JoinStateStore = {
      read: async () => ({ body, version: String(version) }),
      create: async () => CONFLICT,
      update: async (_id, next) => {
        if (!conflicted) {
          conflicted = true;
          // Meanwhile a process whose lease had lapsed completed the item and made it a tombstone.
          const other = foldEvents(newJoinState(item), [
            split,
            { kind: 'value', token: 'b1', value: '"one"' },
            { kind: 'value', token: 'b2', value: '"two"' },
          ]);
          body = encodeJoinState(markDone(other));
          version++;
          return CONFLICT;
        }
        body = next;
        return { version: String(++version) };
      },
      delete: async () => 'deleted',
      supportsConditionalWrites: async () => true,
    };
    const deadline = async () => {};
    const gate = new JoinGate({ stage: { name: 'gather', join: 'split' } as Stage, store, deadline });
    const envelope: Envelope = { id: 'm', value: 'two', frames: [{ join: 'gather', item, token: 'b2' }] };
    // Before: the first try's "complete" stood, and the join was called with no values.
    expect(await gate.fold(envelope, 0)).toEqual({ complete: false });
  });
});

/** A store of one map, whose writes always succeed, recording the order of calls. */
function memoryStore(log: string[]): JoinStateStore {
  const bodies = new Map<string, { body: string; version: string }>();
  let version = 0;
  return {
    read: async (id) => bodies.get(id),
    create: async (id, body) => {
      log.push('create');
      bodies.set(id, { body, version: String(++version) });
      return { version: String(version) };
    },
    update: async (id, body) => {
      log.push('update');
      bodies.set(id, { body, version: String(++version) });
      return { version: String(version) };
    },
    delete: async (id) => (bodies.delete(id), 'deleted'),
    supportsConditionalWrites: async () => true,
  };
}

describe('JoinGate time limit', () => {
  const stage = { name: 'gather', join: 'split', joinTimeout: 5000 } as Stage;
  const frames = (token: string) => [{ join: 'gather', item, token }];
  const report = (children: string[]): Envelope => ({
    id: 'r',
    value: null,
    frames: frames(item),
    event: { ...split, children },
  });
  const expire: Envelope = {
    id: 'e',
    value: null,
    frames: frames(item),
    event: { kind: 'expire', token: item, stage: 'gather', after: 5000 },
  };

  function gateWith(log: string[]) {
    const store = memoryStore(log);
    const deadline = async (of: string) => {
      log.push(`deadline ${of}`);
    };
    return new JoinGate({ stage, store, deadline });
  }

  it('sets the item’s time limit before its state is first written, and only then', async () => {
    const log: string[] = [];
    const gate = gateWith(log);
    expect(await gate.fold(report(['b1', 'b2']), 0)).toEqual({ complete: false });
    expect(await gate.fold({ id: 'v', value: 1, frames: frames('b1') }, 0)).toEqual({ complete: false });
    expect(log).toEqual(['deadline X', 'create', 'update']);
  });

  it('sets none for an item complete in its first message', async () => {
    const log: string[] = [];
    const gate = gateWith(log);
    const folded = await gate.fold(report([]), 0);
    expect(folded).toMatchObject({ complete: true, item, values: [], missing: [] });
    expect(log).toEqual(['create']);
  });

  it('on its timer’s report, gives an incomplete item with its values and the branches awaited', async () => {
    const log: string[] = [];
    const gate = gateWith(log);
    await gate.fold(report(['b1', 'b2', 'b3']), 0);
    await gate.fold({ id: 'v', value: 'one', frames: frames('b2') }, 0);
    const folded = await gate.fold(expire, 0);
    expect(folded).toEqual({
      complete: true,
      item,
      values: ['one'],
      dead: [],
      missing: ['b1', 'b3'],
      links: [],
    });
  });

  it('drops the timer’s report of an item joined already, or never seen', async () => {
    const log: string[] = [];
    const gate = gateWith(log);
    expect(await gate.fold(expire, 0)).toEqual({ complete: false });
    await gate.fold(report(['b1']), 0);
    await gate.fold({ id: 'v', value: 'one', frames: frames('b1') }, 0);
    await gate.finish(item);
    expect(await gate.fold(expire, 0)).toEqual({ complete: false });
    expect(log.filter((l) => l.startsWith('deadline'))).toHaveLength(1);
  });
});

describe('JoinGate time limit, after a failed join', () => {
  it('leaves a complete item whose join failed past its retries to a redrive of its dead letter', async () => {
    const log: string[] = [];
    const stage = { name: 'gather', join: 'split', joinTimeout: 5000 } as Stage;
    const gate = new JoinGate({ stage, store: memoryStore(log), deadline: async () => {} });
    const frames = (token: string) => [{ join: 'gather', item, token }];
    await gate.fold({ id: 'r', value: null, frames: frames(item), event: { ...split, children: ['b1'] } }, 0);
    // The value completes it; the join's call then fails for good (no finish): the item is not done.
    expect(await gate.fold({ id: 'v', value: 1, frames: frames('b1') }, 0)).toMatchObject({ complete: true });
    const expire = { kind: 'expire', token: item, stage: 'gather', after: 5000 } as const;
    expect(await gate.fold({ id: 'e', value: null, frames: frames(item), event: expire }, 0)).toEqual({
      complete: false,
    });
    // A redrive of the dead letter (the value again) calls the join again.
    expect(await gate.fold({ id: 'v', value: 1, frames: frames('b1') }, 0)).toMatchObject({
      complete: true,
      values: [1],
    });
  });
});

describe('JoinGate trace links', () => {
  it('keeps the trace context of each message folded, once, and gives them with the complete item', async () => {
    const stage = { name: 'gather', join: 'split', joinTimeout: 5000 } as Stage;
    const gate = new JoinGate({ stage, store: memoryStore([]), deadline: async () => {} });
    const frames = (token: string) => [{ join: 'gather', item, token }];
    const tc = (n: number) => ({ traceparent: `00-${'a'.repeat(32)}-${String(n).padStart(16, '0')}-01` });
    const event = { ...split, children: ['b1', 'b2'] };
    await gate.fold({ id: 'r', value: null, frames: frames(item), event, trace: tc(1) }, 0);
    await gate.fold({ id: 'v1', value: 1, frames: frames('b1'), trace: tc(2) }, 0);
    await gate.fold({ id: 'v1', value: 1, frames: frames('b1'), trace: tc(2) }, 0); // a duplicate
    const folded = await gate.fold({ id: 'v2', value: 2, frames: frames('b2') }, 0); // not traced
    expect(folded).toMatchObject({ complete: true, values: [1, 2], links: [tc(1), tc(2)] });
  });
});

describe('JoinGate.foldAll', () => {
  const stage = { name: 'gather', join: 'split', joinTimeout: 5000 } as Stage;
  const frames = (token: string) => [{ join: 'gather', item, token }];
  const report: Envelope = {
    id: 'r',
    value: null,
    frames: frames(item),
    event: { ...split, children: ['b1', 'b2'] },
  };
  const value = (token: string, v: unknown): Envelope => ({ id: token, value: v, frames: frames(token) });

  it('folds the messages of an item in one read and write, and names the one that completed it', async () => {
    const log: string[] = [];
    const gate = new JoinGate({
      stage,
      store: memoryStore(log),
      deadline: async () => void log.push('deadline'),
    });
    const late = value('b1', 'again');
    const result = await gate.foldAll([value('b2', 2), report, value('b1', 1), late], 0);
    expect(result).toMatchObject({ errors: [undefined, undefined, undefined, undefined], by: 2 });
    expect(result.folded).toMatchObject({ complete: true, values: [1, 2] });
    expect(log).toEqual(['create']); // complete in one go: no time limit needed
  });

  it('fails a message that is no branch alone, folds the others, and writes nothing for duplicates only', async () => {
    const log: string[] = [];
    const gate = new JoinGate({
      stage,
      store: memoryStore(log),
      deadline: async () => void log.push('deadline'),
    });
    const stray: Envelope = { id: 's', value: 'x' };
    const result = await gate.foldAll([report, stray, value('b1', 1)], 0);
    expect(result.by).toBeUndefined();
    expect(result.errors.map((e) => e?.name)).toEqual([undefined, 'NotABranchError', undefined]);
    expect(log).toEqual(['deadline', 'create']);
    expect((await gate.foldAll([value('b1', 1), report], 0)).by).toBeUndefined();
    expect(log).toEqual(['deadline', 'create']); // nothing new: no write
    expect((await gate.foldAll([value('b2', 2)], 0)).folded).toMatchObject({
      complete: true,
      values: [1, 2],
    });
  });
});
