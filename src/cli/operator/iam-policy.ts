/**
 * The least-privilege IAM policy of a domain's queues (pure: no I/O). One statement grants what
 * sqspipes does to its own queues, on exactly their ARNs; another what senders and stage workers
 * do to the domain's reply queues, whose names are random (`<domain>-reply-*`); `sqs:ListQueues`
 * has no queue resource, so it gets a statement on `*` (the operator CLI lists queues to find a
 * domain's, and senders to clean up stale reply queues).
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

/**
 * Every SQS action sqspipes and its operator CLI use on a domain's queues. CreateQueue with tags
 * needs TagQueue; SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch are
 * authorized by their single-message actions.
 */
export const QUEUE_ACTIONS = [
  'sqs:CreateQueue',
  'sqs:TagQueue',
  'sqs:GetQueueUrl',
  'sqs:GetQueueAttributes',
  'sqs:ListQueueTags',
  'sqs:SendMessage',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:PurgeQueue',
  'sqs:DeleteQueue',
] as const;

/**
 * What is done to a domain's reply queues: stage workers reply (SendMessage, GetQueueUrl); a
 * sender creates its own (CreateQueue with tags, TagQueue for its heartbeat), receives from it and
 * deletes it, and removes the stale ones of others (ListQueueTags, GetQueueAttributes, DeleteQueue).
 */
export const REPLY_QUEUE_ACTIONS = [
  'sqs:SendMessage',
  'sqs:GetQueueUrl',
  'sqs:CreateQueue',
  'sqs:TagQueue',
  'sqs:ListQueueTags',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:DeleteQueue',
  'sqs:GetQueueAttributes',
] as const;

export interface IamStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
}

export interface IamPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly IamStatement[];
}

/**
 * The policy granting {@link QUEUE_ACTIONS} on exactly `arns`, {@link REPLY_QUEUE_ACTIONS} on
 * `replyArn` (the domain's reply queues, see {@link replyQueuesArn}) when given, and
 * `sqs:ListQueues`.
 */
export function iamPolicy(arns: readonly string[], replyArn?: string): IamPolicy {
  if (arns.length === 0) throw new UsageError('An IAM policy needs at least one queue ARN');
  const replies: IamStatement[] =
    replyArn === undefined
      ? []
      : [
          {
            Sid: 'SqspipesReplyQueues',
            Effect: 'Allow',
            Action: [...REPLY_QUEUE_ACTIONS],
            Resource: replyArn,
          },
        ];
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'SqspipesDomainQueues', Effect: 'Allow', Action: [...QUEUE_ACTIONS], Resource: [...arns] },
      { Sid: 'SqspipesListQueues', Effect: 'Allow', Action: ['sqs:ListQueues'], Resource: '*' },
      ...replies,
    ],
  };
}

/**
 * The ARN pattern of a domain's reply queues: `arn:<partition>:sqs:<region>:<account>:<domain>-reply-*`.
 * Unchecked: the scheme comes from {@link computeQueueArns}' checked flags or from an existing
 * queue's ARN (whose region an emulator may name otherwise, e.g. ElasticMQ's `elasticmq`).
 */
export function replyQueuesArn(scheme: ArnScheme): string {
  return `arn:${scheme.partition}:sqs:${scheme.region}:${scheme.account}:${scheme.domain}-reply-*`;
}

/** The partition, region and account of a queue ARN (`arn:<partition>:sqs:<region>:<account>:<name>`). */
export function schemeOfArn(arn: string, domain: string): ArnScheme {
  const [prefix, partition = '', service, region = '', account = ''] = arn.split(':');
  if (prefix !== 'arn' || service !== 'sqs') {
    throw new UsageError(`Expected an SQS queue ARN (arn:<partition>:sqs:…), got ${quote(arn)}`);
  }
  return { partition, region, account, domain };
}

/** A stage of `--stages` that has queues (every stage but the first, the source). */
export interface StageSpec {
  readonly name: string;
  /** Its number of priority levels: one input queue each. */
  readonly priorities: number;
  /**
   * Whether it has a dead-letter queue: sqspipes gives one to every stage with input queues;
   * false only for queues made before that (`--dlq-stages` names fewer).
   */
  readonly deadLetter: boolean;
}

/**
 * Parses `--stages gen,parse:4,store`: the pipeline's stages in order, as registered, each
 * optionally with `:` and its number of priority levels (else `defaultPriorities`). The first
 * stage is the source, which has no queues: it is left out of the result, and takes no
 * `:<priorities>`. `dlqStages` (`--dlq-stages store`) names the stages with a dead-letter queue;
 * undefined: every stage with queues has one.
 */
export function parseStages(stages: string, defaultPriorities: number, dlqStages?: string): StageSpec[] {
  const items = list(stages);
  const [source, ...rest] = items.map((item) => parseItem(item, defaultPriorities));
  if (source === undefined) {
    throw new UsageError(`--stages must list the pipeline's stages in order, got ${quote(stages)}`);
  }
  if (source.count !== undefined) {
    throw new UsageError(
      `--stages: the first stage ${quote(source.name)} is the source, which has no queues: give it without :<priorities>`,
    );
  }
  if (rest.length === 0) {
    throw new UsageError(
      `--stages must list the pipeline's stages in order, the first (the source, which has no queues) included: got only ${quote(source.name)}`,
    );
  }
  const names = new Set<string>();
  for (const { name } of [source, ...rest]) {
    if (names.has(name)) throw new UsageError(`--stages names ${quote(name)} twice`);
    names.add(name);
  }
  const dead = dlqStages === undefined ? undefined : new Set(list(dlqStages));
  for (const name of dead ?? []) {
    if (name === source.name) {
      throw new UsageError(
        `--dlq-stages names ${quote(name)}, the first stage (the source), which has no dead-letter queue`,
      );
    }
    if (!names.has(name)) throw new UsageError(`--dlq-stages names ${quote(name)}, which is not in --stages`);
  }
  return rest.map(({ name, priorities }) => ({ name, priorities, deadLetter: dead?.has(name) ?? true }));
}

function parseItem(
  item: string,
  defaultPriorities: number,
): { name: string; count: string | undefined; priorities: number } {
  const [name = '', count, ...extra] = item.split(':');
  if (!NAME_PATTERN.test(name) || extra.length > 0) {
    throw new UsageError(
      `--stages must list stage names (letters, digits, _ and -), each optionally with :<priorities>, got ${quote(item)}`,
    );
  }
  const priorities = count === undefined ? defaultPriorities : Number(count);
  if (!/^\d+$/.test(count ?? '1') || priorities < 1 || priorities > MAX_PRIORITIES) {
    throw new UsageError(
      `--stages: the priorities of ${quote(name)} must be an integer from 1 to ${MAX_PRIORITIES}, got ${quote(count ?? String(priorities))}`,
    );
  }
  return { name, count, priorities };
}

export interface ArnScheme {
  /** `aws`, `aws-cn`, `aws-us-gov`, … */
  readonly partition: string;
  readonly region: string;
  /** 12-digit AWS account id. */
  readonly account: string;
  readonly domain: string;
}

/**
 * The ARNs of a domain's queues computed from the naming scheme
 * (`arn:<partition>:sqs:<region>:<account>:<domain>-<stage>-p<level>.fifo`, and `-dlq.fifo`).
 */
export function computeQueueArns(scheme: ArnScheme, stages: readonly StageSpec[]): string[] {
  checkScheme(scheme);
  const arn = (name: string) => `arn:${scheme.partition}:sqs:${scheme.region}:${scheme.account}:${name}`;
  return stages.flatMap((stage) => {
    checkQueueNamesFit(scheme.domain, stage.name, stage.priorities);
    return [
      ...Array.from({ length: stage.priorities }, (_, level) =>
        arn(inputQueueName(scheme.domain, stage.name, level)),
      ),
      ...(stage.deadLetter ? [arn(deadLetterQueueName(scheme.domain, stage.name))] : []),
    ];
  });
}

function checkScheme(scheme: ArnScheme): void {
  checkAccount(scheme.account);
  checkPartition(scheme.partition);
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(scheme.region)) {
    throw new UsageError(`--region must be an AWS region such as us-east-1, got ${quote(scheme.region)}`);
  }
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
