// What a JSON value is: JsonKind, the public name, and the internal tags the readers
// (nav.ts, value.ts) keep in a handle. A tag is decided from the value's first byte when a
// handle lands on it (and, in Json.read's on-demand mode, after the value is checked).

// The tags; 0 is MISSING.
// @ts-ignore: decorator
@inline export const T_NULL: u32 = 1;
// @ts-ignore: decorator
@inline export const T_FALSE: u32 = 2;
// @ts-ignore: decorator
@inline export const T_TRUE: u32 = 3;
// @ts-ignore: decorator
@inline export const T_NUMBER: u32 = 4;
// @ts-ignore: decorator
@inline export const T_STRING: u32 = 5;
// @ts-ignore: decorator
@inline export const T_ARRAY: u32 = 6;
// @ts-ignore: decorator
@inline export const T_OBJECT: u32 = 7;

/**
 * What a `JsonValue` holds. `MISSING` is what `get`/`at` return for absent members, so
 * lookups chain without checks.
 *
 * ```ts
 * if (doc.root.get("tags").kind == JsonKind.ARRAY) { … }
 * ```
 */
export enum JsonKind {
  /** No value: an absent member, an index out of range, past the last element, or a failed parse. */
  MISSING = 0,
  /** `null`. */
  NULL = 1,
  /** `true` or `false`. */
  BOOL = 2,
  /** A number. */
  NUMBER = 3,
  /** A string. */
  STRING = 4,
  /** An array. */
  ARRAY = 5,
  /** An object. */
  OBJECT = 6,
}
