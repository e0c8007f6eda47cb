/**
 * Listing the joins waiting (src/payloads/join-listing.ts: ListObjectsV2 under
 * `<prefix><domain>/join/`) needs s3:ListBucket on the bucket: the operator's (`status`, the
 * dashboard, with --payload-bucket) and a join stage's (its progress line) policies have it.
 */
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/cli/operator/iam-policy.ts';
import { type IamPolicy, rolePolicy } from '../../src/cli/operator/iam-roles.ts';

const scheme = { partition: 'aws', region: 'eu-west-1', account: '123456789012', domain: 'shop' };
const payloads = { bucket: 'my-bucket', prefix: 'p/', kmsKey: undefined };
const pipeline = parsePipeline('split:1,work,gather:join=split', 1);

/** The actions `policy` allows on `resource`. */
function actionsOn(policy: IamPolicy, resource: string): string[] {
  return policy.Statement.flatMap((s) => {
    const resources = typeof s.Resource === 'string' ? [s.Resource] : s.Resource;
    return resources.includes(resource) ? s.Action : [];
  });
}

describe('iam-policy: listing the joins waiting', () => {
  it.each([
    ['operator', undefined],
    ['stage', 'gather'],
  ] as const)(
    'the %s role may list the bucket, with no condition that would hide the join states',
    (role, stage) => {
      const policy = rolePolicy(scheme, pipeline, { role, stage, kmsKey: undefined, payloads });
      expect(actionsOn(policy, 'arn:aws:s3:::my-bucket')).toContain('s3:ListBucket');
      const listing = policy.Statement.find((s) => s.Action.includes('s3:ListBucket'));
      expect(listing).not.toHaveProperty('Condition');
    },
  );

  it('without --payload-bucket the operator has no S3 grant (and status lists no joins)', () => {
    const policy = rolePolicy(scheme, pipeline, { role: 'operator', stage: undefined, kmsKey: undefined });
    expect(policy.Statement.flatMap((s) => s.Action).filter((a) => a.startsWith('s3:'))).toEqual([]);
  });
});
