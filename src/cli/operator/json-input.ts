import { UsageError } from './errors.ts';

/** One value to enqueue, with where it came from (for error messages and idempotency keys). */
export interface InputValue {
  readonly value: unknown;
  /** 1-based line number on stdin; undefined for the command-line argument. */
  readonly line: number | undefined;
}

/** Parses the `<value>` argument. */
export function parseJsonArgument(text: string): InputValue {
  return { value: parseJson(text, 'the <value> argument'), line: undefined };
}

/**
 * Parses JSON lines: one value per non-empty line. Every line is checked before anything is
 * sent, so a bad line sends nothing; the error names the first bad line.
 */
export function parseJsonLines(text: string): InputValue[] {
  const values: InputValue[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    values.push({ value: parseJson(raw, `stdin line ${i + 1}`), line: i + 1 });
  });
  return values;
}

/** Reads all of stdin as UTF-8 text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`Invalid JSON in ${where}: ${reason}`);
  }
}
