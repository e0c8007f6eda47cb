import { describe, expect, it } from 'vitest';
import { inFlagWords, parseStageArgs, type StageArgs } from '../../src/cli/stage-args.ts';

const STAGES = ['numbers', 'square', 'label'];
const parse = async (...argv: string[]) =>
  Promise.resolve().then(() => parseStageArgs(argv, { stages: STAGES, scriptName: 'node p.ts' }));

async function args(...argv: string[]): Promise<StageArgs> {
  const parsed = await parse(...argv);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.args;
}

async function usageError(...argv: string[]): Promise<string> {
  const error: unknown = await parse(...argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `no error for ${argv.join(' ')}`).toBeInstanceOf(Error);
  expect((error as Error).name).toBe('UsageError');
  return (error as Error).message;
}

describe('stage CLI arguments', () => {
  it('reads the stage, the worker count and every flag', async () => {
    expect(
      await args(
        'square',
        '4',
        '--limit',
        '10',
        '--idle-timeout=2000',
        '--shutdown-timeout',
        '5s',
        '--min-priority',
        '1',
        '--max-priority',
        '2',
        '--fail-fast',
        '--quiet',
        '--verbose',
        '--progress-interval',
        '500',
      ),
    ).toEqual({
      stage: 'square',
      workers: 4,
      limit: 10,
      idleTimeout: 2000,
      shutdownTimeout: 5000,
      priority: undefined,
      minPriority: 1,
      maxPriority: 2,
      failFast: true,
      verbose: true,
      quiet: true,
      print: false,
      progressInterval: 500,
    });
  });

  it('leaves what was not given undefined, and logs progress every 10 s by default', async () => {
    expect(await args('numbers', '--priority', '0')).toEqual({
      stage: 'numbers',
      workers: undefined,
      limit: undefined,
      idleTimeout: undefined,
      shutdownTimeout: undefined,
      priority: 0,
      minPriority: undefined,
      maxPriority: undefined,
      failFast: false,
      verbose: false,
      quiet: false,
      print: false,
      progressInterval: 10_000,
    });
  });

  it('prints outputs for the last stage only (they go nowhere else), unless --print or --no-print says', async () => {
    expect((await args('numbers')).print).toBe(false);
    expect((await args('square')).print).toBe(false);
    expect((await args('label')).print).toBe(true);
    expect((await args('square', '--print')).print).toBe(true);
    expect((await args('label', '--no-print')).print).toBe(false);
    expect((await args('label', '--print=false')).print).toBe(false);
    expect(await usageError('square', '--print=yes')).toBe('--print takes no value, got "--print=yes"');
  });

  it('rejects a numeric flag that is not a positive integer, in flag language', async () => {
    for (const value of ['abc', '0', '-1', '1.5', '1e3']) {
      expect(await usageError('square', '--limit', value)).toBe(
        `--limit must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
  });

  it('reads durations as ms, an integer and a unit, or never where it means something', async () => {
    const got = await args(
      'square',
      '--idle-timeout',
      '5m',
      '--shutdown-timeout=never',
      '--progress-interval=2s',
    );
    expect([got.idleTimeout, got.shutdownTimeout, got.progressInterval]).toEqual([300_000, Infinity, 2000]);
    expect((await args('square', '--idle-timeout', 'never')).idleTimeout).toBe(Infinity);
    expect((await args('square', '--idle-timeout', '0')).idleTimeout).toBe(0);
    expect((await args('square', '--idle-timeout', '2147483647')).idleTimeout).toBe(2 ** 31 - 1);
  });

  it('rejects a duration out of range (past 2^31-1 ms it used to fire at once), in flag language', async () => {
    const units = 'ms (10000) or an integer and a unit (30s, 5m, 2h, 1d)';
    for (const value of ['abc', '-1', '1.5', '1e3', '30d', '2147483648', '5 m']) {
      expect(await usageError('square', '--idle-timeout', value)).toBe(
        `--idle-timeout must be a duration from 0 to 2147483647 ms (about 24.9 days): ${units}, or never, got ${JSON.stringify(value)}`,
      );
    }
    expect(await usageError('square', '--shutdown-timeout', '25d')).toBe(
      `--shutdown-timeout must be a duration from 0 to 2147483647 ms (about 24.9 days): ${units}, or never (running calls are never aborted), got "25d"`,
    );
    for (const value of ['0', 'never']) {
      expect(await usageError('square', '--progress-interval', value)).toBe(
        `--progress-interval must be a duration from 1 to 2147483647 ms (about 24.9 days): ${units}, got ${JSON.stringify(value)}`,
      );
    }
  });

  it('rejects a bad worker count, naming the positional argument', async () => {
    for (const value of ['0', 'many', '1.5', '-5']) {
      expect(await usageError('square', value)).toBe(
        `workers must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
    expect(await usageError('square', '10001')).toBe('workers must be at most 10000, got "10001"');
  });

  it('rejects priority levels that are not levels', async () => {
    expect(await usageError('numbers', '--priority', 'high')).toBe(
      '--priority must be an integer from 0 to 15, got "high"',
    );
    expect(await usageError('square', '--min-priority', '-1')).toBe(
      '--min-priority must be an integer from 0 to 15, got "-1"',
    );
    expect(await usageError('square', '--max-priority', '16')).toBe(
      '--max-priority must be an integer from 0 to 15, got "16"',
    );
    expect(await usageError('square', '--min-priority', '2', '--max-priority', '1')).toBe(
      '--min-priority (2) must not be above --max-priority (1)',
    );
  });

  it('rejects a flag given to a stage it does not apply to', async () => {
    expect(await usageError('square', '--priority', '1')).toBe(
      "--priority applies to the first stage (numbers) only: later stages keep their input's level",
    );
    expect(await usageError('numbers', '--min-priority', '1')).toBe(
      '--min-priority applies to stages with an input queue, not the first stage (numbers)',
    );
  });

  it('treats a first stage that consumes an input (`input: true`) like any stage with one', async () => {
    const context = { stages: STAGES, source: undefined, scriptName: 'node p.ts' };
    const parsed = parseStageArgs(['numbers', '--min-priority', '0'], context);
    expect(parsed.kind === 'run' && parsed.args.minPriority).toBe(0);
    const error: unknown = await Promise.resolve()
      .then(() => parseStageArgs(['numbers', '--priority', '1'], context))
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      "--priority applies to a source stage only, and this pipeline's first stage consumes an input: stages with an input keep their input's level",
    );
  });

  it('rejects unknown flags, missing values, extra arguments and a missing stage', async () => {
    expect(await usageError('square', '--limt', '3')).toBe('Unknown option --limt');
    expect(await usageError('square', '-x')).toBe('Unknown option -x');
    expect(await usageError('square', '-limit', '3')).toBe('Unknown option -limit');
    expect(await usageError('square', '--limit')).toBe('--limit needs a value');
    expect(await usageError('square', '--limit', '--quiet')).toBe('--limit needs a value');
    expect(await usageError('square', '--quiet=yes')).toBe('--quiet takes no value, got "--quiet=yes"');
    expect((await args('square', '--quiet=false')).quiet).toBe(false);
    expect(await usageError('square', '2', '3')).toBe(
      'Unexpected argument "3": node p.ts takes <stage> [workers] and options',
    );
    expect(await usageError()).toBe('Give the stage to run: one of numbers, square, label');
    expect(await usageError('--quiet')).toBe('Give the stage to run: one of numbers, square, label');
    expect(await usageError('nope')).toBe(
      'Unknown stage `nope`: registered stages are `numbers`, `square`, `label`',
    );
  });

  it('takes what follows -- as arguments, never as flags', async () => {
    expect(await args('--', 'square', '3')).toMatchObject({ stage: 'square', workers: 3 });
    expect(await usageError('square', '--', '--limit')).toBe(
      'workers must be a positive integer, got "--limit"',
    );
  });

  it('reads --no-<switch> and --<switch>=true|false', async () => {
    expect((await args('label', '--no-print=true')).print).toBe(false);
    expect((await args('label', '--no-print=false')).print).toBe(true);
    expect((await args('square', '--verbose=true', '--fail-fast=false')).verbose).toBe(true);
    expect((await args('square', '--fail-fast', '--no-fail-fast')).failFast).toBe(false);
  });

  it('takes the last value of a flag given twice, as most CLIs do', async () => {
    expect((await args('square', '--limit', '1', '--limit', '2')).limit).toBe(2);
  });

  it('answers --help with the usage, the stages and the exit codes, and --version as asked', async () => {
    const help = await parse('--help');
    expect(help.kind).toBe('help');
    const text = help.kind === 'help' ? help.text : '';
    expect(text).toContain('node p.ts <stage> [workers]');
    expect(text).toContain('numbers → square → label');
    expect(text).toContain('--version');
    expect(text).toMatch(/Exit codes: 0 .*stopped.*1 .*2\s+usage\s+error/s);
    expect((await parse('square', '--help')).kind).toBe('help');
    expect(await parse('--version')).toEqual({ kind: 'version' });
    expect(await parse('square', '--limit', '1', '--version')).toEqual({ kind: 'version' });
  });

  it("puts run()'s checks against the stage in the words of the flag that was given", async () => {
    const given = await args('square', '--max-priority', '3');
    expect(
      inFlagWords(
        "Expected `maxPriority` of run('square') to be an integer from 0 to 0, got `3` (number)",
        given,
      ),
    ).toBe('--max-priority must be an integer from 0 to 0 for stage `square`, got "3"');
    // Not from the command line (the script's defaults): left as run() said it.
    const fromDefaults = "Expected `limit` of run('square') to be an integer from 1 to 9, got `0` (number)";
    expect(inFlagWords(fromDefaults, given)).toBe(fromDefaults);
    expect(inFlagWords('something else', given)).toBe('something else');
  });
});
