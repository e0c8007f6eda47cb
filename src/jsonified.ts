/**
 * What a value of type `T` becomes after the trip through JSON (`JSON.parse(JSON.stringify(v))`):
 * the type the next stage of a typed pipeline receives, and the type of a submission's results.
 *
 * - `toJSON()` is applied: a `Date` is a `string`, a `Buffer` its `{ type, data }`.
 * - Properties JSON drops (undefined, functions, symbols) are gone; one that may be undefined may
 *   be missing. Methods of a class instance are gone, its data stays.
 * - A `Map` or `Set` is `{}` (`Record<string, never>`); a `bigint` is `never` (JSON.stringify throws).
 * - Arrays map element by element (what JSON drops becomes `null`), tuples keep their shape.
 * - `unknown`, `any` and `object` stay as they are.
 *
 * Types a stage output may not have at all (a Map, a function, …) already fail to compile there
 * (see `JsonOutput`); this type says what arrives of the others.
 */
export type Jsonified<T> = unknown extends T ? T : JsonOf<T>;

/** What JSON drops from an object and turns into `null` in an array. */
type Dropped = undefined | symbol | ((...args: never[]) => unknown);

type JsonOf<T> = T extends string | number | boolean | null
  ? T
  : T extends bigint
    ? never
    : T extends Dropped
      ? undefined
      : T extends { toJSON(...args: never[]): infer R }
        ? Jsonified<R>
        : T extends ReadonlyMap<unknown, unknown> | ReadonlySet<unknown>
          ? Record<string, never>
          : T extends readonly unknown[]
            ? { [I in keyof T]: JsonElement<T[I]> }
            : [keyof T] extends [never]
              ? T
              : JsonObject<T>;

/** An element of an array: what JSON drops becomes `null`. */
type JsonElement<E> = unknown extends E ? E : E extends Dropped ? null : JsonOf<E>;

/** Keys whose value JSON always keeps (never undefined, a function or a symbol). */
type KeptKeys<T> = {
  [K in keyof T]-?: K extends symbol
    ? never
    : unknown extends T[K]
      ? K
      : [Extract<T[K], Dropped>] extends [never]
        ? K
        : never;
}[keyof T];

/** Keys whose value JSON may drop (it may be undefined) but not always. */
type MaybeKeys<T> = {
  [K in keyof T]-?: K extends symbol
    ? never
    : unknown extends T[K]
      ? never
      : [Extract<T[K], Dropped>] extends [never]
        ? never
        : [Exclude<T[K], Dropped>] extends [never]
          ? never
          : K;
}[keyof T];

type JsonObject<T> = Flat<
  { [K in KeptKeys<T>]: Jsonified<T[K]> } & { [K in MaybeKeys<T>]?: Jsonified<Exclude<T[K], Dropped>> }
>;

/** One object type instead of an intersection (as the compiler shows and compares it). */
type Flat<T> = { [K in keyof T]: T[K] } & {};
