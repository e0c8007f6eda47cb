/**
 * The stage CLI's flags, in one table (what reads the command line takes their names from it),
 * and the text of its `--help`.
 */
import { MAX_PRIORITIES } from '../queues/naming.ts';

/** Node options recommended for stage processes (README: Deployment, Memory; the benchmark's soak). */
export const STAGE_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=1024';

/** Time between progress lines when stderr is not a terminal, unless `--progress-interval` says. */
export const DEFAULT_PROGRESS_INTERVAL = 10_000;

/** The highest priority level. */
export const TOP_LEVEL = MAX_PRIORITIES - 1;

/** A flag: its name (`--name`), its value's name in the help ('' for a switch), what it does. */
export interface StageFlag {
  readonly name: string;
  readonly value: string;
  readonly describe: string;
}

/** Every flag of the stage CLI, in the order `--help` lists them. */
export const STAGE_FLAGS: readonly StageFlag[] = [
  {
    name: 'limit',
    value: 'n',
    describe: 'stop after this many inputs (first stage: calls)',
  },
  {
    name: 'idle-timeout',
    value: 'time',
    describe:
      'stop once nothing was in hand and no input arrived for this long (says so on stderr): ms, or an ' +
      'integer and a unit (30s, 5m, 2h, 1d), up to 24.9 days; never (the default): no idle timeout',
  },
  {
    name: 'shutdown-timeout',
    value: 'time',
    describe:
      'the most a stop may take (default 30s): receives in flight, running calls (their signal aborts ' +
      'when a fifth of it, at most 3s, is left), last sends and deletes; ms or 30s, 5m, …, up to 24.9 ' +
      'days; never: calls are never aborted',
  },
  {
    name: 'fail-fast',
    value: '',
    describe:
      'exit 1 when an input fails its last attempt (it waits in the dead-letter queue); by default it ' +
      'goes there with its reason and the stage goes on',
  },
  {
    name: 'priority',
    value: 'level',
    describe: `first stage: priority level of its outputs (0-${TOP_LEVEL})`,
  },
  {
    name: 'min-priority',
    value: 'level',
    describe: 'consume only levels >= this',
  },
  {
    name: 'max-priority',
    value: 'level',
    describe: 'consume only levels <= this',
  },
  {
    name: 'quiet',
    value: '',
    describe: 'no progress line on stderr',
  },
  {
    name: 'print',
    value: '',
    describe:
      'print each output as a JSON line on stdout (default: the last stage only, whose outputs go ' +
      'nowhere else; --no-print: none). The stage never waits for stdout: lines it cannot take at ' +
      'once are dropped, and counted on stderr',
  },
  {
    name: 'progress-interval',
    value: 'time',
    describe: `time between progress lines when stderr is not a terminal: ms or 30s, 5m, … (default ${DEFAULT_PROGRESS_INTERVAL})`,
  },
  {
    name: 'verbose',
    value: '',
    describe:
      'debug logs (queues, workers, receives, why the stage stops, a summary) and the stack of a failure',
  },
  {
    name: 'help',
    value: '',
    describe: 'print this help',
  },
  {
    name: 'version',
    value: '',
    describe: 'print the version of sqspipes',
  },
];

/**
 * The stage CLI's `--help`: usage, arguments, flags, stages (`stages`, in pipeline order), exit
 * codes and memory. `scriptName`: how the usage names the command, e.g. `node pipeline.js`.
 */
export function stageHelp({ stages, scriptName }: { stages: readonly string[]; scriptName: string }): string {
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
      STAGE_FLAGS.map(({ name, value, describe }) => [
        `--${name}${value === '' ? '' : ` <${value}>`}`,
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
