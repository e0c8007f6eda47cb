// A fresh Lambda container, for lambda.ts: loads its code, makes its handler, answers two events
// of 10 records (the first cold, the second warm) and prints what it measured as one JSON line.
//   node scripts/bench/lambda-cold.mjs sqspipes|sdk EVENTS_FILE
// Plain JavaScript with only node: imports at the top, as a deployed function would be (a .ts file
// adds Node's type stripping, about 40 ms here, to the start).
// Environment: AWS_ENDPOINT_URL_SQS, AWS_REGION and credentials, as a function has them; sqspipes:
// BENCH_DOMAIN; sdk: BENCH_NEXT_URL (the next stage's queue, as a function's setting).
// - sqspipes: `client.lambda('relay')` of the pipeline gen → relay → sink (the same as lambda.ts').
// - sdk: the fastest handler written by hand on the SDK alone: parse each body, one
//   SendMessageBatch of them to the next queue (same group, the record's id as deduplication id),
//   answer with the entries SQS refused.
// Every HTTP request is timed through Node's diagnostics channels, so the client is the one a
// user's function has, with nothing added to it.
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';

const startMs = performance.now();
const [mode, eventsFile] = process.argv.slice(2);

/** @type {{ action: string, start: number, end?: number, failed?: boolean }[]} */
const requests = [];
const open = new WeakMap();
subscribe('http.client.request.start', ({ request }) => {
  const target = String(request.getHeader('x-amz-target') ?? 'other');
  const entry = { action: target.replace(/^AmazonSQS\./, ''), start: performance.now() };
  open.set(request, entry);
  requests.push(entry);
});
subscribe('http.client.response.finish', ({ request }) => {
  const entry = open.get(request);
  if (entry !== undefined) entry.end = performance.now();
});
subscribe('http.client.request.error', ({ request }) => {
  const entry = open.get(request);
  if (entry !== undefined) entry.failed = true;
});

const context = (id) => {
  const deadline = performance.now() + 30_000;
  return {
    awsRequestId: id,
    functionName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - performance.now())),
  };
};

async function sqspipesHandler() {
  const { TaskClient } = await import('sqspipes');
  const imported = performance.now();
  const client = new TaskClient({ domain: process.env.BENCH_DOMAIN }).registerTasks([
    { name: 'gen', method: () => null },
    { name: 'relay', method: (x) => x },
    { name: 'sink', method: (x) => x },
  ]);
  return {
    imported,
    handler: client.lambda('relay'),
    stats: () => client.stats().requests,
    close: () => client.close(),
  };
}

async function sdkHandler() {
  const { SQSClient, SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
  const imported = performance.now();
  const sqs = new SQSClient({});
  const queueUrl = process.env.BENCH_NEXT_URL;
  const handler = async (event) => {
    const entries = event.Records.map((r, i) => ({
      Id: String(i),
      MessageBody: JSON.stringify(JSON.parse(r.body)),
      MessageGroupId: r.attributes.MessageGroupId,
      MessageDeduplicationId: r.messageId,
    }));
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failed = (out.Failed ?? []).map((f) => ({ itemIdentifier: event.Records[Number(f.Id)].messageId }));
    return { batchItemFailures: failed };
  };
  return { imported, handler, stats: () => ({}), close: () => sqs.destroy() };
}

const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const made = await (mode === 'sdk' ? sdkHandler() : sqspipesHandler());
const handlerMade = performance.now();
const invocations = [];
for (const [i, event] of events.entries()) {
  const from = performance.now();
  const answer = await made.handler(event, context(`bench-${i}`));
  const to = performance.now();
  invocations.push({
    startMs: from,
    endMs: to,
    records: event.Records.length,
    failed: answer?.batchItemFailures?.length ?? 0,
    clientRequests: made.stats(),
  });
}
const result = {
  mode,
  // Milestones, ms after Node's time origin (the start of this process).
  startMs,
  importedMs: made.imported,
  handlerMadeMs: handlerMade,
  invocations,
  requests,
  epochOfOrigin: performance.timeOrigin,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await made.close();
