// The escaping core's kernels: copy text to UTF-8 output 16 bytes at a time up to the first
// byte an escape rule must handle, handle that one, and go on. They work on addresses only
// (no ByteWriter), so that bytes.ts can encode strings with them without an import cycle;
// text/escape.ts drives them into a ByteWriter a chunk at a time.
//
// A rule is a @final class with three @inline methods that never read `this`:
//
//   special(c: u32): bool           whether `c` needs an escape; false from 0x80 up
//   specials(v: v128): v128         the same for 16 bytes at once: a lane is 0xff where
//                                   special(lane) would be true, else 0 (lanes >= 0x80: 0)
//   write(dst: usize, c: u32): i32  writes the escape of special `c` at `dst` and returns
//                                   its length, at most ESCAPE_BYTES_MAX
//
// The kernels are generic over the rule's class, so asc compiles one copy of each per rule
// with the rule's tests inlined into it. That is a static dispatch: a rule passed as a
// function value would cost an indirect call per block, and AssemblyScript cannot call a
// static method through a type parameter, so the kernels call the methods on a null
// reference typed as the rule, which is sound because the methods never read `this`.
//
// Bounds. A kernel reads only inside its source [p, end): whole 16-byte loads while 16
// bytes remain, then the tail as two smaller loads, one from each end of it, joined in a
// register (loadTail); only a string's last 1–3 code units go one by one. It steps only
// while its output position `o` is at most `oLimit`, and a step writes at most
// SCAN_STEP_BYTES_MAX bytes from `o` (a 16-byte store of which only the clean prefix
// counts, then one escape or code point), so its caller must have room up to oLimit +
// SCAN_STEP_BYTES_MAX. Without the simd feature the same loops run a byte (or code unit)
// per step.

import { utf8Encode, utf8Scan, UTF8_REPLACEMENT } from "./utf8";

/** The longest escape a rule may write (`&quot;` and `\u001f` are 6 bytes). */
// @ts-ignore: decorator
@inline export const ESCAPE_BYTES_MAX: i32 = 8;

/** The most a kernel writes in one step: a 16-byte block, then one escape. */
// @ts-ignore: decorator
@inline export const SCAN_STEP_BYTES_MAX: usize = 16 + ESCAPE_BYTES_MAX;

/** A kernel over bytes also stops at a backslash and leaves it to the caller (JSON string
 *  bodies, whose escapes are decoded by json/strings.ts). */
// @ts-ignore: decorator
@inline export const STOP_BACKSLASH: i32 = 1;

/** A kernel over bytes checks each non-ASCII sequence as UTF-8 before copying it, and
 *  writes U+FFFD for each byte that starts no well-formed sequence. Without it, bytes from
 *  0x80 up are copied as they are (input a parser has validated). */
// @ts-ignore: decorator
@inline export const STOP_NON_ASCII: i32 = 2;

/** Where in its source the last kernel call stopped (a scratch result: kernels never
 *  suspend, so no other request can run in between). */
export let scanAt: usize = 0;

/**
 * The rule that escapes nothing, for loops that only decode or re-encode.
 * `writeJsonStringEscaped<NoEscape>(w, p, n)` writes a JSON string's decoded value.
 */
@final
export class NoEscape {
  /** Never true. */
  // @ts-ignore: decorator
  @inline special(c: u32): bool { return false; }

  /** No lane is special. */
  // @ts-ignore: decorator
  @inline specials(v: v128): v128 { return i8x16.splat(0); }

  /** Never called; writes nothing. */
  // @ts-ignore: decorator
  @inline write(dst: usize, c: u32): i32 { return 0; }
}

// The lanes a tail block's second half (from lane `half` on) must be moved down by, to
// follow its first half without a gap: the halves were loaded from the start and the end
// of the tail, and overlap when the tail is shorter than two halves.
// @ts-ignore: decorator
@inline function joinHalves(v: v128, half: i32, lanes: usize): v128 {
  let iota = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  let upper = i8x16.gt_u(iota, i8x16.splat(<i8>(half - 1)));
  let by = v128.and(i8x16.splat(<i8>((half << 1) - <i32>lanes)), upper);
  // An index past lane 15 reads 0, so the lanes past the tail are 0.
  return i8x16.swizzle(v, i8x16.add(iota, by));
}

// Bit i set for each of the 16 bytes of `v` that the kernel must stop at.
// @ts-ignore: decorator
@inline function stopBits<R>(v: v128, stops: i32): i32 {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract above
  // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
  let m: v128 = rule.specials(v);
  if (stops & STOP_BACKSLASH) m = v128.or(m, i8x16.eq(v, i8x16.splat(0x5c)));
  let bits = i8x16.bitmask(m);
  if (stops & STOP_NON_ASCII) bits |= i8x16.bitmask(v);
  return bits;
}

// The last 1–15 bytes of a source, [p, p + n), in lanes 0 to n - 1 and 0 after them,
// read without touching a byte outside: two loads of 8 (or 4) bytes, one at each end of
// the tail, joined; under 4 bytes, the first, middle and last byte cover them all.
// @ts-ignore: decorator
@inline function loadTail(p: usize, n: usize): v128 {
  if (n >= 8) return joinHalves(i64x2.replace_lane(v128.load64_zero(p), 1, load<u64>(p + n - 8)), 8, n);
  let x: u64;
  if (n >= 4) {
    x = <u64>load<u32>(p) | (<u64>load<u32>(p + n - 4) << ((n - 4) << 3));
  } else {
    let m = n >> 1;
    x = <u64>load<u8>(p) | (<u64>load<u8>(p + m) << (m << 3)) | (<u64>load<u8>(p + n - 1) << ((n - 1) << 3));
  }
  return i64x2.replace_lane(i64x2.splat(0), 0, x);
}

// Copies the bytes from p to `o` up to the first one to stop at, `end` or `o` passing
// `oLimit`: 16-byte blocks, then the tail. A clean block moves p and o by the same 16, so
// the output limit bounds p too, and the block loop checks one bound. Returns the output
// position and leaves the source position in scanAt.
// @ts-ignore: decorator
@inline function copyCleanBytes<R>(p: usize, end: usize, o: usize, oLimit: usize, stops: i32): usize {
  let blocksEnd = min(end, p + (oLimit - o) + 16);
  while (p + 16 <= blocksEnd) {
    let v = v128.load(p);
    v128.store(o, v);
    let bits = stopBits<R>(v, stops);
    if (bits != 0) {
      let k = <usize>ctz(bits);
      scanAt = p + k;
      return o + k;
    }
    p += 16;
    o += 16;
  }
  let lanes = end - p;
  if (lanes < 16 && lanes > 0 && o <= oLimit) {
    let v = loadTail(p, lanes);
    v128.store(o, v);
    let k = <usize>ctz(stopBits<R>(v, stops) | (1 << <i32>lanes));
    p += k;
    o += k;
  }
  scanAt = p;
  return o;
}

/**
 * Writes the bytes [p, end) to `o` with rule `R`'s special characters escaped, until
 * `end`, a backslash (STOP_BACKSLASH) or `o` passing `oLimit`; checks non-ASCII sequences
 * with STOP_NON_ASCII (see there). Returns the output position; the source position is
 * left in `scanAt`.
 * `o = escapeBytes<HtmlEscape>(p, end, o, oLimit, STOP_NON_ASCII); p = scanAt;`
 */
// @ts-ignore: decorator
@inline
export function escapeBytes<R>(p: usize, end: usize, o: usize, oLimit: usize, stops: i32): usize {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract above
  while (p < end && o <= oLimit) {
    if (ASC_FEATURE_SIMD) {
      o = copyCleanBytes<R>(p, end, o, oLimit, stops);
      p = scanAt;
      if (p >= end || o > oLimit) break;
    }
    // The byte at p: a stop in the simd build, any byte otherwise.
    let c = <u32>load<u8>(p);
    if (c < 0x80) {
      if ((stops & STOP_BACKSLASH) && c == 0x5c) break;
      // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
      if (rule.special(c)) {
        // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
        o += <usize>rule.write(o, c);
      } else {
        store<u8>(o, <u8>c);
        o++;
      }
      p++;
    } else if (stops & STOP_NON_ASCII) {
      let k = utf8Scan(p, end - p);
      if (k > 0) {
        // A well-formed sequence, copied without reading past it.
        store<u16>(o, load<u16>(p));
        if (k > 2) store<u8>(o, load<u8>(p, 2), 2);
        if (k > 3) store<u8>(o, load<u8>(p, 3), 3);
        p += <usize>k;
        o += <usize>k;
      } else {
        // One U+FFFD per byte that starts no well-formed sequence (what these writers have
        // always done; the decoder in utf8.ts replaces a maximal subpart at once).
        o += <usize>utf8Encode(o, UTF8_REPLACEMENT);
        p++;
      }
    } else {
      store<u8>(o, <u8>c);
      o++;
      p++;
    }
  }
  scanAt = p;
  return o;
}

// 16 UTF-16 code units at p as 16 bytes: ASCII units as themselves, every other unit as
// 0x80, so a lane's high bit marks a unit that is not ASCII.
// @ts-ignore: decorator
@inline function narrow16(p: usize): v128 {
  let top = i16x8.splat(0x80);
  return i8x16.narrow_i16x8_u(i16x8.min_u(v128.load(p), top), i16x8.min_u(v128.load(p, 16), top));
}

// The last 4–15 code units of a string, [p, p + (n << 1)), narrowed as in narrow16 into
// lanes 0 to n - 1, 0 after them; as loadTail, two loads joined, none outside the tail.
// @ts-ignore: decorator
@inline function narrowTail(p: usize, n: usize): v128 {
  let top = i16x8.splat(0x80);
  let end = p + (n << 1);
  if (n >= 8) return joinHalves(i8x16.narrow_i16x8_u(i16x8.min_u(v128.load(p), top), i16x8.min_u(v128.load(end - 16), top)), 8, n);
  let v = i64x2.replace_lane(v128.load64_zero(p), 1, load<u64>(end - 8));
  return joinHalves(i8x16.narrow_i16x8_u(i16x8.min_u(v, top), i16x8.splat(0)), 4, n);
}

// As copyCleanBytes for code units from p (byte address): 16 units to 16 bytes per
// block, a block moving p by 32 and o by 16; the last 4–15 units in one tail block, and
// the last 1–3 left to the caller.
// @ts-ignore: decorator
@inline function copyCleanUnits<R>(p: usize, end: usize, o: usize, oLimit: usize): usize {
  let blocksEnd = min(end, p + ((oLimit - o) << 1) + 32);
  while (p + 32 <= blocksEnd) {
    let v = narrow16(p);
    v128.store(o, v);
    let bits = stopBits<R>(v, STOP_NON_ASCII);
    if (bits != 0) {
      let k = <usize>ctz(bits);
      scanAt = p + (k << 1);
      return o + k;
    }
    p += 32;
    o += 16;
  }
  let lanes = (end - p) >> 1;
  if (lanes < 16 && lanes >= 4 && o <= oLimit) {
    let v = narrowTail(p, lanes);
    v128.store(o, v);
    let k = <usize>ctz(stopBits<R>(v, STOP_NON_ASCII) | (1 << <i32>lanes));
    p += k << 1;
    o += k;
  }
  scanAt = p;
  return o;
}

/**
 * Writes the UTF-16 code units [p, end) (byte addresses) to `o` as UTF-8 with rule `R`'s
 * special characters escaped and lone surrogates as U+FFFD, until `end` or `o` passing
 * `oLimit`; ASCII goes 16 code units per step (the last 1–3 units one by one).
 * Returns the output position; the source position is left in `scanAt`.
 * `o = escapeUtf16<NoEscape>(s, s + (len << 1), o, -1); // any string`
 */
// @ts-ignore: decorator
@inline
export function escapeUtf16<R>(p: usize, end: usize, o: usize, oLimit: usize): usize {
  let rule = changetype<R>(0); // never dereferenced: see the rule contract above
  while (p < end && o <= oLimit) {
    if (ASC_FEATURE_SIMD) {
      o = copyCleanUnits<R>(p, end, o, oLimit);
      p = scanAt;
      if (p >= end || o > oLimit) break;
    }
    // The code unit at p: a stop (or one of the last three) in the simd build, any unit
    // otherwise.
    let c = <u32>load<u16>(p);
    p += 2;
    if (c < 0x80) {
      // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
      if (rule.special(c)) {
        // @ts-ignore: a rule's method called through its type parameter (the rule contract above)
        o += <usize>rule.write(o, c);
      } else {
        store<u8>(o, <u8>c);
        o++;
      }
      continue;
    }
    if ((c & 0xf800) == 0xd800) {
      let lead = c;
      c = UTF8_REPLACEMENT;
      if (lead < 0xdc00 && p < end) {
        let d = <u32>load<u16>(p);
        if ((d & 0xfc00) == 0xdc00) {
          c = 0x10000 + ((lead - 0xd800) << 10) + (d - 0xdc00);
          p += 2;
        }
      }
    }
    o += <usize>utf8Encode(o, c);
  }
  scanAt = p;
  return o;
}
