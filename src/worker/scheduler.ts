import type { Delivery, Outcome } from './delivery.ts';
import { Dispatcher } from './dispatcher.ts';
import type { Processor } from './processor.ts';
import type { RunControl } from './run-control.ts';

/** Steps of the waiting count at which intake is told (SQS's batch of 10). */
const DRAIN_STEP = 10;
/**
 * Longest the lower levels wait, at the start of a run, for the higher levels' queues to be looked
 * at (see {@link Scheduler.caughtUp}); past it, a higher level still receiving is not waited for.
 */
export const START_HOLD_MS = 5000;

export interface SchedulerOptions {
  /** Concurrent calls (worker slots). */
  readonly workers: number;
  /** Inputs per call: a batch handler's `batch`, else 1. */
  readonly batch: number;
  /**
   * A join's: inputs of the same group that wait behind the one taken, run with it in one call
   * (up to this many more): its fold reads and writes the item's state once for all of them.
   */
  readonly follow?: number;
  /** Called when the inputs waiting for a worker drop below a multiple of 10 (intake may need to speed up). */
  readonly drained: () => void;
  /** Inputs this run may start in all (`limit`). */
  readonly limit: number;
  /** The priority levels the run receives from. */
  readonly levels: readonly number[];
}

/**
 * Gives deliveries to worker slots: the highest level first, one call at a time per group (a
 * retried input keeps its group until it ends), at most `limit` inputs started in the run. A slot
 * is held while the call runs, not while its outputs travel.
 *
 * At the start, each level's first receive is in flight at once and a lower level's may come back
 * first: the lower levels wait until every higher level's queue was looked at (a receive of it came
 * back with less than it asked, or failed), for {@link START_HOLD_MS} at most. A backlog queued
 * before the run starts is thus taken highest level first, as one that arrives during the run.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  /** Calls the stage: none until the run is set up ({@link start}); what comes meanwhile waits. */
  #processor: Processor | undefined;
  readonly #control: RunControl;
  readonly #dispatcher = new Dispatcher<Delivery>();
  /** Worker slots taken: calls running. */
  #running = 0;
  /** Deliveries taken by a worker at least once and not ended: they hold their group. */
  readonly #taken = new Set<Delivery>();
  #started = 0;
  /** Deliveries waiting for a worker that have not started yet (a retry waiting does not count). */
  #fresh = 0;
  /** Ends the start's hold of the lower levels (see {@link START_HOLD_MS}). */
  #hold: NodeJS.Timeout | undefined;

  constructor(options: SchedulerOptions, control: RunControl) {
    this.#options = options;
    this.#control = control;
    const lowest = Math.min(...options.levels);
    const above = options.levels.filter((level) => level > lowest);
    if (above.length > 0) {
      this.#dispatcher.expect(above);
      this.#hold = setTimeout(() => {
        this.#endHold();
        this.#pump();
      }, START_HOLD_MS).unref();
    }
  }

  /**
   * The run is set up (its queues checked, the stage's `setup()` done): workers take what waits,
   * and what comes from now on, through `processor`.
   */
  start(processor: Processor): void {
    this.#processor = processor;
    this.#pump();
  }

  /**
   * A receive of `level` came back with less than it asked for, or failed: SQS has nothing more of
   * it in sight, and the levels below it need not wait for it any longer.
   */
  caughtUp(level: number): void {
    if (!this.#dispatcher.seen(level)) return;
    if (!this.#dispatcher.holding) this.#endHold();
    this.#pump();
  }

  #endHold(): void {
    clearTimeout(this.#hold);
    this.#hold = undefined;
    this.#dispatcher.seeAll();
  }

  /** Received deliveries, in receive order. */
  push(deliveries: readonly Delivery[]): void {
    for (const delivery of deliveries) if (!delivery.begun) this.#fresh++;
    this.#dispatcher.push(...deliveries);
    this.#pump();
  }

  /** A delivery whose retry is due: it runs before the rest of its group. */
  resume(delivery: Delivery): void {
    this.#dispatcher.resume(delivery);
    this.#pump();
  }

  /**
   * A delivery ended: its group may go on. A released one takes the rest of its group in hand
   * with it (returned, to be released too), so that nothing overtakes it: SQS gives them again in order.
   */
  ended(delivery: Delivery, outcome: Outcome): Delivery[] {
    if (!this.#taken.delete(delivery)) return [];
    this.#dispatcher.done(delivery);
    const later = outcome === 'released' ? this.#dispatcher.takeGroup(delivery.group) : [];
    for (const removed of later) if (!removed.begun) this.#fresh--;
    this.#pump();
    return later;
  }

  /** Removes and returns every delivery waiting for a worker (to release them on stop). */
  drain(): Delivery[] {
    this.#endHold();
    this.#fresh = 0;
    return this.#dispatcher.drain();
  }

  /** Deliveries waiting for a worker. */
  get waiting(): number {
    return this.#dispatcher.waiting;
  }

  /**
   * Deliveries waiting for a worker at `level` or above: those that run before what a receive of
   * `level` brings (a lower level's prefetch does not slow a higher level's intake).
   */
  waitingFrom(level: number): number {
    return this.#dispatcher.waitingFrom(level);
  }

  /**
   * How many more inputs the run may take within its `limit`. Receives ask for no more than this
   * leaves after the receives in flight, one at least (see Capacity); what they bring past it is
   * set aside by the intake and handed back when the run stops, which it is about to.
   */
  get quota(): number {
    // A retry waiting for a worker takes no start: counting it once set a fresh input aside for
    // good (the run then neither reached its limit nor went idle).
    return this.#options.limit - this.#started - this.#fresh;
  }

  /** True once `limit` inputs were started and every one of them has ended. */
  get limitDone(): boolean {
    return this.#started >= this.#options.limit && this.#taken.size === 0;
  }

  /** Gives free worker slots what may run now. */
  #pump(): void {
    const processor = this.#processor;
    if (processor === undefined) return;
    while (!this.#control.stopping && this.#running < this.#options.workers) {
      const before = this.#dispatcher.waiting;
      const deliveries = this.#take();
      const after = this.#dispatcher.waiting;
      if (Math.floor(after / DRAIN_STEP) < Math.floor(before / DRAIN_STEP)) this.#options.drained();
      if (deliveries.length === 0) return;
      this.#running++;
      // The processor settles each input itself: a rejection here is a bug, and ends the run.
      this.#run(processor, deliveries).catch((error: unknown) => this.#control.fail(error));
    }
  }

  async #run(processor: Processor, deliveries: readonly Delivery[]): Promise<void> {
    await Promise.resolve(); // the call starts on its own turn, not inside push(), resume() or ended()
    try {
      await this.#control.track(processor.run(deliveries));
    } finally {
      this.#running--;
      this.#pump();
    }
  }

  /** Past `limit`, only inputs already started (retries) may run. */
  readonly #allowed = (d: Delivery): boolean => d.begun || this.#started < this.#options.limit;

  /** What one worker runs next: one input, or up to `batch` inputs of distinct groups. */
  #take(): Delivery[] {
    const taken: Delivery[] = [];
    while (!this.#control.stopping && taken.length < this.#options.batch) {
      const allowed = this.#allowed;
      const delivery = this.#dispatcher.take(allowed);
      if (delivery === undefined) break;
      this.#start(delivery, taken);
      const follow = this.#options.follow ?? 0;
      if (follow > 0) {
        // One by one, so that `allowed` sees the count of inputs started so far.
        for (let next = delivery; taken.length <= follow;) {
          const [following] = this.#dispatcher.takeFollowing(next, 1, allowed);
          if (following === undefined) break;
          this.#start(following, taken);
          next = following;
        }
        break;
      }
    }
    return taken;
  }

  #start(delivery: Delivery, taken: Delivery[]): void {
    if (!delivery.begun) {
      this.#started++;
      this.#fresh--;
    }
    this.#taken.add(delivery);
    taken.push(delivery);
  }
}
