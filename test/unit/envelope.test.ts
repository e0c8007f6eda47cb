import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, encodeValue } from '../../src/envelope.ts';

class Point {
  x = 1;
  y = 2;
}

class Money {
  readonly cents: number;
  constructor(cents: number) {
    this.cents = cents;
  }
  toJSON() {
    return { cents: this.cents, currency: 'EUR' };
  }
}

/** The message encodeValue throws for `value`, or undefined when it encodes. */
function refusal(value: unknown): string | undefined {
  try {
    encodeValue(value);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
}

describe('encodeValue: what JSON carries faithfully', () => {
  it('encodes plain objects, arrays, strings, finite numbers, booleans and null', () => {
    const value = { a: [1, 'two', true, null], b: { c: -0.5 }, 'odd key': '' };
    expect(encodeValue(value)).toBe(JSON.stringify(value));
    expect(encodeValue(Object.assign(Object.create(null) as object, { n: 1 }))).toBe('{"n":1}');
  });

  it('sends undefined as the whole output as null, and drops an undefined property', () => {
    expect(encodeValue(undefined)).toBe('null');
    expect(encodeValue({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('sends what toJSON returns: a Date arrives as its ISO string', () => {
    const when = new Date('2026-12-01T10:00:00.000Z');
    expect(encodeValue({ when })).toBe('{"when":"2026-12-01T10:00:00.000Z"}');
    expect(encodeValue([new Money(250)])).toBe('[{"cents":250,"currency":"EUR"}]');
  });

  it('unboxes boxed primitives, and takes plain objects of another realm as plain', () => {
    expect(encodeValue([new String('s'), new Number(1), new Boolean(false)])).toBe('["s",1,false]');
    expect(encodeValue(runInNewContext('({ a: [1] })'))).toBe('{"a":[1]}');
  });

  it('round-trips through an envelope', () => {
    const body = encodeEnvelope({ id: 'i', value: { a: [1] }, level: 2, key: 'k' });
    expect(decodeEnvelope(body)).toEqual({
      ok: true,
      envelope: { id: 'i', value: { a: [1] }, level: 2, key: 'k' },
    });
  });
});

describe('encodeValue: what JSON would change silently is refused, with its path', () => {
  it.each([
    [
      'a Map',
      { items: [{}, {}, { tags: new Map([['a', 1]]) }] },
      'output.items[2].tags is a Map',
      'Object.fromEntries(map)',
    ],
    ['a Set', { items: [0, 1, { tags: new Set(['a']) }] }, 'output.items[2].tags is a Set', '[...set]'],
    ['a WeakMap', { cache: new WeakMap() }, 'output.cache is a WeakMap', ''],
    ['a typed array', { bytes: new Uint8Array([1, 2]) }, 'output.bytes is a Uint8Array', 'Array.from'],
    ['an ArrayBuffer', [new ArrayBuffer(4)], 'output[0] is an ArrayBuffer', ''],
    ['a RegExp', { pattern: /a+/ }, 'output.pattern is a RegExp', '.source'],
    ['an Error', { error: new Error('boom') }, 'output.error is an Error', 'message'],
    ['a class instance', { at: new Point() }, 'output.at is an instance of class Point', 'toJSON'],
    ['a Promise', Promise.resolve(1), 'output is a Promise', 'await'],
    [
      'undefined in an array',
      { list: [1, undefined] },
      'output.list[1] is undefined inside an array',
      'null',
    ],
    ['a function', { f: () => 1 }, 'output.f is a function', ''],
    ['a symbol in an array', [Symbol('s')], 'output[0] is a symbol', ''],
    ['a BigInt', { 'big n': 10n }, 'output["big n"] is a BigInt', 'string'],
    ['NaN', { ratio: Number.NaN }, 'output.ratio is NaN', ''],
    ['Infinity', [[Infinity]], 'output[0][0] is Infinity', ''],
  ])('refuses %s', (_, value, where, hint) => {
    const message = refusal(value);
    expect(message).toContain(where);
    expect(message).toContain(hint);
  });

  it('names a cycle by where it closes', () => {
    const node: { name: string; child: { parent?: unknown } } = { name: 'root', child: {} };
    node.child.parent = node;
    expect(refusal({ tree: node })).toBe(
      'output.tree.child.parent refers back to output.tree (a cycle), which JSON cannot carry',
    );
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { a: 1 };
    expect(encodeValue({ x: shared, y: [shared] })).toBe('{"x":{"a":1},"y":[{"a":1}]}');
  });

  it('checks what toJSON returns, and names the value it came from', () => {
    const odd = { toJSON: () => ({ inner: new Set([1]) }) };
    expect(refusal({ odd })).toContain('output.odd.inner is a Set');
  });

  it('refuses an output whose toJSON() returns undefined', () => {
    expect(refusal({ toJSON: () => undefined })).toMatch(
      /^output is undefined \(its toJSON\(\) returned undefined\)/,
    );
  });

  it('lets an error thrown by toJSON through unchanged', () => {
    const broken = {
      toJSON() {
        throw new TypeError('no JSON today');
      },
    };
    expect(() => encodeValue({ broken })).toThrow(new TypeError('no JSON today'));
  });

  it('names the enqueued value `value` in encodeEnvelope', () => {
    expect(() => encodeEnvelope({ id: 'i', value: { s: new Set() } })).toThrow(/^value\.s is a Set/);
  });
});
