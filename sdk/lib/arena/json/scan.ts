// The checks of one scalar or one string's escapes (RFC 8259), shared by the strict
// validator (validate.ts) and the on-demand reader (nav.ts). Each returns where the token
// ends, or 0 (never a valid end) after recording the error and its offset on the index.

import { hexDigit } from "./strings";
import { JsonIndex } from "./index";
import { T_NULL, T_FALSE, T_TRUE, T_NUMBER } from "./kind";

/** The tag of the last scalar scanScalar accepted (scratch: scanning never suspends). */
export let scalarTag: u32 = 0;

// @ts-ignore: decorator
@inline function digitAt(p: usize, i: u32, len: u32): bool {
  return i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10;
}

/** Scans the number at `start`; returns the offset past it, or 0 after `ix.fail`. */
export function scanNumber(ix: JsonIndex, start: u32): u32 {
  let p = ix.input;
  let len = ix.inputLength;
  let i = start;
  if (load<u8>(p + <usize>i) == 0x2d) i++;
  if (!digitAt(p, i, len)) return <u32>ix.fail("expected a digit after '-'", i);
  if (load<u8>(p + <usize>i) == 0x30) {
    i++;
    if (digitAt(p, i, len)) return <u32>ix.fail("leading zeros are not allowed", i);
  } else {
    while (digitAt(p, i, len)) i++;
  }
  if (i < len && load<u8>(p + <usize>i) == 0x2e) {
    i++;
    if (!digitAt(p, i, len)) return <u32>ix.fail("expected a digit after '.'", i);
    while (digitAt(p, i, len)) i++;
  }
  if (i < len && (load<u8>(p + <usize>i) | 0x20) == 0x65) {
    i++;
    if (i < len && (load<u8>(p + <usize>i) == 0x2b || load<u8>(p + <usize>i) == 0x2d)) i++;
    if (!digitAt(p, i, len)) return <u32>ix.fail("expected a digit in the exponent", i);
    while (digitAt(p, i, len)) i++;
  }
  return i;
}

/** Scans the number or literal whose first byte `c` is at `i`; sets scalarTag and returns
 *  the offset past it, or 0 after `ix.fail`. */
export function scanScalar(ix: JsonIndex, c: u32, i: u32): u32 {
  let p = ix.input + <usize>i;
  let room = ix.inputLength - i;
  if (c == 0x2d || c - 0x30 < 10) {
    scalarTag = T_NUMBER;
    return scanNumber(ix, i);
  }
  if (c == 0x74 && room >= 4 && load<u32>(p) == 0x65757274) {
    scalarTag = T_TRUE;
    return i + 4;
  }
  if (c == 0x66 && room >= 5 && load<u32>(p) == 0x736c6166 && load<u8>(p, 4) == 0x65) {
    scalarTag = T_FALSE;
    return i + 5;
  }
  if (c == 0x6e && room >= 4 && load<u32>(p) == 0x6c6c756e) {
    scalarTag = T_NULL;
    return i + 4;
  }
  return <u32>ix.fail("expected a value", i);
}

/** True when the number token [a, b) is a plain integer (no fraction or exponent). */
export function isPlainInteger(p: usize, a: u32, b: u32): bool {
  for (let i = a; i < b; i++) {
    let c = load<u8>(p + <usize>i);
    if (c == 0x2e || (c | 0x20) == 0x65) return false;
  }
  return true;
}

/** Checks the escapes of the string content [a, b) (stage 1 checked its UTF-8 and control
 *  characters); false after `ix.fail` at the offending backslash. */
export function checkEscapes(ix: JsonIndex, a: u32, b: u32): bool {
  let at = firstBadEscape(ix.input, a, b);
  if (at < 0) return true;
  if (load<u8>(ix.input + <usize>at + 1) == 0x75) return ix.fail("invalid \\u escape: expected 4 hex digits", <u32>at);
  return ix.fail("invalid escape", <u32>at);
}

/** The offset of the first invalid escape in the string content [a, b) at `p`, or -1.
 *  Stage 1 ended the string at an unescaped quote, so a backslash is never its last byte. */
export function firstBadEscape(p: usize, a: u32, b: u32): i32 {
  let i = a;
  while (i < b) {
    if (load<u8>(p + <usize>i) != 0x5c) {
      i++;
      continue;
    }
    let e = <u32>load<u8>(p + <usize>i + 1);
    if (e == 0x75) {
      if (i + 6 > b ||
        (hexDigit(load<u8>(p + <usize>i + 2)) | hexDigit(load<u8>(p + <usize>i + 3)) |
          hexDigit(load<u8>(p + <usize>i + 4)) | hexDigit(load<u8>(p + <usize>i + 5))) > 15) {
        return <i32>i;
      }
      i += 6;
    } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
      i += 2;
    } else {
      return <i32>i;
    }
  }
  return -1;
}
