// The content of a JSON string as the input holds it (between the quotes, escapes kept) and
// what it decodes to. The parser has validated it, so the readers here need no error paths;
// they decode straight from the input bytes, and only decodeJsonString makes a string.

import { ByteWriter } from "../bytes";
import { utf8, utf8Next, utf8NextBytes, utf16Encode } from "../text/utf8";
import { NoEscape, STOP_BACKSLASH, writeEscapedBytes, writeEscapedCodePoint } from "../text/escape";

/** The value of hex digit `c`, or 0xff when it is not one (so an OR of four is > 15).
 *  `if ((hexDigit(a) | hexDigit(b)) > 15) fail()` */
export function hexDigit(c: u32): u32 {
  if (c - 0x30 < 10) return c - 0x30;
  c |= 0x20;
  if (c - 0x61 < 6) return c - 0x61 + 10;
  return 0xff;
}

// @ts-ignore: decorator
@inline function hex4(p: usize): u32 {
  return (hexDigit(load<u8>(p)) << 12) | (hexDigit(load<u8>(p, 1)) << 8) |
    (hexDigit(load<u8>(p, 2)) << 4) | hexDigit(load<u8>(p, 3));
}

/** Bytes the last `decodeEscape` consumed (2, 6 or 12). */
export let escapeLength: i32 = 0;

/** Bytes the last nextCodePoint() consumed (a scratch result: decoding never suspends). */
let codePointBytes: usize = 0;

/**
 * Decodes the code point at `p` in a JSON string's raw bytes: an escape (a surrogate pair
 * counts as one) or else whatever utf8Next decodes. The parser has validated the bytes,
 * so an ill-formed sequence cannot occur; were the input changed after parsing, it would
 * still become U+FFFD, never ASCII. Its length in bytes is left in `codePointBytes`.
 */
function nextCodePoint(p: usize, end: usize): u32 {
  if (load<u8>(p) == 0x5c) {
    let cp = decodeEscape(p, end - p);
    codePointBytes = <usize>escapeLength;
    return cp;
  }
  let cp = utf8Next(p, end - p);
  codePointBytes = utf8NextBytes;
  return cp;
}

/**
 * Decodes the validated escape whose backslash is at `p`, with `avail` bytes left in the
 * string, into a code point, and sets `escapeLength`. A surrogate pair written as two
 * `\u` escapes becomes one code point; a lone surrogate becomes U+FFFD, because it has no
 * UTF-8 encoding. `let cp = decodeEscape(p, end - p); p += escapeLength;`
 */
export function decodeEscape(p: usize, avail: usize): u32 {
  let e = <u32>load<u8>(p, 1);
  escapeLength = 2;
  switch (e) {
    case 0x62: return 0x08; // b
    case 0x66: return 0x0c; // f
    case 0x6e: return 0x0a; // n
    case 0x72: return 0x0d; // r
    case 0x74: return 0x09; // t
    case 0x75: break;       // u
    default: return e;      // " \ /
  }
  escapeLength = 6;
  let cp = hex4(p + 2);
  if ((cp & 0xf800) != 0xd800) return cp;
  if ((cp & 0xfc00) == 0xd800 && avail >= 12 && load<u8>(p, 6) == 0x5c && load<u8>(p, 7) == 0x75) {
    let lo = hex4(p + 8);
    if ((lo & 0xfc00) == 0xdc00) {
      escapeLength = 12;
      return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
  }
  return 0xfffd;
}

/**
 * Appends the decoded value of the raw JSON string content of `n` validated bytes at `p`,
 * with rule `R`'s special characters escaped (the rules are described in
 * sdk/lib/arena/text/escape.ts): runs that hold neither a backslash nor a special
 * character are copied in one piece, and an escape is decoded and then escaped by `R`, so
 * "\u003c" becomes "&lt;" for HTML. With `NoEscape` it writes the plain decoded value.
 * `writeJsonStringEscaped<HtmlEscape>(w, v.rawPtr, v.rawLength)`
 */
export function writeJsonStringEscaped<R>(w: ByteWriter, p: usize, n: i32): void {
  // The escaping core copies up to the next backslash, 16 bytes at a time; each escape is
  // decoded here and written back through rule R.
  let end = p + <usize>n;
  while (p < end) {
    p = writeEscapedBytes<R>(w, p, end, STOP_BACKSLASH);
    if (p >= end) break;
    let cp = decodeEscape(p, end - p);
    p += <usize>escapeLength;
    writeEscapedCodePoint<R>(w, cp);
  }
}

/**
 * The raw JSON string content of `n` validated bytes at `p` decoded to a string; `escaped`
 * says whether it holds backslashes (`JsonValue.hasEscapes`), else it is plain UTF-8.
 * `decodeJsonString(v.rawPtr, v.rawLength, v.hasEscapes)`
 */
export function decodeJsonString(p: usize, n: i32, escaped: bool): string {
  if (!escaped) return utf8(p, <usize>n);
  // Never more UTF-16 units than input bytes: allocate that, then shrink in place.
  let out = __new(<usize>n << 1, idof<String>());
  let o = out;
  let end = p + <usize>n;
  while (p < end) {
    let cp = nextCodePoint(p, end);
    p += codePointBytes;
    o += utf16Encode(o, cp);
  }
  return changetype<string>(__renew(out, o - out));
}

/**
 * Appends the decoded value of the raw JSON string content of `n` validated bytes at `p`
 * as UTF-8 (`escaped` as for decodeJsonString): content without escapes is copied in one
 * piece. `writeJsonStringDecoded(w, v.rawPtr, v.rawLength, v.hasEscapes)`
 */
export function writeJsonStringDecoded(w: ByteWriter, p: usize, n: i32, escaped: bool): void {
  if (escaped) writeJsonStringEscaped<NoEscape>(w, p, n);
  else w.raw(p, n);
}

/** Whether the raw JSON string content of `n` bytes at `p` decodes to `s` (`escaped`
 *  as for decodeJsonString), without allocating. `stringEquals(p, n, false, "id")` */
export function stringEquals(p: usize, n: i32, escaped: bool, s: string): bool {
  let sp = changetype<usize>(s);
  let sl = <usize>s.length << 1;
  let end = p + <usize>n;
  let j: usize = 0;
  // Cheap rejections first (get() compares the key with every member's name): UTF-8 never
  // takes fewer bytes than UTF-16 units, and an ASCII first byte must match the first unit.
  if (!escaped) {
    if (<usize>n < sl >> 1) return false;
    if (sl == 0) return n == 0;
    let b0 = <u32>load<u8>(p);
    if (b0 < 0x80 && b0 != <u32>load<u16>(sp)) return false;
  }
  if (!escaped && <usize>n == sl >> 1) {
    // Same length: equal only if every byte is ASCII and matches (non-ASCII bytes take
    // more than one byte per UTF-16 unit, so they cannot match at equal lengths).
    for (let i: usize = 0; i < <usize>n; i++) {
      let b = <u32>load<u8>(p + i);
      if (b >= 0x80 || b != <u32>load<u16>(sp + (i << 1))) return false;
    }
    return true;
  }
  while (p < end) {
    let cp = nextCodePoint(p, end);
    p += codePointBytes;
    if (cp < 0x10000) {
      if (j >= sl || <u32>load<u16>(sp + j) != cp) return false;
      j += 2;
    } else {
      cp -= 0x10000;
      if (j + 2 >= sl || <u32>load<u16>(sp + j) != (0xd800 | (cp >> 10)) ||
        <u32>load<u16>(sp + j + 2) != (0xdc00 | (cp & 0x3ff))) return false;
      j += 4;
    }
  }
  return j == sl;
}
