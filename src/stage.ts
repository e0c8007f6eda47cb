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
  /** Retries (in hand, after `retryDelay`) before an input moves to the dead-letter queue. */
  readonly retries: number;
  /** Milliseconds to wait before attempt `attempt + 1` (at most 12 hours). */
  readonly retryDelay: (attempt: number) => number;
  readonly timeout: number | undefined;
  /** Key of an input of this stage (first stage: of its outputs); undefined: no ordering. */
  readonly group: ((value: unknown) => unknown) | undefined;
  /** Batch size of a batch handler; undefined: one input per call. */
  readonly batch: number | undefined;
  readonly setup: (() => unknown) | undefined;
  readonly teardown: ((state: unknown) => unknown) | undefined;
}

export const MAX_WORKERS = 10_000;
const STAGE_KEYS = [
  'method',
  'name',
  'workers',
  'priorities',
  'interval',
  'visibilityTimeout',
  'retries',
  'retryDelay',
  'timeout',
  'group',
  'batch',
  'setup',
  'teardown',
] as const;

/** SQS's limit on a visibility timeout: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** Validates `registerTasks` entries; every problem is a ConfigError naming the stage and field. */
export function resolveStages(domain: string, entries: unknown): Stage[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    fail('`registerTasks` argument', 'a non-empty array of functions or stage objects', entries);
  }
  const stages = entries.map((entry: unknown, index) => resolveStage(domain, entry, index));
  const seen = new Set<string>();
  for (const stage of stages) {
    if (seen.has(stage.name)) throw new ConfigError(`Stage name \`${stage.name}\` is registered twice`);
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
    MAX_VISIBILITY_SECONDS,
  );
  const retries = checkInteger(field('retries'), spec['retries'] ?? DEFAULT_RETRIES, 0, 999);
  if (index === 0 && (spec['retries'] !== undefined || spec['retryDelay'] !== undefined)) {
    throw new ConfigError(`${field('retries')} applies to stages with an input queue, not the first stage`);
  }
  const retryDelay = resolveRetryDelay(field('retryDelay'), spec['retryDelay']);
  const timeout =
    spec['timeout'] === undefined ? undefined : checkNumber(field('timeout'), spec['timeout'], 1);
  const rawInterval = spec['interval'];
  if (rawInterval !== undefined && index > 0) {
    throw new ConfigError(`${field('interval')} applies to the first stage only`);
  }
  const interval = resolveInterval(field('interval'), rawInterval ?? 0);
  if (index > 0) checkQueueNamesFit(domain, name, priorities); // the first stage has no queue
  return {
    name,
    index,
    method,
    workers,
    priorities,
    interval,
    visibilityTimeout,
    retries,
    retryDelay,
    timeout,
    group: optionalFunction(field('group'), spec['group']),
    batch: resolveBatch(field('batch'), index, spec['batch']),
    setup: optionalFunction(field('setup'), spec['setup']),
    teardown: optionalFunction(field('teardown'), spec['teardown']),
  };
}

function optionalFunction<F>(field: string, value: unknown): F | undefined {
  return value === undefined ? undefined : checkFunction<F>(field, value);
}

/** Largest batch: gathered from several receives beyond SQS's 10. */
export const MAX_BATCH = 100;

function resolveBatch(field: string, index: number, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (index === 0)
    throw new ConfigError(`${field} applies to stages with an input queue, not the first stage`);
  return checkInteger(field, value, 1, MAX_BATCH);
}

/**
 * Retries of an input before it moves to the dead-letter queue, by default: like AWS Lambda's
 * asynchronous invocations, two, so that a passing failure heals and a bad input is set aside.
 */
export const DEFAULT_RETRIES = 2;

/** Default retry delay: 1 s, 2 s, 4 s, … at most 5 minutes. */
const defaultRetryDelay = (attempt: number) => Math.min(300_000, 1000 * 2 ** (attempt - 1));

/** Retry delays in ms, at most 12 hours (SQS's visibility limit). A bad returned value throws. */
function resolveRetryDelay(field: string, value: unknown): (attempt: number) => number {
  const clamp = (ms: number) => Math.min(MAX_VISIBILITY_SECONDS * 1000, ms);
  if (value === undefined) return defaultRetryDelay;
  if (typeof value === 'function') {
    const fn = value as (attempt: number) => unknown;
    return (attempt) => clamp(checkNumber(`the value returned by ${field}`, fn(attempt), 0));
  }
  const ms = checkNumber(field, value, 0);
  return () => clamp(ms);
}

function resolveInterval(field: string, value: unknown): () => number {
  if (typeof value === 'function') {
    const fn = value as () => unknown;
    return () => checkNumber(`the value returned by ${field}`, fn(), 0);
  }
  const ms = checkNumber(field, value, 0);
  return () => ms;
}
