// The escaping core that the HTML writer, the JSON writer and the JSON string decoder share:
// text goes out as UTF-8 with some ASCII characters replaced by an escape, and the loops
// that do it are the same whatever the escapes are. What differs is the *rule*.
//
// A rule is a @final class with two @inline methods that never read `this`:
//
//   special(c: u32): bool           whether `c` needs an escape; false from 0x80 up
//   write(dst: usize, c: u32): i32  writes the escape of special `c` at `dst` and returns
//                                   its length, at most ESCAPE_BYTES_MAX
//
// The loops are generic over the rule's class, so asc compiles one copy of each loop per
// rule with the rule's branch inlined into it. That is a static dispatch: a rule passed as a
// function value would cost an indirect call per character, and AssemblyScript cannot call
// a static method through a type parameter, so the loops call the methods on a null
// reference typed as the rule, which is sound because the methods never read `this`.

import { ByteWriter } from "../bytes";
import { utf8Encode, utf8SequenceLength, UTF8_REPLACEMENT } from "./utf8";

/** The longest escape a rule may write (`&quot;` and `\u001f` are 6 bytes). */
// @ts-ignore: decorator
@inline export const ESCAPE_BYTES_MAX: i32 = 8;

// Escaped text is staged here and copied to the ByteWriter once per ~1 KiB: one memory.copy
// instead of a bounds check and length update per byte. One buffer serves every writer and
// request: it is filled and flushed within one call that never suspends (no effect runs
// inside it), so no other request can run in between.
// @ts-ignore: decorator
@inline const STAGE_BYTES: i32 = 1024;
// @ts-ignore: decorator
@lazy const STAGE: usize = memory.data(STAGE_BYTES + 16);

/**
 * The rule that escapes nothing, for loops that only decode or re-encode.
 * `writeJsonStringEscaped<NoEscape>(w, p, n)` writes a JSON string's decoded value.
 */
@final
export class NoEscape {
  /** Never true. */
  // @ts-ignore: decorator
  @inline special(c: u32): bool { return false; }

  /** Never called; writes nothing. */
  // @ts-ignore: decorator
  @inline write(dst: usize, c: u32): i32 { return 0; }
}

/**
 * Appends `s` as UTF-8 with the characters that rule `R` marks special escaped (no quotes
 * or delimiters around it); lone surrogates become U+FFFD.
 * `writeEscaped<HtmlEscape>(w, "Tom & Jerry")` appends `Tom &amp; Jerry`.
 */
export function writeEscaped<R>(w: ByteWriter, s: string): void {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract above
  let sp = changetype<usize>(s);
  let n = s.length;
  let o = 0;
  for (let k = 0; k < n; k++) {
    if (o > STAGE_BYTES - ESCAPE_BYTES_MAX) {
      w.raw(STAGE, o);
      o = 0;
    }
    let c = <u32>load<u16>(sp + (<usize>k << 1));
    let dst = STAGE + <usize>o;
    if (c < 0x80) {
      // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
      if (rule.special(c)) {
        // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
        o += rule.write(dst, c);
      } else {
        store<u8>(dst, <u8>c);
        o++;
      }
    } else if ((c & 0xf800) == 0xd800) {
      let cp = UTF8_REPLACEMENT;
      if (c < 0xdc00 && k + 1 < n) {
        let d = <u32>load<u16>(sp + (<usize>(k + 1) << 1));
        if ((d & 0xfc00) == 0xdc00) {
          cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          k++;
        }
      }
      o += utf8Encode(dst, cp);
    } else {
      o += utf8Encode(dst, c);
    }
  }
  if (o > 0) w.raw(STAGE, o);
}

/**
 * Appends `len` UTF-8 bytes at `p` with rule `R`'s special characters escaped and
 * malformed UTF-8 replaced by U+FFFD; runs that need neither are copied in one piece.
 * `writeEscapedUtf8<JsonEscape>(w, body.dataStart, body.length)`
 */
export function writeEscapedUtf8<R>(w: ByteWriter, p: usize, len: i32): void {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract above
  let end = p + <usize>len;
  let run = p;
  while (p < end) {
    let c = <u32>load<u8>(p);
    if (c < 0x80) {
      // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
      if (!rule.special(c)) {
        p++;
        continue;
      }
      if (p > run) w.raw(run, <i32>(p - run));
      // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
      w.raw(STAGE, rule.write(STAGE, c));
      p++;
    } else {
      let k = utf8SequenceLength(p, end - p);
      if (k != 0) {
        p += <usize>k;
        continue;
      }
      if (p > run) w.raw(run, <i32>(p - run));
      w.raw(STAGE, utf8Encode(STAGE, UTF8_REPLACEMENT));
      p++;
    }
    run = p;
  }
  if (p > run) w.raw(run, <i32>(p - run));
}

/**
 * Appends code point `cp` as UTF-8, escaped when rule `R` marks it special: the step of a
 * loop that decodes some other escaping (JSON's backslashes) into rule `R`'s.
 * `writeEscapedCodePoint<HtmlEscape>(w, 0x3c)` appends `&lt;`.
 */
// @ts-ignore: decorator
@inline
export function writeEscapedCodePoint<R>(w: ByteWriter, cp: u32): void {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract above
  // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
  w.raw(STAGE, cp < 0x80 && rule.special(cp) ? rule.write(STAGE, cp) : utf8Encode(STAGE, cp));
}
