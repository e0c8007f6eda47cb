import { ConfigError } from './errors.ts';
import { linkJoins } from './join/scopes.ts';
import { checkQueueNamesFit, MAX_PRIORITIES } from './queues/naming.ts';
import { checkDuration, DURATION_RANGES, type Duration } from './time/duration.ts';
import { checkPermitQueueNameFits } from './time/permit-queue.ts';
import { type CatchUp, resolveCatchUp, resolveSchedule, type Schedule } from './time/schedule.ts';
import type { StageMethod } from './types.ts';
import { checkFunction, checkInteger, checkKeys, checkName, fail, isPlainObject } from './validate.ts';

/** A registered stage, validated and with every default filled in. */
export interface Stage {
  readonly name: string;
  /** Position in the pipeline, from 0 (the first stage). */
  readonly index: number;
  /**
   * The stage has input queues (by level) and a dead-letter queue, and its runs consume them:
   * every stage but a first one registered without `input: true` (a source, which calls its
   * method in a loop).
   */
  readonly consumes: boolean;
  readonly method: StageMethod;
  readonly workers: number;
  readonly priorities: number;
  readonly interval: () => number;
  readonly visibilityTimeout: number;
  /**
   * Retries (in hand, after `retryDelay`) before an input moves to the dead-letter queue; of the
   * source, before a failed call is reported and skipped (0 by default).
   */
  readonly retries: number;
  /** Milliseconds to wait before attempt `attempt + 1` (at most 12 hours). */
  readonly retryDelay: (attempt: number) => number;
  /** Undefined: no limit (`Infinity` given, or nothing). */
  readonly timeout: Duration | undefined;
  /** Key of an input of this stage (first stage: of its outputs); undefined: no ordering. */
  readonly group: ((value: unknown) => unknown) | undefined;
  /** Batch size of a batch handler; undefined: one input per call. */
  readonly batch: number | undefined;
  readonly setup: (() => unknown) | undefined;
  readonly teardown: ((state: unknown) => unknown) | undefined;
  /** A join stage: the earlier stage (the split) whose calls open the branches it gathers. */
  readonly join: string | undefined;
  /** A split: the join stage that gathers the branches its calls open. */
  readonly closedBy: string | undefined;
  /** A join stage's time limit per item, in ms (see StageOptions.joinTimeout). */
  readonly joinTimeout: Duration;
  /** A join stage's answer to a lost branch: fail the item, or call the join anyway. */
  readonly joinFailures: 'fail' | 'call';
  /** A scheduled source (it consumes its own queue of ticks); undefined: none. */
  readonly schedule: Schedule | undefined;
  readonly catchUp: CatchUp;
  /** Calls per period over the fleet; undefined: no limit. */
  readonly rateLimit: { readonly limit: number; readonly perMs: number } | undefined;
  /** Calls at once over the fleet; undefined: no limit. */
  readonly maxConcurrency: number | undefined;
  /** Calls of one key at once (its items spread over this many message groups); 1 by default. */
  readonly keyConcurrency: number;
}

export const MAX_WORKERS = 10_000;
const STAGE_KEYS = [
  'method',
  'name',
  'input',
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
  'join',
  'joinTimeout',
  'joinFailures',
  'schedule',
  'catchUp',
  'rateLimit',
  'maxConcurrency',
  'keyConcurrency',
] as const;

/** A join's time limit per item by default: a day. */
export const DEFAULT_JOIN_TIMEOUT_MS = 86_400_000;

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
  return linkJoins(stages);
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
  const schedule =
    spec['schedule'] === undefined ? undefined : resolveSchedule(field('schedule'), spec['schedule']);
  if (schedule !== undefined && (index > 0 || spec['input'] === true))
    throw new ConfigError(
      `${field('schedule')} applies to the first stage only, when it is a source (registered without \`input: true\`)`,
    );
  if (spec['catchUp'] !== undefined && schedule === undefined)
    throw new ConfigError(`${field('catchUp')} applies to a scheduled source only: give it \`schedule\` too`);
  const catchUp = resolveCatchUp(field('catchUp'), spec['catchUp']);
  // A scheduled source consumes its own queue of ticks.
  const consumes = schedule !== undefined || resolveInput(field('input'), index, spec['input']);
  const workers = checkInteger(field('workers'), spec['workers'] ?? 1, 1, MAX_WORKERS);
  const priorities = checkInteger(field('priorities'), spec['priorities'] ?? 1, 1, MAX_PRIORITIES);
  const visibilityTimeout = checkInteger(
    field('visibilityTimeout'),
    spec['visibilityTimeout'] ?? 30,
    1,
    MAX_VISIBILITY_SECONDS,
  );
  // A source has nothing upstream to keep a failed call: by default it is reported and skipped.
  const defaultRetries = consumes ? DEFAULT_RETRIES : 0;
  const retries = checkInteger(field('retries'), spec['retries'] ?? defaultRetries, 0, 999);
  const retryDelay = resolveRetryDelay(field('retryDelay'), spec['retryDelay']);
  const limit = checkDuration(
    field('timeout'),
    spec['timeout'] ?? Number.POSITIVE_INFINITY,
    DURATION_RANGES.timeout,
  );
  const timeout = limit === Number.POSITIVE_INFINITY ? undefined : limit;
  const rawInterval = spec['interval'];
  if (rawInterval !== undefined && schedule !== undefined)
    throw new ConfigError(
      `${field('interval')} cannot be set with \`schedule\`: the schedule paces the source`,
    );
  if (rawInterval !== undefined && consumes) {
    throw new ConfigError(
      `${field('interval')} applies to the first stage only, when it is a source (registered without \`input: true\`)`,
    );
  }
  const interval = resolveInterval(field('interval'), rawInterval ?? 0);
  if (consumes) checkQueueNamesFit(domain, name, priorities); // a source has no queue
  if (schedule !== undefined && priorities > 1)
    throw new ConfigError(`${field('priorities')} cannot be set with \`schedule\`: ticks have one level`);
  const rateLimit = resolveRateLimit(field('rateLimit'), spec['rateLimit']);
  if (rateLimit !== undefined) checkPermitQueueNameFits(domain, name, 'rate');
  const maxConcurrency =
    spec['maxConcurrency'] === undefined
      ? undefined
      : checkInteger(field('maxConcurrency'), spec['maxConcurrency'], 1, MAX_PERMITS);
  if (maxConcurrency !== undefined) checkPermitQueueNameFits(domain, name, 'slots');
  if ((rateLimit !== undefined || maxConcurrency !== undefined) && !consumes)
    throw new ConfigError(
      `${field(rateLimit === undefined ? 'maxConcurrency' : 'rateLimit')} applies to stages with an input queue (a source paces itself with \`interval\` or \`schedule\`)`,
    );
  const join = resolveJoin(field, index, spec);
  const joinTimeout = checkDuration(
    field('joinTimeout'),
    spec['joinTimeout'] ?? DEFAULT_JOIN_TIMEOUT_MS,
    DURATION_RANGES.joinTimeout,
  );
  const joinFailures = spec['joinFailures'] ?? 'fail';
  if (joinFailures !== 'fail' && joinFailures !== 'call')
    fail(field('joinFailures'), "`'fail'` or `'call'`", joinFailures);
  for (const key of ['joinTimeout', 'joinFailures'])
    if (spec[key] !== undefined && join === undefined)
      throw new ConfigError(`${field(key)} applies to a join stage only: give it \`join\` too`);
  return {
    name,
    index,
    consumes,
    method,
    workers,
    priorities,
    interval,
    visibilityTimeout,
    retries,
    retryDelay,
    timeout,
    group: optionalFunction(field('group'), spec['group']),
    batch: resolveBatch(field('batch'), consumes, spec['batch']),
    setup: optionalFunction(field('setup'), spec['setup']),
    teardown: optionalFunction(field('teardown'), spec['teardown']),
    join,
    closedBy: undefined, // filled by linkJoins, which sees every stage
    joinTimeout,
    joinFailures,
    schedule,
    catchUp,
    rateLimit,
    maxConcurrency,
    keyConcurrency: resolveKeyConcurrency(field('keyConcurrency'), spec),
  };
}

/** Largest `keyConcurrency`. */
const MAX_KEY_CONCURRENCY = 100;

function resolveKeyConcurrency(field: string, spec: Record<string, unknown>): number {
  const value = spec['keyConcurrency'];
  if (value === undefined) return 1;
  if (spec['group'] === undefined)
    throw new ConfigError(
      `${field} applies to a stage with \`group\` (it spreads each key's items over groups)`,
    );
  return checkInteger(field, value, 1, MAX_KEY_CONCURRENCY);
}

/** Most permits a limit may have. */
const MAX_PERMITS = 10_000;

/** `rateLimit: { limit, per }`: at most `limit` calls per `per` ms (whole seconds, 1 s to 12 h). */
function resolveRateLimit(
  field: string,
  value: unknown,
): { readonly limit: number; readonly perMs: number } | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) fail(field, 'an object { limit, per }', value);
  checkKeys(field, value, ['limit', 'per']);
  const limit = checkInteger(`\`limit\` in ${field}`, value['limit'], 1, MAX_PERMITS);
  const perMs = checkDuration(`\`per\` in ${field}`, value['per'], DURATION_RANGES.ratePeriod);
  if (perMs % 1000 !== 0) fail(`\`per\` in ${field}`, 'whole seconds in ms (1000, 60000, …)', perMs);
  return { limit, perMs };
}

/**
 * The split a join stage names, checked on its own (linkJoins checks it against the others): not
 * on the first stage, and without `group` or `batch`.
 */
function resolveJoin(
  field: (key: string) => string,
  index: number,
  spec: Record<string, unknown>,
): string | undefined {
  const value = spec['join'];
  if (value === undefined) return undefined;
  const split = checkName(`${field('join')} (the name of an earlier stage)`, value);
  if (index === 0)
    throw new ConfigError(
      `${field('join')} cannot be set on the first stage: a join gathers the branches opened by the calls of an earlier stage`,
    );
  if (spec['group'] !== undefined)
    throw new ConfigError(
      `${field('group')} cannot be set with \`join\`: sqspipes orders a join's inputs by joined item itself (the item is their message group); remove \`group\``,
    );
  if (spec['batch'] !== undefined)
    throw new ConfigError(
      `${field('batch')} cannot be set with \`join\`: a join is called once per joined item, with that item's branch outputs as its array; remove \`batch\``,
    );
  return split;
}

function optionalFunction<F>(field: string, value: unknown): F | undefined {
  return value === undefined ? undefined : checkFunction<F>(field, value);
}

/** Largest batch: gathered from several receives beyond SQS's 10. */
export const MAX_BATCH = 100;

/**
 * Whether the stage consumes an input queue: every later stage does; the first does with
 * `input: true` (fed by `enqueue()`/`submit()`), else it is the source.
 */
function resolveInput(field: string, index: number, value: unknown): boolean {
  if (value === undefined) return index > 0;
  if (typeof value !== 'boolean') fail(field, 'a boolean', value);
  if (index > 0 && !value)
    throw new ConfigError(
      `${field} can be false on the first stage only: a later stage always consumes its input queue`,
    );
  return value;
}

function resolveBatch(field: string, consumes: boolean, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!consumes)
    throw new ConfigError(
      `${field} applies to stages with an input queue, not the source (give the first stage \`input: true\` to feed it)`,
    );
  return checkInteger(field, value, 1, MAX_BATCH);
}

/**
 * Retries of an input before it moves to the dead-letter queue, by default: like AWS Lambda's
 * asynchronous invocations, two, so that a passing failure heals and a bad input is set aside.
 */
export const DEFAULT_RETRIES = 2;

/** Default retry delay: 1 s, 2 s, 4 s, … at most 5 minutes. */
const defaultRetryDelay = (attempt: number) => Math.min(300_000, 1000 * 2 ** (attempt - 1));

/**
 * Retry delays in ms, at most 12 hours (SQS's visibility limit): a number beyond it is refused; a
 * function's value beyond it is capped (a doubling backoff grows past any limit). A returned value
 * that is no duration (NaN, negative, Infinity) throws.
 */
function resolveRetryDelay(field: string, value: unknown): (attempt: number) => number {
  const { retryDelay } = DURATION_RANGES;
  if (value === undefined) return defaultRetryDelay;
  if (typeof value === 'function') {
    const fn = value as (attempt: number) => unknown;
    const returned = `the value returned by ${field}`;
    return (attempt) => {
      const ms = fn(attempt);
      if (typeof ms !== 'number' || !(ms >= 0) || ms === Number.POSITIVE_INFINITY)
        fail(returned, 'a finite duration in ms >= 0 (capped at 12 hours)', ms);
      return Math.min(retryDelay.max, ms);
    };
  }
  const ms = checkDuration(field, value, retryDelay);
  return () => ms;
}

/** The source's pause between calls, in ms: a finite duration (a returned one is checked per call). */
function resolveInterval(field: string, value: unknown): () => number {
  const { interval } = DURATION_RANGES;
  if (typeof value === 'function') {
    const fn = value as () => unknown;
    return () => checkDuration(`the value returned by ${field}`, fn(), interval);
  }
  const ms = checkDuration(field, value, interval);
  return () => ms;
}
