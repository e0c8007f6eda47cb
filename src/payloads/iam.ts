/**
 * The IAM statements each role needs for stored bodies (pure: no I/O), beside its SQS ones
 * (src/cli/operator/iam-roles.ts, whose role names these are):
 * - `producer` (`enqueue()`, `submit()`): writes bodies (s3:PutObject); with `readsReplies`, also
 *   reads the results and reports that come back stored (their deletes go through the queue of
 *   pending deletes, which stages sweep: it deletes no object itself).
 * - `stage`: reads its inputs' bodies, writes its outputs', deletes what was acknowledged (its
 *   own, and what the queue of pending deletes names); lists the bucket so that S3 answers 404
 *   for a missing object (without s3:ListBucket on the bucket it answers 403, and a body gone
 *   looks like a permission denied), and a join stage's progress line its items waiting
 *   (join-listing.ts); reads the lifecycle rules to warn at start when none expires the prefix. A
 *   join stage's state of each item, at `<prefix><domain>/join/<stage>/…` (read, created with
 *   If-None-Match, updated and deleted with If-Match: a conditional delete needs s3:GetObject
 *   too), is within these grants on `<prefix>*`.
 * - `operator`: what a stage may (`status` and the dashboard list the joins waiting), and installs
 *   the lifecycle rule.
 * s3:ListBucket carries no `s3:prefix` condition: it also makes S3 answer 404 for a missing
 * object, a check with no listing prefix to match.
 * On a bucket encrypted with a KMS key (SSE-KMS): kms:GenerateDataKey to write, kms:Decrypt to read.
 */

/** Whose statements: the role names of `sqspipes iam-policy --role`. */
export type PayloadRole = 'stage' | 'producer' | 'operator';

export interface PayloadGrantRequest {
  readonly bucket: string;
  /** The key prefix (empty or ending with `/`): the grants on objects cover `<prefix>*`. */
  readonly prefix: string;
  /** The AWS partition of the ARNs. @default 'aws' */
  readonly partition?: string | undefined;
  /** ARN of the KMS key the bucket encrypts objects with; undefined: none (or SSE-S3). */
  readonly kmsKey?: string | undefined;
  /** `producer` only: it calls `submit()`, whose results may come back stored. @default false */
  readonly readsReplies?: boolean | undefined;
}

export interface PayloadStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: string;
}

const READ = ['s3:GetObject'];
const WRITE = ['s3:PutObject'];
const DELETE = ['s3:DeleteObject']; // DeleteObjects is authorized key by key under this name

/** The statements `role` needs on the bucket and prefix of `request`. */
export function payloadStatements(role: PayloadRole, request: PayloadGrantRequest): PayloadStatement[] {
  const bucketArn = `arn:${request.partition ?? 'aws'}:s3:::${request.bucket}`;
  const reads = role !== 'producer' || request.readsReplies === true;
  const objects =
    role === 'producer' ? (reads ? [...READ, ...WRITE] : WRITE) : [...READ, ...WRITE, ...DELETE];
  const bucket = [
    ...(reads ? ['s3:ListBucket', 's3:GetLifecycleConfiguration'] : []),
    ...(role === 'operator' ? ['s3:PutLifecycleConfiguration'] : []),
  ];
  const kms = reads ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:GenerateDataKey'];
  return [
    statement('SqspipesPayloadObjects', objects, `${bucketArn}/${request.prefix}*`),
    ...(bucket.length === 0 ? [] : [statement('SqspipesPayloadBucket', bucket, bucketArn)]),
    ...(request.kmsKey === undefined ? [] : [statement('SqspipesPayloadKmsKey', kms, request.kmsKey)]),
  ];
}

function statement(sid: string, actions: readonly string[], resource: string): PayloadStatement {
  return { Sid: sid, Effect: 'Allow', Action: [...actions], Resource: resource };
}
