/**
 * The least-privilege IAM policy of a domain's queues (pure: no I/O). One statement grants what
 * sqspipes does to its own queues, on exactly their ARNs; `sqs:ListQueues` has no queue resource,
 * so it gets a second statement on `*` (the operator CLI lists queues to find a domain's).
 */
import {
  MAX_PRIORITIES,
  checkQueueNamesFit,
  deadLetterQueueName,
  inputQueueName,
} from '../../queues/naming.ts';
import { NAME_PATTERN } from '../../validate.ts';
import { UsageError } from './errors.ts';

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

/** The policy granting {@link QUEUE_ACTIONS} on exactly `arns`, and `sqs:ListQueues`. */
export function iamPolicy(arns: readonly string[]): IamPolicy {
  if (arns.length === 0) throw new UsageError('An IAM policy needs at least one queue ARN');
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'SqspipesDomainQueues', Effect: 'Allow', Action: [...QUEUE_ACTIONS], Resource: [...arns] },
      { Sid: 'SqspipesListQueues', Effect: 'Allow', Action: ['sqs:ListQueues'], Resource: '*' },
    ],
  };
}

/** A stage of `--stages`: its name and number of priority levels. */
export interface StageSpec {
  readonly name: string;
  readonly priorities: number;
  /**
   * Whether it has a dead-letter queue: sqspipes gives one to every stage with input queues (all
   * but the first); false only for queues made before that.
   */
  readonly deadLetter: boolean;
}

/**
 * Parses `--stages a:2,b` (name, then optionally `:` and its number of priority levels, else
 * `defaultPriorities`) and `--dlq-stages b` (the stages that have a dead-letter queue; without
 * `--dlq-stages` the operator CLI gives every stage one, see {@link StageSpec.deadLetter}).
 */
export function parseStages(stages: string, defaultPriorities: number, dlqStages = ''): StageSpec[] {
  const dead = new Set(list(dlqStages));
  const specs = list(stages).map((item): StageSpec => {
    const [name = '', count, ...rest] = item.split(':');
    if (!NAME_PATTERN.test(name) || rest.length > 0) {
      throw new UsageError(
        `Expected each of --stages to be a stage name (letters, digits, _ and -), optionally with :<priorities>, got \`${item}\``,
      );
    }
    const priorities = count === undefined ? defaultPriorities : Number(count);
    if (
      !/^\d+$/.test(count ?? '1') ||
      !Number.isInteger(priorities) ||
      priorities < 1 ||
      priorities > MAX_PRIORITIES
    ) {
      throw new UsageError(
        `Expected the priorities of stage \`${name}\` to be an integer from 1 to ${MAX_PRIORITIES}, got \`${count ?? priorities}\``,
      );
    }
    return { name, priorities, deadLetter: dead.has(name) };
  });
  if (specs.length === 0) throw new UsageError('Expected --stages to name at least one stage');
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) throw new UsageError(`Stage \`${spec.name}\` is named twice in --stages`);
    names.add(spec.name);
  }
  for (const name of dead) {
    if (!names.has(name)) throw new UsageError(`--dlq-stages names \`${name}\`, which is not in --stages`);
  }
  return specs;
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
  if (!/^\d{12}$/.test(scheme.account)) {
    throw new UsageError(`Expected --account to be a 12-digit AWS account id, got \`${scheme.account}\``);
  }
  if (!/^aws(-[a-z]+)*$/.test(scheme.partition)) {
    throw new UsageError(
      `Expected --partition to be an AWS partition such as aws, aws-cn or aws-us-gov, got \`${scheme.partition}\``,
    );
  }
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(scheme.region)) {
    throw new UsageError(`Expected --region to be an AWS region such as us-east-1, got \`${scheme.region}\``);
  }
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
