import { packageVersion } from './version.ts';
import { basename } from 'node:path';
import { ConfigError, describe as describeError } from '../errors.ts';
import type { TaskClient } from '../task-client.ts';
import type { Logger, RunOptions, StageCliDefaults } from '../types.ts';
import { OutputPrinter } from './output-printer.ts';
import { Progress } from './progress.ts';
import { onStopSignals } from './signals.ts';
import { inFlagWords, type ParsedStageCli, parseStageArgs, type StageArgs } from './stage-args.ts';
import { stderrLogger } from './stderr-logger.ts';

export { STAGE_NODE_OPTIONS } from './stage-help.ts';

/**
 * Exit codes of the stage CLI (also in its `--help`). A second SIGINT/SIGTERM exits at once with
 * 130/143 (see signals.ts).
 */
export const EXIT = {
  /** Stopped gracefully: a signal, `--idle-timeout`, `--limit` reached. */
  ok: 0,
  /** The run failed: an input failed with `--fail-fast`, SQS refused or could not be reached. */
  failed: 1,
  /** The command line cannot be run: unknown stage or flag, a bad or missing value. */
  usage: 2,
} as const;

/**
 * `node script.js <stage> [workers] [flags]`: runs one stage; the last stage (or any, with
 * `--print`) prints each output as a JSON line on stdout, never waiting for it (see
 * OutputPrinter); everything else goes to stderr. Resolves with the exit code, also set on the
 * process. `logger` gets the CLI's own records (the summary, at debug): by default the stderr
 * logger, verbose with `--verbose`; TaskClient.main() may pass the client's.
 */
export async function runStageCli(
  client: TaskClient,
  argv: readonly string[],
  defaults: StageCliDefaults,
  logger?: Logger,
): Promise<number> {
  let code = await runStage(client, argv, defaults, logger);
  try {
    await client.close();
  } catch (error) {
    process.stderr.write(`Closing the TaskClient failed: ${describeError(error)}\n`);
    code = EXIT.failed;
  }
  process.exitCode = code;
  return code;
}

async function runStage(
  client: TaskClient,
  argv: readonly string[],
  defaults: StageCliDefaults,
  given: Logger | undefined,
): Promise<number> {
  const scriptName = `node ${basename(process.argv[1] ?? 'script.js')}`;
  let parsed: ParsedStageCli;
  try {
    parsed = parseStageArgs(argv, {
      stages: client.stageNames,
      source: client.sourceStage,
      scriptName,
    });
  } catch (error) {
    return usageError(error);
  }
  if (parsed.kind === 'help') return print(parsed.text);
  if (parsed.kind === 'version') return printVersion();
  const args = parsed.args;
  const controller = new AbortController();
  let run: AsyncGenerator<unknown, void, undefined>;
  try {
    run = client.run(args.stage, runOptions(args, defaults, controller.signal));
  } catch (error) {
    // Options checked against the stage, e.g. a level it does not have.
    return usageError(
      error instanceof ConfigError ? new ConfigError(inFlagWords(error.message, args)) : error,
    );
  }
  const dispose = onStopSignals(controller, (text) => process.stderr.write(`${text}\n`));
  try {
    return await consume(client, run, args, given ?? stderrLogger(args.verbose));
  } finally {
    dispose();
  }
}

/**
 * Consumes `run` until it ends, printing its outputs if asked: 0 when it stopped gracefully, 1
 * when it failed.
 */
async function consume(
  client: TaskClient,
  run: AsyncGenerator<unknown, void, undefined>,
  args: StageArgs,
  logger: Logger,
): Promise<number> {
  const progress = args.quiet
    ? undefined
    : new Progress(client, { stage: args.stage, stream: process.stderr, logInterval: args.progressInterval });
  const started = Date.now();
  const printer = args.print ? new OutputPrinter(process.stdout, (text) => logger.warn({}, text)) : undefined;
  let failure: { error: unknown } | undefined;
  try {
    progress?.start();
    for await (const output of run) printer?.print(output);
  } catch (error) {
    failure = { error };
  }
  progress?.stop();
  if (printer !== undefined && printer.dropped > 0) {
    logger.warn(
      { stage: args.stage, dropped: printer.dropped },
      `${printer.dropped} output lines were not printed: stdout was not read fast enough or was closed`,
    );
  }
  logSummary(client, logger, args.stage, started);
  if (failure === undefined) return EXIT.ok;
  // Last, so that the reason is the last line an operator sees.
  process.stderr.write(`${describeError(failure.error)}${args.verbose ? causeOf(failure.error) : ''}\n`);
  return EXIT.failed;
}

function runOptions(args: StageArgs, defaults: StageCliDefaults, signal: AbortSignal): RunOptions {
  const options: RunOptions = { ...defaults.run?.[args.stage], signal };
  if (args.workers !== undefined) options.workers = args.workers;
  if (args.limit !== undefined) options.limit = args.limit;
  if (args.idleTimeout !== undefined) options.idleTimeout = args.idleTimeout;
  if (args.shutdownTimeout !== undefined) options.shutdownTimeout = args.shutdownTimeout;
  if (args.priority !== undefined) options.priority = args.priority;
  if (args.minPriority !== undefined) options.minPriority = args.minPriority;
  if (args.maxPriority !== undefined) options.maxPriority = args.maxPriority;
  if (args.failFast) options.failFast = true;
  return options;
}

/** The counters of the run, at debug level (`--verbose`). Counts only: no message contents. */
function logSummary(client: TaskClient, logger: Logger, stage: string, started: number): void {
  const { requests, inHand: _inHand, awaiting: _awaiting, ...counts } = client.stats();
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const sqsRequests = Object.values(requests).reduce((sum, n) => sum + n, 0);
  logger.debug({ stage, seconds, ...counts, sqsRequests }, 'summary');
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return EXIT.ok;
}

function usageError(error: unknown): number {
  process.stderr.write(`${describeError(error)} (see --help)\n`);
  return EXIT.usage;
}

function printVersion(): number {
  try {
    return print(packageVersion());
  } catch (error) {
    process.stderr.write(`Cannot tell the version of sqspipes: ${describeError(error)}\n`);
    return EXIT.failed;
  }
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error) || error.cause === undefined) return '';
  const stack = error.cause instanceof Error ? error.cause.stack : undefined;
  return stack === undefined ? '' : `\n${stack}`;
}
