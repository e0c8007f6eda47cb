/**
 * The seed's pipeline: generate a random word → reduce it to its vowels → count them.
 * Run one stage per process (or machine), all against the same SQS; the last one prints its
 * outputs as JSON lines (`--print` for the others), and these three stop by themselves (50 words,
 * then 10 s with nothing to do):
 *
 *   node examples/vowels.ts generate 8 --limit 50
 *   node examples/vowels.ts reduce 16 --idle-timeout 10000
 *   node examples/vowels.ts count 4 --idle-timeout 10000
 *
 * Node ≥ 22.18 runs this .ts file as is (on 22.12 to 22.17 add `--experimental-strip-types`), but
 * not from node_modules: in your project, copy it (`cp node_modules/sqspipes/examples/vowels.ts
 * vowels.mts`) and run `node vowels.mts …`. In a clone of this repository, `npm run build` first ('sqspipes' resolves to its dist/), and `npx node`
 * is the repository's Node 24. The SDK finds the endpoint, region and credentials as usual
 * (AWS_ENDPOINT_URL_SQS, AWS_REGION, AWS_ACCESS_KEY_ID…); SQSPIPES_DOMAIN (default `vowels`) names
 * the queues. `npm run demo` runs all three against an embedded emulator.
 */
import { realpathSync } from 'node:fs';
import { TaskClient } from 'sqspipes';

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** A random lowercase word of 1 to `maxSize` letters. */
export function generate(maxSize: number): string {
  const size = 1 + Math.floor(Math.random() * maxSize);
  return Array.from({ length: size }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join(
    '',
  );
}

/** The word and its vowels (or consonants). */
export function reduce(value: string, keep: 'vowels' | 'consonants' = 'vowels'): [string, string] {
  const kept = [...value].filter((c) => VOWELS.has(c) === (keep === 'vowels'));
  return [value, kept.join('')];
}

/** The word and how many letters were kept. */
export function count([value, kept]: [string, string]): [string, number] {
  return [value, kept.length];
}

/** The stages, in order (test/integration/examples-kit.test.ts tests them with `sqspipes/testing`). */
export const stages = [
  { method: generate, workers: 8, interval: 100 },
  { method: reduce, workers: 2 },
  { method: count, workers: 16 },
];

// `node examples/vowels.ts <stage> [workers] [flags]`; the first stage is called as generate(10).
// Only when run as a script: a test imports the stages without starting a stage CLI.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename) {
  const client = new TaskClient({ domain: process.env['SQSPIPES_DOMAIN'] ?? 'vowels' });
  client.registerTasks(stages);
  await client.main(process.argv.slice(2), { run: { generate: { args: [10] } } });
}
