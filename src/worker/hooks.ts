import type { Stage } from '../stage.ts';

interface Entry {
  readonly state: Promise<unknown>;
  runs: number;
}

/**
 * Lifecycle hooks of the stages run by one client: `setup()` once before the first call of a
 * stage in this process (its result is `taskContext().state`), `teardown(state)` when the last run
 * of that stage stops.
 */
export class StageHooks {
  readonly #entries = new Map<string, Entry>();

  /** The stage's state, running `setup` if no run of it is active. */
  acquire(stage: Stage): Promise<unknown> {
    let entry = this.#entries.get(stage.name);
    if (entry === undefined) {
      const setup = stage.setup;
      const created: Entry = { state: Promise.resolve().then(() => setup?.()), runs: 0 };
      // A failed setup is not kept: the next run tries again.
      created.state.catch(() => {
        if (this.#entries.get(stage.name) === created) this.#entries.delete(stage.name);
      });
      entry = created;
      this.#entries.set(stage.name, entry);
    }
    entry.runs++;
    return entry.state;
  }

  /** Ends one run of the stage; the last one runs `teardown`. */
  async release(stage: Stage): Promise<void> {
    const entry = this.#entries.get(stage.name);
    if (entry === undefined || --entry.runs > 0) return;
    this.#entries.delete(stage.name);
    const state = await entry.state.catch(() => undefined);
    await stage.teardown?.(state);
  }
}
