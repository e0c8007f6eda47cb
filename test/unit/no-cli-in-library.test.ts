/**
 * Importing the library (`src/index.ts`, what `import … from 'sqspipes'` gives) loads neither yargs
 * nor anything under `src/cli/`: TaskClient.main() imports the stage CLI only when called. The
 * stage CLI loads no yargs either (the operator CLI's parser, ~45 ms of a stage process's start). Checked
 * in a child `node` whose resolve hook (`module.registerHooks`) records every module it loads.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const INDEX = new URL('../../src/index.ts', import.meta.url).href;
const STAGE_CLI = new URL('../../src/cli/stage-cli.ts', import.meta.url).href;

const YARGS = '/node_modules/yargs/';
const CLI = '/src/cli/';

interface Loaded {
  /** Every URL resolved by importing the library and registering a stage. */
  readonly library: string[];
  /** Every URL resolved after that, by importing the stage CLI as main() does. */
  readonly cli: string[];
}

// The child: record each resolved URL, import the library, make a client with one stage (no SQS
// call), then import the stage CLI. Prints both lists as one JSON line.
const CHILD = `
import { registerHooks } from 'node:module';
const urls = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    urls.push(result.url);
    return result;
  },
});
const { TaskClient } = await import(${JSON.stringify(INDEX)});
function double(n) { return 2 * n; }
function show(n) { return String(n); }
const client = new TaskClient({ domain: 'no-cli' }).registerTasks([double, show]);
if (client.stageNames.join() !== 'double,show') throw new Error('stages not registered');
const library = [...urls];
urls.length = 0;
await import(${JSON.stringify(STAGE_CLI)});
process.stdout.write(JSON.stringify({ library, cli: [...urls] }) + '\\n');
`;

let child: Promise<Loaded> | undefined;

/** Runs the child once; both tests read its lists. */
function loaded(): Promise<Loaded> {
  child ??= spawnChild();
  return child;
}

async function spawnChild(): Promise<Loaded> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return JSON.parse(stdout) as Loaded;
}

describe('the library without its CLI', () => {
  it('importing src/index.ts and registering stages loads neither yargs nor src/cli/', async () => {
    const { library } = await loaded();
    expect(library).toContain(INDEX);
    expect(library.filter((url) => url.includes(YARGS) || url.includes(CLI))).toEqual([]);
  });

  it('sees a CLI load: importing the stage CLI then loads src/cli/, and still no yargs', async () => {
    const { cli } = await loaded();
    expect(cli).toContain(STAGE_CLI);
    expect(cli.filter((url) => url.includes(YARGS))).toEqual([]);
  });
});
