// Writing a JSON line byte by byte into a preallocated buffer: ASCII text, whole numbers,
// the decimals of milliseconds, request bytes escaped as a JSON string body, and the
// time as ISO 8601. Nothing here allocates but the time's text, once a second.

/** Writes the ASCII string `s` at `at`; returns the end. For the line's fixed parts. */
export function ascii(buf: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/** Writes the bytes of `src` at `at`; returns the end. */
export function bytes(buf: Uint8Array, at: number, src: Uint8Array): number {
  buf.set(src, at);
  return at + src.length;
}

/** Writes the whole number `n` (0 ≤ n < 2^53) in decimal at `at`; returns the end. */
export function uint(buf: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let v = n;
  for (let i = digits - 1; i >= 0; i--) {
    const q = Math.floor(v / 10);
    buf[at + i] = 0x30 + (v - q * 10);
    v = q;
  }
  return at + digits;
}

/** Writes "." and `frac` (0-999) as three digits: the decimals of a millisecond count.
 *  The caller splits the number: only small integers cross a call, because a double passed
 *  to a function that is not inlined is boxed, an allocation per request. */
export function thousandths(buf: Uint8Array, at: number, frac: number): number {
  buf[at] = 0x2e; // "."
  buf[at + 1] = 0x30 + Math.floor(frac / 100);
  buf[at + 2] = 0x30 + (Math.floor(frac / 10) % 10);
  buf[at + 3] = 0x30 + (frac % 10);
  return at + 4;
}

const HEX = "0123456789abcdef";

/**
 * Writes the bytes src[from, from + len) as the body of a JSON string at `at`, and returns
 * the end: `"` and `\` are escaped, and so is every byte outside printable ASCII (controls,
 * DEL, and bytes of 0x80 and up, read as Latin-1 as the host's error lines read request
 * bytes), as \u00XX; the line stays ASCII, so a client cannot put an invalid UTF-8 sequence
 * or a line break into it. Stops before the output would pass `end`, at a whole escape.
 */
export function jsonBytes(buf: Uint8Array, at: number, src: Uint8Array, from: number, len: number, end: number): number {
  for (let i = from; i < from + len; i++) {
    const b = src[i];
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) {
      if (at >= end) break;
      buf[at++] = b;
    } else if (b === 0x22 || b === 0x5c) {
      if (at + 2 > end) break;
      buf[at++] = 0x5c;
      buf[at++] = b;
    } else {
      if (at + 6 > end) break;
      buf[at++] = 0x5c;
      buf[at++] = 0x75; // u
      buf[at++] = 0x30;
      buf[at++] = 0x30;
      buf[at++] = HEX.charCodeAt(b >> 4);
      buf[at++] = HEX.charCodeAt(b & 15);
    }
  }
  return at;
}

/** The time as ISO 8601 with milliseconds ("2025-01-02T03:04:05.678Z"): the text up to the
 *  seconds is made once a second, the milliseconds are written as digits. */
export class IsoTime {
  private second = -1;
  private readonly prefix = new Uint8Array(20); // "2025-01-02T03:04:05."

  /** Writes the time now at `at`; returns the end. The clock is read here: passed in, the
   *  time (a double) would be boxed by the call. */
  write(buf: Uint8Array, at: number): number {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      ascii(this.prefix, 0, new Date(second * 1000).toISOString().slice(0, 20));
    }
    buf.set(this.prefix, at);
    at += 20;
    const ms = now - second * 1000;
    buf[at] = 0x30 + Math.floor(ms / 100);
    buf[at + 1] = 0x30 + (Math.floor(ms / 10) % 10);
    buf[at + 2] = 0x30 + (Math.floor(ms) % 10);
    buf[at + 3] = 0x5a; // "Z"
    return at + 4;
  }
}
