/**
 * The dashboard's JSON endpoints, on the operator commands' own functions: the sampler's snapshot
 * (`status`), a dead-letter queue's messages with their reasons (`peek --dlq`, stored bodies read
 * with `--payload-bucket`), `redrive` and `purge` of a stage's dead-letter queue.
 */
import type { OperatorContext } from '../context.ts';
import { deadLetterQueueOf, discoverQueues, queuesOfStage, type TagCache } from '../discover.ts';
import { failureText, UsageError } from '../errors.ts';
import { peekQueue } from '../peek.ts';
import { describeMessage, type PeekedMessage } from '../peeked-message.ts';
import { purgeQueues } from '../purge.ts';
import { redriveStage } from '../redrive.ts';
import { shownBodies } from '../stored-bodies.ts';
import { actionRefusal } from './access.ts';
import type { Route } from './routes.ts';
import type { Sampler } from './sampler.ts';

/** At most this many messages of a dead-letter queue are shown (one receive, as `peek`). */
export const DLQ_MESSAGES = 10;

/** What the endpoints need. */
export interface ApiContext {
  readonly ctx: OperatorContext;
  readonly sampler: Sampler;
  /** `--actions`: redrive and purge are enabled. */
  readonly actions: boolean;
  /** The token actions need; undefined without `--actions`. */
  readonly token: string | undefined;
  /** Tags of the queues already read (they do not change). */
  readonly tags: TagCache;
}

/** A JSON answer. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** `GET /api/dlq/<stage>`: a sample of up to 10 messages (see `peek`'s limits), with reasons. */
export interface DeadLetters {
  readonly stage: string;
  readonly queue: string;
  readonly messages: readonly PeekedMessage[];
}

/** Answers an API route; `token` is the request's token header. Never rejects. */
export async function answer(
  api: ApiContext,
  route: Extract<Route, { kind: 'pipeline' | 'dlq' | 'redrive' | 'purge' }>,
  token: string | undefined,
): Promise<ApiAnswer> {
  if (route.kind === 'pipeline') return { status: 200, body: api.sampler.snapshot };
  if (route.kind !== 'dlq') {
    const refused = actionRefusal(api.actions, api.token, token);
    if (refused !== undefined) return { status: refused.status, body: { error: refused.message } };
  }
  try {
    const body = await act(api, route);
    if (route.kind !== 'dlq') await api.sampler.sample(); // show the counts after the action at once
    return { status: 200, body };
  } catch (error) {
    return { status: error instanceof UsageError ? 404 : 502, body: { error: failureText(error, false) } };
  }
}

async function act(
  api: ApiContext,
  route: Extract<Route, { kind: 'dlq' | 'redrive' | 'purge' }>,
): Promise<unknown> {
  const { ctx } = api;
  switch (route.kind) {
    case 'dlq':
      return deadLetters(ctx, api.tags, route.stage);
    case 'redrive': {
      const { from, moved } = await redriveStage(ctx, route.stage);
      ctx.note(`dashboard: redrove ${moved} message(s) from ${from}`);
      return { stage: route.stage, from, moved };
    }
    case 'purge': {
      let purged: string[] = [];
      await purgeQueues(ctx, route.stage, 'dlq', (names) => {
        purged = names;
        return Promise.resolve();
      });
      ctx.note(`dashboard: purged ${purged.join(', ')}`);
      return { stage: route.stage, purged };
    }
  }
}

async function deadLetters(ctx: OperatorContext, tags: TagCache, stage: string): Promise<DeadLetters> {
  const all = await discoverQueues(ctx.sqs, ctx.domain, { cache: tags });
  const queues = queuesOfStage(all, ctx.domain, stage);
  const dlq = deadLetterQueueOf(queues, ctx.domain, stage);
  const messages = await peekQueue(ctx, dlq, DLQ_MESSAGES, 0);
  // A stored body that cannot be read shows why, in its message's place.
  const bodies = await shownBodies(messages, ctx.payloads);
  return { stage, queue: dlq.name, messages: messages.map((m, i) => describeMessage(dlq, m, bodies[i])) };
}
