/**
 * The seed's pipeline: generate a random word → reduce it to its vowels → count them.
 * Run one stage per process (or machine), all against the same SQS:
 *
 *   node examples/vowels.ts generate 8
 *   node examples/vowels.ts reduce 16
 *   node examples/vowels.ts count 4
 *
 * The SDK finds the endpoint, region and credentials as usual (AWS_ENDPOINT_URL_SQS, AWS_REGION,
 * AWS_ACCESS_KEY_ID…). `npm run demo` runs all three against an embedded emulator.
 */
import { TaskClient } from 'sqspipes';

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** A random lowercase word of 1 to `maxSize` letters. */
function generate(maxSize: number): string {
  const size = 1 + Math.floor(Math.random() * maxSize);
  return Array.from({ length: size }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join(
    '',
  );
}

/** The word and its vowels (or consonants). */
function reduce(value: string, keep: 'vowels' | 'consonants' = 'vowels'): [string, string] {
  const kept = [...value].filter((c) => VOWELS.has(c) === (keep === 'vowels'));
  return [value, kept.join('')];
}

/** The word and how many letters were kept. */
function count([value, kept]: [string, string]): [string, number] {
  return [value, kept.length];
}

const client = new TaskClient({ domain: process.env['SQSPIPES_DOMAIN'] ?? 'vowels' });

client.registerTasks([
  { method: generate, workers: 8, interval: 100 },
  { method: reduce, workers: 2 },
  { method: count, workers: 16 },
]);

// `node examples/vowels.ts <stage> [workers]`; the first stage is called as generate(10).
await client.main(process.argv.slice(2), { run: { generate: { args: [10] } } });
