// The upstream request's head, written as bytes into the request's arena:
//
//   method SP origin-form-target SP "HTTP/1.1" CRLF Host CRLF app-headers [Content-Length] CRLF
//
// The app's method and header bytes are copied as they are once checked; the client owns
// framing and routing (REQUEST_RESERVED_FIELDS, descriptor.ts). No string is made.

import { CONTENT_LENGTH_LINE_BYTES_MAX, CR, LF, writeContentLength } from "../../http/syntax.ts";
import type { FetchDescriptor } from "./descriptor.ts";


const HTTP11_HOST = new TextEncoder().encode(" HTTP/1.1\r\nHost: ");

/** Bytes the head of `req` takes, for the target u8[targetStart, targetEnd) (empty: "/";
 *  a query with no path gets a "/" before it). */
export function requestHeadBytes(u8: Uint8Array, req: FetchDescriptor, targetStart: number, targetEnd: number, authority: Uint8Array): number {
  const targetLen = targetEnd <= targetStart ? 1 : targetEnd - targetStart + (u8[targetStart] === 0x3f ? 1 : 0);
  return req.methodLen + 1 + targetLen + 1 + HTTP11_HOST.length + authority.length + 2 + req.hdrLen +
    (req.withBody ? CONTENT_LENGTH_LINE_BYTES_MAX + 2 : 2);
}

/** Writes the head of `req` at u8[p...], with room for requestHeadBytes() there; returns
 *  its end. */
export function writeRequestHead(u8: Uint8Array, p: number, req: FetchDescriptor, targetStart: number, targetEnd: number,
  authority: Uint8Array): number {
  u8.copyWithin(p, req.methodPtr, req.methodPtr + req.methodLen);
  p += req.methodLen;
  u8[p++] = 0x20;
  p = writeTarget(u8, p, targetStart, targetEnd);
  u8.set(HTTP11_HOST, p);
  p += HTTP11_HOST.length;
  u8.set(authority, p);
  p += authority.length;
  u8[p++] = CR;
  u8[p++] = LF;
  u8.copyWithin(p, req.hdrPtr, req.hdrPtr + req.hdrLen);
  p += req.hdrLen;
  if (req.withBody) p = writeContentLength(u8, p, req.bodyLen);
  u8[p++] = CR;
  u8[p++] = LF;
  return p;
}

/** Writes the origin-form target for the URL's u8[start, end) (path, query) at u8[p...]. */
function writeTarget(u8: Uint8Array, p: number, start: number, end: number): number {
  if (end <= start) {
    u8[p] = 0x2f;
    return p + 1;
  }
  const len = end - start;
  u8.copyWithin(p, start, end);
  // "?q" with no path: the origin-form target still starts with "/".
  if (u8[p] === 0x3f) {
    u8.copyWithin(p + 1, p, p + len);
    u8[p] = 0x2f;
    p += 1;
  }
  return p + len;
}
