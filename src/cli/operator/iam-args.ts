/** The flags of `iam-policy` that choose the role: `--role`, `--stage`, `--kms-key`. */
import { listWords } from './commands.ts';
import { UsageError } from './errors.ts';
import { optionalString, type Parsed, quote, stageName } from './flag-values.ts';
import { ROLES, type RoleRequest } from './iam-roles.ts';

/**
 * `--role` is required: the policy of one principal, never a default one (a policy pasted without
 * thinking must not grant an operator's purge and delete to workers).
 */
export function roleRequest(parsed: Parsed): RoleRequest {
  const given = optionalString(parsed, 'role');
  if (given === undefined) {
    throw new UsageError(
      `--role is required: whose policy to print, ${listWords([...ROLES])} (a stage's workers, a process feeding the pipeline, or the operator)`,
    );
  }
  const role = ROLES.find((r) => r === given);
  if (role === undefined) {
    throw new UsageError(`--role must be ${listWords([...ROLES])}, got ${quote(given)}`);
  }
  const stage = optionalString(parsed, 'stage');
  if (stage !== undefined && role === 'operator') {
    throw new UsageError('--stage applies only with --role stage or --role producer');
  }
  return {
    role,
    stage: stage === undefined ? undefined : stageName('--stage', stage),
    kmsKey: kmsKey(parsed),
  };
}

/** `--kms-key`: a KMS key ARN. IAM authorizes a key's use on its key ARN, not on an alias. */
function kmsKey(parsed: Parsed): string | undefined {
  const key = optionalString(parsed, 'kms-key');
  if (
    key === undefined ||
    /^arn:aws(-[a-z]+)*:kms:[a-z]{2,}(-[a-z0-9]+)+:\d{12}:key\/[A-Za-z0-9-]+$/.test(key)
  ) {
    return key;
  }
  throw new UsageError(
    `--kms-key must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (IAM grants a key's use on its key ARN, not on an alias or a bare id), got ${quote(key)}`,
  );
}
