// UTF-8 decoding and encoding. The decoder is the one every bytes → string path uses
// (request fields, headers, percent-decoded query and path values, bodies, fetch responses,
// env, JSON strings). It follows the WHATWG UTF-8 decoder exactly, like TextDecoder in
// browsers and Node: no overlong forms, no surrogates (U+D800–DFFF), nothing past U+10FFFF,
// and each maximal subpart of an ill-formed sequence becomes one U+FFFD. Lenient decoding
// is a security bug: the overlong C0 AE is "." to a lenient decoder, so
// "%C0%AE%C0%AE%C0%AF" would be "../" after every check on the raw bytes had passed.

/** U+FFFD REPLACEMENT CHARACTER, what an ill-formed sequence decodes to. */
// @ts-ignore: decorator
@inline export const UTF8_REPLACEMENT: u32 = 0xfffd;

/** High bit of each of eight bytes: a u64 with none of them set is eight ASCII bytes. */
// @ts-ignore: decorator
@inline const ASCII_MASK_8: u64 = 0x8080808080808080;

/**
 * Classifies the sequence whose lead byte, >= 0x80, is at `p` with `avail` bytes readable:
 * its length (2–4) when it is well-formed (RFC 3629), else minus the length (1–3) of its
 * maximal subpart, the bytes one U+FFFD replaces before decoding resumes (WHATWG: a byte
 * that cannot continue the sequence is not consumed; it starts the next one).
 * `let k = utf8Scan(p, end - p); p += k > 0 ? k : -k;`
 */
// @ts-ignore: decorator
@inline
export function utf8Scan(p: usize, avail: usize): i32 {
  let c = <u32>load<u8>(p);
  // 80–BF cannot start a sequence; C0 and C1 could only start overlong ones; F5–FF would
  // encode past U+10FFFF.
  if (c - 0xc2 > 0xf4 - 0xc2 || avail < 2) return -1;
  let c1 = <u32>load<u8>(p, 1);
  if (c < 0xe0) return (c1 & 0xc0) == 0x80 ? 2 : -1;
  // The second byte's range is narrower after E0 (overlong), ED (surrogates), F0 (overlong)
  // and F4 (past U+10FFFF); the third and fourth are always 80–BF.
  let lo: u32 = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
  let hi: u32 = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
  if (c1 < lo || c1 > hi) return -1;
  if (avail < 3 || (<u32>load<u8>(p, 2) & 0xc0) != 0x80) return -2;
  if (c < 0xf0) return 3;
  if (avail < 4 || (<u32>load<u8>(p, 3) & 0xc0) != 0x80) return -3;
  return 4;
}

/**
 * Length (2–4) of the well-formed UTF-8 sequence whose lead byte, >= 0x80, is at `p` with
 * `avail` bytes readable, or 0 when it is ill-formed (see utf8Scan). Validators use it.
 * `if (utf8SequenceLength(p, end - p) == 0) fail()`
 */
// @ts-ignore: decorator
@inline
export function utf8SequenceLength(p: usize, avail: usize): i32 {
  let k = utf8Scan(p, avail);
  return k > 0 ? k : 0;
}

/** Code point of the well-formed sequence of length `n` (2–4) at `p` (see utf8Scan).
 *  `let cp = utf8CodePoint(p, k);` */
// @ts-ignore: decorator
@inline
export function utf8CodePoint(p: usize, n: i32): u32 {
  let c = <u32>load<u8>(p);
  if (n == 2) return ((c & 0x1f) << 6) | (<u32>load<u8>(p, 1) & 0x3f);
  if (n == 3) return ((c & 0x0f) << 12) | ((<u32>load<u8>(p, 1) & 0x3f) << 6) | (<u32>load<u8>(p, 2) & 0x3f);
  return ((c & 0x07) << 18) | ((<u32>load<u8>(p, 1) & 0x3f) << 12) |
    ((<u32>load<u8>(p, 2) & 0x3f) << 6) | (<u32>load<u8>(p, 3) & 0x3f);
}

/** Bytes the last utf8Next() consumed (a scratch result: decoding never suspends). */
export let utf8NextBytes: usize = 0;

/**
 * Decodes the code point at `p` (any byte, `avail` >= 1 bytes readable): an ASCII byte, a
 * well-formed sequence, or U+FFFD for the maximal subpart of an ill-formed one. The bytes
 * it consumed, always at least one, are left in `utf8NextBytes`.
 * `let cp = utf8Next(p, end - p); p += utf8NextBytes;`
 */
export function utf8Next(p: usize, avail: usize): u32 {
  let c = <u32>load<u8>(p);
  if (c < 0x80) {
    utf8NextBytes = 1;
    return c;
  }
  let k = utf8Scan(p, avail);
  if (k < 0) {
    utf8NextBytes = <usize>-k;
    return UTF8_REPLACEMENT;
  }
  utf8NextBytes = <usize>k;
  return utf8CodePoint(p, k);
}

// Widens four ASCII bytes (a u32, little-endian) to four UTF-16 units (a u64).
// @ts-ignore: decorator
@inline function widenAscii4(x: u32): u64 {
  let y = <u64>x;
  y = (y | (y << 16)) & 0x0000ffff0000ffff;
  return (y | (y << 8)) & 0x00ff00ff00ff00ff;
}

/**
 * Decodes `len` UTF-8 bytes at `ptr` into a string, as the WHATWG UTF-8 decoder (and
 * `new TextDecoder()`) does: ill-formed sequences become U+FFFD, never ASCII or lone
 * surrogates. A leading byte order mark is kept (U+FEFF), as in WHATWG's "UTF-8 decode
 * without BOM". `utf8(ptr, len)`
 */
export function utf8(ptr: usize, len: usize): string {
  if (len == 0) return "";
  // Never more UTF-16 units than bytes (a 4-byte sequence is 2 units, an ill-formed byte
  // at most 1): allocate that, then shrink in place when the input was not all ASCII.
  let out = __new(len << 1, idof<String>());
  let o = out;
  let p = ptr;
  let end = ptr + len;
  // One loop, each turn one step: eight ASCII bytes at once when they are, else one code
  // point. Two- and three-byte sequences, the common non-ASCII text, are decoded inline (a
  // three-byte code point below U+0800 is overlong, D800–DFFF a surrogate); anything else,
  // well-formed or not, goes through utf8Scan.
  while (p < end) {
    let c = <u32>load<u8>(p);
    if (c < 0x80) {
      if (p + 8 <= end) {
        let x = load<u64>(p);
        if ((x & ASCII_MASK_8) == 0) {
          store<u64>(o, widenAscii4(<u32>x));
          store<u64>(o, widenAscii4(<u32>(x >> 32)), 8);
          p += 8;
          o += 16;
          continue;
        }
      }
      store<u16>(o, <u16>c);
      p++;
      o += 2;
      continue;
    }
    let avail = end - p;
    if (c < 0xe0) {
      // C2–DF: C0 and C1 would be overlong, 80–BF cannot lead.
      if (c >= 0xc2 && avail >= 2) {
        let c1 = <u32>load<u8>(p, 1);
        if ((c1 & 0xc0) == 0x80) {
          store<u16>(o, <u16>(((c & 0x1f) << 6) | (c1 & 0x3f)));
          p += 2;
          o += 2;
          continue;
        }
      }
    } else if (c < 0xf0 && avail >= 3) {
      let c1 = <u32>load<u8>(p, 1);
      let c2 = <u32>load<u8>(p, 2);
      let cp = ((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
      if (((c1 | (c2 << 8)) & 0xc0c0) == 0x8080 && cp >= 0x800 && (cp & 0xf800) != 0xd800) {
        store<u16>(o, <u16>cp);
        p += 3;
        o += 2;
        continue;
      }
    }
    let k = utf8Scan(p, avail);
    let cp = UTF8_REPLACEMENT;
    if (k > 0) {
      cp = utf8CodePoint(p, k);
      p += <usize>k;
    } else {
      p += <usize>-k;
    }
    o += utf16Encode(o, cp);
  }
  let size = o - out;
  return changetype<string>(size == len << 1 ? out : __renew(out, size));
}

/**
 * Stores code point `cp` (at most U+10FFFF) as UTF-16 at `dst`, a surrogate pair past
 * U+FFFF; returns the bytes written (2 or 4). `o += utf16Encode(o, cp);`
 */
// @ts-ignore: decorator
@inline
export function utf16Encode(dst: usize, cp: u32): usize {
  if (cp < 0x10000) {
    store<u16>(dst, <u16>cp);
    return 2;
  }
  cp -= 0x10000;
  store<u16>(dst, <u16>(0xd800 | (cp >> 10)));
  store<u16>(dst, <u16>(0xdc00 | (cp & 0x3ff)), 2);
  return 4;
}

/** Writes code point `cp` as UTF-8 at `dst`; returns the byte count (1–4).
 *  `w.raw(buf, utf8Encode(buf, 0xe9))` writes "é". */
// @ts-ignore: decorator
@inline
export function utf8Encode(dst: usize, cp: u32): i32 {
  if (cp < 0x80) {
    store<u8>(dst, <u8>cp);
    return 1;
  }
  if (cp < 0x800) {
    store<u8>(dst, <u8>(0xc0 | (cp >> 6)));
    store<u8>(dst, <u8>(0x80 | (cp & 0x3f)), 1);
    return 2;
  }
  if (cp < 0x10000) {
    store<u8>(dst, <u8>(0xe0 | (cp >> 12)));
    store<u8>(dst, <u8>(0x80 | ((cp >> 6) & 0x3f)), 1);
    store<u8>(dst, <u8>(0x80 | (cp & 0x3f)), 2);
    return 3;
  }
  store<u8>(dst, <u8>(0xf0 | (cp >> 18)));
  store<u8>(dst, <u8>(0x80 | ((cp >> 12) & 0x3f)), 1);
  store<u8>(dst, <u8>(0x80 | ((cp >> 6) & 0x3f)), 2);
  store<u8>(dst, <u8>(0x80 | (cp & 0x3f)), 3);
  return 4;
}
