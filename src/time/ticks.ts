/**
 * A scheduled source's ticks (`schedule`): every run of the stage runs a {@link TickClock} that
 * sends each tick, at its instant, to the stage's own input queue, under an id derived from the
 * instant (so SQS keeps one per tick whatever the number of replicas), all in one message group
 * (ticks run one after another). The runs then consume the ticks as any stage consumes its input:
 * each tick is called once, with its instant as an ISO string, retried and dead-lettered like any
 * input, and survives any process.
 *
 * With `catchUp`, the latest tick sent is recorded as a tag of the queue (at most once a minute
 * per run, and when it stops), so that a run starting after no run ran knows which ticks were
 * missed: those after it (a tick sent again within 5 minutes is dropped by SQS).
 */
import { ListQueueTagsCommand, type SQSClient, TagQueueCommand } from '@aws-sdk/client-sqs';
import { describe } from '../errors.ts';
import { wrapEncoded } from '../envelope.ts';
import { enqueueId } from '../ids.ts';
import type { Stage } from '../stage.ts';
import type { OutgoingMessage } from '../sqs/sqs-io.ts';
import type { Logger } from '../types.ts';
import { type Schedule, tickDeduplicationId, tickGroupId } from './schedule.ts';
import { TickClock } from './tick-clock.ts';

/** The tag of a scheduled source's input queue that records the latest tick sent (epoch ms). */
export const LAST_TICK_TAG = 'sqspipes:last-tick';
/** How often a run records the latest tick it sent, at most. */
const RECORD_EVERY_MS = 60_000;

export interface TickDeps {
  readonly sqs: SQSClient;
  /** The stage's input queue. */
  readonly url: string;
  readonly io: { send(url: string, message: OutgoingMessage): Promise<unknown> };
  readonly logger: Logger;
}

/** The envelope id of `stage`'s tick at `instant`: its outputs' ids derive from it. */
export function tickId(stage: string, instant: number): string {
  return enqueueId(tickDeduplicationId(stage, instant));
}

/** Starts the clock of a scheduled source; resolves the returned stop once it has stopped. */
export function startTicks(stage: Stage, schedule: Schedule, deps: TickDeps): () => Promise<void> {
  const stop = new AbortController();
  const record = stage.catchUp === false ? undefined : new Recorder(deps, stage.name);
  const clock = new TickClock({
    schedule,
    catchUp: stage.catchUp,
    stage: stage.name,
    logger: deps.logger,
    lastTick: async (signal) => (record === undefined ? undefined : readLastTick(deps, signal)),
    send: async (instant, signal) => {
      const id = tickId(stage.name, instant);
      const body = wrapEncoded({ id, level: 0 }, JSON.stringify(new Date(instant).toISOString()));
      const message = { body, groupId: tickGroupId(stage.name), deduplicationId: id };
      signal.throwIfAborted();
      await deps.io.send(deps.url, message);
      record?.sent(instant);
    },
  });
  const running = clock.run(stop.signal);
  return async () => {
    stop.abort();
    await running;
    await record?.flush();
  };
}

async function readLastTick(deps: TickDeps, signal: AbortSignal): Promise<number | undefined> {
  const out = await deps.sqs.send(new ListQueueTagsCommand({ QueueUrl: deps.url }), { abortSignal: signal });
  const value = Number(out.Tags?.[LAST_TICK_TAG]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Records the latest tick sent as a tag, at most once a minute (never a smaller one by this run). */
class Recorder {
  readonly #deps: TickDeps;
  readonly #stage: string;
  #latest = 0;
  #recorded = 0;
  #at = 0;

  constructor(deps: TickDeps, stage: string) {
    this.#deps = deps;
    this.#stage = stage;
  }

  sent(instant: number): void {
    this.#latest = Math.max(this.#latest, instant);
    if (Date.now() - this.#at >= RECORD_EVERY_MS) this.flush().catch(() => {}); // flush never rejects
  }

  async flush(): Promise<void> {
    const latest = this.#latest;
    if (latest <= this.#recorded) return;
    this.#at = Date.now();
    try {
      await this.#deps.sqs.send(
        new TagQueueCommand({ QueueUrl: this.#deps.url, Tags: { [LAST_TICK_TAG]: String(latest) } }),
      );
      this.#recorded = Math.max(this.#recorded, latest);
    } catch (error) {
      this.#deps.logger.warn(
        { stage: this.#stage, err: describe(error) },
        'could not record the latest tick sent; a later catch-up may run it again',
      );
    }
  }
}
