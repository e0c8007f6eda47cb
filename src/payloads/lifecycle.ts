/**
 * The S3 lifecycle rule that deletes what a crash leaves behind (pure: no I/O). sqspipes deletes an
 * object once no message needs it; one left by a killed process is expired by this rule.
 *
 * The expiry must outlast every message that may point to the object. Each send writes its object
 * (keys are per message, a repeated send rewrites), so an object is never older than its newest
 * message: at most the queues' 14-day retention, plus the 12 hours a message received just before
 * may stay in hand. S3 rounds expiry up to the next midnight UTC, so 15 days is enough.
 */
import { createHash } from 'node:crypto';

/** The queues' MessageRetentionPeriod in days (RETENTION_SECONDS of src/queues/topology.ts). */
export const QUEUE_RETENTION_DAYS = 14;
/** The expiry a rule needs, and the one {@link sqspipesRule} writes. */
export const LIFECYCLE_EXPIRY_DAYS = QUEUE_RETENTION_DAYS + 1;

/** The fields of S3's LifecycleRule read here (the SDK's type has these and more). */
export interface RuleLike {
  readonly ID?: string | undefined;
  readonly Status?: string | undefined;
  /** Deprecated rule-level prefix (rules made before Filter existed). */
  readonly Prefix?: string | undefined;
  readonly Filter?: FilterLike | undefined;
  readonly Expiration?: { readonly Days?: number | undefined; readonly Date?: Date | undefined } | undefined;
  readonly Transitions?:
    | readonly {
        readonly Days?: number | undefined;
        readonly Date?: Date | undefined;
        readonly StorageClass?: string | undefined;
      }[]
    | undefined;
}

interface FilterLike {
  readonly Prefix?: string | undefined;
  readonly Tag?: unknown;
  readonly ObjectSizeGreaterThan?: number | undefined;
  readonly ObjectSizeLessThan?: number | undefined;
  readonly And?:
    | {
        readonly Prefix?: string | undefined;
        readonly Tags?: readonly unknown[] | undefined;
        readonly ObjectSizeGreaterThan?: number | undefined;
        readonly ObjectSizeLessThan?: number | undefined;
      }
    | undefined;
}

/** What the bucket's rules do to the objects under the prefix. */
export interface LifecycleReport {
  /**
   * `ok`: a rule expires them after {@link LIFECYCLE_EXPIRY_DAYS} days or more; `missing`: none
   * does (a crash's leftovers stay forever); `too-short`: a rule expires or archives some of them
   * while a message may still need them; `unreadable`: the rules could not be read.
   */
  readonly state: 'ok' | 'missing' | 'too-short' | 'unreadable';
  /** One or two sentences for a log line or a warning. */
  readonly description: string;
}

/** Storage classes whose objects GetObject cannot read before a restore. */
const ARCHIVES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** The ID of sqspipes' rule for `prefix` (one rule per prefix: pipelines may share a bucket). */
export function ruleId(prefix: string): string {
  const id = `sqspipes ${prefix}`;
  return id.length <= 255 ? id : `sqspipes sha256:${createHash('sha256').update(prefix).digest('hex')}`;
}

/** sqspipes' rule: expire objects under `prefix`, drop old versions and abandoned uploads. */
export function sqspipesRule(prefix: string, days = LIFECYCLE_EXPIRY_DAYS) {
  return {
    ID: ruleId(prefix),
    Status: 'Enabled' as const,
    Filter: { Prefix: prefix },
    Expiration: { Days: days },
    // On a versioned bucket a delete or an expiry leaves the old version behind.
    NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  };
}

/** What the enabled `rules` of `bucket` do to objects under `prefix` (see {@link LifecycleReport}). */
export function evaluateLifecycle(
  rules: readonly RuleLike[],
  bucket: string,
  prefix: string,
  minDays = LIFECYCLE_EXPIRY_DAYS,
): LifecycleReport {
  const where = `objects under ${prefix === '' ? 'the whole bucket' : `\`${prefix}\``} of S3 bucket \`${bucket}\``;
  const enabled = rules.filter((rule) => rule.Status === 'Enabled');
  const dangers = enabled
    .filter((rule) => !scopeOf(rule).tagged && intersects(scopeOf(rule).prefix, prefix))
    .flatMap((rule) => dangersOf(rule, minDays));
  if (dangers.length > 0) {
    return {
      state: 'too-short',
      description: `Lifecycle ${dangers.join('; ')}: a message still in a queue (kept up to ${QUEUE_RETENTION_DAYS} days) may then find its body gone. Rules that reach ${where} must expire or archive nothing before ${minDays} days.`,
    };
  }
  const covering = enabled.find((rule) => {
    const scope = scopeOf(rule);
    const days = rule.Expiration?.Days;
    const whole = !scope.tagged && !scope.sized && prefix.startsWith(scope.prefix);
    return whole && days !== undefined && days >= minDays;
  });
  if (covering !== undefined) {
    return {
      state: 'ok',
      description: `Lifecycle rule ${name(covering)} expires ${where} after ${covering.Expiration?.Days} days.`,
    };
  }
  return {
    state: 'missing',
    description: `No lifecycle rule expires ${where}: objects left behind by a crashed process are never deleted. A rule expiring them after ${minDays} days (more than the queues' ${QUEUE_RETENTION_DAYS}-day retention) cleans them up.`,
  };
}

/**
 * `rules` with sqspipes' rule for `prefix` added or brought up to date, and what changed. The other
 * rules are kept as they are (S3 replaces the whole configuration on every put).
 */
export function mergeLifecycle<R extends RuleLike>(
  rules: readonly R[],
  prefix: string,
  days = LIFECYCLE_EXPIRY_DAYS,
): { rules: (R | ReturnType<typeof sqspipesRule>)[]; action: 'installed' | 'updated' | 'unchanged' } {
  const wanted = sqspipesRule(prefix, days);
  const index = rules.findIndex((rule) => rule.ID === wanted.ID);
  const existing = rules[index];
  if (existing === undefined) return { rules: [...rules, wanted], action: 'installed' };
  if (sameRule(existing, wanted)) return { rules: [...rules], action: 'unchanged' };
  return { rules: rules.map((rule, i) => (i === index ? wanted : rule)), action: 'updated' };
}

/**
 * The prefix a rule applies to; whether tags narrow it (sqspipes tags no object, so such a rule
 * never applies to its objects) or sizes do (it applies to some of them).
 */
function scopeOf(rule: RuleLike): { prefix: string; tagged: boolean; sized: boolean } {
  const filter = rule.Filter;
  const and = filter?.And;
  return {
    prefix: filter?.Prefix ?? and?.Prefix ?? rule.Prefix ?? '',
    tagged: filter?.Tag !== undefined || (and?.Tags?.length ?? 0) > 0,
    sized:
      filter?.ObjectSizeGreaterThan !== undefined ||
      filter?.ObjectSizeLessThan !== undefined ||
      and?.ObjectSizeGreaterThan !== undefined ||
      and?.ObjectSizeLessThan !== undefined,
  };
}

/** Whether some key can start with both prefixes. */
function intersects(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

function dangersOf(rule: RuleLike, minDays: number): string[] {
  const found: string[] = [];
  const expiration = rule.Expiration;
  if (expiration?.Date !== undefined) {
    found.push(`rule ${name(rule)} expires objects on a fixed date (${expiration.Date.toISOString()})`);
  } else if (expiration?.Days !== undefined && expiration.Days < minDays) {
    found.push(`rule ${name(rule)} expires objects after ${expiration.Days} days`);
  }
  for (const transition of rule.Transitions ?? []) {
    const storage = transition.StorageClass ?? '';
    if (!ARCHIVES.has(storage)) continue;
    if (transition.Date !== undefined || (transition.Days ?? 0) < minDays) {
      const when = transition.Date === undefined ? `after ${transition.Days ?? 0} days` : 'on a fixed date';
      found.push(`rule ${name(rule)} moves objects to ${storage} ${when}, where they cannot be read`);
    }
  }
  return found;
}

function name(rule: RuleLike): string {
  return rule.ID === undefined ? '(no ID)' : JSON.stringify(rule.ID);
}

function sameRule(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** `value` with object keys sorted and undefined fields left out, for comparing. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date || typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
}
