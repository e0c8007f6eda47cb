// Reads a vitest JSON report and prints "PASSED FAILED SKIPPED FAILED_FILES" on one line.
// Prints "missing" when the report does not exist or cannot be read (vitest crashed before writing it).
// Usage: node .ci/vitest-counts.mjs .ci/out/fauxqs.json
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  process.stdout.write('missing\n');
  process.exit(0);
}
const n = (key) => (Number.isInteger(report[key]) ? report[key] : 0);
const skipped = n('numPendingTests') + n('numTodoTests');
const failedFiles = n('numFailedTestSuites');
process.stdout.write(`${n('numPassedTests')} ${n('numFailedTests')} ${skipped} ${failedFiles}\n`);
