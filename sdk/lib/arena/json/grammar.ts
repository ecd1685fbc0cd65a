// The fast half of the strict check (validate.ts): decides whether an indexed document is
// valid JSON, and fills aux for every container, without saying what is wrong when it is
// not. Errors are rare and their message and offset must be the one-pass parser's, so on
// any failure validate.ts walks again with its precise checks; valid documents, the common
// case, are walked once, here.
//
// The walk is over the index entries, not the bytes, and it is a table-driven state machine:
// each entry's byte gives a class (bracket, comma, colon, quote), and one table lookup gives
// the next state from the current one (which says what may come next: a key, a colon, a
// value, a comma or a close), so the grammar costs a load per token instead of a chain of
// branches. Only brackets leave the table's path (the container stack and aux). The bytes
// are looked at only where they matter: gaps between consecutive entries (empty in minified
// JSON; whitespace, or one scalar, checked here) and strings whose 64-byte blocks hold a
// backslash (their escapes).

import { JSON_DEPTH_MAX } from "../limits";
import { JsonIndex } from "./index";
import { firstBadEscape } from "./scan";

// The classes of an entry's byte: { } [ ] , : " (all an entry can hold); 7 is a scalar.
// prettier-ignore
const CLASS: usize = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
]);
// @ts-ignore: decorator
@inline const C_COMMA: u32 = 4;
// @ts-ignore: decorator
@inline const C_QUOTE: u32 = 6;
// @ts-ignore: decorator
@inline const C_SCALAR: u32 = 7;

// The states, named by what came last: 0 is an error; 1 the start, 2 after the top value;
// in an object 3 after '{', 4 after ',', 5 after a key, 6 after ':', 7 after a value; in
// an array 8 after '[', 9 after ',', 10 after a value. Codes 16 and 17 open an object or
// an array, 18 closes the current container.
// @ts-ignore: decorator
@inline const S_START: u32 = 1;
// @ts-ignore: decorator
@inline const S_DONE: u32 = 2;
// @ts-ignore: decorator
@inline const S_OBJ_OPEN: u32 = 3;
// @ts-ignore: decorator
@inline const S_ARR_OPEN: u32 = 8;
// @ts-ignore: decorator
@inline const OPEN_OBJ: u32 = 16;
// @ts-ignore: decorator
@inline const CLOSE: u32 = 18;

// NEXT[state * 8 + class]: the columns are { } [ ] , : " scalar.
// prettier-ignore
const NEXT: usize = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, //    error
  16, 0, 17, 0, 0, 0, 2, 2, //  start
  0, 0, 0, 0, 0, 0, 0, 0, //    done
  0, 18, 0, 0, 0, 0, 5, 0, //   object: after '{'
  0, 0, 0, 0, 0, 0, 5, 0, //    object: after ','
  0, 0, 0, 0, 0, 6, 0, 0, //    object: after a key
  16, 0, 17, 0, 0, 0, 7, 7, //  object: after ':'
  0, 18, 0, 0, 4, 0, 0, 0, //   object: after a value
  16, 0, 17, 18, 0, 0, 10, 10, // array: after '['
  16, 0, 17, 0, 0, 0, 10, 10, // array: after ','
  0, 0, 0, 18, 9, 0, 0, 0, //   array: after a value
]);
// The state after a container that opened in state s (its value is done).
// prettier-ignore
const AFTER: usize = memory.data<u8>([0, 2, 0, 0, 0, 0, 7, 0, 10, 10, 0]);

// The enclosing containers: (opening entry << 32 | commas so far), and the state to return
// to. Made once at start-up.
const stack = new StaticArray<u64>(JSON_DEPTH_MAX);
const resume = new StaticArray<u8>(JSON_DEPTH_MAX);

// @ts-ignore: decorator
@inline function entry(idx: usize, j: u32): u32 {
  return load<u32>(idx + (<usize>j << 2));
}

/** The first offset in [i, end) that is not JSON whitespace, or `end`. Whitespace is not
 *  structural, so with `end` the next entry's offset this never passes it. */
// @ts-ignore: decorator
@inline export function skipWs(p: usize, i: u32, end: u32): u32 {
  while (i < end) {
    let c = <u32>load<u8>(p + <usize>i);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    i++;
  }
  return i;
}

// @ts-ignore: decorator
@inline function digitsFrom(p: usize, k: u32, e: u32): u32 {
  while (k < e && <u32>load<u8>(p + <usize>k) - 0x30 < 10) k++;
  return k;
}

/** The end of the scalar at `i` (a number or a literal, before offset `e`), or 0 when it is
 *  not one; what follows it is the caller's to check. */
function scalarEnd(p: usize, i: u32, e: u32): u32 {
  let c = <u32>load<u8>(p + <usize>i);
  let q = p + <usize>i;
  if (c == 0x74) return i + 4 <= e && load<u32>(q) == 0x65757274 ? i + 4 : 0;
  if (c == 0x66) return i + 5 <= e && load<u32>(q) == 0x736c6166 && load<u8>(q, 4) == 0x65 ? i + 5 : 0;
  if (c == 0x6e) return i + 4 <= e && load<u32>(q) == 0x6c6c756e ? i + 4 : 0;
  let k = c == 0x2d ? i + 1 : i;
  if (k >= e) return 0;
  let d = <u32>load<u8>(p + <usize>k) - 0x30;
  if (d >= 10) return 0;
  // A leading zero stands alone: a digit after it is caught as trailing garbage.
  k = d == 0 ? k + 1 : digitsFrom(p, k + 1, e);
  if (k < e && load<u8>(p + <usize>k) == 0x2e) {
    let f = k + 1;
    k = digitsFrom(p, f, e);
    if (k == f) return 0;
  }
  if (k < e && (load<u8>(p + <usize>k) | 0x20) == 0x65) {
    k++;
    if (k < e && (load<u8>(p + <usize>k) == 0x2b || load<u8>(p + <usize>k) == 0x2d)) k++;
    let f = k;
    k = digitsFrom(p, f, e);
    if (k == f) return 0;
  }
  return k;
}

/** The state after the gap [i, e) between two tokens, which must be whitespace around at
 *  most one scalar; 0 when it is not, or when no scalar may come in state `s`. */
function gap(p: usize, i: u32, e: u32, s: u32): u32 {
  i = skipWs(p, i, e);
  if (i == e) return s;
  s = <u32>load<u8>(NEXT + <usize>(s * 8 + C_SCALAR));
  if (s == 0) return 0;
  i = scalarEnd(p, i, e);
  if (i == 0) return 0;
  return skipWs(p, i, e) == e ? s : 0;
}

// Backslashes in the 16 bytes at `q`, a bit each.
// @ts-ignore: decorator
@inline function backslashes16(q: usize): u32 {
  if (ASC_FEATURE_SIMD) return i8x16.bitmask(i8x16.eq(v128.load(q), i8x16.splat(0x5c)));
  let m: u32 = 0;
  for (let k = 0; k < 16; k++) if (load<u8>(q + <usize>k) == 0x5c) m |= <u32>1 << k;
  return m;
}

/**
 * Whether every escape in the document is valid, checked a block at a time over the blocks
 * whose backslash bit is set, in order: a backslash outside a string fails the walk anyway,
 * so where each string starts does not matter here, and an escape that runs into the next
 * block is skipped whole. Blocks without a backslash are not read.
 */
function escapesValid(ix: JsonIndex): bool {
  let p = ix.input;
  let len = ix.inputLength;
  let esc = ix.esc;
  let words = (((len + 63) >> 6) + 63) >> 6;
  let next: u32 = 0; // past the last escape checked
  for (let w: u32 = 0; w < words; w++) {
    let bits = load<u64>(esc + (<usize>w << 3));
    while (bits != 0) {
      let off = ((w << 6) + <u32>ctz(bits)) << 6;
      bits &= bits - 1;
      let end = off + 64 < len ? off + 64 : len;
      for (let q = off; q < end; q += 16) {
        let m = q + 16 <= len ? backslashes16(p + <usize>q) : tailBackslashes(p, q, len);
        while (m != 0) {
          let i = q + <u32>ctz(m);
          m &= m - 1;
          if (i < next) continue;
          let e = i + 2 <= len ? <u32>load<u8>(p + <usize>i + 1) : 0;
          next = i + (e == 0x75 ? 6 : 2);
          if (firstBadEscape(p, i, next <= len ? next : len) >= 0 || next > len) return false;
        }
      }
    }
  }
  return true;
}

// The backslashes of the bytes [q, len), fewer than 16, a bit each.
function tailBackslashes(p: usize, q: u32, len: u32): u32 {
  let m: u32 = 0;
  for (let k = q; k < len; k++) if (load<u8>(p + <usize>k) == 0x5c) m |= <u32>1 << (k - q);
  return m;
}

/** True when `ix`'s document is valid JSON (its strings' UTF-8 and control characters
 *  are stage 1's); fills aux for every container. Records nothing. */
export function fastValid(ix: JsonIndex): bool {
  let p = ix.input;
  let idx = ix.idx;
  let aux = ix.aux;
  let n = ix.entries;
  if (!escapesValid(ix)) return false;
  let s = S_START;
  let pos: u32 = 0; // past the last token
  let depth = 0;
  let o: u32 = 0; // the current container's opening entry
  let commas: u32 = 0; // and its commas so far
  for (let j: u32 = 0; j < n; j++) {
    let off = entry(idx, j);
    if (off != pos) {
      s = gap(p, pos, off, s);
      if (s == 0) return false;
    }
    let cls = <u32>load<u8>(CLASS + <usize>load<u8>(p + <usize>off));
    pos = off + 1;
    if (cls == C_QUOTE) {
      if (j + 1 >= n) return false;
      pos = entry(idx, ++j) + 1;
    }
    if (cls == C_COMMA) commas++;
    let next = <u32>load<u8>(NEXT + <usize>(s * 8 + cls));
    if (next < OPEN_OBJ) {
      if (next == 0) return false;
      s = next;
    } else if (next == CLOSE) {
      // The count is the commas + 1, or 0 for an empty container.
      let count = s == S_OBJ_OPEN || s == S_ARR_OPEN ? 0 : commas + 1;
      store<u32>(aux + (<usize>o << 2), j + 1);
      store<u32>(aux + (<usize>j << 2), count + 1);
      let v = unchecked(stack[--depth]);
      o = <u32>(v >> 32), commas = <u32>v;
      s = <u32>unchecked(resume[depth]);
    } else {
      if (depth == JSON_DEPTH_MAX) return false;
      unchecked(stack[depth] = (<u64>o << 32) | <u64>commas);
      unchecked(resume[depth++] = <u8>load<u8>(AFTER + <usize>s));
      o = j, commas = 0;
      s = next == OPEN_OBJ ? S_OBJ_OPEN : S_ARR_OPEN;
    }
  }
  let len = ix.inputLength;
  if (pos != len) s = gap(p, pos, len, s);
  return s == S_DONE;
}
