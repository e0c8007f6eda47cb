/**
 * A stage's side of a join (see frames.ts): before it acknowledges an input whose call opened or
 * ended branches in a join's scope, it reports them to the join stage's queue, in the item's
 * group; and before it deletes an input it dead-lettered in a scope, it says so. Reports are
 * messages like outputs: a send that fails fails the input, which comes back and reports again
 * (the join takes the first complete report of a branch: see fold.ts).
 */
import { randomUUID } from 'node:crypto';
import { type ReplyAddress, wrapEncoded } from '../envelope.ts';
import type { PipelineQueues } from '../queues/topology.ts';
import type { OutgoingMessage } from '../sqs/sqs-io.ts';
import { type JoinEvent, type JoinFrame, joinGroupId } from './frames.ts';

/** Most bytes of children's ids in one report message (a large fan-out is split into parts). */
const MAX_PART_BYTES = 200 * 1024;

export interface JoinReporterDeps {
  /** The stage that reports. */
  readonly stage: string;
  readonly queues: PipelineQueues;
  /** The run's batched sends. */
  readonly send: (url: string, message: OutgoingMessage) => Promise<unknown>;
}

export class JoinReporter {
  readonly #d: JoinReporterDeps;

  constructor(deps: JoinReporterDeps) {
    this.#d = deps;
  }

  /**
   * The call on the branch named by `frames`' innermost ended, opening `children` (none: it
   * filtered the branch out); resolves once SQS accepted every part of the report.
   */
  async ended(
    frames: readonly JoinFrame[],
    children: readonly string[],
    level: number,
    reply?: ReplyAddress,
  ): Promise<void> {
    const nonce = randomUUID();
    const parts = split(children);
    const token = innermost(frames).token;
    await Promise.all(
      parts.map((part, i) =>
        this.#report(frames, level, reply, `${nonce}:${i}`, {
          kind: 'end',
          token,
          stage: this.#d.stage,
          nonce,
          part: i,
          parts: parts.length,
          children: part,
        }),
      ),
    );
  }

  /** The branch named by `frames`' innermost was dead-lettered here, for `reason`. */
  async dead(
    frames: readonly JoinFrame[],
    reason: string,
    level: number,
    reply?: ReplyAddress,
  ): Promise<void> {
    const token = innermost(frames).token;
    const event = { kind: 'dead' as const, token, stage: this.#d.stage, reason: reason.slice(0, 2000) };
    await this.#report(frames, level, reply, `${randomUUID()}:dead`, event);
  }

  /** `reply`: the item's sender (`submit()`), carried on to the join's outputs by whichever message completes it. */
  async #report(
    frames: readonly JoinFrame[],
    level: number,
    reply: ReplyAddress | undefined,
    id: string,
    event: JoinEvent,
  ): Promise<void> {
    const scope = innermost(frames);
    const join = this.#d.queues.topology.stages.find((s) => s.name === scope.join);
    if (join === undefined) throw new Error(`no stage \`${scope.join}\` to report a branch to`);
    const capped = Math.min(level, join.priorities - 1);
    const url = await this.#d.queues.inputUrl(join, capped);
    await this.#d.send(url, {
      body: wrapEncoded({ id, level: capped, reply, frames, event }, 'null'),
      groupId: joinGroupId(scope.join, scope.item),
      deduplicationId: id,
    });
  }
}

function innermost(frames: readonly JoinFrame[]): JoinFrame {
  const frame = frames.at(-1);
  if (frame === undefined) throw new TypeError('a join report needs the scope it is about');
  return frame;
}

/** `children` in parts of at most {@link MAX_PART_BYTES} of ids each (one part, maybe empty, at least). */
function split(children: readonly string[]): string[][] {
  const parts: string[][] = [[]];
  let bytes = 0;
  for (const child of children) {
    const size = child.length + 3;
    if (bytes + size > MAX_PART_BYTES && bytes > 0) {
      parts.push([]);
      bytes = 0;
    }
    (parts.at(-1) as string[]).push(child);
    bytes += size;
  }
  return parts;
}
