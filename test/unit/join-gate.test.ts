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
    const gate = new JoinGate({ stage: { name: 'gather', join: 'split' } as Stage, store });
    const envelope: Envelope = { id: 'm', value: 'two', frames: [{ join: 'gather', item, token: 'b2' }] };
    // Before: the first try's "complete" stood, and the join was called with no values.
    expect(await gate.fold(envelope)).toEqual({ complete: false });
  });
});
