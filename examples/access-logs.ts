/**
 * A realistic pipeline: web server access logs → parsed requests → traffic per hour.
 *
 *   files  (source)  lists the *.log files of a directory, once         → one message per file
 *   lines            reads a file and yields its lines (fan-out, streamed) → one message per line
 *   parse            parses lines 10 at a time (a batch handler); lines of one file stay in order
 *                    (`group` by file); a malformed line fails alone and, with `retries: 0`, goes
 *                    to the dead-letter queue with its reason
 *   tally            adds each request to its hour's totals and, when it stops, prints one JSON
 *                    line per hour, sorted: {"hour":"2026-11-23T08","requests":40,"bytes":…,"errors":…}
 *
 * Each stage runs in its own process against the same SQS; `--idle-timeout` stops a stage once
 * nothing has arrived for that long, so the whole run ends by itself:
 *   node examples/access-logs.ts files --limit 1
 *   node examples/access-logs.ts lines 4 --idle-timeout 10000
 *   node examples/access-logs.ts parse 8 --idle-timeout 10000
 *   node examples/access-logs.ts tally --idle-timeout 10000
 * Run `lines` and `parse` on as many processes as you like, but `tally` on exactly one: it keeps
 * its totals in its own memory, so two tally processes would each print part of every hour. Totals
 * shared by several processes (or kept across a crash) belong in a store they all update, such as
 * one `UPDATE … SET requests = requests + 1` per hour in a database.
 *
 * Node ≥ 22.18 runs this .ts file as is (on 22.12 to 22.17 add `--experimental-strip-types`), but
 * not from node_modules: in your project, copy it as access-logs.mts with the data/ folder beside
 * it, and run `node access-logs.mts …`. In a clone of this repository, `npm run build` first ('sqspipes' resolves to its dist/), and `npx node`
 * is the repository's Node 24. ACCESS_LOGS_DIR (default: the data/ folder beside this file) holds
 * the files; SQSPIPES_DOMAIN (default `access-logs`) names the queues. Endpoint, region and
 * credentials: the AWS SDK's usual environment (AWS_ENDPOINT_URL_SQS, AWS_REGION, …).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BatchItemError,
  fanOut,
  itemError,
  pipeline,
  type TaskClientOptions,
  taskContext,
} from 'sqspipes';

const directory = resolve(process.env['ACCESS_LOGS_DIR'] ?? join(import.meta.dirname, 'data'));

export interface Line {
  file: string;
  number: number;
  text: string;
}

export interface Request {
  file: string;
  hour: string;
  status: number;
  bytes: number;
}

export interface HourTotals {
  hour: string;
  requests: number;
  bytes: number;
  errors: number;
}

/** Common Log Format: `host ident user [23/Nov/2026:08:07:13 +0000] "GET /x HTTP/1.1" 200 4947`. */
const CLF = /^\S+ \S+ \S+ \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):\d\d:\d\d [+-]\d{4}\] "[^"]*" (\d{3}) (\d+|-)$/;

/** The source: every log file of the directory (run it with `--limit 1`: once). */
async function files() {
  const names = await readdir(directory);
  return fanOut(names.filter((name) => name.endsWith('.log')).sort());
}

/** One file → its lines, each sent on as soon as it is read. */
async function* lines(file: string): AsyncGenerator<Line> {
  const text = await readFile(join(directory, file), 'utf8');
  let number = 0;
  for (const line of text.split('\n')) {
    number++;
    if (line.trim() !== '') yield { file, number, text: line };
  }
}

/** The Common Log Format's month names, in order. */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Up to 10 lines at once; a line that does not parse fails alone. */
function parse(batch: Line[]): (Request | BatchItemError)[] {
  return batch.map((line) => {
    const m = CLF.exec(line.text);
    const month = MONTHS.indexOf(m?.[2] ?? '') + 1;
    if (m === null || month === 0) {
      return itemError(new Error(`${line.file}:${line.number} is not in Common Log Format`));
    }
    const [, day, , year, hour, status = '0', bytes = '-'] = m;
    // ISO 8601 to the hour (`2026-11-23T08`): sorts as text in time order.
    const when = `${year}-${String(month).padStart(2, '0')}-${day}T${hour}`;
    return { file: line.file, hour: when, status: Number(status), bytes: bytes === '-' ? 0 : Number(bytes) };
  });
}

type Totals = Map<string, HourTotals>;

/** Adds a request to its hour's totals, kept in this process; outputs nothing. */
function tally(request: Request): undefined {
  const totals = taskContext().state as Totals;
  const before = totals.get(request.hour) ?? { hour: request.hour, requests: 0, bytes: 0, errors: 0 };
  totals.set(request.hour, {
    hour: request.hour,
    requests: before.requests + 1,
    bytes: before.bytes + request.bytes,
    errors: before.errors + (request.status >= 500 ? 1 : 0),
  });
  return undefined;
}

/** When tally stops: one line per hour, in time order. */
function report(totals: Totals): void {
  const hours = [...totals.values()].sort((a, b) => a.hour.localeCompare(b.hour));
  for (const hour of hours) console.log(JSON.stringify(hour));
}

/** The pipeline on any client options (test/integration/examples-kit-access-logs.test.ts gives its own). */
export const accessLogsPipeline = (options: TaskClientOptions) =>
  pipeline(options)
    .stage('files', files)
    .stage('lines', lines, { workers: 4 })
    .batchStage('parse', parse, { batch: 10, workers: 8, retries: 0, group: (line) => line.file })
    .stage('tally', tally, { setup: (): Totals => new Map(), teardown: report });

export const accessLogs = accessLogsPipeline({ domain: process.env['SQSPIPES_DOMAIN'] ?? 'access-logs' });

if (import.meta.filename === process.argv[1]) await accessLogs.main();
