import type { SQSClient } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import {
  deleteQueueName,
  isDeleteQueueRole,
  isLaterQueueRole,
  laterQueueName,
} from '../../time/domain-timers.ts';
import { permitQueueName } from '../../time/permit-queue.ts';
import { listQueueUrls, queueNameOf, readQueueTags } from '../../queues/listing.ts';
import { deadLetterQueueName, inputQueueName, TAG } from '../../queues/naming.ts';
import { REPLY_ROLE } from '../../replies/reply-queue.ts';
import { SqsError } from '../../errors.ts';
import { UsageError } from './errors.ts';

/**
 * One queue of a domain, as its tags describe it. sqspipes tags every queue it creates
 * (`sqspipes:domain`, `:stage`, `:index`, `:role`, `:level`, `:keyed`); the operator CLI trusts
 * the tags, never a name prefix: domain `app` must not touch `app2`'s queues, nor `app-x`'s.
 */
export interface DomainQueue {
  /** Queue name, `.fifo` included. */
  readonly name: string;
  readonly url: string;
  readonly stage: string;
  /** Position of the stage in the pipeline (1 for the first stage with an input); undefined when untagged. */
  readonly index: number | undefined;
  /** Priority level of an input queue, or `dlq` for the stage's dead-letter queue. */
  readonly level: number | 'dlq';
  /**
   * Whether the stage orders its inputs by key (its `group` option) when the queue was created;
   * undefined for a queue made before sqspipes tagged it.
   */
  readonly keyed: boolean | undefined;
}

/** What a stage's helper queue holds: its timers (`later`), or its permits of a limit (`rate`, `slots`). */
export type HelperRole = 'later' | 'rate' | 'slots';

/**
 * A stage's queue that is not one of its inputs: `<domain>-<stage>-later` (its timers: items for
 * later), `<domain>-<stage>-rate.fifo` or `-slots.fifo` (the permits of its `rateLimit` or
 * `maxConcurrency`).
 */
export interface HelperQueue {
  readonly name: string;
  readonly url: string;
  readonly stage: string;
  readonly role: HelperRole;
}

/** Tags of queues already read, by URL (tags do not change), so that `status --watch` asks once. */
export type TagCache = Map<string, Readonly<Record<string, string>> | undefined>;

export interface DiscoverOptions {
  readonly cache?: TagCache;
  /** Told about a queue that carries the domain's tag but cannot be one of its queues. */
  readonly warn?: (text: string) => void;
  /**
   * Told the URL of the domain's queue of pending deletes of stored bodies, if it has one, and of
   * its stages' queues of timers and of permits.
   */
  readonly deleteQueue?: (url: string) => void;
  /** Told about each stage's queue of timers and of permits (as well as `deleteQueue`). */
  readonly helperQueue?: (queue: HelperQueue) => void;
}

const CONCURRENCY = 10;

/**
 * The queues of `domain`, in pipeline order (stage index, then level, the dead-letter queue
 * last): lists the queues whose name starts with `<domain>-`, then keeps exactly those tagged
 * with this domain and named as sqspipes names them.
 */
export async function discoverQueues(
  sqs: SQSClient,
  domain: string,
  options: DiscoverOptions = {},
): Promise<DomainQueue[]> {
  const cache: TagCache = options.cache ?? new Map<string, Readonly<Record<string, string>> | undefined>();
  const urls = await listQueueUrls(sqs, `${domain}-`);
  const limit = pLimit(CONCURRENCY);
  const found = await Promise.all(
    urls.map((url) =>
      limit(async () => {
        const tags = await tagsOf(sqs, url, cache);
        if (tags === undefined) return undefined;
        if (tags[TAG.domain] === domain && isDeleteQueueRole(tags[TAG.role])) {
          if (queueNameOf(url) === deleteQueueName(domain)) options.deleteQueue?.(url);
          return undefined; // not a stage's queue
        }
        const helper = tags[TAG.domain] === domain ? helperOf(domain, url, tags) : undefined;
        if (helper !== undefined) {
          options.deleteQueue?.(url);
          options.helperQueue?.(helper);
          return undefined; // a stage's timers or permits: not one of its input queues
        }
        return fromTags(domain, url, tags, options.warn);
      }),
    ),
  );
  return found.filter((q) => q !== undefined).sort(pipelineOrder);
}

/**
 * The stage's queue of timers or of permits that `url` is, by its tags (and named as sqspipes
 * names it); undefined for other roles.
 */
function helperOf(
  domain: string,
  url: string,
  tags: Readonly<Record<string, string>>,
): HelperQueue | undefined {
  const stage = tags[TAG.stage];
  const role = tags[TAG.role];
  if (stage === undefined) return undefined;
  let found: { role: HelperRole; name: string } | undefined;
  if (isLaterQueueRole(role)) found = { role: 'later', name: laterQueueName(domain, stage) };
  else if (role === 'rate' || role === 'slots') found = { role, name: permitQueueName(domain, stage, role) };
  const name = queueNameOf(url);
  return found === undefined || found.name !== name ? undefined : { name, url, stage, role: found.role };
}

/** Stage names of `queues`, in pipeline order. */
export function stageNames(queues: readonly DomainQueue[]): string[] {
  return [...new Set(queues.map((q) => q.stage))];
}

/** How a stage gets its queues, for the errors that find none: this CLI never creates them. */
export const QUEUES_CREATED =
  "A stage's queues are created when that stage runs, or when the library's client.enqueue() is called";

/** The queues of `stage`; a UsageError naming the domain's stages when it has none. */
export function queuesOfStage(queues: readonly DomainQueue[], domain: string, stage: string): DomainQueue[] {
  const mine = queues.filter((q) => q.stage === stage);
  if (mine.length > 0) return mine;
  throw noQueuesOf(domain, stage, queues);
}

/**
 * The error for `stage` of `domain` having no queues: it names the stages that have some (the
 * source, the first stage unless it has `input: true`, never has any), or says that the domain has none.
 */
export function noQueuesOf(domain: string, stage: string, queues: readonly DomainQueue[]): UsageError {
  const stages = stageNames(queues);
  return new UsageError(
    stages.length === 0
      ? `Domain \`${domain}\` has no queues (check --domain, --region, --endpoint). ${QUEUES_CREATED}`
      : `Stage \`${stage}\` of domain \`${domain}\` has no queues: its stages with queues are ${stages.map((s) => `\`${s}\``).join(', ')} (a pipeline's first stage has none, unless registered with \`input: true\`). ${QUEUES_CREATED}`,
  );
}

/**
 * The dead-letter queue among `queues` (those of `stage`); an SqsError when it has none: sqspipes
 * creates one with every stage's input queues, so it was deleted, or the queues predate that.
 */
export function deadLetterQueueOf(
  queues: readonly DomainQueue[],
  domain: string,
  stage: string,
): DomainQueue {
  const dlq = queues.find((q) => q.level === 'dlq');
  if (dlq !== undefined) return dlq;
  throw new SqsError(
    `Stage \`${stage}\` of domain \`${domain}\` has no dead-letter queue ${deadLetterQueueName(domain, stage)}: sqspipes creates one with the stage's input queues, so it was deleted, or these queues predate that`,
  );
}

async function tagsOf(
  sqs: SQSClient,
  url: string,
  cache: TagCache,
): Promise<Readonly<Record<string, string>> | undefined> {
  if (cache.has(url)) return cache.get(url);
  const tags = await readQueueTags(sqs, url);
  if (tags !== undefined) cache.set(url, tags);
  return tags;
}

function fromTags(
  domain: string,
  url: string,
  tags: Readonly<Record<string, string>>,
  warn: ((text: string) => void) | undefined,
): DomainQueue | undefined {
  if (tags[TAG.domain] !== domain) return undefined;
  if (tags[TAG.role] === REPLY_ROLE) return undefined; // a sender's reply queue: `sqspipes replies`
  const name = queueNameOf(url);
  const stage = tags[TAG.stage] ?? '';
  const role = tags[TAG.role];
  const rawIndex = tags[TAG.index];
  const index = rawIndex === undefined || !/^\d+$/.test(rawIndex) ? undefined : Number(rawIndex);
  let level: number | 'dlq' | undefined;
  let expected: string | undefined;
  if (role === 'dlq') {
    level = 'dlq';
    expected = deadLetterQueueName(domain, stage);
  } else if (role === 'input' && /^\d+$/.test(tags[TAG.level] ?? '')) {
    level = Number(tags[TAG.level]);
    expected = inputQueueName(domain, stage, level);
  }
  if (level === undefined || stage === '' || expected !== name) {
    warn?.(
      `Ignoring queue \`${name}\`: tagged with domain \`${domain}\`, but its sqspipes tags do not match its name`,
    );
    return undefined;
  }
  const keyedTag = tags[TAG.keyed];
  const keyed = keyedTag === 'true' ? true : keyedTag === 'false' ? false : undefined;
  return { name, url, stage, index, level, keyed };
}

function pipelineOrder(a: DomainQueue, b: DomainQueue): number {
  const ai = a.index ?? Number.MAX_SAFE_INTEGER;
  const bi = b.index ?? Number.MAX_SAFE_INTEGER;
  if (ai !== bi) return ai - bi;
  if (a.stage !== b.stage) return a.stage < b.stage ? -1 : 1;
  const al = a.level === 'dlq' ? Number.MAX_SAFE_INTEGER : a.level;
  const bl = b.level === 'dlq' ? Number.MAX_SAFE_INTEGER : b.level;
  return al - bl;
}
