/**
 * The joins of `iam-policy --stages …,gather:join=split` (pure: no I/O): checked as registration
 * checks them (src/join/scopes.ts: an earlier stage, one join per split, scopes nest and never
 * cross), and the join stages each stage reports to (src/join/reporter.ts), whose input queues it
 * then sends to.
 */
import { ConfigError } from '../../errors.ts';
import { linkJoins } from '../../join/scopes.ts';
import type { Stage } from '../../stage.ts';
import { UsageError } from './errors.ts';

/** A stage of the pipeline in order, and the split it joins (undefined: no join). */
export interface JoinedStage {
  readonly name: string;
  readonly join?: string | undefined;
}

/** Refuses the joins of `stages` (the whole pipeline in order, source included) that registration would. */
export function checkJoins(stages: readonly JoinedStage[]): void {
  try {
    linkJoins(stages.map((s, index) => stageLike(s.name, index, s.join)));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UsageError(`--stages: ${error.message}`, { cause: error });
  }
}

/**
 * The join stages whose input queues the workers of `name` send reports to: a call's report goes
 * to the innermost scope the call is in (a split's own; at a join, the one around it), a
 * dead-lettered input's (`consumes`: a stage with queues) to the innermost scope the input is in
 * (a split's input is not in the scope its call opens, a join's no longer in the one it closes).
 */
export function reportedJoins(stages: readonly JoinedStage[], name: string, consumes: boolean): string[] {
  const at = stages.findIndex((s) => s.name === name);
  const scopes = stages.flatMap((s, join) => {
    const split = stages.findIndex((t) => t.name === s.join);
    return s.join === undefined || split < 0 ? [] : [{ split, join, name: s.name }];
  });
  // Scopes nest: of those holding a position, the innermost opened last.
  const innermost = (holds: (scope: { split: number; join: number }) => boolean) =>
    scopes
      .filter(holds)
      .reduce<(typeof scopes)[number] | undefined>(
        (inner, scope) => (inner === undefined || scope.split > inner.split ? scope : inner),
        undefined,
      )?.name;
  const calls = innermost((s) => s.split <= at && at < s.join);
  const deadLetters = consumes ? innermost((s) => s.split < at && at < s.join) : undefined;
  return [...new Set([calls, deadLetters].filter((j) => j !== undefined))];
}

/** A registered stage as linkJoins reads it: its name, position and join (the rest is filler). */
function stageLike(name: string, index: number, join: string | undefined): Stage {
  return {
    name,
    index,
    join,
    closedBy: undefined,
    consumes: index > 0,
    method: () => undefined,
    workers: 1,
    priorities: 1,
    interval: () => 0,
    visibilityTimeout: 30,
    retries: 0,
    retryDelay: () => 0,
    timeout: undefined,
    group: undefined,
    batch: undefined,
    setup: undefined,
    teardown: undefined,
    joinTimeout: 0 as Stage['joinTimeout'],
    joinFailures: 'fail',
    schedule: undefined,
    catchUp: false,
    rateLimit: undefined,
    maxConcurrency: undefined,
    keyConcurrency: 1,
  };
}
