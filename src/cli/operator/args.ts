import yargs, { type Argv } from 'yargs';
import { MAX_PRIORITIES } from '../../queues/naming.ts';
import { NAME_PATTERN } from '../../validate.ts';
import { UsageError } from './errors.ts';

/** Options every command takes. */
export interface GlobalArgs {
  readonly domain: string;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
}

/** One parsed command line. */
export type Command =
  | {
      readonly name: 'status';
      readonly watch: boolean;
      readonly interval: number;
      readonly count: number | undefined;
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
    }
  | { readonly name: 'redrive'; readonly stage: string }
  | {
      readonly name: 'peek';
      readonly stage: string;
      readonly dlq: boolean;
      readonly level: number | undefined;
      readonly max: number;
    }
  | {
      readonly name: 'iam-policy';
      readonly stages: string | undefined;
      readonly priorities: number;
      readonly dlqStages: string | undefined;
      readonly account: string | undefined;
      readonly partition: string | undefined;
    };

export interface OperatorArgs {
  readonly global: GlobalArgs;
  readonly command: Command;
}

type Parsed = Record<string, unknown> & { _: (string | number)[] };

const PEEK_LIMITS = `Peek receives with a visibility timeout of 0, so the messages stay available. Its limits:
- on FIFO queues a receive locks the message's group until its visibility timeout expires; with 0 that is at once, so workers are not held up, but a worker receiving at the same moment can still get the same messages;
- at most 10 messages, one receive per queue; on FIFO queues SQS returns messages of few message groups, so this is a sample, not a listing;
- each peek adds 1 to the receive count of every message it shows. That uses up none of a stage's attempts (sqspipes counts them itself); the receive count matters only to the input queues' redrive policy, SQS's safety net for inputs whose process died, which moves a message to the stage's dead-letter queue once it was received more than retries + 10 times (its maxReceiveCount), peeks included: only a message peeked that often goes there.`;

/**
 * Parses the operator CLI's command line. Resolves undefined when help was printed; rejects with
 * a UsageError (exit code 2) when the line is wrong.
 */
export async function parseOperatorArgs(argv: readonly string[]): Promise<OperatorArgs | undefined> {
  let helped = false;
  const parsed = (await build(yargs([...argv])).parseAsync([...argv], {}, (_error, _argv, output) => {
    if (output !== '') {
      helped = true;
      process.stdout.write(`${output}\n`);
    }
  })) as Parsed;
  if (helped) return undefined;
  return { global: globalArgs(parsed), command: command(parsed, argv) };
}

function build(y: Argv): Argv {
  return y
    .scriptName('sqspipes')
    .usage(
      "$0 <command> --domain <domain> [options]\n\nOperates the SQS FIFO queues of one sqspipes pipeline (its domain), talking to SQS only. A domain's queues are found by their sqspipes:domain tag, never by name prefix: domain `app` never touches `app2`'s queues.",
    )
    .option('domain', {
      type: 'string',
      global: true,
      demandOption: true,
      describe: "the pipeline's domain (prefix of its queue names)",
    })
    .option('region', {
      type: 'string',
      global: true,
      describe: "AWS region (default: the SDK's: AWS_REGION, profile; us-east-1 with an endpoint)",
    })
    .option('endpoint', {
      type: 'string',
      global: true,
      describe: "SQS endpoint URL (default: the SDK's: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL)",
    })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'print JSON instead of text' })
    .option('verbose', {
      type: 'boolean',
      global: true,
      default: false,
      describe: 'print the stack of a failure',
    })
    .command('status', 'show every queue of the domain with its approximate counts', (c) =>
      c
        .option('watch', {
          type: 'boolean',
          default: false,
          describe: 'refresh until Ctrl-C, with rates (visible messages per second)',
        })
        .option('interval', {
          type: 'string',
          describe: 'milliseconds between refreshes with --watch (default 2000)',
        })
        .option('count', { type: 'string', describe: 'with --watch: stop after this many refreshes' })
        .epilogue(
          "Columns: stage (pipeline order), priority level or dlq, visible, in flight, delayed (SQS's approximate counts, which lag by up to a minute on AWS), oldest message age (n/a: SQS exposes it only as the CloudWatch metric ApproximateAgeOfOldestMessage), queue name. With --watch on a terminal the table is redrawn in place; otherwise a new table (with --json, one JSON array per line) is printed per refresh.",
        ),
    )
    .command('purge', "delete every message of the domain's queues (inputs and dead-letter queues)", (c) =>
      c
        .option('stage', { type: 'string', describe: "only this stage's queues" })
        .epilogue(
          'SQS allows one purge per queue every 60 seconds, and may take up to 60 seconds to complete one.',
        ),
    )
    .command('destroy', 'delete every queue of the domain', (c) =>
      c
        .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation' })
        .epilogue(
          'Without --yes it asks on the terminal, and refuses (exit code 2) when stdin is not a terminal. SQS forbids creating a queue of the same name for 60 seconds after deleting it.',
        ),
    )
    .command('enqueue <stage> <value>', "send values into a stage's input queue", (c) =>
      c
        .positional('stage', { type: 'string', describe: 'the stage whose input receives the values' })
        .positional('value', {
          type: 'string',
          describe: 'one JSON value, or - to read JSON lines from stdin',
        })
        .option('priority', { type: 'string', describe: 'priority level (default 0)' })
        .option('id', {
          type: 'string',
          describe:
            'idempotency key: the same key within 5 minutes is dropped by SQS (stdin line n uses <id>#<n>)',
        })
        .option('key', {
          type: 'string',
          describe:
            'group key of the values, for a stage with a `group` option: what its group function returns for them (required there)',
        })
        .epilogue(
          "Sends each value as a sqspipes envelope to <domain>-<stage>-p<priority>.fifo, as TaskClient.enqueue() does. The queue must exist: this CLI does not know the pipeline's queue attributes, so it never creates queues (run the pipeline once). With -, every non-empty line of stdin is one JSON value; all lines are checked before anything is sent, so a bad line (named in the error) sends nothing.\n\nA stage with a `group` option processes the inputs of one key one at a time, in order. This CLI cannot call the group function, so give the key with --key: every value goes to that key's message group, after the key's earlier inputs, and the values are sent one after another, in order. It refuses to enqueue into such a stage without --key (queues created before sqspipes tagged keyed stages cannot tell: then a note asks for --key).",
        ),
    )
    .command('redrive <stage>', "move the stage's dead-letter messages back to its input queues", (c) =>
      c
        .positional('stage', { type: 'string' })
        .epilogue(
          "Every stage but the first has a dead-letter queue (the first has no queues): redriving the first is a usage error. Moves the messages that were in the dead-letter queue when it started: one that arrives meanwhile (a redriven input that fails again) stays for the next redrive. Each goes back to the priority level it was sent at (capped at the stage's highest existing level), with a new deduplication id. Prints how many were moved.",
        ),
    )
    .command('peek <stage>', "show messages of a stage's queues without consuming them", (c) =>
      c
        .positional('stage', { type: 'string' })
        .option('dlq', { type: 'boolean', default: false, describe: "look at the stage's dead-letter queue" })
        .option('level', {
          type: 'string',
          describe: 'look at this priority level only (default: every level, highest first)',
        })
        .option('max', { type: 'string', describe: 'at most this many messages, 1 to 10 (default 10)' })
        .epilogue(PEEK_LIMITS),
    )
    .command('iam-policy', "print the least-privilege IAM policy JSON for the domain's queues", (c) =>
      c
        .option('stages', {
          type: 'string',
          describe:
            'compute the ARNs for these stages instead of listing existing queues: name[:priorities],… (the stages with input queues: every stage but the first)',
        })
        .option('priorities', {
          type: 'string',
          describe: 'with --stages: priority levels of a stage given without :<n> (default 1)',
        })
        .option('dlq-stages', {
          type: 'string',
          describe:
            'with --stages: the stages that have a dead-letter queue (default: all of --stages, as sqspipes gives one to every stage but the first; name fewer only for queues made before that)',
        })
        .option('account', { type: 'string', describe: 'with --stages: the 12-digit AWS account id' })
        .option('partition', { type: 'string', describe: 'with --stages: the AWS partition (default aws)' })
        .epilogue(
          "By default the policy names exactly the domain's existing queues (their QueueArn attributes). With --stages it computes arn:<partition>:sqs:<region>:<account>:<domain>-<stage>-p<level>.fifo (and <domain>-<stage>-dlq.fifo for each stage, or for --dlq-stages only) without calling SQS, for queues not created yet. Actions on those ARNs: CreateQueue, TagQueue, GetQueueUrl, GetQueueAttributes, ListQueueTags, SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility, PurgeQueue, DeleteQueue; plus ListQueues on * (it has no queue resource).",
        ),
    )
    .demandCommand(1, 'Give a command (see --help)')
    .recommendCommands()
    .epilogue(
      "Exit codes: 0 done; 1 runtime failure (SQS error, missing queue, not confirmed); 2 usage error. stdout carries only the command's output; notes and errors go to stderr.",
    )
    .parserConfiguration({ 'parse-positional-numbers': false })
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      throw error ?? new UsageError(`${message} (see --help)`);
    })
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
}

function globalArgs(parsed: Parsed): GlobalArgs {
  const domain = optionalString(parsed, 'domain') ?? '';
  if (!NAME_PATTERN.test(domain)) {
    throw new UsageError(`Expected --domain to be letters, digits, _ and -, got \`${domain}\``);
  }
  return {
    domain,
    region: optionalString(parsed, 'region'),
    endpoint: optionalString(parsed, 'endpoint'),
    json: parsed['json'] === true,
    verbose: parsed['verbose'] === true,
  };
}

function command(parsed: Parsed, argv: readonly string[]): Command {
  const name = String(parsed._[0]);
  const stage = () => stageName(optionalString(parsed, 'stage') ?? '');
  switch (name) {
    case 'status': {
      const watch = parsed['watch'] === true;
      const interval = integer(parsed, 'interval', 100, 3_600_000) ?? 2000;
      const count = integer(parsed, 'count', 1, Number.MAX_SAFE_INTEGER);
      if (!watch && (parsed['interval'] !== undefined || count !== undefined)) {
        throw new UsageError('--interval and --count apply only with --watch');
      }
      return { name, watch, interval, count };
    }
    case 'purge': {
      const given = optionalString(parsed, 'stage');
      return { name, stage: given === undefined ? undefined : stageName(given) };
    }
    case 'destroy':
      return { name, yes: parsed['yes'] === true };
    case 'enqueue': {
      const value = optionalString(parsed, 'value') ?? '';
      // yargs turns a lone `-` into an empty string: look at the raw line to tell them apart.
      const stdin = value === '-' || (value === '' && argv.includes('-'));
      return {
        name,
        stage: stage(),
        value: stdin ? undefined : value,
        priority: integer(parsed, 'priority', 0, MAX_PRIORITIES - 1) ?? 0,
        id: optionalString(parsed, 'id'),
        key: groupKey(parsed),
      };
    }
    case 'redrive':
      return { name, stage: stage() };
    case 'peek': {
      const dlq = parsed['dlq'] === true;
      const level = integer(parsed, 'level', 0, MAX_PRIORITIES - 1);
      if (dlq && level !== undefined) throw new UsageError('Give --dlq or --level, not both');
      return { name, stage: stage(), dlq, level, max: integer(parsed, 'max', 1, 10) ?? 10 };
    }
    case 'iam-policy':
      return {
        name,
        stages: optionalString(parsed, 'stages'),
        priorities: integer(parsed, 'priorities', 1, MAX_PRIORITIES) ?? 1,
        dlqStages: optionalString(parsed, 'dlq-stages'),
        account: optionalString(parsed, 'account'),
        partition: optionalString(parsed, 'partition'),
      };
    default:
      throw new UsageError(`Unknown command \`${name}\` (see --help)`);
  }
}

function stageName(value: string): string {
  if (!NAME_PATTERN.test(value)) {
    throw new UsageError(`Expected a stage name (letters, digits, _ and -), got \`${value}\``);
  }
  return value;
}

function groupKey(parsed: Parsed): string | undefined {
  const key = optionalString(parsed, 'key');
  if (key === '') throw new UsageError('Expected --key to be a non-empty string, got an empty one');
  return key;
}

function optionalString(parsed: Parsed, key: string): string | undefined {
  const value = parsed[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UsageError(`Give --${key} once, with one value`);
}

function integer(parsed: Parsed, key: string, min: number, max: number): number | undefined {
  const text = optionalString(parsed, key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`Expected --${key} to be an integer ${range}, got \`${text}\``);
  }
  return value;
}
