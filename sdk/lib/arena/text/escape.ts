// The escaping core that the HTML writer, the JSON writer and the JSON string decoder share:
// text goes out as UTF-8 with some ASCII characters replaced by an escape, and the loops
// that do it are the same whatever the escapes are. What differs is the *rule* (its
// contract is in text/scan.ts, with the kernels that copy 16 bytes at a time up to the
// next byte the rule must handle). The functions here drive those kernels straight into a
// ByteWriter's buffer: room is reserved once per chunk of output, never per byte.

import { ByteWriter } from "../bytes";
import { utf8Encode } from "./utf8";
import { escapeBytes, escapeUtf16, scanAt, ESCAPE_BYTES_MAX, SCAN_STEP_BYTES_MAX, STOP_BACKSLASH, STOP_NON_ASCII } from "./scan";

export { NoEscape, STOP_BACKSLASH } from "./scan";

// Output reserved per kernel call, at most. A source unit escapes to at most
// ESCAPE_BYTES_MAX bytes, so short text reserves only what it could need and long text
// reserves this much at a time instead of eight times its length.
// @ts-ignore: decorator
@inline const CHUNK_BYTES: usize = 4096;

// The output span to give a kernel for `units` more source units (bytes or code units):
// all of them when they fit in a chunk, which a kernel then always finishes.
// @ts-ignore: decorator
@inline function spanFor(units: usize): usize {
  return min(units * <usize>ESCAPE_BYTES_MAX, CHUNK_BYTES);
}

/**
 * Appends `s` as UTF-8 with the characters that rule `R` marks special escaped (no quotes
 * or delimiters around it); lone surrogates become U+FFFD.
 * `writeEscaped<HtmlEscape>(w, "Tom & Jerry")` appends `Tom &amp; Jerry`.
 */
export function writeEscaped<R>(w: ByteWriter, s: string): void {
  let p = changetype<usize>(s);
  let end = p + (<usize>s.length << 1);
  while (p < end) {
    let span = spanFor((end - p) >> 1);
    let o = w.reserve(<i32>(span + SCAN_STEP_BYTES_MAX));
    let e = escapeUtf16<R>(p, end, o, o + span);
    w.advance(<i32>(e - o));
    p = scanAt;
  }
}

/**
 * Appends the bytes [p, end) with rule `R`'s special characters escaped, up to `end` or,
 * with STOP_BACKSLASH, up to the next backslash; returns where it stopped. With
 * STOP_NON_ASCII each byte that starts no well-formed UTF-8 sequence becomes U+FFFD, else
 * bytes from 0x80 up are copied as they are.
 * `p = writeEscapedBytes<HtmlEscape>(w, p, end, STOP_BACKSLASH)`
 */
// @ts-ignore: decorator
@inline
export function writeEscapedBytes<R>(w: ByteWriter, p: usize, end: usize, stops: i32): usize {
  while (p < end) {
    let span = spanFor(end - p);
    let o = w.reserve(<i32>(span + SCAN_STEP_BYTES_MAX));
    let e = escapeBytes<R>(p, end, o, o + span, stops);
    w.advance(<i32>(e - o));
    p = scanAt;
    if ((stops & STOP_BACKSLASH) && p < end && load<u8>(p) == 0x5c) break;
  }
  return p;
}

/**
 * Appends `len` UTF-8 bytes at `p` with rule `R`'s special characters escaped and
 * malformed UTF-8 replaced by U+FFFD (one per byte that starts no well-formed sequence);
 * runs that need neither are copied 16 bytes at a time.
 * `writeEscapedUtf8<JsonEscape>(w, body.dataStart, body.length)`
 */
export function writeEscapedUtf8<R>(w: ByteWriter, p: usize, len: i32): void {
  writeEscapedBytes<R>(w, p, p + <usize>len, STOP_NON_ASCII);
}

/**
 * Appends code point `cp` as UTF-8, escaped when rule `R` marks it special: the step of a
 * loop that decodes some other escaping (JSON's backslashes) into rule `R`'s.
 * `writeEscapedCodePoint<HtmlEscape>(w, 0x3c)` appends `&lt;`.
 */
// @ts-ignore: decorator
@inline
export function writeEscapedCodePoint<R>(w: ByteWriter, cp: u32): void {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract in text/scan.ts
  let o = w.reserve(ESCAPE_BYTES_MAX);
  // @ts-ignore: a rule's method called through its type parameter (the rule contract in text/scan.ts)
  w.advance(cp < 0x80 && rule.special(cp) ? rule.write(o, cp) : utf8Encode(o, cp));
}
