/**
 * The seed's pipeline: generate a random word → reduce it to its vowels → count them.
 * Run one stage per process (or machine), all against the same SQS; each prints its outputs as
 * JSON lines, and these three stop by themselves (50 words, then 10 s with nothing to do):
 *
 *   node examples/vowels.ts generate 8 --limit 50
 *   node examples/vowels.ts reduce 16 --idle-timeout 10000
 *   node examples/vowels.ts count 4 --idle-timeout 10000
 *
 * Node ≥ 22.18 runs this .ts file as is (on 22.12 to 22.17 add `--experimental-strip-types`). In a
 * clone of this repository, `npm run build` first ('sqspipes' resolves to its dist/), and `npx node`
 * is the repository's Node 24. The SDK finds the endpoint, region and credentials as usual
 * (AWS_ENDPOINT_URL_SQS, AWS_REGION, AWS_ACCESS_KEY_ID…); SQSPIPES_DOMAIN (default `vowels`) names
 * the queues. `npm run demo` runs all three against an embedded emulator.
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

// `node examples/vowels.ts <stage> [workers] [flags]`; the first stage is called as generate(10).
await client.main(process.argv.slice(2), { run: { generate: { args: [10] } } });
