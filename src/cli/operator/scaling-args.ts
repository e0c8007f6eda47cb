/** The flags of `scaling`: `--keda` or `--cloudwatch`, and what each takes. */
import { UsageError } from './errors.ts';
import { integer, onlyWith, optionalString, type Parsed } from './flag-values.ts';
import {
  DEFAULT_MAX_REPLICAS,
  DEFAULT_MIN_REPLICAS,
  DEFAULT_TARGET_BACKLOG,
  type ScalingRequest,
} from './scaling.ts';

const KEDA_FLAGS = ['namespace', 'deployment', 'min-replicas', 'max-replicas', 'auth-ref'];

/** Exactly one of `--keda` and `--cloudwatch`, each with its own flags. */
export function scalingRequest(parsed: Parsed): ScalingRequest {
  const keda = parsed['keda'] === true;
  const cloudwatch = parsed['cloudwatch'] === true;
  if (keda === cloudwatch) {
    throw new UsageError(
      'Give --keda (KEDA ScaledObjects) or --cloudwatch (EC2 Auto Scaling target tracking policies), one of them',
    );
  }
  onlyWith(parsed, KEDA_FLAGS, 'keda', keda);
  onlyWith(parsed, ['group'], 'cloudwatch', cloudwatch);
  const targetBacklog = integer(parsed, 'target-backlog', 1, 1_000_000) ?? DEFAULT_TARGET_BACKLOG;
  if (cloudwatch) return { kind: 'cloudwatch', targetBacklog, group: optionalString(parsed, 'group') };
  const minReplicas = integer(parsed, 'min-replicas', 0, 1000) ?? DEFAULT_MIN_REPLICAS;
  const maxReplicas = integer(parsed, 'max-replicas', 1, 1000) ?? Math.max(DEFAULT_MAX_REPLICAS, minReplicas);
  if (maxReplicas < minReplicas) {
    throw new UsageError(`--max-replicas (${maxReplicas}) must be at least --min-replicas (${minReplicas})`);
  }
  return {
    kind: 'keda',
    targetBacklog,
    namespace: optionalString(parsed, 'namespace'),
    deployment: optionalString(parsed, 'deployment'),
    minReplicas,
    maxReplicas,
    authRef: optionalString(parsed, 'auth-ref'),
  };
}
