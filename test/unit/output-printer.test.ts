import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputPrinter } from '../../src/cli/output-printer.ts';

/** A stream whose reader takes each chunk only when `release()` is called. */
function slowStream(): { stream: Writable; written: string[]; release: () => void } {
  const written: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      pending.push(done);
    },
  });
  return { stream, written, release: () => pending.splice(0).forEach((done) => done()) };
}

describe('OutputPrinter', () => {
  it('writes whole JSON lines, drops what comes while the stream is full, and prints again once it drains', async () => {
    const { stream, written, release } = slowStream();
    const warnings: string[] = [];
    const printer = new OutputPrinter(stream, (text) => warnings.push(text));
    printer.print({ n: 1, text: 'longer than the buffer' }); // accepted; the buffer is now full
    printer.print({ n: 2 });
    printer.print({ n: 3 });
    expect(printer.dropped).toBe(2);
    expect(warnings).toEqual([
      'stdout is not read fast enough: output lines are dropped until it catches up',
    ]);
    const drained = once(stream, 'drain');
    release();
    await drained;
    printer.print({ n: 4 });
    release();
    expect(written).toEqual(['{"n":1,"text":"longer than the buffer"}\n', '{"n":4}\n']);
    expect(printer.dropped).toBe(2);
  });

  it('drops every line once the stream failed (EPIPE), without throwing', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, done) => done(new Error('EPIPE')) });
    const warnings: string[] = [];
    const printer = new OutputPrinter(stream, (text) => warnings.push(text));
    printer.print('a');
    await new Promise((resolve) => stream.on('close', resolve));
    printer.print('b');
    printer.print('c');
    expect(printer.dropped).toBe(2);
    expect(warnings).toEqual(['stdout was closed by its reader: output lines are dropped']);
  });

  it('prints undefined as null, as JSON.stringify cannot', () => {
    const { stream, written } = slowStream();
    new OutputPrinter(stream, () => {}).print(undefined);
    expect(written).toEqual(['null\n']);
  });
});
