// Reads a vitest JSON report and prints each failed test (file, name, the first lines of its
// error), so that the end of CI's output says what failed without its full log.
// Usage: node .ci/vitest-failures.mjs .ci/out/fauxqs.json [max]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file, max = '12'] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  process.exit(0);
}
const lines = [];
for (const suite of report.testResults ?? []) {
  const path = relative(process.cwd(), suite.name ?? '');
  const failed = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
  if (failed.length === 0 && suite.status === 'failed') {
    lines.push(`${path}: ${firstLines(suite.message ?? 'the file failed', 3)}`);
  }
  for (const test of failed) {
    lines.push(
      `${path} > ${test.fullName ?? test.title}: ${firstLines((test.failureMessages ?? []).join('\n'), 4)}`,
    );
  }
}
for (const line of lines.slice(0, Number(max))) process.stdout.write(`${line}\n`);
if (lines.length > Number(max)) process.stdout.write(`... and ${lines.length - Number(max)} more\n`);

function firstLines(text, n) {
  // eslint-disable-next-line no-control-regex
  const plain = String(text).replace(/\u001b\[[0-9;]*m/g, '');
  return plain
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n)
    .join(' | ')
    .slice(0, 600);
}
