import { MAX_PRIORITIES } from '../../queues/naming.ts';
import { NAME_PATTERN } from '../../validate.ts';
import { type CommandName, commandOf } from './commands.ts';
import { UsageError } from './errors.ts';
import {
  checkBooleans,
  duration,
  integer,
  onlyWith,
  optionalString,
  type Parsed,
  positional,
  quote,
  stageName,
} from './flag-values.ts';
import type { DashboardArgs } from './dashboard/command.ts';
import { dashboardArgs } from './dashboard/options.ts';
import { roleRequest } from './iam-args.ts';
import { checkAccount, checkPartition, parsePipeline, type StageSpec } from './iam-policy.ts';
import type { RoleRequest } from './iam-roles.ts';
import { type LambdaRequest, lambdaRequest } from './lambda-args.ts';
import type { ScalingRequest } from './scaling.ts';
import { scalingRequest } from './scaling-args.ts';
import { sqsTimeout } from './sqs-timeout.ts';
import { BOOLEAN_FLAGS, operatorParser } from './parser.ts';
import {
  payloadBucket,
  type PayloadLocation,
  payloadsRequest,
  type PayloadsRequest,
} from './payload-args.ts';
import { DEFAULT_STALE_AFTER_MS } from '../../replies/reply-queue.ts';
import { packageVersion } from '../version.ts';

/** Options every command takes: where SQS is (and S3, for `payloads`), and how to print. */
export interface ConnectionArgs {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
}

/** Options of the commands on a domain's queues (every command but `payloads`). */
export interface GlobalArgs extends ConnectionArgs {
  readonly domain: string;
}

/** `iam-policy`/`scaling --stages … --account …`: the pipeline to take instead of listing the queues. */
export interface ComputedArns {
  /** The first stage of `--stages` when it is a source (no queues); undefined when it consumes. */
  readonly source: string | undefined;
  /** The stages with queues (every stage of `--stages` but the first). */
  readonly stages: readonly StageSpec[];
  readonly account: string;
  readonly partition: string;
}

/** One parsed command line. */
export type Command =
  | {
      readonly name: 'status';
      readonly watch: boolean;
      readonly interval: number;
      readonly count: number | undefined;
      /** `--payload-bucket`: list the joins waiting there too; undefined: the queues only. */
      readonly payloads: PayloadLocation | undefined;
    }
  | { readonly name: 'purge'; readonly stage: string | undefined }
  | { readonly name: 'destroy'; readonly yes: boolean }
  | {
      readonly name: 'enqueue';
      readonly stage: string;
      /** The `<value>` argument (JSON); undefined for `-` (JSON lines on stdin). */
      readonly value: string | undefined;
      readonly priority: number;
      readonly id: string | undefined;
      /** Group key of every value (`--key`), for a stage that orders its inputs by key. */
      readonly key: string | undefined;
      /** `--timeout`: the whole command's bound, in ms. */
      readonly timeoutMs: number;
      /** `--payload-bucket`: where a body over the threshold is stored; undefined: none is. */
      readonly payloads: PayloadLocation | undefined;
    }
  | {
      readonly name: 'redrive';
      readonly stage: string;
      /** `--timeout`: the bound of each step (finding the queues, each batch of moves), in ms. */
      readonly timeoutMs: number;
    }
  | {
      readonly name: 'peek';
      readonly stage: string;
      readonly dlq: boolean;
      readonly level: number | undefined;
      readonly max: number;
      /** `--payload-bucket`: read stored bodies; undefined: show where they are. */
      readonly payloads: PayloadLocation | undefined;
    }
  | ({ readonly name: 'iam-policy'; readonly computed: ComputedArns | undefined } & RoleRequest)
  | {
      readonly name: 'scaling';
      readonly computed: ComputedArns | undefined;
      readonly scaling: ScalingRequest;
    }
  | ({ readonly name: 'lambda' } & LambdaRequest)
  | {
      readonly name: 'replies';
      /** `--remove-stale`: delete the stale reply queues instead of listing them. */
      readonly removeStale: boolean;
      /** `--stale-after`: a reply queue whose heartbeat is older than this (ms) is stale. */
      readonly staleAfterMs: number;
    }
  | ({
      readonly name: 'dashboard';
      /** `--payload-bucket`: read the stored bodies of dead letters; undefined: show where they are. */
      readonly payloads: PayloadLocation | undefined;
    } & DashboardArgs);

/**
 * A command line: a command on a domain's queues to run, `payloads` (on an S3 bucket, no domain),
 * or text to print (`--help`, `--version`) and exit 0.
 */
export type OperatorArgs =
  | { readonly kind: 'run'; readonly global: GlobalArgs; readonly command: Command }
  | { readonly kind: 'payloads'; readonly global: ConnectionArgs; readonly request: PayloadsRequest }
  | { readonly kind: 'print'; readonly text: string };

/**
 * Parses the operator CLI's command line. Rejects with a UsageError (exit code 2) that names the
 * flag or argument, what it takes and what it got, and points to the command's `--help`.
 */
export async function parseOperatorArgs(argv: readonly string[]): Promise<OperatorArgs> {
  try {
    return await parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const command = commandOf(argv);
    const help = command === undefined ? 'sqspipes --help' : `sqspipes ${command} --help`;
    throw new UsageError(`${error.message} (see ${help})`, { cause: error });
  }
}

async function parse(argv: readonly string[]): Promise<OperatorArgs> {
  checkBooleans(argv, BOOLEAN_FLAGS);
  let printed = '';
  const parsed = (await operatorParser(argv, packageVersion()).parseAsync(
    [...argv],
    {},
    (_error, _argv, output) => {
      printed = output;
    },
  )) as Parsed;
  if (printed !== '') return { kind: 'print', text: printed };
  if (parsed._[0] === 'payloads') {
    domainOf(parsed); // not needed, but checked when given
    return { kind: 'payloads', global: connectionArgs(parsed), request: payloadsRequest(parsed) };
  }
  const domain = domainOf(parsed);
  if (domain === undefined) throw new UsageError("--domain is required: give the pipeline's domain");
  return { kind: 'run', global: { domain, ...connectionArgs(parsed) }, command: command(parsed, argv) };
}

function domainOf(parsed: Parsed): string | undefined {
  const domain = optionalString(parsed, 'domain');
  if (domain !== undefined && !NAME_PATTERN.test(domain)) {
    throw new UsageError(`--domain must be letters, digits, _ and -, got ${quote(domain)}`);
  }
  return domain;
}

function connectionArgs(parsed: Parsed): ConnectionArgs {
  return {
    region: optionalString(parsed, 'region'),
    endpoint: optionalString(parsed, 'endpoint'),
    json: parsed['json'] === true,
    verbose: parsed['verbose'] === true,
  };
}

function command(parsed: Parsed, argv: readonly string[]): Command {
  const [first, extra] = parsed._;
  const name = String(first) as CommandName;
  // yargs takes what follows `--` as positionals without checking them.
  if (extra !== undefined) throw new UsageError(`Unexpected argument ${quote(String(extra))}`);
  switch (name) {
    case 'status': {
      const watch = parsed['watch'] === true;
      onlyWith(parsed, ['interval', 'count'], 'watch', watch);
      const interval = integer(parsed, 'interval', 100, 3_600_000, 'milliseconds') ?? 2000;
      const count = integer(parsed, 'count', 1, Number.MAX_SAFE_INTEGER);
      return { name, watch, interval, count, payloads: payloadBucket(parsed) };
    }
    case 'purge': {
      const given = optionalString(parsed, 'stage');
      return { name, stage: given === undefined ? undefined : stageName('--stage', given) };
    }
    case 'destroy':
      return { name, yes: parsed['yes'] === true };
    case 'enqueue': {
      const value = positional(parsed, 'value');
      // yargs turns a lone `-` into an empty string: look at the raw line to tell them apart.
      const stdin = value === '-' || (value === '' && argv.includes('-'));
      return {
        name,
        stage: stageName('<stage>', positional(parsed, 'stage')),
        value: stdin ? undefined : value,
        priority: integer(parsed, 'priority', 0, MAX_PRIORITIES - 1) ?? 0,
        id: optionalString(parsed, 'id'),
        key: optionalString(parsed, 'key'),
        timeoutMs: sqsTimeout(parsed),
        payloads: payloadBucket(parsed),
      };
    }
    case 'redrive':
      return {
        name,
        stage: stageName('<stage>', positional(parsed, 'stage')),
        timeoutMs: sqsTimeout(parsed),
      };
    case 'peek': {
      const dlq = parsed['dlq'] === true;
      const level = integer(parsed, 'level', 0, MAX_PRIORITIES - 1);
      if (dlq && level !== undefined) throw new UsageError('Give --dlq or --level, not both');
      const stage = stageName('<stage>', positional(parsed, 'stage'));
      const max = integer(parsed, 'max', 1, 10) ?? 10;
      return { name, stage, dlq, level, max, payloads: payloadBucket(parsed) };
    }
    case 'iam-policy':
      return { name, computed: computedArns(parsed), ...roleRequest(parsed) };
    case 'scaling':
      return { name, computed: computedArns(parsed), scaling: scalingRequest(parsed) };
    case 'lambda':
      return { name, ...lambdaRequest(parsed) };
    case 'replies': {
      const staleAfterMs = duration(parsed, 'stale-after', 1000, 30 * 86_400_000) ?? DEFAULT_STALE_AFTER_MS;
      return { name, removeStale: parsed['remove-stale'] === true, staleAfterMs };
    }
    case 'dashboard':
      return { name, ...dashboardArgs(parsed), payloads: payloadBucket(parsed) };
    default:
      throw new UsageError(`Unknown command ${quote(String(name))}`);
  }
}

/** `iam-policy`/`scaling --stages`: the flags that give the pipeline, all checked before SQS is called. */
function computedArns(parsed: Parsed): ComputedArns | undefined {
  const stages = optionalString(parsed, 'stages');
  onlyWith(parsed, ['priorities', 'dlq-stages', 'account', 'partition'], 'stages', stages !== undefined);
  if (stages === undefined) return undefined;
  const priorities = integer(parsed, 'priorities', 1, MAX_PRIORITIES) ?? 1;
  const { source, stages: specs } = parsePipeline(stages, priorities, optionalString(parsed, 'dlq-stages'));
  const account = optionalString(parsed, 'account');
  if (account === undefined) throw new UsageError('--stages needs --account (the 12-digit AWS account id)');
  checkAccount(account);
  const partition = optionalString(parsed, 'partition') ?? 'aws';
  checkPartition(partition);
  return { source, stages: specs, account, partition };
}
