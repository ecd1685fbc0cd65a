// SHA-256 and HMAC-SHA256 from the host (node:crypto, host/effects/crypto.ts: plain
// imports that answer at once), and the encodings that go with them: hex, base64url and a
// constant-time comparison. Signed cookies (cookies.ts) and ETags (etag.ts) use them.

import { utf8 } from "./text/utf8";

// @ts-ignore: decorator
@external("arena", "sha256")
declare function hostSha256(ptr: usize, len: usize, outPtr: usize): i32;

// @ts-ignore: decorator
@external("arena", "hmac_sha256")
declare function hostHmacSha256(keyPtr: usize, keyLen: usize, ptr: usize, len: usize, outPtr: usize): i32;

const DIGEST_BYTES = 32;
const HEX_DIGITS = "0123456789abcdef";
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** SHA-256 of the `len` bytes at `ptr` (the ETag of a response body uses it). */
export function sha256At(ptr: usize, len: usize): Uint8Array {
  let out = new Uint8Array(DIGEST_BYTES);
  if (hostSha256(ptr, len, out.dataStart) != 0) abort("sha256: bytes outside the request's arena");
  return out;
}

/**
 * The SHA-256 digest of `data` (32 bytes), computed by the host.
 *
 * ```ts
 * hexEncode(sha256(utf8Bytes("abc")))  // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 * ```
 */
export function sha256(data: Uint8Array): Uint8Array {
  return sha256At(data.dataStart, <usize>data.length);
}

/**
 * HMAC-SHA256 of `data` under `key` (32 bytes), computed by the host. Signed cookies use
 * it; compare macs with `constantTimeEqual`, never `==`.
 *
 * ```ts
 * const mac = hmacSha256(utf8Bytes(env("SECRET")!), utf8Bytes("user=42"));
 * const token = base64UrlEncode(mac);
 * ```
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  let out = new Uint8Array(DIGEST_BYTES);
  if (hostHmacSha256(key.dataStart, <usize>key.length, data.dataStart, <usize>data.length, out.dataStart) != 0) {
    abort("hmacSha256: bytes outside the request's arena");
  }
  return out;
}

/** `s` encoded as UTF-8 bytes (a copy in the arena). `sha256(utf8Bytes("abc"))` */
export function utf8Bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false));
}

/** Lower-case hex of `b`, two digits a byte. `hexEncode(sha256(req.body))` */
export function hexEncode(b: Uint8Array): string {
  let out = new Uint8Array(b.length * 2);
  for (let i = 0; i < b.length; i++) {
    let v = <i32>b[i];
    out[i * 2] = <u8>HEX_DIGITS.charCodeAt(v >> 4);
    out[i * 2 + 1] = <u8>HEX_DIGITS.charCodeAt(v & 15);
  }
  return utf8(out.dataStart, <usize>out.length);
}

/** Base64url of `b` (RFC 4648 §5: `-` and `_`, no `=` padding), safe in URLs and cookie
 *  values. `base64UrlEncode(randomBytes(16))` is a 22-character token. */
export function base64UrlEncode(b: Uint8Array): string {
  let n = b.length;
  let out = new Uint8Array((n * 4 + 2) / 3);
  let o = 0;
  for (let i = 0; i < n; i += 3) {
    let v = <u32>b[i] << 16;
    if (i + 1 < n) v |= <u32>b[i + 1] << 8;
    if (i + 2 < n) v |= <u32>b[i + 2];
    out[o++] = <u8>BASE64URL.charCodeAt(<i32>(v >> 18));
    out[o++] = <u8>BASE64URL.charCodeAt(<i32>((v >> 12) & 63));
    if (i + 1 < n) out[o++] = <u8>BASE64URL.charCodeAt(<i32>((v >> 6) & 63));
    if (i + 2 < n) out[o++] = <u8>BASE64URL.charCodeAt(<i32>(v & 63));
  }
  return utf8(out.dataStart, <usize>o);
}

function base64UrlValue(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2d) return 62;
  if (c == 0x5f) return 63;
  return -1;
}

/** The bytes of base64url text `s` (padding `=` allowed at the end), or null when it is not
 *  base64url. `base64UrlDecode("YWJj")` is the bytes of "abc". */
export function base64UrlDecode(s: string): Uint8Array | null {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) == 0x3d) n--; // '='
  if (n % 4 == 1) return null;
  let out = new Uint8Array(n * 3 / 4);
  let acc: u32 = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    let v = base64UrlValue(s.charCodeAt(i));
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = <u8>(acc >> <u32>bits);
    }
  }
  return out;
}

/**
 * Whether `a` and `b` hold the same bytes, taking the same time wherever they differ (only
 * their lengths are compared early), so comparing a MAC leaks nothing through timing.
 *
 * ```ts
 * if (!constantTimeEqual(hmacSha256(key, data), expected)) return Response.text("bad signature\n", 403);
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  let diff: u32 = 0;
  for (let i = 0; i < a.length; i++) diff |= <u32>(a[i] ^ b[i]);
  return diff == 0;
}
