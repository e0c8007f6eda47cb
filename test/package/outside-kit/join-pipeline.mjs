// A user's pipeline with a join after fan-out (README: "Join after fan-out"): `source` emits item
// numbers, `split` fans each out into its branches, `work` filters some, fans one out again and
// passes the rest on, `gather` (`join: 'split'`) gets each item's values in fan-out order, `sink`
// passes them on to `collect`, where they wait for whoever reads them (join.test.mjs).
//   JOIN_DOMAIN=d JOIN_BUCKET=b [JOIN_MAX_BRANCHES=12] node join-pipeline.mjs <stage> [workers] [flags]
// A `source` process emits the items JOIN_FROM to JOIN_TO - 1, one a call, each with its own id
// (`item-<n>`: a source started again sends the same messages, which SQS drops), then exits when
// run with `--limit <JOIN_TO - JOIN_FROM>`. Item POISON's branch 2 always fails in `work`.
import { fanOut, TaskClient, withId } from 'sqspipes';

export const PREFIX = 'sqspipes/';
export const POISON = 1_000_000;

/** 0 to `max` branches; none for a few items. */
export function branchCount(n, max) {
  if (n === POISON) return 4;
  return n % 9 === 4 ? 0 : (n * 7) % (max + 1);
}

/** What `work` makes of branch `i` of item `n`: null (filtered), one value, or several (fan-out). */
export function workRule({ n, i }) {
  if (n === POISON && i === 2) throw new Error(`branch ${n}.${i} is poison`);
  if ((n + i) % 6 === 5) return null;
  if (i === 3 && n % 2 === 0) return [`${n}.${i}a`, `${n}.${i}b`, `${n}.${i}c`];
  return `${n}.${i}`;
}

/** The values `gather` must get for item `n`, in fan-out order. */
export function expectedValues(n, max) {
  return Array.from({ length: branchCount(n, max) }, (_, i) => workRule({ n, i })).flatMap((r) =>
    r === null ? [] : r,
  );
}

/** `gather`'s output: the item (read from its first value; null when it has none) and its values. */
function gather(values) {
  const first = values[0];
  return { item: first === undefined ? null : Number(first.split('.')[0]), values };
}

/**
 * The pipeline; `options` are TaskClient's (endpoint, credentials…) beside domain, bucket, the
 * most branches an item opens and, for a source process, the items it emits (`from` to `to` - 1).
 */
export function joinClient({ domain, bucket, maxBranches, from = 0, to = 0, ...options }) {
  let next = from;
  const source = () => (next < to ? withId(`item-${next}`, next++) : null);
  const split = (n) => fanOut(Array.from({ length: branchCount(n, maxBranches) }, (_, i) => ({ n, i })));
  const work = (branch) => {
    const result = workRule(branch);
    return Array.isArray(result) ? fanOut(result) : result;
  };
  // A short visibility timeout: what a killed process held is back within seconds.
  const stage = { visibilityTimeout: 5, retryDelay: 100 };
  const client = new TaskClient({ domain, payloads: { bucket, prefix: PREFIX }, ...options });
  return client.registerTasks([
    { name: 'source', method: source },
    { name: 'split', method: split, input: true, workers: 4, ...stage },
    { name: 'work', method: work, workers: 8, ...stage },
    { name: 'gather', method: gather, join: 'split', workers: 8, ...stage },
    { name: 'sink', method: (g) => g, workers: 4, ...stage },
    { name: 'collect', method: (g) => g, workers: 4 },
  ]);
}

if (process.argv[1] === import.meta.filename) {
  const { JOIN_DOMAIN, JOIN_BUCKET, JOIN_MAX_BRANCHES = '12', JOIN_FROM = '0', JOIN_TO = '0' } = process.env;
  await joinClient({
    domain: JOIN_DOMAIN,
    bucket: JOIN_BUCKET,
    maxBranches: Number(JOIN_MAX_BRANCHES),
    from: Number(JOIN_FROM),
    to: Number(JOIN_TO),
  }).main();
}
