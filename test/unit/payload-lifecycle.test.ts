import { describe, expect, it } from 'vitest';
import {
  evaluateLifecycle,
  LIFECYCLE_EXPIRY_DAYS,
  mergeLifecycle,
  type RuleLike,
  ruleId,
  sqspipesRule,
} from '../../src/payloads/lifecycle.ts';

const PREFIX = 'sqspipes/';
const state = (rules: RuleLike[], prefix = PREFIX) => evaluateLifecycle(rules, 'bkt', prefix).state;
const expiring = (days: number, filter: RuleLike['Filter'], id = 'r'): RuleLike => ({
  ID: id,
  Status: 'Enabled',
  Filter: filter,
  Expiration: { Days: days },
});

describe('payload lifecycle: the check', () => {
  it('needs more days than the 14-day retention', () => {
    expect(LIFECYCLE_EXPIRY_DAYS).toBe(15);
  });

  it('is missing with no rules, or rules elsewhere, disabled or tagged', () => {
    expect(state([])).toBe('missing');
    expect(state([expiring(30, { Prefix: 'other/' })])).toBe('missing');
    expect(state([{ ...expiring(30, { Prefix: PREFIX }), Status: 'Disabled' }])).toBe('missing');
    expect(state([expiring(30, { And: { Prefix: PREFIX, Tags: [{ Key: 'a', Value: 'b' }] } })])).toBe(
      'missing',
    );
    const report = evaluateLifecycle([], 'bkt', PREFIX);
    expect(report.description).toContain(
      'No lifecycle rule expires objects under `sqspipes/` of S3 bucket `bkt`',
    );
  });

  it('is ok with a rule covering the prefix (its own, a parent, the whole bucket, the legacy field)', () => {
    expect(state([sqspipesRule(PREFIX)])).toBe('ok');
    expect(state([expiring(15, { Prefix: 'sqs' })])).toBe('ok');
    expect(state([expiring(400, {})])).toBe('ok');
    expect(state([expiring(20, undefined)])).toBe('ok');
    expect(state([{ ID: 'old', Status: 'Enabled', Prefix: PREFIX, Expiration: { Days: 20 } }])).toBe('ok');
    expect(evaluateLifecycle([sqspipesRule(PREFIX)], 'bkt', PREFIX).description).toBe(
      'Lifecycle rule "sqspipes sqspipes/" expires objects under `sqspipes/` of S3 bucket `bkt` after 15 days.',
    );
  });

  it('does not count a rule on part of the prefix, or on some sizes only, as covering', () => {
    expect(state([expiring(30, { Prefix: `${PREFIX}shop/` })])).toBe('missing');
    expect(state([expiring(30, { And: { Prefix: PREFIX, ObjectSizeGreaterThan: 1000 } })])).toBe('missing');
  });

  it('is too-short when a rule reaching the prefix expires too early, even beside a good one', () => {
    expect(state([expiring(14, { Prefix: PREFIX })])).toBe('too-short');
    expect(state([sqspipesRule(PREFIX), expiring(1, { Prefix: `${PREFIX}shop/payload/` }, 'tmp')])).toBe(
      'too-short',
    );
    expect(state([expiring(7, { ObjectSizeGreaterThan: 1 })])).toBe('too-short');
    const dated: RuleLike = { ID: 'd', Status: 'Enabled', Expiration: { Date: new Date('2030-01-01') } };
    expect(evaluateLifecycle([dated], 'bkt', PREFIX).description).toContain(
      'rule "d" expires objects on a fixed date (2030-01-01T00:00:00.000Z)',
    );
    expect(evaluateLifecycle([expiring(3, {}, 'x')], 'bkt', PREFIX).description).toContain(
      'rule "x" expires objects after 3 days',
    );
  });

  it('is too-short when a rule archives objects where GetObject cannot read them', () => {
    const archive = (storage: string): RuleLike => ({
      ...sqspipesRule(PREFIX),
      ID: 'cold',
      Transitions: [{ Days: 1, StorageClass: storage }],
    });
    expect(state([archive('GLACIER')])).toBe('too-short');
    expect(state([archive('DEEP_ARCHIVE')])).toBe('too-short');
    expect(state([archive('GLACIER_IR')])).toBe('ok');
    expect(state([archive('STANDARD_IA')])).toBe('ok');
  });

  it('with an empty prefix, any rule reaching the bucket counts', () => {
    expect(state([expiring(30, {})], '')).toBe('ok');
    expect(state([expiring(3, { Prefix: 'logs/' })], '')).toBe('too-short');
  });
});

describe('payload lifecycle: install', () => {
  const other = expiring(90, { Prefix: 'logs/' }, 'logs');

  it('adds its rule beside the others', () => {
    const merged = mergeLifecycle([other], PREFIX);
    expect(merged.action).toBe('installed');
    expect(merged.rules).toEqual([other, sqspipesRule(PREFIX)]);
    expect(sqspipesRule(PREFIX)).toEqual({
      ID: 'sqspipes sqspipes/',
      Status: 'Enabled',
      Filter: { Prefix: PREFIX },
      Expiration: { Days: 15 },
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  it('is idempotent, undefined fields and key order aside', () => {
    const read = { ...sqspipesRule(PREFIX), Prefix: undefined, Transitions: undefined };
    expect(mergeLifecycle([other, read], PREFIX)).toEqual({ rules: [other, read], action: 'unchanged' });
  });

  it('brings its rule up to date in place', () => {
    const stale = { ...sqspipesRule(PREFIX), Expiration: { Days: 3 } };
    const merged = mergeLifecycle([stale, other], PREFIX, 20);
    expect(merged.action).toBe('updated');
    expect(merged.rules).toEqual([sqspipesRule(PREFIX, 20), other]);
  });

  it('keeps one rule per prefix, with an ID of at most 255 characters', () => {
    const merged = mergeLifecycle([sqspipesRule('a/')], 'b/');
    expect(merged.rules.map((r) => r.ID)).toEqual(['sqspipes a/', 'sqspipes b/']);
    const long = `${'p'.repeat(300)}/`;
    expect(ruleId(long)).toMatch(/^sqspipes sha256:[0-9a-f]{64}$/);
  });
});
