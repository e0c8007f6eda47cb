/**
 * Join scopes at registration: a join stage (`join: 'split'`) gathers the branches opened by the
 * calls of an earlier stage, the split. The scope of a join runs from its split to itself; scopes
 * nest or follow one another (a join may be the next join's split), never cross, and a split has
 * one join at most.
 */
import { ConfigError } from '../errors.ts';
import type { Stage } from '../stage.ts';

/** The stages with each split's `closedBy` filled in; a ConfigError for a join that cannot be. */
export function linkJoins(stages: readonly Stage[]): Stage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const closedBy = new Map<string, Stage>();
  const scopes: { split: Stage; join: Stage }[] = [];
  for (const join of stages) {
    if (join.join === undefined) continue;
    const split = checkSplit(join, join.join, byName);
    const other = closedBy.get(split.name);
    if (other !== undefined)
      throw new ConfigError(
        `Stages \`${other.name}\` and \`${join.name}\` both join \`${split.name}\`: a stage's branches are joined by one stage at most (a later join can name \`${other.name}\` or a stage after it instead)`,
      );
    closedBy.set(split.name, join);
    scopes.push({ split, join });
  }
  for (const outer of scopes) for (const inner of scopes) checkNotCrossing(outer, inner);
  return stages.map((s) => {
    const join = closedBy.get(s.name);
    return join === undefined ? s : { ...s, closedBy: join.name };
  });
}

function checkSplit(join: Stage, name: string, byName: ReadonlyMap<string, Stage>): Stage {
  const split = byName.get(name);
  const what = 'a join names an earlier stage whose calls fan out';
  if (split === undefined) {
    const known = [...byName.keys()].map((s) => `\`${s}\``).join(', ');
    throw new ConfigError(
      `Stage \`${join.name}\` joins \`${name}\`, which is not a stage of this pipeline (${known}): ${what}`,
    );
  }
  if (split === join) throw new ConfigError(`Stage \`${join.name}\` joins itself: ${what}`);
  if (split.index > join.index)
    throw new ConfigError(`Stage \`${join.name}\` joins \`${name}\`, which comes after it: ${what}`);
  return split;
}

/** Refuses an inner split between `outer`'s split and join whose join comes after `outer`'s. */
function checkNotCrossing(outer: { split: Stage; join: Stage }, inner: { split: Stage; join: Stage }): void {
  const crosses =
    outer.split.index < inner.split.index &&
    inner.split.index < outer.join.index &&
    outer.join.index < inner.join.index;
  if (!crosses) return;
  const [split, join] = [`\`${inner.split.name}\``, `\`${inner.join.name}\``] as const;
  const [outerSplit, outerJoin] = [`\`${outer.split.name}\``, `\`${outer.join.name}\``] as const;
  throw new ConfigError(
    `Stage ${join} joins ${split}, which lies between ${outerSplit} and its join ${outerJoin}, but ${join} comes after ${outerJoin}: ` +
      `join scopes nest or follow one another, never cross. Move ${join} before ${outerJoin}, or have it join ${outerJoin} or a stage after it`,
  );
}
