import { MAX_WORKERS } from '../stage.ts';
import {
  DURATION_RANGES,
  type DurationRange,
  flagRangeText,
  isDuration,
  parseDurationText,
} from '../time/duration.ts';
import { UsageError } from './operator/errors.ts';
import { DEFAULT_PROGRESS_INTERVAL, STAGE_FLAGS, stageHelp, TOP_LEVEL } from './stage-help.ts';

/** One stage command line, checked: every number is a number in its range. */
export interface StageArgs {
  readonly stage: string;
  readonly workers: number | undefined;
  readonly limit: number | undefined;
  /** `--idle-timeout`, in ms; `never` is Infinity. */
  readonly idleTimeout: number | undefined;
  /** `--shutdown-timeout`, in ms; `never` is Infinity. */
  readonly shutdownTimeout: number | undefined;
  readonly priority: number | undefined;
  readonly minPriority: number | undefined;
  readonly maxPriority: number | undefined;
  readonly failFast: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  /** Print each output on stdout: `--print` / `--no-print`, by default for the last stage only. */
  readonly print: boolean;
  readonly progressInterval: number;
}

/** What the command line asks for: run a stage, or print the usage or the version. */
export type ParsedStageCli =
  | { readonly kind: 'run'; readonly args: StageArgs }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' };

export interface StageCliContext {
  /** Registered stage names, in pipeline order. */
  readonly stages: readonly string[];
  /**
   * The source stage (no input queue), or undefined when the first stage consumes one.
   * @default the first of `stages`
   */
  readonly source?: string | undefined;
  /** How the usage names the command, e.g. `node pipeline.js`. */
  readonly scriptName: string;
}

/** Flags that take a value, and switches (`--x`, `--no-x`, `--x=true|false`): from the help's table. */
const VALUE_FLAGS = new Set(STAGE_FLAGS.filter((f) => f.value !== '').map((f) => f.name));
const SWITCHES = new Set(STAGE_FLAGS.filter((f) => f.value === '').map((f) => f.name));

/**
 * Parses `<stage> [workers] [flags]`. Every problem is a UsageError (exit code 2) that names the
 * flag, what it must be and what it got, e.g. `--limit must be a positive integer, got "abc"`.
 */
export function parseStageArgs(argv: readonly string[], context: StageCliContext): ParsedStageCli {
  const parsed = readLine(argv);
  if (parsed.switches.get('help') === true) return { kind: 'help', text: stageHelp(context) };
  if (parsed.switches.get('version') === true) return { kind: 'version' };
  const [stage, workersText, extra] = parsed.positionals;
  if (extra !== undefined) {
    throw new UsageError(
      `Unexpected argument ${JSON.stringify(extra)}: ${context.scriptName} takes <stage> [workers] and options`,
    );
  }
  if (stage === undefined || stage === '') {
    throw new UsageError(`Give the stage to run: one of ${context.stages.join(', ')}`);
  }
  const index = context.stages.indexOf(stage);
  if (index === -1) {
    const known = context.stages.map((s) => `\`${s}\``).join(', ') || 'none';
    throw new UsageError(`Unknown stage \`${stage}\`: registered stages are ${known}`);
  }
  const values = parsed.values;
  const source = 'source' in context ? context.source : context.stages[0];
  const levels = priorityFlags(values, source, stage === source);
  const workers = positive(workersText, 'workers');
  if (workers !== undefined && workers > MAX_WORKERS) {
    throw new UsageError(`workers must be at most ${MAX_WORKERS}, got "${workers}"`);
  }
  const print = parsed.switches.get('print');
  return {
    kind: 'run',
    args: {
      stage,
      workers,
      limit: positive(values.get('limit'), '--limit'),
      idleTimeout: durationFlag(values, 'idle-timeout', DURATION_RANGES.idleTimeout),
      shutdownTimeout: durationFlag(values, 'shutdown-timeout', DURATION_RANGES.shutdownTimeout),
      ...levels,
      failFast: parsed.switches.get('fail-fast') === true,
      verbose: parsed.switches.get('verbose') === true,
      quiet: parsed.switches.get('quiet') === true,
      // The last stage's outputs go nowhere else; the others' go to the next stage's queue.
      print: print ?? index === context.stages.length - 1,
      progressInterval:
        durationFlag(values, 'progress-interval', DURATION_RANGES.progressInterval) ??
        DEFAULT_PROGRESS_INTERVAL,
    },
  };
}

/** A command line, read: each flag's last value, the switches, and the positionals. */
interface StageLine {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly switches: ReadonlyMap<string, boolean>;
}

/**
 * Reads `argv`: `--flag value` and `--flag=value` for value flags (a value may start with `-`
 * when a digit follows: `--limit -1` is refused by its range, not taken for a flag), `--switch`,
 * `--no-switch` and `--switch=true|false`, positionals (`-5` included), and everything after
 * `--` as positionals. A flag given twice keeps its last value. An unknown flag (short forms
 * included), a value flag without its value and a switch given another value are UsageErrors.
 */
function readLine(argv: readonly string[]): StageLine {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const switches = new Map<string, boolean>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || /^-\d/.test(token)) {
      positionals.push(token);
      continue;
    }
    if (!token.startsWith('--')) throw new UsageError(`Unknown option ${token}`); // no short forms
    const [name = '', inline] = token.slice(2).split(/=(.*)/s);
    const negated = name.startsWith('no-') && SWITCHES.has(name.slice(3));
    if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || (value.startsWith('-') && !/^-\d/.test(value))) {
        throw new UsageError(`--${name} needs a value`);
      }
      values.set(name, value);
    } else if (SWITCHES.has(name) || negated) {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') {
        throw new UsageError(`--${name} takes no value, got ${JSON.stringify(token)}`);
      }
      switches.set(negated ? name.slice(3) : name, (inline === 'false') === negated);
    } else {
      throw new UsageError(`Unknown option --${name}`);
    }
  }
  return { positionals, values, switches };
}

function priorityFlags(
  parsed: ReadonlyMap<string, string>,
  first: string | undefined,
  isFirst: boolean,
): Pick<StageArgs, 'priority' | 'minPriority' | 'maxPriority'> {
  const priority = level(parsed, 'priority');
  const minPriority = level(parsed, 'min-priority');
  const maxPriority = level(parsed, 'max-priority');
  if (priority !== undefined && !isFirst) {
    throw new UsageError(
      first === undefined
        ? "--priority applies to a source stage only, and this pipeline's first stage consumes an input: stages with an input keep their input's level"
        : `--priority applies to the first stage (${first}) only: later stages keep their input's level`,
    );
  }
  for (const [flag, value] of [
    ['min-priority', minPriority],
    ['max-priority', maxPriority],
  ] as const) {
    if (value !== undefined && isFirst) {
      throw new UsageError(`--${flag} applies to stages with an input queue, not the first stage (${first})`);
    }
  }
  if (minPriority !== undefined && maxPriority !== undefined && minPriority > maxPriority) {
    throw new UsageError(`--min-priority (${minPriority}) must not be above --max-priority (${maxPriority})`);
  }
  return { priority, minPriority, maxPriority };
}

/** A positive integer flag or positional (`name`: `--limit`, `workers`), or undefined when not given. */
function positive(given: string | undefined, name: string): number | undefined {
  if (given === undefined) return undefined;
  const value = Number(given);
  if (!/^\d+$/.test(given) || value < 1 || !Number.isSafeInteger(value)) {
    throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(given)}`);
  }
  return value;
}

/**
 * A duration flag in ms (`10000`, `30s`, `5m`, `never` where `range` allows it), or undefined when
 * not given: `--idle-timeout must be a duration from 0 to 2147483647 ms (…), got "abc"`.
 */
function durationFlag(
  parsed: ReadonlyMap<string, string>,
  key: string,
  range: DurationRange,
): number | undefined {
  const given = parsed.get(key);
  if (given === undefined) return undefined;
  const value = parseDurationText(given);
  if (!isDuration(value, range)) {
    throw new UsageError(`--${key} must be ${flagRangeText(range)}, got ${JSON.stringify(given)}`);
  }
  return value;
}

/** A priority level flag, or undefined when not given. */
function level(parsed: ReadonlyMap<string, string>, key: string): number | undefined {
  const given = parsed.get(key);
  if (given === undefined) return undefined;
  const value = Number(given);
  if (!/^\d+$/.test(given) || value > TOP_LEVEL) {
    throw new UsageError(`--${key} must be an integer from 0 to ${TOP_LEVEL}, got ${JSON.stringify(given)}`);
  }
  return value;
}

/** The run() option each flag sets. */
const FLAG_OF_OPTION: Readonly<Record<string, { flag: string; key: keyof StageArgs }>> = {
  workers: { flag: 'workers', key: 'workers' },
  limit: { flag: '--limit', key: 'limit' },
  idleTimeout: { flag: '--idle-timeout', key: 'idleTimeout' },
  shutdownTimeout: { flag: '--shutdown-timeout', key: 'shutdownTimeout' },
  priority: { flag: '--priority', key: 'priority' },
  minPriority: { flag: '--min-priority', key: 'minPriority' },
  maxPriority: { flag: '--max-priority', key: 'maxPriority' },
};

/**
 * run()'s check of a value against the stage (e.g. a level it does not have), in the flag's
 * words: `--max-priority must be an integer from 0 to 0 for stage \`square\`, got "3"`. A message
 * about a value the command line did not give (the script's defaults) is returned as it is.
 */
export function inFlagWords(message: string, args: StageArgs): string {
  const match = /^Expected `(\w+)` of run\('[^']*'\) to be (.+), got `(.*)` \(\w+\)$/s.exec(message);
  const [, option = '', expectation = '', got = ''] = match ?? [];
  const flag = FLAG_OF_OPTION[option];
  if (match === null || flag === undefined || args[flag.key] === undefined) return message;
  return `${flag.flag} must be ${expectation} for stage \`${args.stage}\`, got "${got}"`;
}
