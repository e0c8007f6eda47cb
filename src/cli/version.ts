import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The package's package.json, from this module: `src/cli/version.ts` when run from source (Node's
 * type stripping) and `dist/cli/version.js` when built sit at the same depth below the root.
 */
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

/** The version of sqspipes, read from its package.json at run time. */
export function packageVersion(): string {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read the version of sqspipes from ${PACKAGE_JSON}`, { cause: error });
  }
  const version = (manifest as { version?: unknown } | null)?.version;
  if (typeof version !== 'string') {
    throw new Error(`${PACKAGE_JSON} has no "version" string`);
  }
  return version;
}
