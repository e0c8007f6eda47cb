/**
 * Which values JSON carries faithfully. A message body is JSON, so a value that `JSON.stringify`
 * would change silently (a `Map` sent as `{}`, a class instance without its class, `undefined` in
 * an array sent as `null`) or cannot carry (a function, a BigInt, a cycle) is refused, with the
 * path to it. What `toJSON()` returns is taken as deliberate: a `Date` is sent as its ISO string.
 *
 * Two halves that must agree: {@link jsonReplacer} decides on the hot path, without a word; on the
 * rare refusal, {@link notJsonMessage} walks the value again, in the same order, to say where
 * and what. The types at the end refuse at compile time what TypeScript can tell apart.
 */

/**
 * `JSON.stringify(value)`, or a TypeError whose message starts with the path to the first part
 * JSON would change or drop (`root` names the value itself: `output.items[2].tags is a Set, …`).
 * An error a `toJSON()` method throws passes through as it is.
 */
export function strictJson(value: unknown, root: string): string {
  let json: string | undefined;
  try {
    json = stringify(value);
  } catch (error) {
    // The replacer said nothing: only now, on a refusal, walk the value for the path and the words.
    const message = error instanceof TypeError ? notJsonMessage(value, root) : undefined;
    if (message === undefined) throw error === NOT_JSON ? new TypeError(`${root} is not JSON`) : error;
    throw new TypeError(message, { cause: error });
  }
  if (json === undefined) throw new TypeError(notJsonMessage(value, root) ?? `${root} has no JSON form`);
  return json;
}

/** Thrown by {@link jsonReplacer}: made once, so that a refusal costs no stack trace. */
const NOT_JSON = new TypeError('not JSON (sqspipes replacer)');

/** Typed as what `JSON.stringify` returns for a value whose `toJSON()` returns undefined. */
function stringify(value: unknown): string | undefined {
  return JSON.stringify(value, jsonReplacer);
}

/**
 * A `JSON.stringify` replacer that throws {@link NOT_JSON} at the first value JSON would change
 * or drop. `JSON.stringify` has already applied `toJSON()` to the value it passes in.
 */
function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw NOT_JSON;
    case 'object': {
      if (value === null || Array.isArray(value)) return value;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return value;
      return acceptedObject(value, proto);
    }
    case 'undefined':
      // An undefined property is dropped (documented, deliberate); inside an array it becomes null.
      if (Array.isArray(this)) throw NOT_JSON;
      return value;
    default:
      throw NOT_JSON;
  }
}

/** The slow path of the replacer: a boxed primitive, or a plain object from another realm. */
function acceptedObject(value: object, proto: unknown): unknown {
  const unboxed = unbox(value);
  if (unboxed !== value) return jsonReplacer.call(undefined, '', unboxed);
  if (isOtherRealmObjectPrototype(proto)) return value;
  throw NOT_JSON;
}

/** Why JSON cannot carry `value` faithfully, starting with the path; undefined if all is well. */
function notJsonMessage(value: unknown, root: string): string | undefined {
  const top = jsonView(value, '');
  if (!top.ok) return undefined;
  if (top.value === undefined)
    return `${root} is undefined (its toJSON() returned undefined), which JSON cannot carry`;
  return problemAt(top.value, root, false, []);
}

interface Ancestor {
  readonly value: object;
  readonly path: string;
}

/** The first problem, depth first in the order JSON.stringify visits: so the one it stopped at. */
function problemAt(
  value: unknown,
  path: string,
  inArray: boolean,
  ancestors: Ancestor[],
): string | undefined {
  if (typeof value !== 'object' || value === null) return primitiveProblem(value, path, inArray);
  const unboxed = unbox(value);
  if (unboxed !== value) return primitiveProblem(unboxed, path, inArray);
  if (!Array.isArray(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null && !isOtherRealmObjectPrototype(proto)) {
      return `${path} is ${objectProblem(value, proto)}`;
    }
  }
  const loop = ancestors.find((ancestor) => ancestor.value === value);
  if (loop !== undefined) return `${path} refers back to ${loop.path} (a cycle), which JSON cannot carry`;
  ancestors.push({ value, path });
  try {
    return Array.isArray(value)
      ? arrayProblem(value, path, ancestors)
      : objectEntriesProblem(value, path, ancestors);
  } finally {
    ancestors.pop();
  }
}

function arrayProblem(array: readonly unknown[], path: string, ancestors: Ancestor[]): string | undefined {
  for (let index = 0; index < array.length; index++) {
    const child = jsonView(array[index], String(index));
    if (!child.ok) return undefined;
    const problem = problemAt(child.value, `${path}[${index}]`, true, ancestors);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function objectEntriesProblem(object: object, path: string, ancestors: Ancestor[]): string | undefined {
  for (const key of Object.keys(object)) {
    const child = jsonView((object as Record<string, unknown>)[key], key);
    if (!child.ok) return undefined;
    const problem = problemAt(child.value, `${path}${propertyPath(key)}`, false, ancestors);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function primitiveProblem(value: unknown, path: string, inArray: boolean): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON sends as null`;
    case 'undefined':
      return inArray
        ? `${path} is undefined inside an array, which JSON sends as null: use null, or leave it out`
        : undefined;
    case 'function':
      return `${path} is a function, which JSON cannot carry`;
    case 'symbol':
      return `${path} is a symbol, which JSON cannot carry`;
    case 'bigint':
      return `${path} is a BigInt, which JSON cannot carry: convert it to a string or number`;
    default:
      return undefined;
  }
}

/** What a non-plain object is, what JSON would make of it, and what to send instead. */
function objectProblem(value: object, proto: unknown): string {
  if (value instanceof Map)
    return 'a Map, which JSON sends as {}: convert it, e.g. Object.fromEntries(map) or [...map]';
  if (value instanceof Set) return 'a Set, which JSON sends as {}: convert it, e.g. [...set]';
  if (value instanceof WeakMap || value instanceof WeakSet) {
    return `a ${value instanceof WeakMap ? 'WeakMap' : 'WeakSet'}, which JSON cannot carry (it sends {})`;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    const name = Object.prototype.toString.call(value).slice('[object '.length, -1);
    return `${withArticle(name)}, which JSON does not send as bytes: convert it, e.g. Array.from(bytes) or Buffer.from(bytes).toString('base64')`;
  }
  if (value instanceof RegExp)
    return 'a RegExp, which JSON sends as {}: send its pattern, e.g. regexp.source';
  if (value instanceof Error) {
    return `${withArticle(value.name)}, which JSON sends without its message: send a plain object, e.g. { name: error.name, message: error.message }`;
  }
  if (value instanceof Promise) return 'a Promise, which JSON sends as {}: await it';
  const name = className(proto);
  const what =
    name === undefined ? 'an object with a prototype other than Object' : `an instance of class ${name}`;
  return `${what}, which JSON sends as a plain object without its class: send a plain object (e.g. { ...value }) or give the class a toJSON() method`;
}

/** The value JSON.stringify serializes in place of `value`: what its `toJSON(key)` returns, if any. */
function jsonView(value: unknown, key: string): { ok: true; value: unknown } | { ok: false } {
  const hasToJson =
    (typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'bigint';
  if (!hasToJson) return { ok: true, value };
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== 'function') return { ok: true, value };
  try {
    return { ok: true, value: (toJSON as (key: string) => unknown).call(value, key) };
  } catch {
    // JSON.stringify threw this too: the caller rethrows that error as it was.
    return { ok: false };
  }
}

/** The primitive inside a `new String()`, `new Number()` or `new Boolean()` (JSON unboxes them). */
function unbox(value: object): unknown {
  if (value instanceof String || value instanceof Number || value instanceof Boolean) return value.valueOf();
  return value;
}

/** `Object.prototype` of another realm (a `vm` context): its objects are plain too. */
function isOtherRealmObjectPrototype(proto: unknown): boolean {
  return (
    typeof proto === 'object' &&
    proto !== null &&
    Object.getPrototypeOf(proto) === null &&
    className(proto) === 'Object'
  );
}

function className(proto: unknown): string | undefined {
  if (typeof proto !== 'object' || proto === null) return undefined;
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function propertyPath(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function withArticle(name: string): string {
  return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`;
}

/**
 * Types JSON cannot carry faithfully, where TypeScript can tell them from plain data (a class
 * with only fields, an `Error`, `undefined` in an array are refused at run time only).
 */
type NotJsonType =
  | ReadonlyMap<unknown, unknown>
  | ReadonlySet<unknown>
  | WeakMap<WeakKey, unknown>
  | WeakSet<WeakKey>
  | ArrayBufferLike
  | ArrayBufferView
  | RegExp
  | PromiseLike<unknown>
  | ((...args: never[]) => unknown)
  | (abstract new (...args: never[]) => unknown)
  | bigint
  | symbol;

/**
 * The parts of `T` JSON cannot carry faithfully (`never` when there are none), looking through
 * `toJSON()` (a `Date` is its string), arrays and properties, 8 levels deep.
 */
export type NotJsonPart<T, Depth extends readonly unknown[] = []> = 0 extends 1 & T
  ? never
  : Depth['length'] extends 8
    ? never
    : T extends { toJSON(...args: never[]): infer R }
      ? NotJsonPart<R, [...Depth, 0]>
      : T extends NotJsonType
        ? T
        : T extends readonly (infer E)[]
          ? NotJsonPart<E, [...Depth, 0]>
          : T extends object
            ? { [K in keyof T]-?: K extends symbol ? never : NotJsonPart<T[K], [...Depth, 0]> }[keyof T]
            : never;

/**
 * `unknown` when `Output` is JSON, else a property the method lacks: the compiler's error then
 * names what is not JSON (`Property '…' is missing`).
 */
export type JsonOutput<Output> = [NotJsonPart<Output>] extends [never]
  ? unknown
  : { readonly 'the stage output must be JSON; these parts are not': NotJsonPart<Output> };
