import { basename } from 'node:path';
import yargs from 'yargs';
import { describe as describeError, SqspipesError } from '../errors.ts';
import type { TaskClient } from '../task-client.ts';
import type { RunOptions, StageCliDefaults } from '../types.ts';
import { Progress } from './progress.ts';
import { onStopSignals } from './signals.ts';

/** Exit codes of the stage CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Node options recommended for stage processes (README: Deployment, Memory; the benchmark's soak). */
export const STAGE_NODE_OPTIONS = '--max-semi-space-size=16 --max-old-space-size=1024';

interface StageArgs {
  stage: string;
  workers: number | undefined;
  limit: number | undefined;
  idleTimeout: number | undefined;
  priority: number | undefined;
  minPriority: number | undefined;
  maxPriority: number | undefined;
  failFast: boolean;
  verbose: boolean;
  quiet: boolean;
  progressInterval: number;
}

/**
 * `node script.js <stage> [workers]`: runs one stage, printing each output as a JSON line on
 * stdout (everything else goes to stderr). Resolves with the exit code, also set on the process.
 */
export async function runStageCli(
  client: TaskClient,
  argv: readonly string[],
  defaults: StageCliDefaults,
): Promise<number> {
  const code = await runStage(client, argv, defaults);
  process.exitCode = code;
  await client.close();
  return code;
}

async function runStage(
  client: TaskClient,
  argv: readonly string[],
  defaults: StageCliDefaults,
): Promise<number> {
  let args: StageArgs | undefined;
  try {
    args = await parse(client, argv);
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return EXIT.usage;
  }
  if (args === undefined) return EXIT.ok; // --help
  const controller = new AbortController();
  let progress: Progress | undefined;
  const dispose = onStopSignals(controller, (text) => process.stderr.write(`${text}\n`));
  try {
    const options: RunOptions = { ...defaults.run?.[args.stage], signal: controller.signal };
    if (args.workers !== undefined) options.workers = args.workers;
    if (args.limit !== undefined) options.limit = args.limit;
    if (args.idleTimeout !== undefined) options.idleTimeout = args.idleTimeout;
    if (args.priority !== undefined) options.priority = args.priority;
    if (args.minPriority !== undefined) options.minPriority = args.minPriority;
    if (args.maxPriority !== undefined) options.maxPriority = args.maxPriority;
    if (args.failFast) options.failFast = true;
    const run = client.run(args.stage, options);
    progress = args.quiet
      ? undefined
      : new Progress(client, {
          stage: args.stage,
          stream: process.stderr,
          logInterval: args.progressInterval,
        });
    progress?.start();
    for await (const output of run) {
      await writeLine(`${JSON.stringify(output) ?? 'null'}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    const usage = error instanceof SqspipesError && ['ConfigError', 'UnknownStageError'].includes(error.name);
    process.stderr.write(`${describeError(error)}${args.verbose ? causeOf(error) : ''}\n`);
    return usage ? EXIT.usage : EXIT.failed;
  } finally {
    progress?.stop();
    dispose();
  }
}

async function parse(client: TaskClient, argv: readonly string[]): Promise<StageArgs | undefined> {
  const stages = client.stageNames;
  let helped = false;
  const parsed = await yargs([...argv])
    .scriptName(`node ${basename(process.argv[1] ?? 'script.js')}`)
    .usage(
      '$0 <stage> [workers]\n\nRuns one stage of the pipeline; prints each output as a JSON line on stdout.',
    )
    .command('$0 <stage> [workers]', false)
    .positional('stage', { type: 'string', describe: `one of: ${stages.join(', ')}` })
    .positional('workers', {
      type: 'number',
      describe: "concurrent calls (default: the stage's workers)",
    })
    .option('limit', {
      type: 'number',
      describe: 'stop after this many inputs (first stage: calls)',
    })
    .option('idle-timeout', {
      type: 'number',
      describe: 'stop when nothing was in hand and no input arrived for this many ms',
    })
    .option('fail-fast', {
      type: 'boolean',
      describe:
        'exit 1 when an input fails its last attempt (it waits in the dead-letter queue); ' +
        'by default it goes there with its reason and the stage goes on',
    })
    .option('priority', { type: 'number', describe: 'first stage: priority level of its outputs' })
    .option('min-priority', { type: 'number', describe: 'consume only levels >= this' })
    .option('max-priority', { type: 'number', describe: 'consume only levels <= this' })
    .option('quiet', { type: 'boolean', describe: 'no progress line on stderr' })
    .option('progress-interval', {
      type: 'number',
      default: 10_000,
      describe: 'ms between progress lines when stderr is not a terminal',
    })
    .option('verbose', { type: 'boolean', describe: 'log more, and print the stack of a failure' })
    .epilogue(
      `Stages, in pipeline order: ${stages.join(' → ')}\n\n` +
        `Memory: with NODE_OPTIONS="${STAGE_NODE_OPTIONS}" a stage that runs flat out keeps its ` +
        'RSS flat (about 150 MiB) instead of letting V8 grow its heap (README: Memory).',
    )
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      throw error ?? new Error(`${message} (see --help)`);
    })
    .help()
    .version(false)
    .parseAsync([...argv], {}, (_err, _argv, output) => {
      if (output !== '') {
        helped = true;
        process.stdout.write(`${output}\n`);
      }
    });
  if (helped) return undefined;
  const workers = parsed['workers'];
  if (workers !== undefined && (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1)) {
    throw new Error(`Expected workers to be a positive integer, got \`${String(argv[1])}\``);
  }
  return {
    stage: String(parsed['stage']),
    workers,
    limit: parsed['limit'],
    idleTimeout: parsed['idle-timeout'],
    priority: parsed['priority'],
    minPriority: parsed['min-priority'],
    maxPriority: parsed['max-priority'],
    failFast: parsed['fail-fast'] === true,
    verbose: parsed['verbose'] === true,
    quiet: parsed['quiet'] === true,
    progressInterval: parsed['progress-interval'],
  };
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error) || error.cause === undefined) return '';
  const stack = error.cause instanceof Error ? error.cause.stack : undefined;
  return stack === undefined ? '' : `\n${stack}`;
}

function writeLine(line: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(line)) resolve();
    else process.stdout.once('drain', resolve);
  });
}
