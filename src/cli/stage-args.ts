import { MAX_PRIORITIES } from '../queues/naming.ts';
import { MAX_WORKERS } from '../stage.ts';
import {
  DURATION_RANGES,
  type DurationRange,
  flagRangeText,
  isDuration,
  parseDurationText,
} from '../time/duration.ts';
import { UsageError } from './operator/errors.ts';

/** Node options recommended for stage processes (README: Deployment, Memory; the benchmark's soak). */
export const STAGE_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=1024';

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

const VALUE_FLAGS = [
  'limit',
  'idle-timeout',
  'shutdown-timeout',
  'priority',
  'min-priority',
  'max-priority',
  'progress-interval',
];
const SWITCHES = ['fail-fast', 'quiet', 'print', 'verbose', 'help', 'version'];
const DEFAULT_PROGRESS_INTERVAL = 10_000;
const TOP_LEVEL = MAX_PRIORITIES - 1;

/**
 * Parses `<stage> [workers] [flags]`. Every problem is a UsageError (exit code 2) that names the
 * flag, what it must be and what it got, e.g. `--limit must be a positive integer, got "abc"`.
 */
export function parseStageArgs(argv: readonly string[], context: StageCliContext): ParsedStageCli {
  checkFlagNames(argv);
  const parsed = readLine(argv);
  if (parsed.switches.get('help') === true) return { kind: 'help', text: helpText(context) };
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

/** A command line that `checkFlagNames` passed, read: each flag's last value, and the positionals. */
interface StageLine {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly switches: ReadonlyMap<string, boolean>;
}

/**
 * Reads `argv` (names already checked): `--flag value` and `--flag=value` for value flags (a
 * value may start with `-` when a digit follows: `--limit -1` is refused by its range, not taken
 * for a flag), `--switch`, `--no-switch` and `--switch=true|false`, positionals (`-5` included),
 * and everything after `--` as positionals. A flag given twice keeps its last value.
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
    if (!token.startsWith('--')) {
      positionals.push(token);
      continue;
    }
    const [name = '', inline] = token.slice(2).split(/=(.*)/s);
    if (VALUE_FLAGS.includes(name)) {
      values.set(name, inline ?? (argv[++i] as string));
    } else if (name.startsWith('no-') && SWITCHES.includes(name.slice(3))) {
      switches.set(name.slice(3), inline === 'false');
    } else {
      switches.set(name, inline !== 'false');
    }
  }
  return { positionals, values, switches };
}

/** The flags `--help` lists, each with its value's name (none: a switch) and what it does. */
const HELP_FLAGS: readonly (readonly [flag: string, value: string, describe: string])[] = [
  ['limit', 'n', 'stop after this many inputs (first stage: calls)'],
  [
    'idle-timeout',
    'time',
    'stop once nothing was in hand and no input arrived for this long (says so on stderr): ms, or an ' +
      'integer and a unit (30s, 5m, 2h, 1d), up to 24.9 days; never (the default): no idle timeout',
  ],
  [
    'shutdown-timeout',
    'time',
    'the most a stop may take (default 30s): receives in flight, running calls (their signal aborts ' +
      'when a fifth of it, at most 3s, is left), last sends and deletes; ms or 30s, 5m, …, up to 24.9 ' +
      'days; never: calls are never aborted',
  ],
  [
    'fail-fast',
    '',
    'exit 1 when an input fails its last attempt (it waits in the dead-letter queue); by default it ' +
      'goes there with its reason and the stage goes on',
  ],
  ['priority', 'level', `first stage: priority level of its outputs (0-${TOP_LEVEL})`],
  ['min-priority', 'level', 'consume only levels >= this'],
  ['max-priority', 'level', 'consume only levels <= this'],
  ['quiet', '', 'no progress line on stderr'],
  [
    'print',
    '',
    'print each output as a JSON line on stdout (default: the last stage only, whose outputs go ' +
      'nowhere else; --no-print: none). The stage never waits for stdout: lines it cannot take at ' +
      'once are dropped, and counted on stderr',
  ],
  [
    'progress-interval',
    'time',
    `time between progress lines when stderr is not a terminal: ms or 30s, 5m, … (default ${DEFAULT_PROGRESS_INTERVAL})`,
  ],
  [
    'verbose',
    '',
    'debug logs (queues, workers, receives, why the stage stops, a summary) and the stack of a failure',
  ],
  ['help', '', 'print this help'],
  ['version', '', 'print the version of sqspipes'],
];

/** The text of `--help`: usage, arguments, flags, stages, exit codes and memory. */
function helpText({ stages, scriptName }: StageCliContext): string {
  const rows = (entries: readonly (readonly [string, string])[]): string[] => {
    const width = Math.max(...entries.map(([left]) => left.length)) + 2;
    return entries.flatMap(([left, right]) =>
      wrap(right, HELP_WIDTH - width - 2).map((line, i) => `  ${(i === 0 ? left : '').padEnd(width)}${line}`),
    );
  };
  return [
    `${scriptName} <stage> [workers] [flags]`,
    '',
    ...wrap(
      'Runs one stage of the pipeline. The last stage prints each output as a JSON line on stdout ' +
        '(--print, --no-print: any stage).',
      HELP_WIDTH,
    ),
    '',
    'Arguments:',
    ...rows([
      ['stage', `one of: ${stages.join(', ')}`],
      ['workers', "concurrent calls (default: the stage's workers)"],
    ]),
    '',
    'Flags:',
    ...rows(
      HELP_FLAGS.map(([flag, value, describe]) => [
        `--${flag}${value === '' ? '' : ` <${value}>`}`,
        describe,
      ]),
    ),
    '',
    ...wrap(`Stages, in pipeline order: ${stages.join(' → ')}`, HELP_WIDTH),
    '',
    ...wrap(
      'Exit codes: 0 stopped gracefully (SIGINT/SIGTERM, --idle-timeout, --limit reached); 1 failure ' +
        '(an input failed with --fail-fast, SQS error); 2 usage error. A second SIGINT/SIGTERM exits ' +
        'at once with 130/143 (what was in hand returns to SQS after its visibility timeout).',
      HELP_WIDTH,
    ),
    '',
    ...wrap(
      `Memory: with NODE_OPTIONS="${STAGE_NODE_OPTIONS}" a stage that runs flat out keeps its RSS ` +
        'flat (about 150 MiB) instead of letting V8 grow its heap (README: Memory).',
      HELP_WIDTH,
    ),
  ].join('\n');
}

/** Columns of `--help`: the text wraps at word boundaries to fit. */
const HELP_WIDTH = 100;

/** `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/** Unknown flags, and value flags without a value, found on the raw line (before `--`). */
function checkFlagNames(argv: readonly string[]): void {
  for (const [i, token] of argv.entries()) {
    if (token === '--') return;
    if (!token.startsWith('-') || /^-\d/.test(token)) continue;
    if (!token.startsWith('--')) throw new UsageError(`Unknown option ${token}`); // no short forms
    const [name = '', value] = token.slice(2).split(/=(.*)/s);
    const bare = name.startsWith('no-') ? name.slice(3) : name;
    if (VALUE_FLAGS.includes(name)) {
      const next = value ?? argv[i + 1];
      if (next === undefined || next === '' || (next.startsWith('-') && !/^-\d/.test(next))) {
        throw new UsageError(`--${name} needs a value`);
      }
    } else if (SWITCHES.includes(bare) && value !== undefined && value !== 'true' && value !== 'false') {
      throw new UsageError(`--${name} takes no value, got ${JSON.stringify(token)}`);
    } else if (!SWITCHES.includes(bare)) {
      throw new UsageError(`Unknown option ${token.split('=')[0]}`);
    }
  }
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
