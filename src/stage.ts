import { ConfigError } from './errors.ts';
import { checkQueueNamesFit, MAX_PRIORITIES } from './queues/naming.ts';
import type { StageMethod } from './types.ts';
import {
  checkFunction,
  checkInteger,
  checkKeys,
  checkName,
  checkNumber,
  fail,
  isPlainObject,
} from './validate.ts';

/** A registered stage, validated and with every default filled in. */
export interface Stage {
  readonly name: string;
  /** Position in the pipeline, from 0 (the source). */
  readonly index: number;
  readonly method: StageMethod;
  readonly workers: number;
  readonly priorities: number;
  readonly interval: () => number;
  readonly visibilityTimeout: number;
}

export const MAX_WORKERS = 10_000;
const STAGE_KEYS = [
  'method',
  'name',
  'workers',
  'priorities',
  'interval',
  'visibilityTimeout',
] as const;

/** Validates `registerTasks` entries; every problem is a ConfigError naming the stage and field. */
export function resolveStages(domain: string, entries: unknown): Stage[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    fail('`registerTasks` argument', 'a non-empty array of functions or stage objects', entries);
  }
  const stages = entries.map((entry: unknown, index) => resolveStage(domain, entry, index));
  const seen = new Set<string>();
  for (const stage of stages) {
    if (seen.has(stage.name))
      throw new ConfigError(`Stage name \`${stage.name}\` is registered twice`);
    seen.add(stage.name);
  }
  return stages;
}

function resolveStage(domain: string, entry: unknown, index: number): Stage {
  const spec: Record<string, unknown> =
    typeof entry === 'function' ? { method: entry } : isPlainObject(entry) ? entry : {};
  if (typeof entry !== 'function' && !isPlainObject(entry)) {
    fail(`stage #${index + 1}`, 'a function or an object with a `method`', entry);
  }
  const method = checkFunction<StageMethod>(`\`method\` of stage #${index + 1}`, spec['method']);
  const rawName = spec['name'] ?? method.name;
  const name = checkName(
    `the name of stage #${index + 1} (give it a \`name\` if its function is anonymous)`,
    rawName,
  );
  const field = (key: string) => `\`${key}\` of stage \`${name}\``;
  checkKeys(`stage \`${name}\``, spec, STAGE_KEYS);
  const workers = checkInteger(field('workers'), spec['workers'] ?? 1, 1, MAX_WORKERS);
  const priorities = checkInteger(field('priorities'), spec['priorities'] ?? 1, 1, MAX_PRIORITIES);
  const visibilityTimeout = checkInteger(
    field('visibilityTimeout'),
    spec['visibilityTimeout'] ?? 30,
    1,
    43_200,
  );
  const rawInterval = spec['interval'];
  if (rawInterval !== undefined && index > 0) {
    throw new ConfigError(`${field('interval')} applies to the first stage only`);
  }
  const interval = resolveInterval(field('interval'), rawInterval ?? 0);
  checkQueueNamesFit(domain, name, priorities);
  return { name, index, method, workers, priorities, interval, visibilityTimeout };
}

function resolveInterval(field: string, value: unknown): () => number {
  if (typeof value === 'function') {
    return () => checkNumber(`the value returned by ${field}`, value(), 0);
  }
  const ms = checkNumber(field, value, 0);
  return () => ms;
}
