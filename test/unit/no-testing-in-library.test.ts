/**
 * Importing the library (`src/index.ts`, what `import … from 'sqspipes'` gives) loads nothing of
 * the testing kit (`src/testing/`, the `sqspipes/testing` entry) nor its emulators. Checked in a
 * child `node` whose resolve hook records every module it loads.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const INDEX = new URL('../../src/index.ts', import.meta.url).href;
const TESTING = new URL('../../src/testing/index.ts', import.meta.url).href;

const CHILD = (entry: string) => `
import { registerHooks } from 'node:module';
const urls = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    urls.push(result.url);
    return result;
  },
});
await import(${JSON.stringify(entry)});
process.stdout.write(JSON.stringify(urls) + '\\n');
`;

async function loadedBy(entry: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', CHILD(entry)],
    {
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  return JSON.parse(stdout) as string[];
}

const kit = (url: string) =>
  url.includes('/src/testing/') ||
  url.includes('/node_modules/fauxqs/') ||
  url.includes('/node_modules/testcontainers/');

describe('the library without its testing kit', () => {
  it('importing src/index.ts loads nothing under src/testing/, nor fauxqs or testcontainers', async () => {
    const library = await loadedBy(INDEX);
    expect(library).toContain(INDEX);
    expect(library.filter(kit)).toEqual([]);
  });

  it('sees the kit load: importing sqspipes/testing loads src/testing/ (fauxqs only when startSqs() runs)', async () => {
    const loaded = await loadedBy(TESTING);
    expect(loaded.filter((url) => url.includes('/src/testing/')).length).toBeGreaterThan(1);
    expect(loaded.some((url) => url.includes('/node_modules/fauxqs/'))).toBe(false);
  });
});
