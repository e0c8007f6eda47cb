/**
 * The queues an IAM policy names (pure: no I/O): the pipeline's stages as `--stages` gives them,
 * and the ARNs of their queues (`arn:<partition>:sqs:<region>:<account>:<name>`). What each role
 * may do to them is in iam-roles.ts.
 */
import {
  MAX_PRIORITIES,
  checkQueueNamesFit,
  deadLetterQueueName,
  inputQueueName,
} from '../../queues/naming.ts';
import { NAME_PATTERN } from '../../validate.ts';
import { UsageError } from './errors.ts';
import { quote } from './flag-values.ts';
import { checkJoins } from './iam-joins.ts';

/**
 * The ARN pattern of a domain's reply queues: `arn:<partition>:sqs:<region>:<account>:<domain>-reply-*`.
 * Unchecked: the scheme comes from {@link checkScheme}'s checked flags or from an existing
 * queue's ARN (whose region an emulator may name otherwise, e.g. ElasticMQ's `elasticmq`).
 */
export function replyQueuesArn(scheme: ArnScheme): string {
  return queueArn(scheme, `${scheme.domain}-reply-*`);
}

/** The ARN of the domain's queue `name` (unchecked, see {@link replyQueuesArn}). */
export function queueArn(scheme: ArnScheme, name: string): string {
  return `arn:${scheme.partition}:sqs:${scheme.region}:${scheme.account}:${name}`;
}

/** The partition, region and account of a queue ARN (`arn:<partition>:sqs:<region>:<account>:<name>`). */
export function schemeOfArn(arn: string, domain: string): ArnScheme {
  const [prefix, partition = '', service, region = '', account = ''] = arn.split(':');
  if (prefix !== 'arn' || service !== 'sqs') {
    throw new UsageError(`Expected an SQS queue ARN (arn:<partition>:sqs:…), got ${quote(arn)}`);
  }
  return { partition, region, account, domain };
}

/** A stage of `--stages` that has queues (every stage but a source first stage). */
export interface StageSpec {
  readonly name: string;
  /** Its number of priority levels: one input queue each. */
  readonly priorities: number;
  /**
   * Whether it has a dead-letter queue: sqspipes gives one to every stage with input queues;
   * false only for queues made before that (`--dlq-stages` names fewer).
   */
  readonly deadLetter: boolean;
  /** A join stage (`:join=<split>`): the earlier stage whose branches it gathers; undefined: none. */
  readonly join?: string | undefined;
}

/** A pipeline's stages, as `--stages` gives them or as its queues tell. */
export interface PipelineSpec {
  /**
   * The first stage when it is a source (no queues); undefined when the first stage consumes an
   * input (`input: true`) or when unknown (discovered queues).
   */
  readonly source: string | undefined;
  /** The stages with queues, in pipeline order. */
  readonly stages: readonly StageSpec[];
}

/** The stages with queues of `--stages` (see {@link parsePipeline}). */
export function parseStages(stages: string, defaultPriorities: number, dlqStages?: string): StageSpec[] {
  return [...parsePipeline(stages, defaultPriorities, dlqStages).stages];
}

/**
 * Parses `--stages gen,parse:4,store`: the pipeline's stages in order, as registered, each
 * optionally with `:` and its number of priority levels (else `defaultPriorities`), and a join
 * stage with `:join=<split>` (`gen,split,work,gather:join=split`, `gather:2:join=split`). The first
 * stage given without `:<priorities>` is the source, which has no queues: it is the result's
 * `source`. A first stage given with `:<priorities>` (`parse:1,store`) consumes an input (it was
 * registered with `input: true`): it has queues like the others, and there is no source.
 * `dlqStages` (`--dlq-stages store`) names the stages with a dead-letter queue; undefined: every
 * stage with queues has one. Joins are checked as registration checks them (iam-joins.ts).
 */
export function parsePipeline(stages: string, defaultPriorities: number, dlqStages?: string): PipelineSpec {
  const items = list(stages);
  const parsed = items.map((item) => parseItem(item, defaultPriorities));
  const [first] = parsed;
  if (first === undefined) {
    throw new UsageError(`--stages must list the pipeline's stages in order, got ${quote(stages)}`);
  }
  if (first.join !== undefined) {
    throw new UsageError(
      `--stages: ${quote(first.name)} cannot join ${quote(first.join)}: it is the first stage, and a join gathers the branches opened by the calls of an earlier stage`,
    );
  }
  if (first.count !== undefined) return pipelineOf(undefined, parsed, dlqStages);
  const rest = parsed.slice(1);
  if (rest.length === 0) {
    throw new UsageError(
      `--stages must list the pipeline's stages in order, the first (the source, which has no queues) included: got only ${quote(first.name)} (a first stage registered with \`input: true\` has queues: give it as ${quote(`${first.name}:<priorities>`)})`,
    );
  }
  return pipelineOf(first.name, rest, dlqStages);
}

/** The pipeline of a `source` (or none) and the stages with queues, names checked. */
function pipelineOf(
  source: string | undefined,
  rest: readonly ParsedItem[],
  dlqStages: string | undefined,
): PipelineSpec {
  const names = new Set<string>();
  for (const name of [...(source === undefined ? [] : [source]), ...rest.map((s) => s.name)]) {
    if (names.has(name)) throw new UsageError(`--stages names ${quote(name)} twice`);
    names.add(name);
  }
  const dead = dlqStages === undefined ? undefined : new Set(list(dlqStages));
  for (const name of dead ?? []) {
    if (name === source) {
      throw new UsageError(
        `--dlq-stages names ${quote(name)}, the first stage (the source), which has no dead-letter queue`,
      );
    }
    if (!names.has(name)) throw new UsageError(`--dlq-stages names ${quote(name)}, which is not in --stages`);
  }
  checkJoins([...(source === undefined ? [] : [{ name: source }]), ...rest]);
  return {
    source,
    stages: rest.map(({ name, priorities, join }) => ({
      name,
      priorities,
      deadLetter: dead?.has(name) ?? true,
      ...(join === undefined ? {} : { join }),
    })),
  };
}

/** One stage of `--stages`: `name[:priorities][:join=<split>]`. */
interface ParsedItem {
  readonly name: string;
  /** The priorities as given; undefined: none given. */
  readonly count: string | undefined;
  readonly priorities: number;
  readonly join: string | undefined;
}

function parseItem(item: string, defaultPriorities: number): ParsedItem {
  const [name = '', ...options] = item.split(':');
  const joins = options.filter((o) => o.startsWith('join='));
  const counts = options.filter((o) => !o.startsWith('join='));
  const [count] = counts;
  if (!NAME_PATTERN.test(name) || joins.length > 1 || counts.length > 1) {
    throw new UsageError(
      `--stages must list stage names (letters, digits, _ and -), each optionally with :<priorities> and, for a join stage, :join=<split>, got ${quote(item)}`,
    );
  }
  const join = joins[0]?.slice('join='.length);
  if (join !== undefined && !NAME_PATTERN.test(join)) {
    throw new UsageError(
      `--stages: ${quote(name)} must join the name of an earlier stage (letters, digits, _ and -), got ${quote(item)}`,
    );
  }
  const priorities = count === undefined ? defaultPriorities : Number(count);
  if (!/^\d+$/.test(count ?? '1') || priorities < 1 || priorities > MAX_PRIORITIES) {
    const hint = count?.includes('=') === true ? ' (a join stage is given as :join=<split>)' : '';
    throw new UsageError(
      `--stages: the priorities of ${quote(name)} must be an integer from 1 to ${MAX_PRIORITIES}, got ${quote(count ?? String(priorities))}${hint}`,
    );
  }
  return { name, count, priorities, join };
}

export interface ArnScheme {
  /** `aws`, `aws-cn`, `aws-us-gov`, … */
  readonly partition: string;
  readonly region: string;
  /** 12-digit AWS account id. */
  readonly account: string;
  readonly domain: string;
}

/** The ARNs of a stage's queues: its input queues, level by level, and its dead-letter queue if it has one. */
export function stageQueueArns(
  scheme: ArnScheme,
  stage: StageSpec,
): { readonly inputs: string[]; readonly deadLetter: string | undefined } {
  return {
    inputs: Array.from({ length: stage.priorities }, (_, level) =>
      queueArn(scheme, inputQueueName(scheme.domain, stage.name, level)),
    ),
    deadLetter: stage.deadLetter
      ? queueArn(scheme, deadLetterQueueName(scheme.domain, stage.name))
      : undefined,
  };
}

/**
 * Refuses a scheme of flags (`--account`, `--partition`, `--region`) that AWS would not accept,
 * and stages whose queue names would not fit SQS's 80 characters.
 */
export function checkScheme(scheme: ArnScheme, stages: readonly StageSpec[]): void {
  checkAccount(scheme.account);
  checkPartition(scheme.partition);
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(scheme.region)) {
    throw new UsageError(`--region must be an AWS region such as us-east-1, got ${quote(scheme.region)}`);
  }
  for (const stage of stages) checkQueueNamesFit(scheme.domain, stage.name, stage.priorities);
}

/** Refuses an `--account` that is not a 12-digit AWS account id. */
export function checkAccount(account: string): void {
  if (!/^\d{12}$/.test(account)) {
    throw new UsageError(`--account must be a 12-digit AWS account id, got ${quote(account)}`);
  }
}

/** Refuses a `--partition` that is not an AWS partition's name. */
export function checkPartition(partition: string): void {
  if (!/^aws(-[a-z]+)*$/.test(partition)) {
    throw new UsageError(
      `--partition must be an AWS partition such as aws, aws-cn or aws-us-gov, got ${quote(partition)}`,
    );
  }
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
