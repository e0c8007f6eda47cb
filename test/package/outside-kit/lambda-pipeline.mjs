// A user's pipeline with its middle stage on AWS Lambda (`client.lambda(stage)`): `source` →
// `middle` (keyed by `group`) → `sink`. lambda.test.mjs runs `source` and `sink` as stage processes
//   LAMBDA_DOMAIN=d node lambda-pipeline.mjs source|sink [workers] [flags]
// and `middle` through `client.lambda('middle')` behind sqspipes/testing's localEventSource.
// - `source`: call k (k < KEYS) yields the PER_KEY items of key `k<k>` in order, `{ key, seq, n }`,
//   then one item for later, `delayed({ key: 'late<k>', seq: 0, n, due }, { at: due })`, due
//   DELAY_MS after the call; later calls yield nothing. Run it with `--limit KEYS`.
// - `middle`: fails the first attempt (its first receive, on Lambda) of every 7th item; else
//   `{ ...item, twice: 2n }`. What each call saw goes to `onCall` (in the process that runs it).
// - `sink`: adds the SQS message id of its input; the stage CLI prints its outputs on stdout.
import { delayed, TaskClient, taskContext } from 'sqspipes';

export const KEYS = 20;
export const PER_KEY = 100;
export const DELAY_MS = 3000;
/** n of the item for later of call k. */
export const LATE_N = 100_000;

/** Every 7th item fails its first attempt in `middle`. */
export const failsFirst = (n) => n < LATE_N && n % 7 === 3;

export function lambdaClient({ domain, onCall = () => {}, ...options }) {
  let calls = 0;
  function* source() {
    const k = calls++;
    if (k >= KEYS) return;
    for (let seq = 0; seq < PER_KEY; seq++) yield { key: `k${k}`, seq, n: k * PER_KEY + seq };
    const due = Date.now() + DELAY_MS;
    yield delayed({ key: `late${k}`, seq: 0, n: LATE_N + k, due }, { at: due });
  }
  const middle = (item) => {
    const { attempt, receiveCount } = taskContext();
    const fails = failsFirst(item.n) && attempt === 1;
    onCall({ ...item, attempt, receiveCount, at: Date.now(), fails });
    if (fails) throw new Error(`item ${item.n} fails its first attempt`);
    return { ...item, twice: item.n * 2 };
  };
  const sink = (item) => ({ ...item, message: taskContext().messageId });
  return new TaskClient({ domain, ...options }).registerTasks([
    { name: 'source', method: source },
    // Each receive is an attempt on Lambda, and a record that went back behind a failure of its
    // group spends one too: room for every failure of its key.
    { name: 'middle', method: middle, group: (item) => item.key, retries: 20, retryDelay: 0 },
    { name: 'sink', method: sink, workers: 8 },
  ]);
}

if (process.argv[1] === import.meta.filename) {
  await lambdaClient({ domain: process.env.LAMBDA_DOMAIN }).main();
}
