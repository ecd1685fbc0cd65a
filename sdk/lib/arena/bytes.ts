// UTF-8 byte building without UTF-16 strings. AssemblyScript strings are UTF-16 and `+=`
// copies the whole string each time; a ByteWriter appends into one buffer that grows in
// place at the top of the request arena, so a large body costs its own size, once.
// Percent-decoding and -encoding for URLs live here too; UTF-8 decoding is text/utf8.ts's.

import { utf8 } from "./text/utf8";
import { escapeUtf16, NoEscape, SCAN_STEP_BYTES_MAX } from "./text/scan";

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

  /** Starts with room for `capacity` bytes; it grows (doubling) as needed. `new ByteWriter(4096)` */
  constructor(capacity: i32 = 1024) {
    this.buf = new ArrayBuffer(max(capacity, 16));
  }

  /** Forgets what was written and keeps the buffer, to write the next piece into the same
   *  bytes (a stream's writes, which return once the bytes are sent). `w.clear().str("next")` */
  clear(): ByteWriter {
    this.n = 0;
    return this;
  }

  /** Bytes written so far. `if (w.length == 0) w.str("(empty)")` */
  get length(): i32 {
    return this.n;
  }

  /** Address of the first byte (valid until the next append). `Json.parseAt(w.dataStart, w.length)` */
  get dataStart(): usize {
    return changetype<usize>(this.buf);
  }

  /**
   * Makes room for `extra` more bytes and returns the address to write them at (valid
   * until the next append); `advance` then counts the bytes written there. For encoders
   * that write in place. `let o = w.reserve(4); store<u32>(o, 0x0a0d0a0d); w.advance(4);`
   */
  // @ts-ignore: decorator
  @unsafe @inline reserve(extra: i32): usize {
    let need = this.n + extra;
    if (need > this.buf.byteLength) this.grow(need);
    return changetype<usize>(this.buf) + <usize>this.n;
  }

  // The rare half of reserve, kept out of line so the common half inlines into every append.
  private grow(need: i32): void {
    let grown = max(need, this.buf.byteLength << 1);
    // __renew grows in place when the buffer is the arena's last block, which it is
    // whenever the handler appends without allocating in between.
    this.buf = changetype<ArrayBuffer>(__renew(changetype<usize>(this.buf), <usize>grown));
  }

  /** Counts `n` bytes written at the address `reserve` returned (at most what it reserved).
   *  `w.advance(utf8Encode(w.reserve(4), cp))` */
  // @ts-ignore: decorator
  @unsafe @inline advance(n: i32): void {
    if (<u32>n > <u32>(this.buf.byteLength - this.n)) abort("ByteWriter.advance: past the reserved room");
    this.n += n;
  }

  /** Appends `s` encoded as UTF-8 (a lone surrogate becomes U+FFFD); with wasm SIMD,
   *  ASCII goes 16 characters at a time. `w.str("héllo")` writes 6 bytes. */
  str(s: string): ByteWriter {
    let start = changetype<usize>(s);
    let len = <usize>s.length;
    // At most 3 bytes per code unit, plus the kernel's last block (text/scan.ts).
    let o = this.reserve(<i32>(len * 3 + SCAN_STEP_BYTES_MAX));
    // The output limit is the room reserved (a limit of "none" would wrap the kernel's
    // block bound and skip its 16-unit blocks).
    let e = escapeUtf16<NoEscape>(start, start + (len << 1), o, o + len * 3);
    this.n += <i32>(e - o);
    return this;
  }

  /** Appends raw bytes; a short view with room after it in its buffer (an `Html.literal`)
   *  is copied in whole 16-byte blocks. `w.bytes(req.body)` */
  bytes(b: Uint8Array): ByteWriter {
    let n = <usize>b.length;
    let src = b.dataStart;
    let blocks = (n + 15) & ~15;
    let p = this.reserve(<i32>blocks);
    // A call to memory.copy costs more than the copy itself for a few bytes, and reading
    // past the view is sound when its own buffer holds the bytes read (padding).
    let buf = changetype<usize>(b.buffer);
    if (n <= 64 && buf + <usize>b.buffer.byteLength - src >= blocks) {
      for (let i: usize = 0; i < blocks; i += 16) {
        if (ASC_FEATURE_SIMD) {
          v128.store(p + i, v128.load(src + i));
        } else {
          store<u64>(p + i, load<u64>(src + i));
          store<u64>(p + i, load<u64>(src + i, 8), 8);
        }
      }
    } else {
      memory.copy(p, src, n);
    }
    this.n += <i32>n;
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
