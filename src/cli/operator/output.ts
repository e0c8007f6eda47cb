/**
 * Where the operator CLI writes: stdout carries only the command's output (text, or JSON with
 * `--json`); notes, warnings, prompts and errors go to stderr.
 */

/** Writes `text` to stdout, waiting for the pipe to drain when it is full. */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** Writes `lines`, one per line, to stdout. */
export function printLines(lines: readonly string[]): Promise<void> {
  return lines.length === 0 ? Promise.resolve() : writeOut(`${lines.join('\n')}\n`);
}

/** Writes `value` as indented JSON to stdout. */
export function printJson(value: unknown): Promise<void> {
  return writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes one line to stderr (a note for the human, never part of the output). */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** `1 queue`, `2 queues` (`plural` for a noun that takes more than an s). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
