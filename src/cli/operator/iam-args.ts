/**
 * The flags of `iam-policy` that choose the role and its keys: `--role`, `--stage`, `--kms-key`,
 * and the S3 bucket of large bodies (`--payload-bucket`, see payload-args.ts).
 */
import { listWords } from './commands.ts';
import { UsageError } from './errors.ts';
import { kmsKeyFlag, optionalString, type Parsed, quote, stageName } from './flag-values.ts';
import { ROLES, type RoleRequest } from './iam-roles.ts';
import { payloadGrant } from './payload-args.ts';

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
    kmsKey: kmsKeyFlag(parsed, 'kms-key'),
    payloads: payloadGrant(parsed),
  };
}
