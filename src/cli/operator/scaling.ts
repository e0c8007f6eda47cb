/**
 * Autoscaling configuration per stage, so that "one stage per machine" scales with its backlog
 * (pure: no I/O). Only stages with queues are scaled; the first stage (the source) has none.
 * - KEDA: one ScaledObject per stage, one `aws-sqs-queue` trigger per priority queue. KEDA gives
 *   the HPA one metric per trigger and the HPA follows the largest, so with several levels
 *   `advanced.scalingModifiers` (KEDA 2.12 and later) sums them: the stage scales with its whole
 *   backlog.
 * - CloudWatch: one EC2 Auto Scaling target tracking policy per stage (the input of `aws
 *   autoscaling put-scaling-policy --cli-input-json`), on AWS's "backlog per instance" metric math:
 *   the visible messages of every priority queue of the stage divided by the group's InService
 *   instances.
 */
import { inputQueueName } from '../../queues/naming.ts';
import { UsageError } from './errors.ts';
import { quote } from './flag-values.ts';
import type { ArnScheme, StageSpec } from './iam-policy.ts';

/** `--keda`: KEDA ScaledObjects. */
export interface KedaRequest {
  readonly kind: 'keda';
  /** `--target-backlog`: messages per replica (KEDA's queueLength). */
  readonly targetBacklog: number;
  /** `--namespace`; undefined: none written (kubectl's current namespace). */
  readonly namespace: string | undefined;
  /** `--deployment`: the scaled Deployment's name, `{stage}` replaced; undefined: `<domain>-{stage}`. */
  readonly deployment: string | undefined;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** `--auth-ref`: a TriggerAuthentication's name; undefined: the KEDA operator's own identity. */
  readonly authRef: string | undefined;
}

/** `--cloudwatch`: EC2 Auto Scaling target tracking policies. */
export interface CloudWatchRequest {
  readonly kind: 'cloudwatch';
  /** `--target-backlog`: visible messages per instance. */
  readonly targetBacklog: number;
  /** `--group`: the Auto Scaling group's name, `{stage}` replaced; undefined: `<domain>-{stage}`. */
  readonly group: string | undefined;
}

export type ScalingRequest = KedaRequest | CloudWatchRequest;

/** Default `--target-backlog`: messages waiting per process. */
export const DEFAULT_TARGET_BACKLOG = 10;
/**
 * Default `--min-replicas`: 1, not 0. At zero, an item waits for KEDA's next poll (30 s by
 * default) and a pod's start before any worker sees it, which `submit()` callers' timeouts feel;
 * 0 is a cost choice to make on purpose.
 */
export const DEFAULT_MIN_REPLICAS = 1;
export const DEFAULT_MAX_REPLICAS = 10;

/** The name of `stage`'s scaled target: `template` (or `<domain>-{stage}`) with `{stage}` replaced. */
export function targetName(template: string | undefined, domain: string, stage: string): string {
  return (template ?? `${domain}-{stage}`).replaceAll('{stage}', stage);
}

/** The URL of a queue on AWS: `https://sqs.<region>.amazonaws.com/<account>/<name>` (`.com.cn` in China). */
export function queueUrl(scheme: ArnScheme, name: string): string {
  const suffix = scheme.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${scheme.region}.${suffix}/${scheme.account}/${name}`;
}

/** One ScaledObject YAML document per stage, `---` separated. */
export function kedaScaledObjects(
  scheme: ArnScheme,
  stages: readonly StageSpec[],
  request: KedaRequest,
): string {
  return stages.map((stage) => scaledObject(scheme, stage, request)).join('---\n');
}

function scaledObject(scheme: ArnScheme, stage: StageSpec, request: KedaRequest): string {
  const name = targetName(request.deployment, scheme.domain, stage.name);
  checkKubernetesName(name, stage.name);
  const levels = Array.from({ length: stage.priorities }, (_, level) => level);
  const target = quote(String(request.targetBacklog));
  const triggers = levels.flatMap((level) => [
    '    - type: aws-sqs-queue',
    `      name: p${level}`,
    ...(request.authRef === undefined
      ? []
      : ['      authenticationRef:', `        name: ${quote(request.authRef)}`]),
    '      metadata:',
    `        queueURL: ${quote(queueUrl(scheme, inputQueueName(scheme.domain, stage.name, level)))}`,
    `        queueLength: ${target}`,
    `        awsRegion: ${quote(scheme.region)}`,
    ...(request.authRef === undefined ? ['        identityOwner: operator'] : []),
  ]);
  const sum =
    levels.length < 2
      ? []
      : [
          '  advanced:',
          '    scalingModifiers:',
          `      formula: ${quote(levels.map((level) => `p${level}`).join(' + '))}`,
          `      target: ${target}`,
          '      metricType: AverageValue',
        ];
  return [
    `# sqspipes: stage ${stage.name} of domain ${scheme.domain}, ${levels.length} priority queue(s)`,
    'apiVersion: keda.sh/v1alpha1',
    'kind: ScaledObject',
    'metadata:',
    `  name: ${quote(name)}`,
    ...(request.namespace === undefined ? [] : [`  namespace: ${quote(request.namespace)}`]),
    'spec:',
    '  scaleTargetRef:',
    `    name: ${quote(name)}`,
    `  minReplicaCount: ${request.minReplicas}`,
    `  maxReplicaCount: ${request.maxReplicas}`,
    ...sum,
    '  triggers:',
    ...triggers,
    '',
  ].join('\n');
}

/** Kubernetes object names (DNS-1123 subdomains): lower-case letters, digits, `-` and `.`. */
function checkKubernetesName(name: string, stage: string): void {
  if (name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) return;
  throw new UsageError(
    `The Deployment name of stage ${quote(stage)}, ${quote(name)}, is not a Kubernetes name (lower-case letters, digits, - and .): give --deployment, e.g. --deployment 'shop-{stage}'`,
  );
}

/** The input of `aws autoscaling put-scaling-policy --cli-input-json` for one stage. */
export interface ScalingPolicyInput {
  readonly AutoScalingGroupName: string;
  readonly PolicyName: string;
  readonly PolicyType: 'TargetTrackingScaling';
  readonly TargetTrackingConfiguration: {
    readonly CustomizedMetricSpecification: { readonly Metrics: readonly unknown[] };
    readonly TargetValue: number;
  };
}

/** One target tracking policy per stage, on its backlog per InService instance. */
export function cloudWatchPolicies(
  scheme: ArnScheme,
  stages: readonly StageSpec[],
  request: CloudWatchRequest,
): ScalingPolicyInput[] {
  return stages.map((stage) => {
    const group = targetName(request.group, scheme.domain, stage.name);
    const levels = Array.from({ length: stage.priorities }, (_, level) => level);
    const queues = levels.map((level) => ({
      Id: `p${level}`,
      Label: `Visible messages of priority ${level}`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: inputQueueName(scheme.domain, stage.name, level) }],
        },
        Stat: 'Sum',
      },
      ReturnData: false,
    }));
    const instances = {
      Id: 'instances',
      Label: 'InService instances of the group',
      MetricStat: {
        Metric: {
          Namespace: 'AWS/AutoScaling',
          MetricName: 'GroupInServiceInstances',
          Dimensions: [{ Name: 'AutoScalingGroupName', Value: group }],
        },
        Stat: 'Average',
      },
      ReturnData: false,
    };
    const backlog = {
      Id: 'backlog',
      Label: `Backlog per instance of stage ${stage.name}`,
      Expression: `(${queues.map((q) => q.Id).join(' + ')}) / instances`,
      ReturnData: true,
    };
    return {
      AutoScalingGroupName: group,
      PolicyName: `sqspipes-${scheme.domain}-${stage.name}-backlog`,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        CustomizedMetricSpecification: { Metrics: [...queues, instances, backlog] },
        TargetValue: request.targetBacklog,
      },
    };
  });
}
