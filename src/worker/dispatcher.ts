/**
 * Decides which message in hand runs next: the highest priority level first, in receive order
 * within a level, and never two messages of one group at once (nor one overtaking an earlier one
 * of its group). A taken item keeps its group busy until {@link Dispatcher.done} (also while it
 * waits for a retry). Pure bookkeeping, no I/O.
 *
 * At the start of a run every level's first receive is in flight at once, and a low level's can
 * come back first: levels named by {@link Dispatcher.expect} hold back every lower level until
 * each is {@link Dispatcher.seen} (its queue was looked at), so that the first worker free does not
 * take a low item while the high ones are on their way.
 */
export interface Dispatchable {
  readonly level: number;
  readonly group: string;
}

export class Dispatcher<T extends Dispatchable> {
  /** Waiting items, one array per level, in receive order. */
  readonly #waiting = new Map<number, T[]>();
  /** Groups with items taken and not done: how many (a join takes several of its group at once). */
  readonly #busyGroups = new Map<string, number>();
  /** Every level seen, highest first. */
  #levels: number[] = [];
  #count = 0;
  /** Levels not looked at yet: items below the highest of them wait. */
  readonly #unseen = new Set<number>();
  /** The highest unseen level: items of lower levels are not taken. */
  #floor = Number.NEGATIVE_INFINITY;

  /** Holds back the levels below each of `levels` until it is {@link seen}. */
  expect(levels: Iterable<number>): void {
    for (const level of levels) this.#unseen.add(level);
    this.#floor = Math.max(Number.NEGATIVE_INFINITY, ...this.#unseen);
  }

  /** `level` was looked at: the levels below it no longer wait for it. False if none waited. */
  seen(level: number): boolean {
    if (!this.#unseen.delete(level)) return false;
    this.#floor = Math.max(Number.NEGATIVE_INFINITY, ...this.#unseen);
    return true;
  }

  /** Stops holding back any level (the start's bound is over). */
  seeAll(): void {
    this.#unseen.clear();
    this.#floor = Number.NEGATIVE_INFINITY;
  }

  /** True while some expected level was not seen yet (the levels below it wait). */
  get holding(): boolean {
    return this.#unseen.size > 0;
  }

  /** Adds items in the order SQS returned them. */
  push(...items: T[]): void {
    for (const item of items) {
      let queue = this.#waiting.get(item.level);
      if (queue === undefined) {
        queue = [];
        this.#waiting.set(item.level, queue);
        this.#seen(item.level);
      }
      queue.push(item);
      this.#count++;
    }
  }

  /**
   * The next item that may run now, marking its group busy; undefined when none may. Items that
   * `allowed` refuses are skipped, and hold back the rest of their group.
   */
  take(allowed: (item: T) => boolean = always): T | undefined {
    for (const level of this.#levels) {
      if (level < this.#floor) break; // held back: a higher level was not looked at yet
      const queue = this.#waiting.get(level);
      if (queue === undefined) continue;
      let passed: Set<string> | undefined; // groups held back at this level (made on the first)
      for (let i = 0; i < queue.length; i++) {
        const item = queue[i] as T;
        if (!this.#busyGroups.has(item.group) && passed?.has(item.group) !== true && allowed(item)) {
          if (i === 0) queue.shift();
          else queue.splice(i, 1);
          if (queue.length === 0) this.#waiting.delete(level);
          this.#count--;
          this.#busyGroups.set(item.group, 1);
          return item;
        }
        (passed ??= new Set()).add(item.group);
      }
    }
    return undefined;
  }

  /**
   * Puts a taken item back in front of its level (its retry is due): it runs before anything
   * else of its group, which waited behind it.
   */
  resume(item: T): void {
    this.#free(item.group);
    const queue = this.#waiting.get(item.level);
    if (queue === undefined) {
      this.#waiting.set(item.level, [item]);
      this.#seen(item.level);
    } else queue.unshift(item);
    this.#count++;
  }

  /** Marks a taken item finished: once every taken item of its group is, the next may run. */
  done(item: T): void {
    this.#free(item.group);
  }

  /**
   * Takes, along with `item` (taken, its group busy), up to `max` items of its group that wait
   * behind it, in order, at any level, each passing `allowed` (stops at the first refused): a
   * join folds them in one go. Its group stays busy until every one of them is done.
   */
  takeFollowing(item: T, max: number, allowed: (item: T) => boolean = always): T[] {
    const busy = this.#busyGroups.get(item.group);
    if (busy === undefined) throw new Error('takeFollowing() needs an item taken');
    const taken: T[] = [];
    for (const level of this.#levels) {
      const queue = this.#waiting.get(level);
      if (queue === undefined) continue;
      for (let i = 0; i < queue.length && taken.length < max;) {
        const next = queue[i] as T;
        if (next.group !== item.group) i++;
        else if (!allowed(next)) return this.#followed(item.group, busy, taken);
        else taken.push(...queue.splice(i, 1));
      }
      if (queue.length === 0) this.#waiting.delete(level);
    }
    return this.#followed(item.group, busy, taken);
  }

  #followed(group: string, busy: number, taken: T[]): T[] {
    this.#count -= taken.length;
    this.#busyGroups.set(group, busy + taken.length);
    return taken;
  }

  #free(group: string): void {
    const busy = this.#busyGroups.get(group) ?? 0;
    if (busy <= 1) this.#busyGroups.delete(group);
    else this.#busyGroups.set(group, busy - 1);
  }

  /** Removes and returns the waiting items of `group`, in order (to release them with it). */
  takeGroup(group: string): T[] {
    const taken: T[] = [];
    for (const [level, queue] of this.#waiting) {
      const kept = queue.filter((item) => item.group !== group);
      if (kept.length === queue.length) continue;
      taken.push(...queue.filter((item) => item.group === group));
      if (kept.length === 0) this.#waiting.delete(level);
      else this.#waiting.set(level, kept);
    }
    this.#count -= taken.length;
    return taken;
  }

  /** Removes and returns every waiting item (to release them on stop). */
  drain(): T[] {
    const all = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    this.#count = 0;
    return all;
  }

  #seen(level: number): void {
    if (!this.#levels.includes(level)) this.#levels = [...this.#levels, level].sort((a, b) => b - a);
  }

  /** Items waiting (not taken). */
  get waiting(): number {
    return this.#count;
  }

  /** Items waiting at `level` or above: those that run before anything `level` would bring. */
  waitingFrom(level: number): number {
    let count = 0;
    for (const [at, queue] of this.#waiting) if (at >= level) count += queue.length;
    return count;
  }
}

const always = (): boolean => true;
