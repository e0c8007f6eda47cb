import { ConfigError } from './errors.ts';
import type { Stage } from './stage.ts';
import { MAX_WORKERS } from './stage.ts';
import { checkDuration, DURATION_RANGES, type Duration } from './time/duration.ts';
import { checkBoolean, checkInteger, checkKeys, fail, isPlainObject } from './validate.ts';

/** `run()` options, validated against the stage and with defaults filled in. */
export interface ResolvedRunOptions {
  readonly workers: number;
  readonly args: readonly unknown[];
  /** Source stage: level of each output. */
  readonly priority: (output: unknown) => number;
  readonly minPriority: number;
  readonly maxPriority: number;
  readonly limit: number;
  /** Undefined: never (`Infinity` given, or nothing). */
  readonly idleTimeout: Duration | undefined;
  readonly signal: AbortSignal | undefined;
  /** `Infinity`: running calls are never aborted. */
  readonly shutdownTimeout: Duration;
  readonly failFast: boolean;
  readonly withIds: boolean;
}

/** How long running calls get to finish on stop by default: 30 s. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

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
  const idle = checkDuration(
    field('idleTimeout'),
    options['idleTimeout'] ?? Number.POSITIVE_INFINITY,
    DURATION_RANGES.idleTimeout,
  );
  const idleTimeout = idle === Number.POSITIVE_INFINITY ? undefined : idle;
  const shutdownTimeout = checkDuration(
    field('shutdownTimeout'),
    options['shutdownTimeout'] ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    DURATION_RANGES.shutdownTimeout,
  );
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
  if (stage.consumes)
    throw new ConfigError(
      `${field} applies to the first stage only, when it is a source (stages with an input keep their input's level)`,
    );
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
): { level: number; key: string | undefined; signal: AbortSignal | undefined; due: number | undefined } {
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`enqueue` options', 'an object', options);
  checkKeys('`enqueue` options', options, ['priority', 'id', 'signal', 'delay', 'at']);
  const field = (key: string) => `\`${key}\` of enqueue('${stage.name}')`;
  const level = checkInteger(field('priority'), options['priority'] ?? 0, 0, stage.priorities - 1);
  const key = options['id'];
  if (key !== undefined && (typeof key !== 'string' || key === ''))
    fail(field('id'), 'a non-empty string', key);
  const signal = options['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal))
    fail(field('signal'), 'an AbortSignal', signal);
  return { level, key, signal, due: resolveDue(field, options['delay'], options['at']) };
}

/**
 * When an item given `delay` (ms from now) or `at` (a Date or epoch ms) is due, in epoch ms;
 * undefined for neither. Both at once are refused.
 */
export function resolveDue(
  field: (key: string) => string,
  delay: unknown,
  at: unknown,
  now = Date.now(),
): number | undefined {
  if (delay !== undefined && at !== undefined)
    throw new ConfigError(`${field('delay')} and ${field('at')} cannot both be given: choose one`);
  if (delay !== undefined) return now + checkDuration(field('delay'), delay, DURATION_RANGES.delay);
  if (at === undefined) return undefined;
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) fail(field('at'), 'a Date or a time in epoch ms', at);
  return ms;
}

/** How long `submit()` waits for an item's result by default: 5 minutes. */
export const DEFAULT_RESULT_TIMEOUT_MS = 300_000;

/** `submit()` options, validated: those of `enqueue()`, the timeout and whether to report statuses. */
export function resolveSubmitOptions(
  stage: Stage,
  given: unknown,
): {
  level: number;
  key: string | undefined;
  signal: AbortSignal | undefined;
  due: number | undefined;
  timeoutMs: number;
  status: boolean;
} {
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`submit` options', 'an object', options);
  checkKeys('`submit` options', options, [
    'priority',
    'id',
    'signal',
    'stage',
    'timeout',
    'status',
    'delay',
    'at',
  ]);
  const { priority, id, signal: givenSignal } = options;
  const { level, key, signal } = resolveEnqueueOptions(stage, { priority, id, signal: givenSignal });
  const field = (name: string) => `\`${name}\` of submit()`;
  const now = Date.now();
  const due = resolveDue(field, options['delay'], options['at'], now);
  // An item for later: its default wait counts from when it is due.
  const waitsFor = due === undefined ? 0 : Math.max(0, due - now);
  const timeoutMs = checkDuration(
    field('timeout'),
    options['timeout'] ?? Math.min(DURATION_RANGES.resultTimeout.max, DEFAULT_RESULT_TIMEOUT_MS + waitsFor),
    DURATION_RANGES.resultTimeout,
  );
  const status = checkBoolean(field('status'), options['status'] ?? false);
  return { level, key, signal, due, timeoutMs, status };
}

/** `redrive()` options, validated: the caller's signal. */
export function resolveRedriveOptions(stage: string, given: unknown): { signal: AbortSignal | undefined } {
  const options = given ?? {};
  if (!isPlainObject(options)) fail('`redrive` options', 'an object', options);
  checkKeys('`redrive` options', options, ['signal']);
  const signal = options['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal))
    fail(`\`signal\` of redrive('${stage}')`, 'an AbortSignal', signal);
  return { signal };
}
