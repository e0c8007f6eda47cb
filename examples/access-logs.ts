/**
 * A realistic pipeline: web server access logs → parsed requests → traffic per hour.
 *
 *   files  (source)  lists the *.log files of a directory, once         → one message per file
 *   lines            reads a file and yields its lines (fan-out, streamed) → one message per line
 *   parse            parses lines 10 at a time (a batch handler); lines of one file stay in order
 *                    (`group` by file); a malformed line fails alone and, with `retries: 0`, goes
 *                    to the dead-letter queue with its reason
 *   tally            keeps totals per hour in this process (`setup` state) and outputs the
 *                    updated totals of the hour of each request
 *
 * Each stage runs in its own process (as many as you like) against the same SQS:
 *   node examples/access-logs.ts files --limit 1
 *   node examples/access-logs.ts lines 4
 *   node examples/access-logs.ts parse 8
 *   node examples/access-logs.ts tally
 * ACCESS_LOGS_DIR (default examples/data) holds the files; SQSPIPES_DOMAIN names the queues.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BatchItemError, fanOut, itemError, pipeline, taskContext } from 'sqspipes';

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

/** Up to 10 lines at once; a line that does not parse fails alone. */
function parse(batch: Line[]): (Request | BatchItemError)[] {
  return batch.map((line) => {
    const m = CLF.exec(line.text);
    if (m === null) return itemError(new Error(`${line.file}:${line.number} is not in Common Log Format`));
    const [, day, month, year, hour, status = '0', bytes = '-'] = m;
    const when = `${year}-${month}-${day} ${hour}:00`;
    return { file: line.file, hour: when, status: Number(status), bytes: bytes === '-' ? 0 : Number(bytes) };
  });
}

/** Adds a request to its hour's totals (kept in this process) and returns them. */
function tally(request: Request): HourTotals {
  const totals = taskContext().state as Map<string, HourTotals>;
  const before = totals.get(request.hour) ?? { hour: request.hour, requests: 0, bytes: 0, errors: 0 };
  const after = {
    hour: request.hour,
    requests: before.requests + 1,
    bytes: before.bytes + request.bytes,
    errors: before.errors + (request.status >= 500 ? 1 : 0),
  };
  totals.set(request.hour, after);
  return after;
}

export const accessLogs = pipeline({ domain: process.env['SQSPIPES_DOMAIN'] ?? 'access-logs' })
  .stage('files', files)
  .stage('lines', lines, { workers: 4 })
  .batchStage('parse', parse, { batch: 10, workers: 8, retries: 0, group: (line) => line.file })
  .stage('tally', tally, { setup: () => new Map<string, HourTotals>() });

if (import.meta.filename === process.argv[1]) await accessLogs.main();
