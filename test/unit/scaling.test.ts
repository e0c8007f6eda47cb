import { describe, expect, it } from 'vitest';
import { parseStages } from '../../src/cli/operator/iam-policy.ts';
import {
  cloudWatchPolicies,
  type KedaRequest,
  kedaScaledObjects,
  queueUrl,
} from '../../src/cli/operator/scaling.ts';

const scheme = { partition: 'aws', region: 'eu-west-1', account: '123456789012', domain: 'shop' };
const stages = parseStages('gen,parse:2,store', 1);
const keda: KedaRequest = {
  kind: 'keda',
  targetBacklog: 10,
  namespace: 'jobs',
  deployment: undefined,
  minReplicas: 1,
  maxReplicas: 8,
  authRef: undefined,
};
const url = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/shop-${name}`;

describe('kedaScaledObjects', () => {
  it('prints one ScaledObject per stage with queues, one aws-sqs-queue trigger per priority queue, summed', () => {
    expect(kedaScaledObjects(scheme, stages, keda))
      .toBe(`# sqspipes: stage parse of domain shop, 2 priority queue(s)
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: "shop-parse"
  namespace: "jobs"
spec:
  scaleTargetRef:
    name: "shop-parse"
  minReplicaCount: 1
  maxReplicaCount: 8
  advanced:
    scalingModifiers:
      formula: "p0 + p1"
      target: "10"
      metricType: AverageValue
  triggers:
    - type: aws-sqs-queue
      name: p0
      metadata:
        queueURL: "${url('parse-p0.fifo')}"
        queueLength: "10"
        awsRegion: "eu-west-1"
        identityOwner: operator
    - type: aws-sqs-queue
      name: p1
      metadata:
        queueURL: "${url('parse-p1.fifo')}"
        queueLength: "10"
        awsRegion: "eu-west-1"
        identityOwner: operator
---
# sqspipes: stage store of domain shop, 1 priority queue(s)
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: "shop-store"
  namespace: "jobs"
spec:
  scaleTargetRef:
    name: "shop-store"
  minReplicaCount: 1
  maxReplicaCount: 8
  triggers:
    - type: aws-sqs-queue
      name: p0
      metadata:
        queueURL: "${url('store-p0.fifo')}"
        queueLength: "10"
        awsRegion: "eu-west-1"
        identityOwner: operator
`);
  });

  it('names the Deployment from --deployment, and authenticates with --auth-ref instead of the operator', () => {
    const text = kedaScaledObjects(scheme, stages.slice(1), {
      ...keda,
      namespace: undefined,
      deployment: 'worker-{stage}',
      authRef: 'sqs-reader',
    });
    expect(text).toContain('  name: "worker-store"\n');
    expect(text).toContain('      authenticationRef:\n        name: "sqs-reader"\n      metadata:\n');
    expect(text).not.toContain('identityOwner');
    expect(text).not.toContain('namespace');
  });

  it('refuses a Deployment name Kubernetes would not take', () => {
    const upper = parseStages('gen,Parse', 1);
    expect(() => kedaScaledObjects(scheme, upper, keda)).toThrow(
      'The Deployment name of stage "Parse", "shop-Parse", is not a Kubernetes name',
    );
  });

  it('every document parses as YAML of the expected shape (a line-based check)', () => {
    const docs = kedaScaledObjects(scheme, stages, keda).split('---\n');
    expect(docs).toHaveLength(2);
    for (const doc of docs) {
      for (const line of doc.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
        // key: value, key:, or - key: value; two-space indentation; strings quoted as JSON.
        expect(line).toMatch(/^( {2})*(- )?[A-Za-z]+:( .+)?$/);
        const value = /: (.+)$/.exec(line)?.[1];
        if (value?.startsWith('"') === true) expect(typeof JSON.parse(value)).toBe('string');
      }
    }
  });
});

describe('cloudWatchPolicies', () => {
  it("tracks the backlog per InService instance: every priority queue's visible messages over the group's size", () => {
    const [parse] = cloudWatchPolicies(scheme, stages, {
      kind: 'cloudwatch',
      targetBacklog: 100,
      group: undefined,
    });
    expect(parse).toEqual({
      AutoScalingGroupName: 'shop-parse',
      PolicyName: 'sqspipes-shop-parse-backlog',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        TargetValue: 100,
        CustomizedMetricSpecification: {
          Metrics: [
            ...[0, 1].map((level) => ({
              Id: `p${level}`,
              Label: `Visible messages of priority ${level}`,
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/SQS',
                  MetricName: 'ApproximateNumberOfMessagesVisible',
                  Dimensions: [{ Name: 'QueueName', Value: `shop-parse-p${level}.fifo` }],
                },
                Stat: 'Sum',
              },
              ReturnData: false,
            })),
            {
              Id: 'instances',
              Label: 'InService instances of the group',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/AutoScaling',
                  MetricName: 'GroupInServiceInstances',
                  Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'shop-parse' }],
                },
                Stat: 'Average',
              },
              ReturnData: false,
            },
            {
              Id: 'backlog',
              Label: 'Backlog per instance of stage parse',
              Expression: '(p0 + p1) / instances',
              ReturnData: true,
            },
          ],
        },
      },
    });
  });

  it('one policy per stage with queues, for the group of --group', () => {
    const policies = cloudWatchPolicies(scheme, stages, {
      kind: 'cloudwatch',
      targetBacklog: 5,
      group: 'asg-{stage}',
    });
    expect(policies.map((p) => p.AutoScalingGroupName)).toEqual(['asg-parse', 'asg-store']);
    const metrics = policies[1]?.TargetTrackingConfiguration.CustomizedMetricSpecification.Metrics;
    expect(metrics?.at(-1)).toMatchObject({ Expression: '(p0) / instances', ReturnData: true });
  });
});

describe('queueUrl', () => {
  it("is the queue's AWS URL, in China's domain for aws-cn", () => {
    expect(queueUrl(scheme, 'shop-a-p0.fifo')).toBe(url('a-p0.fifo'));
    expect(queueUrl({ ...scheme, partition: 'aws-cn', region: 'cn-north-1' }, 'q.fifo')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo',
    );
  });
});
