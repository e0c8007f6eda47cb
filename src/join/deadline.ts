/**
 * A join's time limit per item (the `joinTimeout` stage option): when the first message of item X
 * reaches the join (before X's state is written, so that no state exists without it), a timer is
 * set in the domain's queue of work for later (src/time/domain-timers.ts). When it is due, an
 * `expire` report goes to the join's queue in X's group, under an id derived from X (two timers of
 * X are one report within SQS's 5-minute window, and find X done after it): if X is still
 * incomplete then, the join dead-letters it with its partial state and the branches it waits for.
 */
import { type Envelope, wrapEncoded } from '../envelope.ts';
import { derivedId } from '../ids.ts';
import type { Timer } from '../time/domain-timers.ts';
import type { Stage } from '../stage.ts';
import { type JoinFrame, joinGroupId } from './frames.ts';

export interface DeadlineDeps {
  readonly stage: Stage;
  /** Sets a timer that survives the process (rejects when it could not). */
  readonly at: (timer: Timer) => Promise<void>;
  /** The join's input queue at `level`. */
  readonly inputUrl: (level: number) => Promise<string>;
}

/** Sets the time limit of `item`, whose first message at the join is `envelope` (at `level`). */
export type SetDeadline = (item: string, envelope: Envelope, level: number) => Promise<void>;

export function joinDeadlines(deps: DeadlineDeps): SetDeadline {
  const { stage } = deps;
  return async (item, envelope, level) => {
    const capped = Math.min(level, stage.priorities - 1);
    const id = derivedId(item, `expire\0${stage.name}`);
    const body = wrapEncoded(
      {
        id,
        level: capped,
        reply: envelope.reply,
        frames: itemFrames(envelope.frames ?? [], item),
        event: { kind: 'expire', token: item, stage: stage.name, after: stage.joinTimeout },
      },
      'null',
    );
    await deps.at({
      due: Date.now() + stage.joinTimeout,
      url: await deps.inputUrl(capped),
      groupId: joinGroupId(stage.name, item),
      deduplicationId: id,
      body,
    });
  };
}

/** The frames of a message about the item itself: the innermost names the item's root branch. */
function itemFrames(frames: readonly JoinFrame[], item: string): JoinFrame[] {
  const inner = frames.at(-1);
  return inner === undefined ? [] : [...frames.slice(0, -1), { ...inner, token: item }];
}
