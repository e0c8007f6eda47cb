import { type PendingJoins, waitingText } from '../payloads/join-listing.ts';
import type { TaskClient } from '../task-client.ts';

/** What the progress line reads of the client. */
export type ProgressClient = Pick<TaskClient, 'stats' | 'queues' | 'joinsWaiting'>;

export interface ProgressOptions {
  readonly stage: string;
  /** Where the line goes: stderr, so that stdout stays pure JSON lines. */
  readonly stream: NodeJS.WriteStream;
  /** Milliseconds between plain log lines when `stream` is not a terminal. @default 10000 */
  readonly logInterval: number;
}

/** How often a terminal's live line is redrawn, and how often queue backlogs are asked for. */
const TTY_REFRESH_MS = 500;
const BACKLOG_REFRESH_MS = 10_000;

/**
 * The stage CLI's progress report on stderr: a live line redrawn in place on a terminal, a plain
 * log line every `logInterval` ms otherwise. Inputs taken in, outputs, failed attempts, inputs
 * done per second, in hand, and the backlog of the stage's input queues (asked of SQS every 10 s:
 * one request per level); for a join stage, its items waiting (listed from S3 every `logInterval`,
 * 10 s at least: up to 10 ListObjectsV2 calls).
 */
export class Progress {
  readonly #client: ProgressClient;
  readonly #options: ProgressOptions;
  readonly #tty: boolean;
  readonly #timers: NodeJS.Timeout[] = [];
  #last = { at: Date.now(), processed: 0 };
  #rate = 0;
  #backlog: string = '?';
  /** A join stage's items waiting, as last listed; undefined: not a join (or not known yet). */
  #joins: PendingJoins | 'unknown' | undefined;
  readonly #stopped = new AbortController();

  constructor(client: ProgressClient, options: ProgressOptions) {
    this.#client = client;
    this.#options = options;
    this.#tty = options.stream.isTTY === true;
  }

  start(): void {
    const every = this.#tty ? TTY_REFRESH_MS : this.#options.logInterval;
    this.#timers.push(setInterval(() => this.#draw(), every));
    const refresh = (): void => {
      this.#refreshBacklog().catch(() => {
        this.#backlog = '?';
      });
    };
    refresh();
    this.#timers.push(setInterval(refresh, BACKLOG_REFRESH_MS));
    this.#startJoins();
    for (const timer of this.#timers) timer.unref();
  }

  /**
   * A join stage lists its items waiting once, then every progress interval (10 s at least), one
   * listing at a time; another stage stops after the first answer (no S3 call: it is no join).
   */
  #startJoins(): void {
    let listing = false;
    const list = (): void => {
      if (listing) return;
      listing = true;
      this.#client
        .joinsWaiting(this.#options.stage, this.#stopped.signal)
        .then(
          (joins) => {
            this.#joins = joins;
            if (joins === undefined) clearInterval(timer);
          },
          () => {
            this.#joins = 'unknown';
          },
        )
        .finally(() => {
          listing = false;
        });
    };
    const timer = setInterval(list, Math.max(this.#options.logInterval, BACKLOG_REFRESH_MS));
    this.#timers.push(timer);
    list();
  }

  /** Stops; on a terminal, leaves the final line in place (a log gets no extra line). */
  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    this.#stopped.abort();
    if (!this.#tty) return;
    this.#draw();
    this.#options.stream.write('\n');
  }

  /**
   * The text of the line, e.g. `reduce: 120 in, 118 out, 0 failed, 40.2/s, 16 in hand, backlog 300`:
   * `in` is every input this run took (source: calls), whatever became of it: done, set aside in
   * the dead-letter queue, or in hand (running, waiting for a retry or for a worker); `failed`
   * counts failed attempts; the rate is inputs done per second. A join stage adds its items
   * waiting for branches, and how long ago the oldest was last folded: `, joins waiting 3 (oldest 42s)`.
   */
  line(): string {
    const stats = this.#client.stats();
    const now = Date.now();
    const seconds = (now - this.#last.at) / 1000;
    if (seconds >= 0.5) {
      this.#rate = (stats.processed - this.#last.processed) / seconds;
      this.#last = { at: now, processed: stats.processed };
    }
    const taken = stats.processed + stats.deadLettered + stats.inHand;
    return (
      `${this.#options.stage}: ${taken} in, ${stats.outputs} out, ${stats.failed} failed, ` +
      `${this.#rate.toFixed(1)}/s, ${stats.inHand} in hand, backlog ${this.#backlog}${this.#joinsText(now)}`
    );
  }

  #joinsText(now: number): string {
    const joins = this.#joins;
    if (joins === undefined) return '';
    if (joins === 'unknown') return ', joins waiting ?';
    const oldest = joins.oldest === undefined ? '' : ` (oldest ${since(now - joins.oldest.getTime())})`;
    return `, joins waiting ${waitingText(joins)}${oldest}`;
  }

  #draw(): void {
    const text = this.line();
    if (this.#tty) this.#options.stream.write(`\r\x1b[2K${text}`);
    else this.#options.stream.write(`${new Date().toISOString()} ${text}\n`);
  }

  async #refreshBacklog(): Promise<void> {
    try {
      const queues = (await this.#client.queues()).filter((q) => q.stage === this.#options.stage);
      if (queues.length === 0) {
        this.#backlog = 'n/a';
        return;
      }
      const total = queues.filter((q) => q.level !== 'dlq').reduce((n, q) => n + q.visible, 0);
      const dlq = queues.find((q) => q.level === 'dlq');
      this.#backlog = `${total}${dlq === undefined ? '' : `, dlq ${dlq.visible}`}`;
    } catch {
      this.#backlog = '?';
    }
  }
}

/** `ms` in its largest whole unit: `42s`, `3m`, `5h`, `2d`. */
function since(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}
