// A user's pipeline of large documents, bodies through S3 (README: "Large payloads through S3"):
// three stages of string → string, each output about 3 MiB, and `collect`, where the pipeline's
// outputs wait for whoever reads them (payloads.test.mjs, or any SQS client).
//   PIPELINE_DOMAIN=docs PIPELINE_BUCKET=my-bucket node payloads-pipeline.mjs <stage> [workers] [flags]
// An item is `<id>|<text>`; each stage keeps the id in front.
import { createHash } from 'node:crypto';
import { TaskClient } from 'sqspipes';

export const PREFIX = 'bodies/';

function parts(value) {
  const bar = value.indexOf('|');
  return [value.slice(0, bar), value.slice(bar + 1)];
}

/** Stage 1: every `o` becomes `ö` (one UTF-8 byte becomes two). */
export function stretch(value) {
  const [id, text] = parts(value);
  return `${id}|${text.replaceAll('o', 'ö')}`;
}

/** Stage 2: the text turned around at the first space past its middle. */
export function rotate(value) {
  const [id, text] = parts(value);
  const at = text.indexOf(' ', text.length >> 1) + 1;
  return `${id}|${text.slice(at)}${text.slice(0, at)}`;
}

/** Stage 3: the SHA-256 of the text it received, in front of that text. */
export function stamp(value) {
  const [id, text] = parts(value);
  return `${id}|${createHash('sha256').update(text).digest('hex')}|${text}`;
}

export const collect = (value) => value;

/** The pipeline; `options` are TaskClient's (endpoint, credentials…) beside domain and bucket. */
export function documentsClient({ domain, bucket, ...options }) {
  const client = new TaskClient({ domain, payloads: { bucket, prefix: PREFIX }, ...options });
  // A short visibility timeout: what a killed process held is back in seconds.
  const stage = { workers: 2, visibilityTimeout: 10 };
  return client.registerTasks([
    { method: stretch, input: true, ...stage },
    { method: rotate, ...stage },
    { method: stamp, ...stage },
    { method: collect, workers: 4 },
  ]);
}

if (process.argv[1] === import.meta.filename) {
  await documentsClient({ domain: process.env.PIPELINE_DOMAIN, bucket: process.env.PIPELINE_BUCKET }).main();
}
