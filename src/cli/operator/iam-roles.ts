/**
 * Least-privilege IAM policies, one per role (pure: no I/O). Each grants the SQS actions the
 * role's own calls make, on the queues it makes them on, and nothing else:
 * - `stage`: a stage's workers. They create (on first use) and consume their input queues, update
 *   the attributes of their input and dead-letter queues in place when an option changed (on
 *   start: `sqs:SetQueueAttributes`), send failures to their dead-letter queue, send outputs to the next stage's inputs (creating them and
 *   the next stage's dead-letter queue, whose ARN those inputs' redrive policy names), and reply
 *   to senders. The first stage (the source) has no queue of its own: only the next stage's.
 *   In a join's scope (`--stages …:join=<split>`), it reports branches to the join stage: it
 *   sends to (and creates) that stage's queues too (iam-joins.ts). A join stage keeps its items'
 *   state in the payloads bucket, under `<prefix><domain>/join/`: it needs `--payload-bucket`.
 * - `producer`: a process that feeds one stage from outside (`enqueue()`, `submit()`): that
 *   stage's inputs (creating them, and its dead-letter queue), and its own reply queue for
 *   `submit()` (created with tags, heartbeat by TagQueue, received from, deleted on close).
 * - `operator`: every `sqspipes` command and the client's `queues()`, `purge()`, `destroy()`,
 *   `redrive()` and `createQueues()` (which updates changed attributes in place, like a stage's
 *   start). Only it may purge or delete queues, and list them
 *   (`sqs:ListQueues` has no queue resource: it is granted on `*`).
 *
 * IAM authorizes a batch (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch) by
 * its single-message action, and CreateQueue with tags needs sqs:TagQueue too.
 *
 * With a bucket for large bodies (`--payload-bucket`), each role also gets its S3 statements
 * (src/payloads/iam.ts) and the SQS actions on the domain's queue of pending deletes. A
 * producer's let it read and delete stored results as well: its policy covers `submit()`.
 */
import { UsageError } from './errors.ts';
import { quote } from './flag-values.ts';
import { reportedJoins } from './iam-joins.ts';
import {
  type ArnScheme,
  type PipelineSpec,
  queueArn,
  replyQueuesArn,
  type StageSpec,
  stageQueueArns,
} from './iam-policy.ts';
import { listWords } from './commands.ts';
import { deleteQueueName, laterQueueName } from '../../time/domain-timers.ts';
import { permitQueueName } from '../../time/permit-queue.ts';
import { payloadStatements } from '../../payloads/iam.ts';

export const ROLES = ['stage', 'producer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Whose policy to print (`--role`, `--stage`, `--kms-key`). */
export interface RoleRequest {
  readonly role: Role;
  /**
   * `stage`: the stage whose workers the policy is for (required); `producer`: the stage it feeds
   * (default: the first stage with queues); `operator`: none.
   */
  readonly stage: string | undefined;
  /** ARN of the KMS key the queues are encrypted with (the client's `kmsKeyId`); undefined: SQS-managed. */
  readonly kmsKey: string | undefined;
  /** The S3 bucket of large bodies (the client's `payloads`); undefined: none. */
  readonly payloads?: PayloadGrant | undefined;
}

/** `--payload-bucket`, `--payload-prefix`, `--payload-kms-key`. */
export interface PayloadGrant {
  readonly bucket: string;
  /** Empty or ending with `/`. */
  readonly prefix: string;
  /** ARN of the KMS key the bucket encrypts objects with; undefined: none (or SSE-S3). */
  readonly kmsKey: string | undefined;
}

/** What creating a queue on first use takes: look it up, create it (with tags), read its attributes. */
export const PROVISION = ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:CreateQueue', 'sqs:TagQueue'];
/** What the owner of a queue (its stage, `createQueues()`) takes to update a changed option in place. */
export const UPDATE = ['sqs:SetQueueAttributes'];
/** What consuming a queue takes: receive, acknowledge, extend or hand back. */
export const CONSUME = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'];
/** A stage's workers reply to senders, whose queues they look up by name. */
export const REPLY = ['sqs:GetQueueUrl', 'sqs:SendMessage'];
/** A sender's own reply queue: created with tags, heartbeat (TagQueue), received from, deleted. */
export const OWN_REPLY_QUEUE = [...PROVISION, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:DeleteQueue'];
/** The operator reads every queue's tags (queues are found by them) and attributes, purges and deletes. */
const OPERATE = [...PROVISION, ...UPDATE, 'sqs:ListQueueTags', 'sqs:PurgeQueue', 'sqs:DeleteQueue'];
/** Input queues: `enqueue` and redrive send to them, `peek` receives with a visibility of 0. */
export const OPERATOR_INPUTS = [...OPERATE, 'sqs:SendMessage', 'sqs:ReceiveMessage'];
/** Dead-letter queues: redrive and `peek --dlq` receive, delete what was moved, hand back the rest. */
export const OPERATOR_DEAD_LETTERS = [...OPERATE, ...CONSUME];
/** Reply queues: `sqspipes replies` reads their tags, `--remove-stale` deletes the stale ones. */
export const OPERATOR_REPLY_QUEUES = ['sqs:ListQueueTags', 'sqs:DeleteQueue'];
/**
 * On a customer managed key: SQS asks KMS for a data key when a message is sent (the sender needs
 * kms:GenerateDataKey, and kms:Decrypt to reuse a cached data key) and decrypts it when one is
 * received (kms:Decrypt). Every role both sends and receives.
 */
export const KMS_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

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

interface Grant {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly (string | undefined)[];
}

/** The policy of `request.role` on the queues of `pipeline` (ARNs in `scheme`). */
export function rolePolicy(scheme: ArnScheme, pipeline: PipelineSpec, request: RoleRequest): IamPolicy {
  const grants = grantsOf(scheme, pipeline, request);
  const kms: Grant[] =
    request.kmsKey === undefined
      ? []
      : [{ sid: 'SqspipesKmsKey', actions: KMS_ACTIONS, resources: [request.kmsKey] }];
  const s3 = payloadGrants(scheme.partition, request);
  const deletes = deleteQueueGrants(scheme, pipeline, request);
  const later = laterGrants(scheme, pipeline, request);
  return { Version: '2012-10-17', Statement: statements([...grants, ...later, ...deletes, ...kms, ...s3]) };
}

/**
 * With a bucket for large bodies, the domain's queue of pending deletes (src/time/domain-timers.ts):
 * whoever acknowledges a stored body sends its key there (a stage with an input queue; a producer,
 * for `submit()`'s results), and a stage's runs sweep it. The operator never touches it.
 */
function deleteQueueGrants(scheme: ArnScheme, pipeline: PipelineSpec, request: RoleRequest): Grant[] {
  if (request.payloads === undefined || request.role === 'operator') return [];
  const resources = [queueArn(scheme, deleteQueueName(scheme.domain))];
  if (request.role === 'producer') {
    return [{ sid: 'SqspipesPayloadDeletes', actions: [...PROVISION, 'sqs:SendMessage'], resources }];
  }
  if (!pipeline.stages.some((s) => s.name === request.stage)) return []; // the source acknowledges nothing
  const actions = [...PROVISION, ...UPDATE, 'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage'];
  return [{ sid: 'SqspipesPayloadDeletes', actions, resources }];
}

/**
 * Each stage's queue of timers (`<domain>-<stage>-later`, src/time/domain-timers.ts) and its
 * queues of permits (`rateLimit`, `maxConcurrency`: src/time/permits.ts). A stage's runs sweep its
 * own queue of timers (sending them on to its own input) and take its permits; whoever sends to a
 * stage's input may send there for later (a stage to the next, a producer to the stage it feeds).
 * The operator deletes them with the domain's queues.
 */
function laterGrants(scheme: ArnScheme, pipeline: PipelineSpec, request: RoleRequest): Grant[] {
  const later = (stage: string) => queueArn(scheme, laterQueueName(scheme.domain, stage));
  const permits = (stage: string) =>
    (['rate', 'slots'] as const).map((kind) => queueArn(scheme, permitQueueName(scheme.domain, stage, kind)));
  const send = { sid: 'SqspipesSendLater', actions: [...PROVISION, 'sqs:SendMessage'] };
  switch (request.role) {
    case 'operator': {
      const actions = ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:ListQueueTags', 'sqs:DeleteQueue'];
      // createQueues() creates each consuming stage's queue of timers (a Lambda mapping reads it).
      const timers = pipeline.stages.map((s) => later(s.name));
      return [
        { sid: 'SqspipesTimers', actions: [...new Set([...PROVISION, ...actions])], resources: timers },
        { sid: 'SqspipesPermits', actions, resources: pipeline.stages.flatMap((s) => permits(s.name)) },
      ];
    }
    case 'producer':
      return [{ ...send, resources: [later(stageFed(pipeline, request.stage).name)] }];
    case 'stage': {
      const index = pipeline.stages.findIndex((s) => s.name === request.stage);
      const next = pipeline.stages[index + 1];
      const own = pipeline.stages[index];
      const grants: Grant[] = next === undefined ? [] : [{ ...send, resources: [later(next.name)] }];
      if (own === undefined) return grants;
      // On Lambda, an event source mapping consumes it (ChangeMessageVisibility, as on the inputs).
      const sweep = [...PROVISION, ...UPDATE, ...CONSUME, 'sqs:SendMessage'];
      return [
        ...grants,
        { sid: 'SqspipesOwnTimers', actions: sweep, resources: [later(own.name)] },
        {
          sid: 'SqspipesPermits',
          actions: [...PROVISION, ...UPDATE, ...CONSUME, 'sqs:SendMessage'],
          resources: permits(own.name),
        },
      ];
    }
  }
}

/** The S3 statements of the role (and its bucket's KMS key, merged with the queues' when the same). */
function payloadGrants(partition: string, request: RoleRequest): Grant[] {
  const payloads = request.payloads;
  if (payloads === undefined) return [];
  const grant = { ...payloads, partition, readsReplies: request.role === 'producer' };
  return payloadStatements(request.role, grant).map((s) => ({
    sid: s.Sid,
    actions: s.Action,
    resources: [s.Resource],
  }));
}

function grantsOf(scheme: ArnScheme, pipeline: PipelineSpec, request: RoleRequest): Grant[] {
  const replies = replyQueuesArn(scheme);
  switch (request.role) {
    case 'operator': {
      const arns = pipeline.stages.map((stage) => stageQueueArns(scheme, stage));
      return [
        { sid: 'SqspipesInputQueues', actions: OPERATOR_INPUTS, resources: arns.flatMap((a) => a.inputs) },
        {
          sid: 'SqspipesDeadLetterQueues',
          actions: OPERATOR_DEAD_LETTERS,
          resources: arns.map((a) => a.deadLetter),
        },
        { sid: 'SqspipesReplyQueues', actions: OPERATOR_REPLY_QUEUES, resources: [replies] },
        { sid: 'SqspipesListQueues', actions: ['sqs:ListQueues'], resources: ['*'] },
      ];
    }
    case 'producer': {
      const fed = stageFed(pipeline, request.stage);
      const arns = stageQueueArns(scheme, fed);
      return [
        { sid: 'SqspipesFeed', actions: [...PROVISION, 'sqs:SendMessage'], resources: arns.inputs },
        { sid: 'SqspipesCreate', actions: PROVISION, resources: [arns.deadLetter] },
        { sid: 'SqspipesOwnReplyQueue', actions: OWN_REPLY_QUEUE, resources: [replies] },
      ];
    }
    case 'stage':
      return stageGrants(scheme, pipeline, request, replies);
  }
}

function stageGrants(
  scheme: ArnScheme,
  pipeline: PipelineSpec,
  request: RoleRequest,
  replies: string,
): Grant[] {
  const name = request.stage;
  if (name === undefined)
    throw new UsageError('--role stage needs --stage: the stage whose workers run with it');
  const index = pipeline.stages.findIndex((s) => s.name === name);
  if (index < 0 && name !== pipeline.source) throw unknownStage(pipeline, name);
  const next = pipeline.stages[index + 1]; // the source (index -1) feeds stages[0]
  const nextArns = next === undefined ? undefined : stageQueueArns(scheme, next);
  const own = pipeline.stages[index];
  if (own?.join !== undefined && request.payloads === undefined) {
    throw new UsageError(
      `--stage ${quote(name)} joins the branches of ${quote(own.join)} and keeps each item's partial state in S3: give --payload-bucket (the client's payloads.bucket) and --payload-prefix if it has one`,
    );
  }
  const send = { sid: 'SqspipesSend', actions: [...PROVISION, 'sqs:SendMessage'] };
  const create = { sid: 'SqspipesCreate', actions: PROVISION, resources: [nextArns?.deadLetter] };
  const reports = joinReportGrants(scheme, pipeline, name, own !== undefined);
  if (own === undefined) return [{ ...send, resources: nextArns?.inputs ?? [] }, create, ...reports];
  const ownArns = stageQueueArns(scheme, own);
  return [
    {
      // It sends its own timers on to its inputs (see laterGrants).
      sid: 'SqspipesConsume',
      actions: [...PROVISION, ...UPDATE, ...CONSUME, 'sqs:SendMessage'],
      resources: ownArns.inputs,
    },
    {
      // It dead-letters into it, and sweeps it for what SQS moved there itself (src/worker/dlq-sweep.ts).
      sid: 'SqspipesOwnDeadLetter',
      actions: [...PROVISION, ...UPDATE, 'sqs:SendMessage', ...CONSUME],
      resources: [ownArns.deadLetter],
    },
    { ...send, resources: nextArns?.inputs ?? [] },
    create,
    ...reports,
    { sid: 'SqspipesReply', actions: REPLY, resources: [replies] },
  ];
}

/**
 * In a join's scope, reports to the join stage (src/join/reporter.ts): sent, like outputs, to its
 * inputs at any level, which the sender creates when missing (with the dead-letter queue their
 * redrive policy names). They share the statements of outputs when the actions are the same.
 */
function joinReportGrants(
  scheme: ArnScheme,
  pipeline: PipelineSpec,
  name: string,
  consumes: boolean,
): Grant[] {
  const order = [...(pipeline.source === undefined ? [] : [{ name: pipeline.source }]), ...pipeline.stages];
  const reported = reportedJoins(order, name, consumes);
  const joins = [...new Set(reported)].flatMap((join) => {
    const stage = pipeline.stages.find((s) => s.name === join);
    return stage === undefined ? [] : [stageQueueArns(scheme, stage)];
  });
  return [
    {
      sid: 'SqspipesJoinReports',
      actions: [...PROVISION, 'sqs:SendMessage'],
      resources: joins.flatMap((j) => j.inputs),
    },
    { sid: 'SqspipesCreate', actions: PROVISION, resources: joins.map((j) => j.deadLetter) },
  ];
}

/** The stage a producer feeds: `name`, or the first stage with queues. */
function stageFed(pipeline: PipelineSpec, name: string | undefined): StageSpec {
  const [first] = pipeline.stages;
  const found = name === undefined ? first : pipeline.stages.find((s) => s.name === name);
  if (found !== undefined) return found;
  if (name !== undefined && name === pipeline.source) {
    throw new UsageError(
      `--stage ${quote(name)} is the first stage (the source): it has no input queue to feed; give a later stage`,
    );
  }
  throw unknownStage(pipeline, name ?? '');
}

function unknownStage(pipeline: PipelineSpec, name: string): UsageError {
  const names = pipeline.stages.map((s) => quote(s.name));
  if (pipeline.source !== undefined) {
    return new UsageError(
      `--stage ${quote(name)} is not in --stages: the stages are ${listWords([quote(pipeline.source), ...names], 'and')}`,
    );
  }
  return new UsageError(
    `--stage ${quote(name)} has no queues in this domain: its stages with queues are ${listWords(names, 'and')}; for the first stage (the source, which has none) give the pipeline with --stages`,
  );
}

/** One statement per grant with resources; grants of the same actions share one. */
function statements(grants: readonly Grant[]): IamStatement[] {
  const merged: { sid: string; actions: readonly string[]; resources: string[] }[] = [];
  for (const grant of grants) {
    const resources = grant.resources.filter((r) => r !== undefined);
    if (resources.length === 0) continue;
    const key = [...grant.actions].sort().join();
    const same = merged.find((m) => [...m.actions].sort().join() === key);
    if (same === undefined)
      merged.push({ sid: grant.sid, actions: grant.actions, resources: [...resources] });
    else same.resources.push(...resources.filter((r) => !same.resources.includes(r)));
  }
  return merged.map(({ sid, actions, resources }) => ({
    Sid: sid,
    Effect: 'Allow',
    Action: [...actions],
    Resource: resources.length === 1 && resources[0] === '*' ? '*' : resources,
  }));
}
