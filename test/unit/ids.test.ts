import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { firstOutputId, outputId } from '../../src/ids.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('base64url');

it('names an output by one hash of its input, stage and content, short or long (the wire ids stay)', () => {
  for (const content of ['{"a":1}', JSON.stringify({ text: 'é€😀'.repeat(500) }), 'x'.repeat(10_240)]) {
    expect(firstOutputId('in-1', 'relay', content)).toBe(sha(`out\0in-1\0relay\0${content}`));
  }
  const long = JSON.stringify({ padding: 'x'.repeat(10_240) });
  expect(firstOutputId('in-1', 'relay', long)).not.toBe(firstOutputId('in-2', 'relay', long));
  expect(outputId(firstOutputId('in-1', 'relay', long), 1)).not.toBe(firstOutputId('in-1', 'relay', long));
});
