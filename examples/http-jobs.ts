/**
 * An HTTP job service in front of a pipeline: clients POST a text, get a job id at once, and
 * GET the job's result later (or wait for it). The service only submits; the stages run in their
 * own processes, as in the other examples, and results come back to the service over SQS.
 *
 *   jobs   (source)  unused: jobs come from `POST /jobs` (`submit()`), not from a source
 *   split            a job `{ "text": "…" }` → one message per sentence (fan-out)
 *   count            a sentence → its words and letters; a "word" of more than 30 letters fails
 *                    (`retries: 1`, then the stage's dead-letter queue: the job is `failed`)
 *   grade            the counts → `{ sentence, words, letters, grade }`: the job's results, one
 *                    per sentence, in order
 *
 * Run an emulator (or use AWS), the three stages, then the service, each in its own terminal:
 *   npx --yes fauxqs                             # SQS on http://localhost:4566
 *   export AWS_ENDPOINT_URL_SQS=http://localhost:4566 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
 *   node examples/http-jobs.ts split 4
 *   node examples/http-jobs.ts count 8
 *   node examples/http-jobs.ts grade 4
 *   node examples/http-jobs.ts serve 8080       # or PORT=8080; prints `listening on http://127.0.0.1:8080`
 *
 *   curl -s -X POST localhost:8080/jobs -d '{"text":"Queues are fine. Pipelines are better!"}'
 *   curl -s 'localhost:8080/jobs/<id>?wait=1'    # {"id":…,"state":"done","result":[{"sentence":1,…},…]}
 *
 * `POST /jobs?status=1` follows the job's progress too (`statuses` in its GET answer), at the cost
 * of two more SQS messages per stage call. An `Idempotency-Key` header makes a retried POST the
 * same job. The service keeps the last 1000 jobs, each for 10 minutes after it ended, in its own
 * memory: run one service process, or keep the jobs in a store that all of them share. Ctrl-C
 * (SIGINT) or SIGTERM stops it gracefully: it stops accepting, answers the requests waiting on a
 * job with `failed` (`closed`), deletes its reply queue and exits 0; a second signal exits at once.
 *
 * Node ≥ 22.18 runs this .ts file as is (on 22.12 to 22.17 add `--experimental-strip-types`), but
 * not from node_modules: in your project, copy it as http-jobs.mts and run `node http-jobs.mts …`.
 * In a clone of this repository, `npm run build` first ('sqspipes' resolves to its dist/), and `npx node`
 * is the repository's Node 24. SQSPIPES_DOMAIN (default `http-jobs`) names the queues; the SDK finds
 * the endpoint, region and credentials as usual (AWS_ENDPOINT_URL_SQS, AWS_REGION, …).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { ItemError, type ItemStatus, pipeline, type Submission, type TaskClientOptions } from 'sqspipes';

export interface Job {
  text: string;
}

export interface Sentence {
  sentence: number;
  text: string;
}

export interface Counts {
  sentence: number;
  words: number;
  letters: number;
}

export interface Graded extends Counts {
  grade: 'easy' | 'fair' | 'hard';
}

/** The source stage: never run (jobs are submitted), but its output type is the pipeline's input. */
function jobs(): Job | null {
  return null;
}

/** One message per sentence, numbered from 1. A text without one ends the job as `filtered`. */
function* split(job: Job): Generator<Sentence> {
  const sentences = job.text.match(/[^.!?]+[.!?]*/g) ?? [];
  let number = 0;
  for (const text of sentences) {
    if (text.trim() !== '') yield { sentence: ++number, text: text.trim() };
  }
}

/** Words and letters of a sentence; refuses a "word" no language has (always: it is the input). */
function count({ sentence, text }: Sentence): Counts {
  const words = text.match(/\p{L}+/gu) ?? [];
  const long = words.find((word) => word.length > 30);
  if (long !== undefined) {
    throw new Error(`sentence ${sentence}: "${long.slice(0, 20)}…" is not a word (${long.length} letters)`);
  }
  return { sentence, words: words.length, letters: words.join('').length };
}

function grade(counts: Counts): Graded {
  const grade = counts.words <= 8 ? 'easy' : counts.words <= 20 ? 'fair' : 'hard';
  return { ...counts, grade };
}

/** The pipeline on any client options (test/integration/examples-kit-http-jobs.test.ts gives its own). */
export const textJobsPipeline = (options: TaskClientOptions) =>
  pipeline(options)
    .stage('jobs', jobs)
    .stage('split', split, { workers: 4 })
    .stage('count', count, { workers: 8, retries: 1, retryDelay: 0 })
    .stage('grade', grade, { workers: 4 });

export const textJobs = textJobsPipeline({ domain: process.env['SQSPIPES_DOMAIN'] ?? 'http-jobs' });

// ---- The HTTP service ----------------------------------------------------------------------

/** How long `result()` waits for a job; after it the job is `failed` (`timeout`), as for GET ?wait=1. */
const JOB_TIMEOUT_MS = 120_000;
/** Jobs kept in memory: at most this many, each for KEEP_MS after it ended. */
const MAX_JOBS = 1000;
const KEEP_MS = 10 * 60_000;
/** Largest request body accepted. */
const MAX_BODY_BYTES = 64 * 1024;

interface JobRecord {
  readonly submission: Submission<Graded>;
  state: 'running' | 'done' | 'failed';
  result?: Graded[];
  error?: { end: string; stage?: string; reason?: string; message: string };
  statuses?: ItemStatus[];
  endedAt?: number;
  /** Resolves when the job ended (done or failed); never rejects. */
  readonly ended: Promise<void>;
}

/** A request that gets an answer other than 2xx: its status and message. */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const records = new Map<string, JobRecord>();

/** Follows a submission into `records`. */
function track(submission: Submission<Graded>, withStatuses: boolean): JobRecord {
  const statuses = withStatuses ? [] : undefined;
  const record: JobRecord = {
    submission,
    state: 'running',
    ...(statuses === undefined ? {} : { statuses }),
    ended: outcome(submission, statuses).then((end) => {
      Object.assign(record, end, { endedAt: Date.now() });
    }),
  };
  records.set(submission.id, record);
  return record;
}

/** How the job ended, once its statuses (if followed) are all in `statuses`. */
async function outcome(
  submission: Submission<Graded>,
  statuses: ItemStatus[] | undefined,
): Promise<Pick<JobRecord, 'state' | 'result' | 'error'>> {
  if (statuses !== undefined) for await (const status of submission.statuses()) statuses.push(status);
  try {
    return { state: 'done', result: await submission.result() };
  } catch (error) {
    return { state: 'failed', error: describe(error) };
  }
}

function describe(error: unknown): NonNullable<JobRecord['error']> {
  if (!(error instanceof ItemError)) return { end: 'failed', message: String(error) };
  return {
    end: error.end,
    ...(error.stage === undefined ? {} : { stage: error.stage }),
    ...(error.reason === undefined ? {} : { reason: error.reason }),
    message: error.message,
  };
}

/** Forgets jobs that ended more than KEEP_MS ago, then the oldest ended ones while over MAX_JOBS. */
function prune(now = Date.now()): void {
  for (const [id, record] of records) {
    if (record.endedAt !== undefined && now - record.endedAt > KEEP_MS) records.delete(id);
  }
  for (const [id, record] of records) {
    if (records.size < MAX_JOBS) return;
    if (record.endedAt !== undefined) records.delete(id);
  }
}

function view({ submission, state, result, error, statuses }: JobRecord): object {
  return { id: submission.id, state, result, error, statuses };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `the body is not JSON: ${(error as Error).message}`);
  }
}

function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && typeof (value as Job).text === 'string';
}

async function postJob(request: IncomingMessage, url: URL): Promise<[number, object]> {
  const job = await readJson(request);
  if (!isJob(job)) {
    throw new HttpError(400, 'expected a JSON object with a string `text`, such as {"text":"Hi."}');
  }
  const key = request.headers['idempotency-key'];
  const id = typeof key === 'string' && key !== '' ? key : undefined;
  prune();
  if (records.size >= MAX_JOBS) throw new HttpError(503, `${MAX_JOBS} jobs are running: try again later`);
  const status = url.searchParams.has('status');
  const submission = await textJobs.submit(
    { text: job.text },
    { timeout: JOB_TIMEOUT_MS, status, ...(id === undefined ? {} : { id }) },
  );
  // The same Idempotency-Key again: the same id, the job already known.
  const record = records.get(submission.id) ?? track(submission, status);
  return [202, { id: record.submission.id }];
}

async function getJob(id: string, url: URL): Promise<[number, object]> {
  const record = records.get(id);
  if (record === undefined) {
    throw new HttpError(404, `no job ${id} (unknown, or ended over ${KEEP_MS / 60_000} minutes ago)`);
  }
  if (url.searchParams.has('wait')) await record.ended; // ends by JOB_TIMEOUT_MS at the latest
  return [200, view(record)];
}

async function route(request: IncomingMessage): Promise<[number, object]> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const [, first, id, ...rest] = url.pathname.split('/');
  if (first !== 'jobs' || rest.length > 0) throw new HttpError(404, `no route ${url.pathname}`);
  if (id === undefined || id === '') {
    if (request.method === 'POST') return postJob(request, url);
  } else if (request.method === 'GET') {
    return getJob(id, url); // ids are base64url: nothing to decode
  }
  throw new HttpError(405, `${request.method} is not allowed on ${url.pathname}`);
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  let status: number;
  let body: object;
  try {
    [status, body] = await route(request);
  } catch (error) {
    status = error instanceof HttpError ? error.status : 500;
    body = { error: error instanceof Error ? error.message : String(error) };
    if (status === 500) console.error(error);
  }
  response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function serve(port: number): Promise<void> {
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error(error); // the response could not be written (the client went away)
      response.destroy();
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`listening on http://127.0.0.1:${bound}`);

  // The first SIGINT/SIGTERM stops accepting, ends the jobs still awaited (`closed`) so that
  // waiting requests are answered, and the process exits 0; a second one exits at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    let received = 0;
    const handler = (signal: NodeJS.Signals) => {
      if (received++ === 0) resolve(signal);
      else process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', handler).on('SIGTERM', handler);
  });
  console.error(`${signal}: stopping (send it again to exit at once)`);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await textJobs.close();
  await closed;
}

function portOf(text: string | undefined): number {
  const port = Number(text ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Expected the port to be an integer from 0 to 65535, got \`${text}\``);
  }
  return port;
}

if (import.meta.filename === process.argv[1]) {
  if (process.argv[2] === 'serve') await serve(portOf(process.argv[3] ?? process.env['PORT']));
  // `node examples/http-jobs.ts <stage> [workers] [flags]`, as the other examples.
  else await textJobs.main();
}
