// The strict pass (RFC 8259) over an indexed document: Json.parse runs it after stage 1 and
// doc.validate() runs it for Json.read. It walks the input token by token like a one-pass
// parser, but takes every string's end from the index (stage 1 has checked the strings'
// UTF-8 and control characters; only escapes are left, and only strings whose block holds a
// backslash are looked at), and on the way it fills aux (see index.ts) for every container,
// so later skips and `length` are O(1). Iterative: the depth stack is JSON_DEPTH_MAX entries.

import { JSON_DEPTH_MAX } from "../limits";
import { JsonIndex } from "./index";
import { scanScalar, checkEscapes } from "./scan";

/** What validate() found: the document is valid, it has an error (recorded on the index),
 *  or a string never ends, which stage 1 has already reported better. */
export const VALID = 1;
/** See VALID. */
export const INVALID = 0;
/** See VALID. */
export const UNTERMINATED = 2;

// The open containers' entries and their value counts so far, made once at start-up.
const open = new StaticArray<u32>(JSON_DEPTH_MAX);
const count = new StaticArray<u32>(JSON_DEPTH_MAX);

// The walk's position travels packed as (entry j << 32 | byte offset i): j is the index entry
// of the next structural at or after i. Locals, not globals, keep the hot loop in registers.
// @ts-ignore: decorator
@inline function pack(i: u32, j: u32): u64 {
  return (<u64>j << 32) | <u64>i;
}

// Codes for a failed step (never a position: offset 0xffffffff is past any input).
// @ts-ignore: decorator
@inline const FAILED: u64 = 0xffffffff;
// @ts-ignore: decorator
@inline const OPEN_STRING: u64 = 0xfffffffe;

/** Checks the string whose opening quote is entry `j` at offset `i`; the position past it. */
// @ts-ignore: decorator
@inline function str(ix: JsonIndex, i: u32, j: u32): u64 {
  if (j + 1 >= ix.entries) return OPEN_STRING;
  let end = ix.at(j + 1);
  if (ix.hasBackslash(i + 1, end) && !checkEscapes(ix, i + 1, end)) return FAILED;
  return pack(end + 1, j + 2);
}

/** Checks an object key and its colon from `i`; the position where the value starts. */
function key(ix: JsonIndex, i: u32, j: u32): u64 {
  i = ix.skipWs(i);
  if (i >= ix.inputLength) return fail(ix, "unexpected end of input", i);
  if (load<u8>(ix.input + <usize>i) != 0x22) return fail(ix, "expected a string key", i);
  let r = str(ix, i, j);
  if ((r & 0xffffffff) >= OPEN_STRING) return r;
  i = ix.skipWs(<u32>r);
  if (i >= ix.inputLength) return fail(ix, "unexpected end of input", i);
  if (load<u8>(ix.input + <usize>i) != 0x3a) return fail(ix, "expected ':' after an object key", i);
  return pack(i + 1, <u32>(r >> 32) + 1);
}

function fail(ix: JsonIndex, msg: string, i: u32): u64 {
  ix.fail(msg, i);
  return FAILED;
}

// @ts-ignore: decorator
@inline function outcome(r: u64): i32 {
  return r == OPEN_STRING ? UNTERMINATED : INVALID;
}

/** Validates the whole document; see VALID. Fills aux for every container. */
export function validate(ix: JsonIndex): i32 {
  let p = ix.input;
  let len = ix.inputLength;
  let depth = 0;
  let i: u32 = 0;
  let j: u32 = 0;
  let needKey = false;
  for (;;) {
    if (needKey) {
      let r = key(ix, i, j);
      if ((r & 0xffffffff) >= OPEN_STRING) return outcome(r & 0xffffffff);
      i = <u32>r, j = <u32>(r >> 32);
    }
    // A value starts here.
    i = ix.skipWs(i);
    if (i >= len) return <i32>ix.fail("unexpected end of input", i);
    let c = <u32>load<u8>(p + <usize>i);
    needKey = false;
    if (c == 0x5b || c == 0x7b) {
      if (depth == JSON_DEPTH_MAX) return <i32>ix.fail("nesting deeper than JSON_DEPTH_MAX (" + JSON_DEPTH_MAX.toString() + ")", i);
      unchecked(open[depth] = j);
      unchecked(count[depth++] = 0);
      i = ix.skipWs(i + 1);
      j++;
      if (i < len && load<u8>(p + <usize>i) == c + 2) {
        // Empty: "[]" or "{}" ("]" and "}" are two past their openers).
        depth--;
        close(ix, unchecked(open[depth]), j, 0);
        i++, j++;
      } else {
        needKey = c == 0x7b;
        continue;
      }
    } else if (c == 0x22) {
      let r = str(ix, i, j);
      if ((r & 0xffffffff) >= OPEN_STRING) return outcome(r & 0xffffffff);
      i = <u32>r, j = <u32>(r >> 32);
    } else {
      i = scanScalar(ix, c, i);
      if (i == 0) return INVALID;
    }
    // A value ended: continue its container, or close containers as they end.
    for (;;) {
      if (depth == 0) {
        i = ix.skipWs(i);
        if (i < len) return <i32>ix.fail("unexpected data after the JSON value", i);
        return VALID;
      }
      let o = unchecked(open[depth - 1]);
      let isObject = load<u8>(p + <usize>ix.at(o)) == 0x7b;
      unchecked(count[depth - 1]++);
      i = ix.skipWs(i);
      if (i >= len) return <i32>ix.fail("unexpected end of input", i);
      c = <u32>load<u8>(p + <usize>i);
      if (c == 0x2c) {
        i++, j++;
        needKey = isObject;
        break;
      }
      if (c == (isObject ? 0x7d : 0x5d)) {
        depth--;
        close(ix, o, j, unchecked(count[depth]));
        i++, j++;
        continue;
      }
      return <i32>ix.fail(isObject ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element", i);
    }
  }
  return INVALID; // unreachable: the loop only exits by returning
}

/** Records that the container opened at entry `o` closes at entry `j` with `n` values. */
// @ts-ignore: decorator
@inline function close(ix: JsonIndex, o: u32, j: u32, n: u32): void {
  ix.setAux(o, j + 1);
  ix.setAux(j, n + 1);
}

/**
 * The strict check of an indexed document, errors ordered as a one-pass parser finds them:
 * the validator's when it is at or before stage 1's (a stray non-ASCII byte outside strings
 * is a grammar error first), stage 1's otherwise; a string that never ends is stage 1's to
 * report; an index cut short (stage1Truncated) counts only errors before the cut. Marks
 * the document checked when it is valid. `strictCheck(doc)`
 */
export function strictCheck(ix: JsonIndex, fullLength: u32): void {
  let r = validate(ix);
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
