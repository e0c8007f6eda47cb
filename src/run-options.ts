import { ConfigError } from './errors.ts';
import type { Stage } from './stage.ts';
import { MAX_WORKERS } from './stage.ts';
import { checkBoolean, checkInteger, checkKeys, checkNumber, fail, isPlainObject } from './validate.ts';

/** `run()` options, validated against the stage and with defaults filled in. */
export interface ResolvedRunOptions {
  readonly workers: number;
  readonly args: readonly unknown[];
  /** Source stage: level of each output. */
  readonly priority: (output: unknown) => number;
  readonly minPriority: number;
  readonly maxPriority: number;
  readonly limit: number;
  readonly idleTimeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly shutdownTimeout: number;
  readonly failFast: boolean;
  readonly withIds: boolean;
}

const RUN_KEYS = [
  'workers',
  'args',
  'priority',
  'minPriority',
  'maxPriority',
  'limit',
  'idleTimeout',
  'signal',
  'shutdownTimeout',
  'failFast',
  'withIds',
] as const;

export function resolveRunOptions(stage: Stage, next: Stage | undefined, given: unknown): ResolvedRunOptions {
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`run` options', 'an object', options);
  checkKeys('`run` options', options, RUN_KEYS);
  const field = (key: string) => `\`${key}\` of run('${stage.name}')`;
  const workers = checkInteger(field('workers'), options['workers'] ?? stage.workers, 1, MAX_WORKERS);
  const args = options['args'] ?? [];
  if (!Array.isArray(args)) fail(field('args'), 'an array', args);
  const top = stage.priorities - 1;
  const minPriority = checkInteger(field('minPriority'), options['minPriority'] ?? 0, 0, top);
  const maxPriority = checkInteger(field('maxPriority'), options['maxPriority'] ?? top, minPriority, top);
  const limit = checkInteger(
    field('limit'),
    options['limit'] ?? Number.MAX_SAFE_INTEGER,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const idleTimeout =
    options['idleTimeout'] === undefined
      ? undefined
      : checkNumber(field('idleTimeout'), options['idleTimeout'], 0);
  const shutdownTimeout = checkNumber(field('shutdownTimeout'), options['shutdownTimeout'] ?? 30_000, 0);
  const signal = options['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal))
    fail(field('signal'), 'an AbortSignal', signal);
  const priority = resolvePriority(stage, next, field('priority'), options['priority']);
  return {
    workers,
    args,
    priority,
    minPriority,
    maxPriority,
    limit,
    idleTimeout,
    signal,
    shutdownTimeout,
    failFast: checkBoolean(field('failFast'), options['failFast'] ?? false),
    withIds: checkBoolean(field('withIds'), options['withIds'] ?? false),
  };
}

function resolvePriority(
  stage: Stage,
  next: Stage | undefined,
  field: string,
  value: unknown,
): (output: unknown) => number {
  if (value === undefined) return () => 0;
  if (stage.index > 0)
    throw new ConfigError(`${field} applies to the first stage only (later stages keep their input's level)`);
  const top = (next?.priorities ?? 1) - 1;
  const expectation = `an integer from 0 to ${top} (the levels of stage \`${next?.name ?? stage.name}\`)`;
  if (typeof value === 'function') {
    const fn = value as (output: unknown) => unknown;
    return (output) => checkInteger(`the value returned by ${field}`, fn(output), 0, top);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > top)
    fail(field, expectation, value);
  return () => value;
}

/** `enqueue()` options, validated: the level and the caller's idempotency key. */
export function resolveEnqueueOptions(
  stage: Stage,
  given: unknown,
): { level: number; key: string | undefined } {
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`enqueue` options', 'an object', options);
  checkKeys('`enqueue` options', options, ['priority', 'id']);
  const field = (key: string) => `\`${key}\` of enqueue('${stage.name}')`;
  const level = checkInteger(field('priority'), options['priority'] ?? 0, 0, stage.priorities - 1);
  const key = options['id'];
  if (key !== undefined && (typeof key !== 'string' || key === ''))
    fail(field('id'), 'a non-empty string', key);
  return { level, key };
}

/** How long `submit()` waits for an item's result by default: 5 minutes. */
export const DEFAULT_RESULT_TIMEOUT_MS = 300_000;

/** `submit()` options, validated: those of `enqueue()`, the timeout and whether to report statuses. */
export function resolveSubmitOptions(
  stage: Stage,
  given: unknown,
): { level: number; key: string | undefined; timeoutMs: number; status: boolean } {
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`submit` options', 'an object', options);
  checkKeys('`submit` options', options, ['priority', 'id', 'stage', 'timeout', 'status']);
  const { priority, id } = options;
  const { level, key } = resolveEnqueueOptions(stage, { priority, id });
  const field = (name: string) => `\`${name}\` of submit()`;
  const timeoutMs = checkNumber(
    field('timeout'),
    options['timeout'] ?? DEFAULT_RESULT_TIMEOUT_MS,
    1,
    2 ** 31 - 1,
  );
  const status = checkBoolean(field('status'), options['status'] ?? false);
  return { level, key, timeoutMs, status };
}
