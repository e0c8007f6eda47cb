/**
 * Map-reduce with a join: web server access logs → one summary per file.
 *
 *   files    (source)  lists the *.log files of a directory, once           → one message per file
 *   lines              a file (its name, or its name and text) → one branch per line (`fanOut`),
 *                      after a first branch with the file's name and number of lines
 *   parse              a line → its request `{ path, status, bytes }`; a blank or malformed line → null
 *                      (filtered out: its branch ends there)
 *   summary            `join: 'lines'`: once every branch of a file has ended, called once with what
 *                      reached it, in line order, and folds it into the file's summary:
 *                      {"file":"access-2.log","lines":122,"requests":120,"skipped":2,"bytes":…,
 *                       "statuses":{"200":…,"404":…},"topPaths":[{"path":"/index.html","requests":…},…]}
 *
 * A join keeps each file's partial state in S3 (`payloads: { bucket }`), so every stage, `summary`
 * too, runs on as many processes as you like; nothing is kept in a process's memory (compare
 * access-logs.ts, whose `tally` must run alone). On fauxqs (SQS and S3 on one endpoint; the init
 * file creates the bucket, with the lifecycle rule sqspipes checks for) or LocalStack
 * (`SERVICES=sqs,s3`, then `aws --endpoint-url http://localhost:4566 s3 mb s3://log-summary`), one
 * stage per process, each in its own terminal; `--idle-timeout` ends each once idle that long:
 *
 *   FAUXQS_INIT=examples/data/fauxqs-init.json npx --yes fauxqs   # http://localhost:4566, bucket log-summary
 *   export AWS_ENDPOINT_URL_SQS=http://localhost:4566 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
 *   node examples/log-summary.ts files --limit 1
 *   node examples/log-summary.ts lines 2 --idle-timeout 10000
 *   node examples/log-summary.ts parse 8 --idle-timeout 10000
 *   node examples/log-summary.ts summary 4 --idle-timeout 10000   # prints one JSON line per file
 *
 * `submit('access-1.log')` (or `submit({ file, text })`) from another process resolves its
 * `result()` with that file's summary. A branch that is dead-lettered on the way (none here: parse
 * filters what it cannot read) would fail the file's summary, which then goes to the dead-letter
 * queue of `summary`, its reason naming the lost branch and why.
 *
 * Node ≥ 22.18 runs this .ts file as is (on 22.12 to 22.17 add `--experimental-strip-types`), but
 * not from node_modules: in your project, copy it as log-summary.mts with the data/ folder beside
 * it, and run `node log-summary.mts …`. In a clone of this repository, `npm run build` first
 * ('sqspipes' resolves to its dist/), and `npx node` is the repository's Node 24. LOG_SUMMARY_DIR
 * (default: the data/ folder beside this file) holds the files; SQSPIPES_DOMAIN (default
 * `log-summary`) names the queues; SQSPIPES_PAYLOAD_BUCKET (default `log-summary`) is the bucket
 * that keeps the joins' state, under `sqspipes/`. Endpoint, region and credentials: the AWS SDK's
 * usual environment; S3 is reached on AWS_ENDPOINT_URL_SQS unless AWS_ENDPOINT_URL_S3 is set.
 */
import { realpathSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fanOut, pipeline, type TaskClientOptions } from 'sqspipes';

const directory = resolve(process.env['LOG_SUMMARY_DIR'] ?? join(import.meta.dirname, 'data'));

/** A log file: its name in the directory (or a path), or its name and text. */
export type LogFile = string | { file: string; text: string };

/**
 * The first branch of every file. The join gets only what reached it, not the split's input: this
 * branch carries the file's name to its summary, even when every line is filtered out.
 */
export interface FileInfo {
  file: string;
  lines: number;
}

export interface Line {
  number: number;
  text: string;
}

export interface Request {
  path: string;
  status: number;
  bytes: number;
}

export interface Summary {
  file: string;
  /** Lines in the file. */
  lines: number;
  /** Well-formed lines. */
  requests: number;
  /** Blank or malformed lines, filtered out by `parse`. */
  skipped: number;
  bytes: number;
  /** Requests per HTTP status, e.g. `{ "200": 91, "404": 8 }`. */
  statuses: Record<string, number>;
  /** The 3 paths requested most (ties: in path order). */
  topPaths: { path: string; requests: number }[];
}

/** Common Log Format: `host ident user [23/Nov/2026:08:07:13 +0000] "GET /x HTTP/1.1" 200 4947`. */
const CLF = /^\S+ \S+ \S+ \[[^\]]+\] "[A-Z]+ (\S+)[^"]*" (\d{3}) (\d+|-)$/;

/** The source: every log file of the directory (run it with `--limit 1`: once). */
async function files() {
  const names = await readdir(directory);
  return fanOut<LogFile>(names.filter((name) => name.endsWith('.log')).sort());
}

/** One file → a branch with its name and size, then one branch per line. */
async function lines(input: LogFile) {
  const { file, text } =
    typeof input === 'string'
      ? { file: input, text: await readFile(resolve(directory, input), 'utf8') }
      : input;
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop(); // the file's last newline ends a line; it does not start one
  const info: FileInfo = { file, lines: all.length };
  return fanOut<FileInfo | Line>([info, ...all.map((text, i) => ({ number: i + 1, text }))]);
}

/** A line → its request, or null (filtered) when it is blank or not in Common Log Format. */
function parse(entry: FileInfo | Line): FileInfo | Request | null {
  if (!('text' in entry)) return entry; // the file's first branch goes on to the join as it is
  const m = CLF.exec(entry.text.trim());
  if (m === null) return null;
  const [, target = '', status = '0', bytes = '-'] = m;
  return {
    path: target.split('?')[0] ?? '',
    status: Number(status),
    bytes: bytes === '-' ? 0 : Number(bytes),
  };
}

/** The join: one file's branches that reached it, in line order (the file's info first) → its summary. */
function summary(parsed: (FileInfo | Request)[]): Summary {
  const info = parsed.find((p): p is FileInfo => 'file' in p);
  if (info === undefined) throw new Error('no branch carried the file info: it is always the first one');
  const requests = parsed.filter((p): p is Request => 'path' in p);
  const statuses: Record<string, number> = {};
  const paths = new Map<string, number>();
  let bytes = 0;
  for (const r of requests) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    paths.set(r.path, (paths.get(r.path) ?? 0) + 1);
    bytes += r.bytes;
  }
  const topPaths = [...paths]
    .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : 1))
    .slice(0, 3)
    .map(([path, n]) => ({ path, requests: n }));
  const { file, lines } = info;
  return {
    file,
    lines,
    requests: requests.length,
    skipped: lines - requests.length,
    bytes,
    statuses,
    topPaths,
  };
}

/** The pipeline on any client options (test/integration/examples-kit-log-summary.test.ts gives its own). */
export const logSummaryPipeline = (options: TaskClientOptions) =>
  pipeline(options)
    .stage('files', files)
    .stage('lines', lines, { workers: 2 })
    .stage('parse', parse, { workers: 8 })
    .stage('summary', summary, { join: 'lines', workers: 4 });

export const logSummary = logSummaryPipeline({
  domain: process.env['SQSPIPES_DOMAIN'] ?? 'log-summary',
  payloads: { bucket: process.env['SQSPIPES_PAYLOAD_BUCKET'] ?? 'log-summary', prefix: 'sqspipes/' },
});

// `node examples/log-summary.ts <stage> [workers] [flags]`; a test imports the pipeline instead.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename) {
  await logSummary.main();
}
