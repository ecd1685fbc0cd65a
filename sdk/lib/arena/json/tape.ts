// The tape: what the JSON parser (parser.ts) makes of the input and the readers
// (value.ts) read. The reader is simdjson-style: one strict pass (RFC 8259) turns the
// input into a *tape* of 8-byte entries, and values are read lazily from the tape and the
// untouched input bytes. Nothing becomes a UTF-16 string unless the app asks for one.
//
// Tape entry i is two u32 words at tape + 8*i:
//
//   word 0                        word 1: tag (4 bits) | flag (1 bit) | payload (27 bits)
//   null/false/true  offset       tag
//   number           offset       NUMBER | plain-integer flag | token length
//   string           offset + 1   STRING | has-escapes flag   | content length (no quotes)
//   array/object     offset       ARRAY/OBJECT | index just past the matching CLOSE entry
//   close            count        CLOSE | offset of the closing bracket
//
// An object's members are a key STRING entry followed by the value's entries. The end
// index makes skipping a container O(1) and the count in its CLOSE entry makes `length`
// O(1). Offsets are relative to the input's first byte.
//
// JsonKind, the public name of what a value is, is here beside the tags it is read from.

// The tags of word 1 (its top four bits), then the flag bit and the payload mask.
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
// @ts-ignore: decorator
@inline export const T_CLOSE: u32 = 8;
// @ts-ignore: decorator
@inline export const TAG_SHIFT: u32 = 28;
// @ts-ignore: decorator
@inline export const FLAG: u32 = 1 << 27;
// @ts-ignore: decorator
@inline export const PAYLOAD: u32 = (1 << 27) - 1;

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
