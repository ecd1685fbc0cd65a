// JSON reader over bytes in the arena, simdjson-style: one strict pass (RFC 8259) turns the
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

import { ByteWriter, utf8, utf8Next, utf8NextBytes, utf8SequenceLength } from "./bytes";
import { JSON_DEPTH_MAX, JSON_INPUT_BYTES_MAX } from "./limits";

// @ts-ignore: decorator
@inline const T_NULL: u32 = 1;
// @ts-ignore: decorator
@inline const T_FALSE: u32 = 2;
// @ts-ignore: decorator
@inline const T_TRUE: u32 = 3;
// @ts-ignore: decorator
@inline const T_NUMBER: u32 = 4;
// @ts-ignore: decorator
@inline const T_STRING: u32 = 5;
// @ts-ignore: decorator
@inline const T_ARRAY: u32 = 6;
// @ts-ignore: decorator
@inline const T_OBJECT: u32 = 7;
// @ts-ignore: decorator
@inline const T_CLOSE: u32 = 8;
// @ts-ignore: decorator
@inline const TAG_SHIFT: u32 = 28;
// @ts-ignore: decorator
@inline const FLAG: u32 = 1 << 27;
// @ts-ignore: decorator
@inline const PAYLOAD: u32 = (1 << 27) - 1;

/**
 * What a `JsonValue` holds. `MISSING` is what `get`/`at` return for absent members, so
 * lookups chain without checks.
 *
 * ```ts
 * if (doc.root.get("tags").kind == JsonKind.ARRAY) { … }
 * ```
 */
export enum JsonKind {
  MISSING = 0,
  NULL = 1,
  BOOL = 2,
  NUMBER = 3,
  STRING = 4,
  ARRAY = 5,
  OBJECT = 6,
}

// ---------------------------------------------------------------------------------------
// UTF-8 and escapes (shared with JsonWriter and Html, which import them)

// UTF-8 validation and decoding are bytes.ts's (one decoder for the whole SDK); the
// validator is re-exported for the writers, which import their UTF-8 helpers from here.
export { utf8SequenceLength } from "./bytes";

/** Writes code point `cp` as UTF-8 at `dst`; returns the byte count (1–4). */
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

function hexDigit(c: u32): u32 {
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

// ---------------------------------------------------------------------------------------
// Numbers: correctly rounded decimal → f64

// @ts-ignore: decorator
@lazy const POW10: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
// @ts-ignore: decorator
@lazy const POW10_INT: StaticArray<u64> = [
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
  10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000, 1000000000000000,
];

/**
 * The exponent of a validated number token whose `e`/`E` is at byte `i` of the `n` bytes
 * at `p`: `[eE][+-]?digits`. It saturates at ±100000: past that the value is 0 or infinite
 * anyway. Shared by the fast path and the exact decimal fallback.
 */
function exponentAt(p: usize, i: i32, n: i32): i32 {
  i++;
  let neg = false;
  let c = load<u8>(p + <usize>i);
  if (c == 0x2d || c == 0x2b) {
    neg = c == 0x2d;
    i++;
  }
  let e = 0;
  for (; i < n; i++) if (e < 100000) e = e * 10 + <i32>(<u32>load<u8>(p + <usize>i) - 0x30);
  return neg ? -e : e;
}

/**
 * The value of the number token of `n` bytes at `p` (already validated), correctly rounded
 * like JavaScript's `Number()`. Exact fast path (Clinger): at most 19 significant digits
 * whose value fits in 53 bits and a power of ten that is itself exact. Anything else goes
 * through the arbitrary-precision decimal below, which is exact for every input.
 */
export function parseJsonNumber(p: usize, n: i32): f64 {
  let i = 0;
  let neg = false;
  if (load<u8>(p) == 0x2d) {
    neg = true;
    i = 1;
  }
  let mant: u64 = 0;
  let sig = 0;
  let exp10 = 0;
  let exact = true;
  for (; i < n; i++) {
    let d = <u32>load<u8>(p + <usize>i) - 0x30;
    if (d >= 10) break;
    if (sig < 19) {
      mant = mant * 10 + d;
      if (mant != 0) sig++;
    } else {
      exp10++;
      if (d != 0) exact = false;
    }
  }
  if (i < n && load<u8>(p + <usize>i) == 0x2e) {
    for (i++; i < n; i++) {
      let d = <u32>load<u8>(p + <usize>i) - 0x30;
      if (d >= 10) break;
      if (sig < 19) {
        mant = mant * 10 + d;
        if (mant != 0) sig++;
        exp10--;
      } else if (d != 0) {
        exact = false;
      }
    }
  }
  if (i < n) exp10 += exponentAt(p, i, n);
  if (exact && mant <= (<u64>1 << 53)) {
    if (mant == 0) return neg ? -0.0 : 0.0;
    let f = <f64>mant;
    if (exp10 >= -22 && exp10 <= 22) {
      let r = exp10 < 0 ? f / unchecked(POW10[-exp10]) : f * unchecked(POW10[exp10]);
      return neg ? -r : r;
    }
    if (exp10 > 22 && exp10 <= 22 + 15) {
      let scale = unchecked(POW10_INT[exp10 - 22]);
      if (mant <= (<u64>1 << 53) / scale) {
        let r = <f64>(mant * scale) * 1e22;
        return neg ? -r : r;
      }
    }
  }
  return slowParse(p, n);
}

// The slow path is Go's strconv decimal algorithm: the digits as an exact decimal, shifted
// by powers of two until the binary exponent and 53 mantissa bits fall out. 800 digits are
// enough to decide every halfway case (the longest needs 767); digits past them only
// matter as "something nonzero was dropped" (decTrunc). Single-threaded, so one static
// buffer serves every call and the slow path allocates nothing.
// @ts-ignore: decorator
@inline const DEC_CAP: i32 = 800;
// @ts-ignore: decorator
@lazy const DEC: usize = memory.data(DEC_CAP + 32);
// @ts-ignore: decorator
@inline const MAX_SHIFT: i32 = 60;
// @ts-ignore: decorator
@lazy const POWTAB: StaticArray<i32> = [1, 3, 6, 9, 13, 16, 19, 23, 26];
let decNd: i32 = 0;
let decDp: i32 = 0;
let decTrunc: bool = false;

function decTrim(): void {
  while (decNd > 0 && load<u8>(DEC + <usize>(decNd - 1)) == 0) decNd--;
  if (decNd == 0) decDp = 0;
}

function decRightShift(k: u32): void {
  let r = 0;
  let w = 0;
  let nd = decNd;
  let n: u64 = 0;
  for (; (n >> k) == 0; r++) {
    if (r >= nd) {
      if (n == 0) {
        decNd = 0;
        return;
      }
      while ((n >> k) == 0) {
        n *= 10;
        r++;
      }
      break;
    }
    n = n * 10 + <u64>load<u8>(DEC + <usize>r);
  }
  decDp -= r - 1;
  let mask: u64 = (<u64>1 << k) - 1;
  for (; r < nd; r++) {
    let c = <u64>load<u8>(DEC + <usize>r);
    store<u8>(DEC + <usize>(w++), <u8>(n >> k));
    n = (n & mask) * 10 + c;
  }
  while (n > 0) {
    let dig = n >> k;
    n &= mask;
    if (w < DEC_CAP) store<u8>(DEC + <usize>(w++), <u8>dig);
    else if (dig > 0) decTrunc = true;
    n *= 10;
  }
  decNd = w;
  decTrim();
}

function decLeftShift(k: u32): void {
  // `delta`, the digit count of 2^k, bounds the new digits; the true count is delta or
  // delta - 1 because the first digit is nonzero, so at most one leading slot stays empty.
  let delta = 1;
  for (let t = <u64>1 << k; t >= 10; t /= 10) delta++;
  let nd = decNd;
  let w = nd + delta;
  let n: u64 = 0;
  for (let r = nd - 1; r >= 0; r--) {
    n += <u64>load<u8>(DEC + <usize>r) << k;
    let q = n / 10;
    store<u8>(DEC + <usize>(--w), <u8>(n - q * 10));
    n = q;
  }
  while (n > 0) {
    let q = n / 10;
    store<u8>(DEC + <usize>(--w), <u8>(n - q * 10));
    n = q;
  }
  if (w > 0) memory.copy(DEC, DEC + <usize>w, <usize>(nd + delta - w));
  nd += delta - w;
  decDp += delta - w;
  if (nd > DEC_CAP) {
    for (let i = DEC_CAP; i < nd; i++) if (load<u8>(DEC + <usize>i) != 0) decTrunc = true;
    nd = DEC_CAP;
  }
  decNd = nd;
  decTrim();
}

function decShift(k: i32): void {
  if (decNd == 0) return;
  if (k > 0) {
    for (; k > MAX_SHIFT; k -= MAX_SHIFT) decLeftShift(<u32>MAX_SHIFT);
    decLeftShift(<u32>k);
  } else if (k < 0) {
    for (; k < -MAX_SHIFT; k += MAX_SHIFT) decRightShift(<u32>MAX_SHIFT);
    decRightShift(<u32>-k);
  }
}

function decShouldRoundUp(nd: i32): bool {
  if (nd < 0 || nd >= decNd) return false;
  let c = load<u8>(DEC + <usize>nd);
  if (c == 5 && nd + 1 == decNd) {
    // Exactly halfway: to even, unless dropped digits put it above half.
    if (decTrunc) return true;
    return nd > 0 && (load<u8>(DEC + <usize>(nd - 1)) & 1) == 1;
  }
  return c >= 5;
}

function decRoundedInteger(): u64 {
  if (decDp > 20) return 0xffffffffffffffff;
  let n: u64 = 0;
  let i = 0;
  for (; i < decDp && i < decNd; i++) n = n * 10 + <u64>load<u8>(DEC + <usize>i);
  for (; i < decDp; i++) n *= 10;
  if (decShouldRoundUp(decDp)) n++;
  return n;
}

function slowParse(p: usize, n: i32): f64 {
  let i = 0;
  let neg = load<u8>(p) == 0x2d;
  if (neg) i = 1;
  decNd = 0;
  decDp = 0;
  decTrunc = false;
  let seen = 0; // significant digits seen, kept or not
  let sawDot = false;
  for (; i < n; i++) {
    let c = <u32>load<u8>(p + <usize>i);
    if (c == 0x2e) {
      sawDot = true;
      decDp = seen;
      continue;
    }
    if (c - 0x30 >= 10) break;
    if (c == 0x30 && seen == 0) {
      decDp--; // a leading zero after the point
      continue;
    }
    seen++;
    if (decNd < DEC_CAP) store<u8>(DEC + <usize>(decNd++), <u8>(c - 0x30));
    else if (c != 0x30) decTrunc = true;
  }
  if (!sawDot) decDp = seen;
  if (i < n) decDp += exponentAt(p, i, n);
  decTrim();
  let bits = decToBits();
  if (neg) bits |= <u64>1 << 63;
  return reinterpret<f64>(bits);
}

function decToBits(): u64 {
  const INF: u64 = 0x7ff0000000000000;
  if (decNd == 0 || decDp < -330) return 0;
  if (decDp > 310) return INF;
  let exp = 0;
  while (decDp > 0) {
    let k = decDp >= 9 ? 27 : unchecked(POWTAB[decDp]);
    decShift(-k);
    exp += k;
  }
  while (decDp < 0 || (decDp == 0 && load<u8>(DEC) < 5)) {
    let k = -decDp >= 9 ? 27 : unchecked(POWTAB[-decDp]);
    decShift(k);
    exp -= k;
  }
  // Now in [0.5, 1); binary floating point counts from [1, 2).
  exp--;
  if (exp < -1022) {
    let k = -1022 - exp;
    decShift(-k);
    exp += k;
  }
  if (exp + 1023 >= 0x7ff) return INF;
  decShift(53);
  let mant = decRoundedInteger();
  if (mant == (<u64>2 << 52)) {
    mant >>= 1;
    exp++;
    if (exp + 1023 >= 0x7ff) return INF;
  }
  if ((mant & (<u64>1 << 52)) == 0) exp = -1023; // subnormal
  return (mant & ((<u64>1 << 52) - 1)) | (<u64>((exp + 1023) & 0x7ff) << 52);
}

/** Set by parseJsonInt when the integer does not fit in an i64. */
let intOverflow: bool = false;

function parseJsonInt(p: usize, n: i32): i64 {
  let i = 0;
  let neg = load<u8>(p) == 0x2d;
  if (neg) i = 1;
  // Accumulate negatively so i64.MIN_VALUE fits.
  let v: i64 = 0;
  intOverflow = false;
  for (; i < n; i++) {
    let d = <i64>(<u32>load<u8>(p + <usize>i) - 0x30);
    if (v < (i64.MIN_VALUE + d) / 10) {
      intOverflow = true;
      return 0;
    }
    v = v * 10 - d;
  }
  if (!neg) {
    if (v == i64.MIN_VALUE) {
      intOverflow = true;
      return 0;
    }
    return -v;
  }
  return v;
}

// ---------------------------------------------------------------------------------------
// The parser

@final
class Parser {
  p: usize;
  len: u32;
  tape: usize = 0; // an ArrayBuffer, grown in place (it is the arena's last block)
  cap: u32 = 0;
  n: u32 = 0;
  error: string = "";
  errorPos: i32 = -1;

  constructor(p: usize, len: u32) {
    this.p = p;
    this.len = len;
  }

  fail(msg: string, pos: u32): bool {
    this.error = msg;
    this.errorPos = <i32>pos;
    return false;
  }

  emit(w0: u32, w1: u32): void {
    let n = this.n;
    if (n == this.cap) {
      // The tape is the arena's last block, so growing is in place, without a copy; 1.5×
      // keeps the unused tail small.
      let cap = this.cap + (this.cap >> 1);
      this.tape = __renew(this.tape, <usize>cap << 3);
      this.cap = cap;
    }
    store<u64>(this.tape + (<usize>n << 3), (<u64>w1 << 32) | <u64>w0);
    this.n = n + 1;
  }

  skipWs(i: u32): u32 {
    let p = this.p;
    let len = this.len;
    while (i < len) {
      let c = load<u8>(p + <usize>i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      i++;
    }
    return i;
  }

  /** Scans the string whose quote is at `q`, emits it, and returns the index past its
   *  closing quote, or 0 (never a valid end) after `fail`. */
  string(q: u32): u32 {
    let p = this.p;
    let len = this.len;
    let i = q + 1;
    let esc: u32 = 0;
    for (;;) {
      // Eight bytes at a time until one is a quote, a backslash, a control character or
      // not ASCII; the lowest flagged byte is exact (borrows only propagate upwards).
      while (i + 8 <= len) {
        let x = load<u64>(p + <usize>i);
        const ONES: u64 = 0x0101010101010101;
        let qx = x ^ (ONES * 0x22);
        let bx = x ^ (ONES * 0x5c);
        let m = (((x - ONES * 0x20) & ~x) | ((qx - ONES) & ~qx) | ((bx - ONES) & ~bx) | x) & (ONES * 0x80);
        if (m != 0) {
          i += <u32>(ctz(m) >> 3);
          break;
        }
        i += 8;
      }
      if (i >= len) return <u32>this.fail("unterminated string", q);
      let c = <u32>load<u8>(p + <usize>i);
      if (c == 0x22) break;
      if (c == 0x5c) {
        esc = FLAG;
        if (i + 1 >= len) return <u32>this.fail("unterminated string", q);
        let e = <u32>load<u8>(p + <usize>i + 1);
        if (e == 0x75) {
          if (i + 6 > len ||
            (hexDigit(load<u8>(p + <usize>i + 2)) | hexDigit(load<u8>(p + <usize>i + 3)) |
              hexDigit(load<u8>(p + <usize>i + 4)) | hexDigit(load<u8>(p + <usize>i + 5))) > 15) {
            return <u32>this.fail("invalid \\u escape: expected 4 hex digits", i);
          }
          i += 6;
        } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
          i += 2;
        } else {
          return <u32>this.fail("invalid escape", i);
        }
      } else if (c < 0x20) {
        return <u32>this.fail("control character in string (must be escaped)", i);
      } else if (c >= 0x80) {
        let k = utf8SequenceLength(p + <usize>i, <usize>(len - i));
        if (k == 0) return <u32>this.fail("invalid UTF-8", i);
        i += <u32>k;
      } else {
        i++;
      }
    }
    this.emit(q + 1, (T_STRING << TAG_SHIFT) | esc | (i - q - 1));
    return i + 1;
  }

  /** Scans and emits the number starting at `start`; returns the index past it or 0. */
  number(start: u32): u32 {
    let p = this.p;
    let len = this.len;
    let i = start;
    let intFlag = FLAG;
    if (load<u8>(p + <usize>i) == 0x2d) i++;
    if (i >= len || <u32>load<u8>(p + <usize>i) - 0x30 >= 10) {
      return <u32>this.fail("expected a digit after '-'", i);
    }
    if (load<u8>(p + <usize>i) == 0x30) {
      i++;
      if (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) {
        return <u32>this.fail("leading zeros are not allowed", i);
      }
    } else {
      while (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) i++;
    }
    if (i < len && load<u8>(p + <usize>i) == 0x2e) {
      intFlag = 0;
      i++;
      if (i >= len || <u32>load<u8>(p + <usize>i) - 0x30 >= 10) return <u32>this.fail("expected a digit after '.'", i);
      while (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) i++;
    }
    if (i < len && (load<u8>(p + <usize>i) | 0x20) == 0x65) {
      intFlag = 0;
      i++;
      if (i < len && (load<u8>(p + <usize>i) == 0x2b || load<u8>(p + <usize>i) == 0x2d)) i++;
      if (i >= len || <u32>load<u8>(p + <usize>i) - 0x30 >= 10) return <u32>this.fail("expected a digit in the exponent", i);
      while (i < len && <u32>load<u8>(p + <usize>i) - 0x30 < 10) i++;
    }
    this.emit(start, (T_NUMBER << TAG_SHIFT) | intFlag | (i - start));
    return i;
  }

  /** Scans a key string and its colon; returns the index where the value starts, or 0. */
  key(i: u32): u32 {
    if (i >= this.len) return <u32>this.fail("unexpected end of input", i);
    if (load<u8>(this.p + <usize>i) != 0x22) return <u32>this.fail("expected a string key", i);
    i = this.string(i);
    if (i == 0) return 0;
    i = this.skipWs(i);
    if (i >= this.len) return <u32>this.fail("unexpected end of input", i);
    if (load<u8>(this.p + <usize>i) != 0x3a) return <u32>this.fail("expected ':' after an object key", i);
    return i + 1;
  }

  /** Parses the whole input; true when it is one valid JSON text. */
  run(): bool {
    let p = this.p;
    let len = this.len;
    // Typical JSON has a value every 8–16 bytes; start at one per 32 and grow.
    this.cap = max<u32>(16, len >> 5);
    // The depth stack is allocated before the tape so the tape stays the arena's last block.
    let stack = new StaticArray<u32>(JSON_DEPTH_MAX);
    this.tape = __new(<usize>this.cap << 3, idof<ArrayBuffer>());
    let depth = 0;
    let i: u32 = 0;
    for (;;) {
      // A value starts here.
      i = this.skipWs(i);
      if (i >= len) return this.fail("unexpected end of input", i);
      let c = <u32>load<u8>(p + <usize>i);
      if (c == 0x5b || c == 0x7b) {
        if (depth == JSON_DEPTH_MAX) return this.fail("nesting deeper than JSON_DEPTH_MAX (" + JSON_DEPTH_MAX.toString() + ")", i);
        unchecked(stack[depth++] = this.n);
        this.emit(i, (c == 0x5b ? T_ARRAY : T_OBJECT) << TAG_SHIFT);
        i = this.skipWs(i + 1);
        if (i < len && load<u8>(p + <usize>i) == c + 2) {
          // Empty: "[]" or "{}" ("]" and "}" are two past their openers).
          if (!this.close(stack[--depth], i, 0)) return false;
          i++;
        } else if (c == 0x7b) {
          i = this.key(i);
          if (i == 0) return false;
          continue;
        } else {
          continue;
        }
      } else if (c == 0x22) {
        i = this.string(i);
        if (i == 0) return false;
      } else if (c == 0x2d || c - 0x30 < 10) {
        i = this.number(i);
        if (i == 0) return false;
      } else if (c == 0x74 && i + 4 <= len && load<u32>(p + <usize>i) == 0x65757274) {
        this.emit(i, T_TRUE << TAG_SHIFT);
        i += 4;
      } else if (c == 0x66 && i + 5 <= len && load<u32>(p + <usize>i) == 0x736c6166 && load<u8>(p + <usize>i + 4) == 0x65) {
        this.emit(i, T_FALSE << TAG_SHIFT);
        i += 5;
      } else if (c == 0x6e && i + 4 <= len && load<u32>(p + <usize>i) == 0x6c6c756e) {
        this.emit(i, T_NULL << TAG_SHIFT);
        i += 4;
      } else {
        return this.fail("expected a value", i);
      }
      // A value ended: continue its container, or close containers as they end.
      for (;;) {
        if (depth == 0) {
          i = this.skipWs(i);
          if (i < len) return this.fail("unexpected data after the JSON value", i);
          // Give the unused tail back to the arena (in place: the tape is its last block).
          this.tape = __renew(this.tape, <usize>this.n << 3);
          return true;
        }
        let open = unchecked(stack[depth - 1]);
        let isObject = (load<u32>(this.tape + (<usize>open << 3), 4) >> TAG_SHIFT) == T_OBJECT;
        // The count so far lives in the open entry's payload until the container closes.
        let countAddr = this.tape + (<usize>open << 3) + 4;
        store<u32>(countAddr, load<u32>(countAddr) + 1);
        i = this.skipWs(i);
        if (i >= len) return this.fail("unexpected end of input", i);
        c = <u32>load<u8>(p + <usize>i);
        if (c == 0x2c) {
          i++;
          if (isObject) {
            i = this.key(this.skipWs(i));
            if (i == 0) return false;
          }
          break;
        }
        if (c == (isObject ? 0x7d : 0x5d)) {
          depth--;
          if (!this.close(open, i, load<u32>(countAddr) & PAYLOAD)) return false;
          i++;
          continue;
        }
        return this.fail(isObject ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element", i);
      }
    }
    return false; // unreachable: the loop only exits by returning
  }

  /** Emits the CLOSE entry for the container opened at tape index `open`. */
  close(open: u32, at: u32, count: u32): bool {
    this.emit(count, (T_CLOSE << TAG_SHIFT) | at);
    let addr = this.tape + (<usize>open << 3) + 4;
    store<u32>(addr, (load<u32>(addr) & ~PAYLOAD) | this.n);
    return true;
  }
}

// ---------------------------------------------------------------------------------------
// The public API

/**
 * Parses JSON. Every entry point returns a `JsonDoc`; invalid input gives `doc.ok == false`
 * with a message and the byte offset, never a trap.
 *
 * ```ts
 * const doc = Json.parse(req.body);
 * if (!doc.ok) return Response.text(doc.error + " at byte " + doc.errorPos.toString() + "\n", 400);
 * const name = doc.root.get("user").get("name").strOr("anonymous");
 * ```
 */
export class Json {
  /** Parses `bytes` (no copy: the document reads them until it is dropped, so do not
   *  change them meanwhile). `Json.parse(req.body)` */
  static parse(bytes: Uint8Array): JsonDoc {
    return Json.parseAt(bytes.dataStart, <usize>bytes.length);
  }

  /** Parses `len` bytes at `ptr`, which must stay unchanged while the document is read.
   *  `Json.parseAt(w.dataStart, w.length)` */
  static parseAt(ptr: usize, len: usize): JsonDoc {
    if (len > <usize>JSON_INPUT_BYTES_MAX) {
      return new JsonDoc(ptr, 0, 0, 0, "input larger than JSON_INPUT_BYTES_MAX", 0);
    }
    let parser = new Parser(ptr, <u32>len);
    if (parser.run()) return new JsonDoc(ptr, <u32>len, parser.tape, parser.n, "", -1);
    return new JsonDoc(ptr, <u32>len, 0, 0, parser.error, parser.errorPos);
  }

  /** Parses a string (encoded to UTF-8 first: a copy). For tests and start-up config.
   *  `Json.parseString('{"port":8080}').root.get("port").int()` */
  static parseString(s: string): JsonDoc {
    let buf = String.UTF8.encode(s, false);
    return Json.parseAt(changetype<usize>(buf), <usize>buf.byteLength);
  }
}

/**
 * A parsed JSON text: the tape plus the input bytes it points into.
 *
 * ```ts
 * const doc = Json.parse(req.body);
 * if (!doc.ok) return Response.text(doc.error + "\n", 400);
 * for (let item = doc.root.first(); item.exists; item.next()) { … }
 * ```
 */
export class JsonDoc {
  /** Address of the input's first byte. */
  readonly input: usize;
  /** Input length in bytes. */
  readonly inputLength: u32;
  /** Address of the tape (0 when parsing failed). */
  readonly tape: usize;
  /** Tape entries. */
  readonly entries: u32;
  /** Why parsing failed, or "" when it did not. `doc.error` */
  readonly error: string;
  /** Byte offset where parsing failed, or -1. `doc.errorPos` */
  readonly errorPos: i32;

  constructor(input: usize, inputLength: u32, tape: usize, entries: u32, error: string, errorPos: i32) {
    this.input = input;
    this.inputLength = inputLength;
    this.tape = tape;
    this.entries = entries;
    this.error = error;
    this.errorPos = errorPos;
  }

  /** True when the input was one valid JSON text. `if (!doc.ok) …` */
  get ok(): bool {
    return this.errorPos < 0;
  }

  /** The top-level value, or a MISSING value when parsing failed. `doc.root.get("id")` */
  get root(): JsonValue {
    return new JsonValue(this, this.ok ? 0 : -1, -1);
  }
}

/**
 * A handle on one value of a `JsonDoc` (a tape index; 32 bytes in the arena). Reading never
 * traps: asking an absent or mistyped value gives MISSING, "", NaN, 0 or false, and the
 * `…Or(default)` getters say what to use instead.
 *
 * ```ts
 * const user = doc.root.get("user");
 * const name = user.get("name").strOr("anonymous");   // decoded UTF-16 string
 * const age = user.get("age").intOr(0);
 * if (user.get("role").strEquals("admin")) { … }      // compares without allocating
 * for (let tag = user.get("tags").first(); tag.exists; tag.next()) tag.writeStrTo(w);
 * ```
 */
export class JsonValue {
  private doc: JsonDoc;
  // Tape index of the value, or -1 when MISSING.
  private i: i32;
  // Tape index of the member's key when the value is an object member, else -1.
  private k: i32;

  constructor(doc: JsonDoc, i: i32, k: i32) {
    this.doc = doc;
    this.i = i;
    this.k = k;
  }

  // @ts-ignore: decorator
  @inline private w0(i: i32): u32 {
    return load<u32>(this.doc.tape + (<usize>i << 3));
  }

  // @ts-ignore: decorator
  @inline private w1(i: i32): u32 {
    return load<u32>(this.doc.tape + (<usize>i << 3), 4);
  }

  private tag(): u32 {
    return this.i < 0 ? 0 : this.w1(this.i) >> TAG_SHIFT;
  }

  /** Index of the entry after value `i` (its container skipped in O(1)). */
  private after(i: i32): i32 {
    let w1 = this.w1(i);
    let t = w1 >> TAG_SHIFT;
    return t == T_ARRAY || t == T_OBJECT ? <i32>(w1 & PAYLOAD) : i + 1;
  }

  /** What this value is. `v.kind == JsonKind.STRING` */
  get kind(): JsonKind {
    switch (this.tag()) {
      case T_NULL: return JsonKind.NULL;
      case T_FALSE:
      case T_TRUE: return JsonKind.BOOL;
      case T_NUMBER: return JsonKind.NUMBER;
      case T_STRING: return JsonKind.STRING;
      case T_ARRAY: return JsonKind.ARRAY;
      case T_OBJECT: return JsonKind.OBJECT;
    }
    return JsonKind.MISSING;
  }

  /** False for MISSING (absent member, index out of range, failed parse). `if (v.exists) …` */
  get exists(): bool { return this.i >= 0; }
  /** `v.isNull` */
  get isNull(): bool { return this.tag() == T_NULL; }
  /** `v.isBool` */
  get isBool(): bool { let t = this.tag(); return t == T_TRUE || t == T_FALSE; }
  /** `v.isNumber` */
  get isNumber(): bool { return this.tag() == T_NUMBER; }
  /** `v.isString` */
  get isString(): bool { return this.tag() == T_STRING; }
  /** `v.isArray` */
  get isArray(): bool { return this.tag() == T_ARRAY; }
  /** `v.isObject` */
  get isObject(): bool { return this.tag() == T_OBJECT; }

  /** Elements of an array or members of an object, O(1); 0 for anything else.
   *  `doc.root.get("items").length` */
  get length(): i32 {
    let t = this.tag();
    if (t != T_ARRAY && t != T_OBJECT) return 0;
    return <i32>this.w0(<i32>(this.w1(this.i) & PAYLOAD) - 1);
  }

  /**
   * The member `key` of an object (compared after decoding escapes), or MISSING. When a key
   * repeats, the last one wins, as in JavaScript's JSON.parse, so that two readers of the
   * same bytes agree. O(members). `doc.root.get("a").get("b").strOr("")`
   */
  get(key: string): JsonValue {
    let k = this.findKey(key);
    return new JsonValue(this.doc, k < 0 ? -1 : k + 1, k);
  }

  /** True when this is an object with member `key` (no allocation). `if (v.has("id")) …` */
  has(key: string): bool {
    return this.findKey(key) >= 0;
  }

  /** Tape index of the last key equal to `key`, or -1. */
  private findKey(key: string): i32 {
    if (this.tag() != T_OBJECT) return -1;
    let found = -1;
    let j = this.i + 1;
    // Most names differ from `key` in length or first byte: reject those here, without a
    // call (an unescaped UTF-8 name has at least as many bytes as `key` has UTF-16 units,
    // and an ASCII first byte must equal the first unit).
    let units = key.length;
    let first: u32 = units > 0 ? <u32>key.charCodeAt(0) : 0;
    let input = this.doc.input;
    let w1 = this.w1(j);
    while ((w1 >> TAG_SHIFT) != T_CLOSE) {
      let n = <i32>(w1 & PAYLOAD);
      let plain = (w1 & FLAG) == 0;
      let maybe = !plain;
      if (plain && n >= units) {
        if (units == 0) {
          maybe = n == 0;
        } else {
          let b0 = <u32>load<u8>(input + <usize>this.w0(j));
          maybe = b0 == first || b0 >= 0x80;
        }
      }
      if (maybe && this.keyEquals(j, key)) found = j;
      j = this.after(j + 1);
      w1 = this.w1(j);
    }
    return found;
  }

  /** Element `index` of an array (or the value of member `index` of an object), or
   *  MISSING. O(index): use first()/next() to walk. `doc.root.at(0).num()` */
  at(index: i32): JsonValue {
    let v = this.first();
    for (let n = 0; n < index && v.exists; n++) v.next();
    if (index < 0) {
      v.i = -1;
      v.k = -1;
    }
    return v;
  }

  /**
   * The first element of an array or the first member's value of an object (MISSING when
   * empty or not a container). With next() it walks a container allocating one handle:
   *
   * ```ts
   * for (let m = obj.first(); m.exists; m.next()) w.str(m.key()).str("=").str(m.strOr("?"));
   * ```
   */
  first(): JsonValue {
    let t = this.tag();
    let j = this.i + 1;
    if ((t != T_ARRAY && t != T_OBJECT) || (this.w1(j) >> TAG_SHIFT) == T_CLOSE) {
      return new JsonValue(this.doc, -1, -1);
    }
    return t == T_OBJECT ? new JsonValue(this.doc, j + 1, j) : new JsonValue(this.doc, j, -1);
  }

  /** Moves this handle, in place, to the next element or member (MISSING past the last)
   *  and returns it. Handles are not shared, so only this one moves. `v.next()` */
  next(): JsonValue {
    if (this.i < 0) return this;
    let j = this.after(this.i);
    if ((this.w1(j) >> TAG_SHIFT) == T_CLOSE) {
      this.i = -1;
      this.k = -1;
    } else if (this.k >= 0) {
      this.k = j;
      this.i = j + 1;
    } else {
      this.i = j;
    }
    return this;
  }

  private keyEquals(j: i32, s: string): bool {
    let w1 = this.w1(j);
    return stringEquals(this.doc.input + <usize>this.w0(j), <i32>(w1 & PAYLOAD), (w1 & FLAG) != 0, s);
  }

  /** The member's key when this value was reached through an object (get, first/next),
   *  else "". `m.key()` */
  key(): string {
    return this.k < 0 ? "" : this.decode(this.k);
  }

  /** Whether the member's key is `s`, without allocating. `if (m.keyIs("id")) …` */
  keyIs(s: string): bool {
    return this.k >= 0 && this.keyEquals(this.k, s);
  }

  /** Appends the member's decoded key as UTF-8. `m.writeKeyTo(w)` */
  writeKeyTo(w: ByteWriter): void {
    if (this.k >= 0) this.writeDecoded(this.k, w);
  }

  /** Appends the member's key as written in the input, escapes kept (valid inside JSON
   *  quotes). `m.writeKeyRawTo(w)` */
  writeKeyRawTo(w: ByteWriter): void {
    if (this.k >= 0) w.raw(this.doc.input + <usize>this.w0(this.k), <i32>(this.w1(this.k) & PAYLOAD));
  }

  /** The string, escapes decoded (lone surrogates become U+FFFD); "" when not a string.
   *  `v.str()` */
  str(): string {
    return this.tag() == T_STRING ? this.decode(this.i) : "";
  }

  /** The string, or `fallback` when this is not a string. `v.get("name").strOr("anon")` */
  strOr(fallback: string): string {
    return this.tag() == T_STRING ? this.decode(this.i) : fallback;
  }

  /** Whether this is a string equal to `s` after decoding, without allocating.
   *  `v.get("type").strEquals("user")` */
  strEquals(s: string): bool {
    return this.tag() == T_STRING && this.keyEquals(this.i, s);
  }

  /** Appends the decoded string as UTF-8 (nothing when not a string): straight from the
   *  input bytes, no UTF-16 string. `v.get("name").writeStrTo(w)` */
  writeStrTo(w: ByteWriter): void {
    if (this.tag() == T_STRING) this.writeDecoded(this.i, w);
  }

  /** The number (correctly rounded, like JavaScript), or NaN when not a number. `v.num()` */
  num(): f64 {
    if (this.tag() != T_NUMBER) return NaN;
    return parseJsonNumber(this.rawPtr, this.rawLength);
  }

  /** The number, or `fallback` when this is not a number. `v.get("ratio").numOr(1.0)` */
  numOr(fallback: f64): f64 {
    return this.tag() == T_NUMBER ? parseJsonNumber(this.rawPtr, this.rawLength) : fallback;
  }

  /** True for a number written as an integer (no fraction or exponent) that fits an i64.
   *  `if (v.isInteger) id = v.int()` */
  get isInteger(): bool {
    if (this.tag() != T_NUMBER || (this.w1(this.i) & FLAG) == 0) return false;
    parseJsonInt(this.rawPtr, this.rawLength);
    return !intOverflow;
  }

  /**
   * The number as an i64: exact for integers that fit; anything else is num() truncated
   * toward zero and clamped to the i64 range (NaN and non-numbers give 0). `v.int()`
   */
  int(): i64 {
    return this.intOr(0);
  }

  /** The number as an i64 (see int()), or `fallback` when this is not a number.
   *  `v.get("page").intOr(1)` */
  intOr(fallback: i64): i64 {
    if (this.tag() != T_NUMBER) return fallback;
    if ((this.w1(this.i) & FLAG) != 0) {
      let v = parseJsonInt(this.rawPtr, this.rawLength);
      if (!intOverflow) return v;
    }
    let f = parseJsonNumber(this.rawPtr, this.rawLength);
    if (f >= 9223372036854775807.0) return i64.MAX_VALUE;
    if (f <= -9223372036854775808.0) return i64.MIN_VALUE;
    return <i64>f;
  }

  /** True for `true`; false for anything else. `v.bool()` */
  bool(): bool {
    return this.tag() == T_TRUE;
  }

  /** The boolean, or `fallback` when this is not one. `v.get("admin").boolOr(false)` */
  boolOr(fallback: bool): bool {
    let t = this.tag();
    return t == T_TRUE ? true : t == T_FALSE ? false : fallback;
  }

  /** Address of the raw token: a string's content (inside the quotes), a number's or a
   *  literal's text, a container's opening bracket; 0 when MISSING. */
  get rawPtr(): usize {
    if (this.i < 0) return 0;
    return this.doc.input + <usize>this.w0(this.i);
  }

  /** Length of the raw token at rawPtr in bytes (a container's span up to and including its
   *  closing bracket); 0 when MISSING. */
  get rawLength(): i32 {
    switch (this.tag()) {
      case T_NULL:
      case T_TRUE: return 4;
      case T_FALSE: return 5;
      case T_NUMBER:
      case T_STRING: return <i32>(this.w1(this.i) & PAYLOAD);
      case T_ARRAY:
      case T_OBJECT: {
        let close = <i32>(this.w1(this.i) & PAYLOAD) - 1;
        return <i32>(this.w1(close) & PAYLOAD) + 1 - <i32>this.w0(this.i);
      }
    }
    return 0;
  }

  /** True when the string (or key) holds backslash escapes, so its raw bytes are not its
   *  value. Writers use it to copy escape-free strings in one piece. */
  get hasEscapes(): bool {
    return this.tag() == T_STRING && (this.w1(this.i) & FLAG) != 0;
  }

  /** A copy of the value's JSON text exactly as in the input (strings with their quotes);
   *  empty when MISSING. `Response.bytes(v.raw(), "application/json")` */
  raw(): Uint8Array {
    let p = this.rawPtr;
    let n = this.rawLength;
    if (this.tag() == T_STRING) {
      p -= 1;
      n += 2;
    }
    // A copy: the input need not be an ArrayBuffer of its own (see Json.parseAt).
    let out = new Uint8Array(n);
    memory.copy(out.dataStart, p, <usize>n);
    return out;
  }

  private decode(j: i32): string {
    let w1 = this.w1(j);
    let p = this.doc.input + <usize>this.w0(j);
    let n = <i32>(w1 & PAYLOAD);
    if ((w1 & FLAG) == 0) return utf8(p, <usize>n);
    // Never more UTF-16 units than input bytes: allocate that, then shrink in place.
    let out = __new(<usize>n << 1, idof<String>());
    let o = out;
    let end = p + <usize>n;
    while (p < end) {
      let cp = nextCodePoint(p, end);
      p += codePointBytes;
      if (cp < 0x10000) {
        store<u16>(o, <u16>cp);
        o += 2;
      } else {
        cp -= 0x10000;
        store<u16>(o, <u16>(0xd800 | (cp >> 10)));
        store<u16>(o, <u16>(0xdc00 | (cp & 0x3ff)), 2);
        o += 4;
      }
    }
    return changetype<string>(__renew(out, o - out));
  }

  private writeDecoded(j: i32, w: ByteWriter): void {
    let w1 = this.w1(j);
    let p = this.doc.input + <usize>this.w0(j);
    let n = <i32>(w1 & PAYLOAD);
    if ((w1 & FLAG) == 0) {
      w.raw(p, n);
      return;
    }
    writeJsonStringDecoded(p, n, w);
  }
}

// @ts-ignore: decorator
@lazy const CP_BUF: usize = memory.data(8);

/** Appends the decoded value of the raw JSON string content of `n` bytes at `p` to `w`:
 *  runs without escapes are copied in one piece. */
export function writeJsonStringDecoded(p: usize, n: i32, w: ByteWriter): void {
  let end = p + <usize>n;
  let run = p;
  while (p < end) {
    if (load<u8>(p) != 0x5c) {
      p++;
      continue;
    }
    if (p > run) w.raw(run, <i32>(p - run));
    let cp = decodeEscape(p, end - p);
    p += <usize>escapeLength;
    run = p;
    w.raw(CP_BUF, utf8Encode(CP_BUF, cp));
  }
  if (p > run) w.raw(run, <i32>(p - run));
}

/** Whether the raw JSON string content of `n` bytes at `p` decodes to `s`. */
function stringEquals(p: usize, n: i32, escaped: bool, s: string): bool {
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
