// UTF-8 byte building without UTF-16 strings. AssemblyScript strings are UTF-16 and `+=`
// copies the whole string each time; a ByteWriter appends into one buffer that grows in
// place at the top of the request arena, so a large body costs its own size, once.

/**
 * Appends UTF-8 bytes into a growable buffer in the current arena.
 *
 * ```ts
 * const w = new ByteWriter();
 * w.str("<p>").int(42).str("</p>");
 * return Response.from(w, "text/html; charset=utf-8");
 * ```
 */
export class ByteWriter {
  private buf: ArrayBuffer;
  private n: i32 = 0;

  /** Starts with room for `capacity` bytes; it grows (doubling) as needed. */
  constructor(capacity: i32 = 1024) {
    this.buf = new ArrayBuffer(max(capacity, 16));
  }

  /** Bytes written so far. */
  get length(): i32 {
    return this.n;
  }

  /** Address of the first byte (valid until the next append). */
  get dataStart(): usize {
    return changetype<usize>(this.buf);
  }

  /** Makes room for `extra` more bytes and returns the address to write them at. */
  private reserve(extra: i32): usize {
    let need = this.n + extra;
    let cap = this.buf.byteLength;
    if (need > cap) {
      let grown = max(need, cap << 1);
      // __renew grows in place when the buffer is the arena's last block, which it is
      // whenever the handler appends without allocating in between.
      this.buf = changetype<ArrayBuffer>(__renew(changetype<usize>(this.buf), <usize>grown));
    }
    return changetype<usize>(this.buf) + <usize>this.n;
  }

  /** Appends `s` encoded as UTF-8. `w.str("héllo")` writes 6 bytes. */
  str(s: string): ByteWriter {
    let p = this.reserve(s.length * 3);
    this.n += <i32>String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p, false);
    return this;
  }

  /** Appends raw bytes. `w.bytes(req.body)` */
  bytes(b: Uint8Array): ByteWriter {
    let p = this.reserve(b.length);
    memory.copy(p, b.dataStart, <usize>b.length);
    this.n += b.length;
    return this;
  }

  /** Appends `len` bytes from address `ptr`. `w.raw(ptr, len)` */
  raw(ptr: usize, len: i32): ByteWriter {
    let p = this.reserve(len);
    memory.copy(p, ptr, <usize>len);
    this.n += len;
    return this;
  }

  /** Appends one byte. `w.byte(0x0a)` */
  byte(b: u8): ByteWriter {
    let p = this.reserve(1);
    store<u8>(p, b);
    this.n += 1;
    return this;
  }

  /** Appends a signed integer in decimal. `w.int(-42)` writes "-42". */
  int(v: i64): ByteWriter {
    let p = this.reserve(20);
    let u: u64 = v < 0 ? <u64>(-v) : <u64>v;
    let digits = 1;
    for (let t = u; t >= 10; t /= 10) digits++;
    let start: usize = 0;
    if (v < 0) {
      store<u8>(p, 0x2d);
      start = 1;
    }
    let q = p + start + <usize>digits;
    do {
      q--;
      store<u8>(q, <u8>(0x30 + <u32>(u % 10)));
      u /= 10;
    } while (u != 0);
    this.n += <i32>start + digits;
    return this;
  }

  /** The bytes written so far, as a view (no copy). `w.toBytes().length` */
  toBytes(): Uint8Array {
    return Uint8Array.wrap(this.buf, 0, this.n);
  }

  /** The bytes written so far decoded to a string (a copy; ill-formed UTF-8 becomes
   *  U+FFFD, see utf8). `w.toString()` */
  toString(): string {
    return utf8(changetype<usize>(this.buf), <usize>this.n);
  }
}

/**
 * Views `len` bytes the host wrote at `ptr` (16-byte aligned, with BODY_HEADROOM_BYTES free
 * before it: request and fetch bodies) as a Uint8Array, without copying: an object header
 * written into the headroom makes the bytes an ArrayBuffer in place.
 */
export function bytesInPlace(ptr: usize, len: usize): Uint8Array {
  store<u32>(ptr - 20, <u32>(len + 16)); // block size, in case the buffer is ever renewed
  store<u32>(ptr - 16, 0);
  store<u32>(ptr - 12, 0);
  store<u32>(ptr - 8, idof<ArrayBuffer>());
  store<u32>(ptr - 4, <u32>len);
  return Uint8Array.wrap(changetype<ArrayBuffer>(ptr), 0, <i32>len);
}

// ---------------------------------------------------------------------------------------
// UTF-8 decoding: the one decoder every bytes → string path uses (request fields, headers,
// percent-decoded query and path values, bodies, fetch responses, env, JSON strings). It
// follows the WHATWG UTF-8 decoder exactly, like TextDecoder in browsers and Node: no
// overlong forms, no surrogates (U+D800–DFFF), nothing past U+10FFFF, and each maximal
// subpart of an ill-formed sequence becomes one U+FFFD. Lenient decoding is a security bug:
// the overlong C0 AE is "." to a lenient decoder, so "%C0%AE%C0%AE%C0%AF" would be "../"
// after every check on the raw bytes had passed.

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
  let size = o - out;
  return changetype<string>(size == len << 1 ? out : __renew(out, size));
}

/** ASCII case-insensitive comparison of `len` bytes at `ptr` with the ASCII string `s`. */
export function asciiEqualsIgnoreCase(ptr: usize, len: usize, s: string): bool {
  if (<usize>s.length != len) return false;
  for (let i: usize = 0; i < len; i++) {
    let a = <u32>load<u8>(ptr + i);
    let b = <u32>s.charCodeAt(<i32>i);
    if (a - 0x41 < 26) a |= 0x20;
    if (b - 0x41 < 26) b |= 0x20;
    if (a != b) return false;
  }
  return true;
}

function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  c |= 0x20;
  if (c - 0x61 < 6) return <i32>(c - 0x61 + 10);
  return -1;
}

/**
 * Decodes `%XX` escapes (and `+` as space when `plusIsSpace`) of `len` bytes at `ptr`
 * into a string. Malformed escapes are kept as written, like URLSearchParams. The escapes
 * become bytes first and the bytes are then decoded as UTF-8 by `utf8`, so an escaped
 * ill-formed sequence is U+FFFD too: `%C0%AE` is "\uFFFD\uFFFD", never ".".
 * `percentDecode(ptr, len, true)` turns `a%20b+c` into "a b c".
 */
export function percentDecode(ptr: usize, len: usize, plusIsSpace: bool): string {
  let out = __alloc(len + 1);
  let n: usize = 0;
  for (let i: usize = 0; i < len; i++) {
    let c = <u32>load<u8>(ptr + i);
    if (c == 0x25) {
      let hi = i + 1 < len ? hexValue(load<u8>(ptr + i + 1)) : -1;
      let lo = i + 2 < len ? hexValue(load<u8>(ptr + i + 2)) : -1;
      if (hi >= 0 && lo >= 0) {
        store<u8>(out + n++, <u8>((hi << 4) | lo));
        i += 2;
        continue;
      }
    } else if (c == 0x2b && plusIsSpace) {
      c = 0x20;
    }
    store<u8>(out + n++, <u8>c);
  }
  return utf8(out, n);
}

/**
 * Percent-encodes `s` (as UTF-8) for use as a URL query value or path segment, like JS's
 * encodeURIComponent: everything but A–Z a–z 0–9 - _ . ! ~ * ' ( ) is escaped.
 * `"/?q=" + urlEncode("tea & café")` gives "/?q=tea%20%26%20caf%C3%A9".
 */
export function urlEncode(s: string): string {
  let bytes = String.UTF8.encode(s);
  let src = changetype<usize>(bytes);
  let n = <usize>bytes.byteLength;
  let out = __alloc(n * 3 + 1);
  let o: usize = 0;
  let hex = "0123456789ABCDEF";
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(src + i);
    if (c - 0x61 < 26 || c - 0x41 < 26 || c - 0x30 < 10 || c == 0x2d || c == 0x5f || c == 0x2e || c == 0x21 ||
        c == 0x7e || c == 0x2a || c == 0x27 || c == 0x28 || c == 0x29) {
      store<u8>(out + o++, <u8>c);
    } else {
      store<u8>(out + o++, 0x25);
      store<u8>(out + o++, <u8>hex.charCodeAt(c >> 4));
      store<u8>(out + o++, <u8>hex.charCodeAt(c & 15));
    }
  }
  return utf8(out, o);
}
