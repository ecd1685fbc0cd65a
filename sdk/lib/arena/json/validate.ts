// The strict pass (RFC 8259) over an indexed document: Json.parse runs it after stage 1 and
// doc.validate() runs it for Json.read. It checks the grammar a one-pass parser would, in
// the same order, so its first error is the one such a parser reports; but it walks the
// index, not the bytes. Stage 1 has found every structural character and string, and has
// checked the strings' UTF-8 and control characters, so what is left is small:
//   - between two consecutive entries there is nothing (minified JSON, the common case), or
//     whitespace, or one scalar: only those gaps are looked at byte by byte;
//   - a string's end is the next entry, and its escapes are checked only when its 64-byte
//     blocks hold a backslash (the index's `esc` bits);
//   - the open containers are a small explicit stack (JSON_DEPTH_MAX entries), the current
//     one in locals, and aux (see index.ts) is written as each container closes, so later
//     skips and `length` are O(1).
// One loop, no call per token: the index, the input and the container state stay in
// locals. The fields of the index are read once.

import { JSON_DEPTH_MAX } from "../limits";
import { JsonIndex } from "./index";
import { scanScalar, checkEscapes } from "./scan";
import { fastValid, skipWs } from "./grammar";

/** What validate() found: the document is valid, it has an error (recorded on the index),
 *  or a string never ends, which stage 1 has already reported better. */
export const VALID = 1;
/** See VALID. */
export const INVALID = 0;
/** See VALID. */
export const UNTERMINATED = 2;

// The enclosing containers of the current one, each as (opening entry << 32 | values so
// far), made once at start-up.
const stack = new StaticArray<u64>(JSON_DEPTH_MAX);

// The walk's position travels packed as (entry j << 32 | byte offset i): j is the index entry
// of the next structural at or after i. FAILED and OPEN_STRING are never positions: offsets
// that high are past any input.
// @ts-ignore: decorator
@inline const FAILED: u64 = 0xffffffff;
// @ts-ignore: decorator
@inline const OPEN_STRING: u64 = 0xfffffffe;

// @ts-ignore: decorator
@inline function entry(idx: usize, j: u32): u32 {
  return load<u32>(idx + (<usize>j << 2));
}

/** Whether any 64-byte block holding bytes [a, b) has its backslash bit in `esc` set. */
// @ts-ignore: decorator
@inline function escBlocks(esc: usize, a: u32, b: u32): bool {
  if (a >= b) return false;
  let last = (b - 1) >> 6;
  for (let k = a >> 6; k <= last; k++) {
    if ((load<u64>(esc + (<usize>(k >> 6) << 3)) >> <u64>(k & 63)) & 1) return true;
  }
  return false;
}

/** Checks the string whose opening quote is entry `j`; the position past it. */
// @ts-ignore: decorator
@inline function str(ix: JsonIndex, idx: usize, n: u32, j: u32): u64 {
  if (j + 1 >= n) return OPEN_STRING;
  let a = entry(idx, j) + 1;
  let b = entry(idx, j + 1);
  if (escBlocks(ix.esc, a, b) && !checkEscapes(ix, a, b)) return FAILED;
  return (<u64>(j + 2) << 32) | <u64>(b + 1);
}

function fail(ix: JsonIndex, msg: string, i: u32): u64 {
  ix.fail(msg, i);
  return FAILED;
}

/** Checks an object key and its colon from offset `i` (entry `j` next); the position where
 *  the value starts. */
// @ts-ignore: decorator
@inline function key(ix: JsonIndex, idx: usize, n: u32, i: u32, j: u32): u64 {
  let p = ix.input;
  let e = entry(idx, j);
  if (i < e) i = skipWs(p, i, e);
  if (i == e && j < n && load<u8>(p + <usize>e) == 0x22) {
    let r = str(ix, idx, n, j);
    if ((r & 0xffffffff) >= OPEN_STRING) return r;
    i = <u32>r;
    j = <u32>(r >> 32);
    e = entry(idx, j);
    if (i < e) i = skipWs(p, i, e);
    if (i == e && j < n && load<u8>(p + <usize>e) == 0x3a) return (<u64>(j + 1) << 32) | <u64>(e + 1);
    if (i >= ix.inputLength) return fail(ix, "unexpected end of input", i);
    return fail(ix, "expected ':' after an object key", i);
  }
  if (i >= ix.inputLength) return fail(ix, "unexpected end of input", i);
  return fail(ix, "expected a string key", i);
}

/** Checks the scalar at offset `i`, before the next entry's offset `e`; the offset past it,
 *  or 0 after recording the error. Plain integers and decimals, most of JSON's numbers,
 *  are scanned here; anything else (exponents, literals, errors) by scan.ts. */
// @ts-ignore: decorator
@inline function scalar(ix: JsonIndex, i: u32, e: u32): u32 {
  let p = ix.input;
  let k = i;
  if (load<u8>(p + <usize>k) == 0x2d) k++;
  if (k < e) {
    let d = <u32>load<u8>(p + <usize>k) - 0x30;
    if (d - 1 < 9) {
      k++;
      while (k < e && <u32>load<u8>(p + <usize>k) - 0x30 < 10) k++;
    } else if (d == 0) {
      k++;
    } else {
      k = i;
    }
    if (k > i && k < e && load<u8>(p + <usize>k) == 0x2e) {
      let f = ++k;
      while (k < e && <u32>load<u8>(p + <usize>k) - 0x30 < 10) k++;
      if (k == f) k = i;
    }
    // Done unless an exponent, a digit after a leading zero, or no number at all follows.
    if (k > i && (k == e || (<u32>load<u8>(p + <usize>k) - 0x30 >= 10 && (load<u8>(p + <usize>k) | 0x20) != 0x65))) return k;
  }
  return scanScalar(ix, <u32>load<u8>(p + <usize>i), i);
}

// @ts-ignore: decorator
@inline function outcome(r: u64): i32 {
  return (r & 0xffffffff) == OPEN_STRING ? UNTERMINATED : INVALID;
}

/** After the opener `c` at entry `j` (`i` past it): the position past "[]" or "{}" when the
 *  container is empty (its aux filled), else where its first value starts, with bit 63 set. */
function emptyAt(ix: JsonIndex, i: u32, j: u32, c: u32): u64 {
  let e = entry(ix.idx, j + 1);
  if (i < e) i = skipWs(ix.input, i, e);
  if (i == e && j + 1 < ix.entries && <u32>load<u8>(ix.input + <usize>e) == c + 2) {
    // Empty: "]" and "}" are two past their openers.
    store<u32>(ix.aux + (<usize>j << 2), j + 2);
    store<u32>(ix.aux + (<usize>j << 2), 1, 4);
    return (<u64>(j + 2) << 32) | <u64>(i + 1);
  }
  return (<u64>1 << 63) | (<u64>j << 32) | <u64>i;
}

/** Records that the container opened at entry `o` closes at entry `j` with `n` values. */
// @ts-ignore: decorator
@inline function closeAux(ix: JsonIndex, o: u32, j: u32, n: u32): void {
  store<u32>(ix.aux + (<usize>o << 2), j + 1);
  store<u32>(ix.aux + (<usize>j << 2), n + 1);
}

/** The outcome after the top value ended at `i`: only whitespace may follow. */
function finished(ix: JsonIndex, i: u32): i32 {
  i = skipWs(ix.input, i, ix.inputLength);
  if (i < ix.inputLength) return <i32>ix.fail("unexpected data after the JSON value", i);
  return VALID;
}

/** Records the error at `i`, where neither a comma nor the container's close came. */
function notContinued(ix: JsonIndex, i: u32, obj: bool): i32 {
  if (i >= ix.inputLength) return <i32>ix.fail("unexpected end of input", i);
  return <i32>ix.fail(obj ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element", i);
}

/** Validates the whole document; see VALID. Fills aux for every container. */
export function validate(ix: JsonIndex): i32 {
  let p = ix.input;
  let idx = ix.idx;
  let n = ix.entries;
  let depth = 0;
  // The current container: its opening entry, its values so far, whether it is an object.
  let o: u32 = 0, cnt: u32 = 0, obj = false;
  let i: u32 = 0, j: u32 = 0;
  let needKey = false;
  for (;;) {
    if (needKey) {
      let r = key(ix, idx, n, i, j);
      if ((r & 0xffffffff) >= OPEN_STRING) return outcome(r);
      i = <u32>r, j = <u32>(r >> 32);
    }
    // A value starts here: the next entry (string or container), or a scalar before it.
    let e = entry(idx, j);
    if (i < e) i = skipWs(p, i, e);
    if (i < e) {
      i = scalar(ix, i, e);
      if (i == 0) return INVALID;
    } else {
      if (j >= n) return <i32>ix.fail("unexpected end of input", i);
      let c = <u32>load<u8>(p + <usize>e);
      if (c == 0x22) {
        let r = str(ix, idx, n, j);
        if ((r & 0xffffffff) >= OPEN_STRING) return outcome(r);
        i = <u32>r, j = <u32>(r >> 32);
      } else if (c == 0x5b || c == 0x7b) {
        if (depth == JSON_DEPTH_MAX) return <i32>ix.fail("nesting deeper than JSON_DEPTH_MAX (" + JSON_DEPTH_MAX.toString() + ")", i);
        let r = emptyAt(ix, i + 1, j, c);
        i = <u32>r;
        if ((r >> 63) == 0) {
          j = <u32>(r >> 32);
        } else {
          unchecked(stack[depth++] = (<u64>o << 32) | <u64>cnt);
          o = j++, cnt = 0, obj = c == 0x7b;
          needKey = obj;
          continue;
        }
      } else {
        return <i32>ix.fail("expected a value", i);
      }
    }
    // A value ended: continue its container, or close containers as they end.
    needKey = false;
    for (;;) {
      if (depth == 0) return finished(ix, i);
      cnt++;
      e = entry(idx, j);
      if (i < e) i = skipWs(p, i, e);
      let c: u32 = i == e && j < n ? <u32>load<u8>(p + <usize>e) : 0;
      i++;
      if (c == 0x2c) {
        j++;
        needKey = obj;
        break;
      }
      if (c == (obj ? 0x7d : 0x5d)) {
        closeAux(ix, o, j++, cnt);
        let s = unchecked(stack[--depth]);
        o = <u32>(s >> 32), cnt = <u32>s;
        obj = load<u8>(p + <usize>entry(idx, o)) == 0x7b;
        continue;
      }
      return notContinued(ix, i - 1, obj);
    }
  }
  return INVALID; // unreachable: the loop only exits by returning
}

/**
 * The strict check of an indexed document, errors ordered as a one-pass parser finds them:
 * the validator's when it is at or before stage 1's (a stray non-ASCII byte outside strings
 * is a grammar error first), stage 1's otherwise; a string that never ends is stage 1's to
 * report; an index cut short (stage1Truncated) counts only errors before the cut. Marks
 * the document checked when it is valid. `strictCheck(doc)`
 */
export function strictCheck(ix: JsonIndex, fullLength: u32): void {
  let r = fastValid(ix) ? VALID : validate(ix);
  if (ix.stage1Pos >= 0 && (r == UNTERMINATED || ix.errPos < 0 || ix.errPos > ix.stage1Pos)) {
    ix.errPos = -1;
    ix.fail(ix.stage1Err, ix.stage1Pos);
  }
  if (ix.truncated) {
    if (ix.errPos >= 0 && <u32>ix.errPos >= ix.inputLength) ix.errPos = -1;
    ix.fail("document too large for the request's arena (" + ix.entries.toString() + " values parsed)", fullLength);
  }
  ix.checked = ix.errPos < 0 && r == VALID;
}
