/**
 * Reads the README's user path, so that the package test runs exactly what a new user pastes:
 * the Quick start's code (its first ```js block), its commands (the `node pipeline.mjs …` lines of
 * the first ```sh block after it) and the environment of "A local SQS in one command".
 */
export interface QuickStart {
  /** The contents of pipeline.mjs. */
  readonly code: string;
  /** Each stage command's arguments after `node pipeline.mjs`, e.g. `['generate', '8', '--limit', '20']`. */
  readonly commands: readonly (readonly string[])[];
  /** The variables of the README's `export AWS_ENDPOINT_URL_SQS=… …` line. */
  readonly env: Readonly<Record<string, string>>;
}

const SCRIPT = 'pipeline.mjs';

export function readQuickStart(readme: string): QuickStart {
  const section = sectionOf(readme, '## Quick start');
  const code = fencedBlock(section, 'js', 'Quick start');
  const afterCode = section.slice(section.indexOf(code) + code.length);
  const commands = fencedBlock(afterCode, 'sh', 'Quick start, after its ```js block')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').replace(/&\s*$/, '').trim())
    .filter((line) => line.startsWith(`node ${SCRIPT} `))
    .map((line) => line.split(/\s+/).slice(2));
  if (commands.length === 0) {
    throw new Error(`README.md: the Quick start's \`\`\`sh block has no \`node ${SCRIPT} …\` line to run`);
  }
  return { code, commands, env: exportedEnv(readme) };
}

/** The text of a `## ` section, from its heading to the next one. */
function sectionOf(readme: string, heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section (test/package/ reads it)`);
  const end = readme.indexOf('\n## ', start + heading.length + 2);
  return readme.slice(start, end < 0 ? undefined : end);
}

function fencedBlock(text: string, language: string, where: string): string {
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (match?.[1] === undefined) throw new Error(`README.md: no \`\`\`${language} block in the ${where}`);
  return match[1];
}

/** `export A=1 B=2` → `{ A: '1', B: '2' }` (the first such line that sets AWS_ENDPOINT_URL_SQS). */
function exportedEnv(readme: string): Record<string, string> {
  const line = readme.split('\n').find((l) => l.startsWith('export AWS_ENDPOINT_URL_SQS='));
  if (line === undefined) throw new Error('README.md has no `export AWS_ENDPOINT_URL_SQS=… …` line');
  const pairs = line
    .slice('export '.length)
    .trim()
    .split(/\s+/)
    .map((pair): [string, string] => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]);
  return Object.fromEntries(pairs);
}

/** The two ```js blocks of "Testing your pipeline": a vitest test file, then a node:test one. */
export function readTestingExamples(readme: string): { vitest: string; nodeTest: string } {
  const section = sectionOf(readme, '## Testing your pipeline');
  const vitest = fencedBlock(section, 'js', 'Testing your pipeline');
  const after = section.slice(section.indexOf(vitest) + vitest.length);
  return { vitest, nodeTest: fencedBlock(after, 'js', 'Testing your pipeline, after its vitest example') };
}
