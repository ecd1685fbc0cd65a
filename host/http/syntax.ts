// HTTP/1.1 syntax (RFC 9110, RFC 9112) shared by both directions: the server's request
// parser and response head (http/), and the fetch client's response parser and request
// head (effects/fetch/). Byte classes, field lines, list elements, the head's end, and
// decimal numbers written digit by digit. Everything works on bytes and offsets: no
// strings, no allocation.

import { HEADER_COUNT_MAX } from "../limits.ts";

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

/** RFC 9110 tchar, as a 256-entry table so the hot loops do one load per byte. */
export const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  TCHAR[c] = /[A-Za-z0-9!#$%&'*+\-.^_`|~]/.test(ch) ? 1 : 0;
}
/** Bytes allowed in a field value: HTAB, SP, VCHAR, obs-text. */
export const FIELD_VCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) FIELD_VCHAR[c] = c === HTAB || (c >= 0x20 && c !== 0x7f) ? 1 : 0;

/**
 * What a parsed message head says about its fields and framing, for requests and
 * responses alike. Each parser reuses one per connection or fetch: parsing allocates
 * nothing, and `reason` points at a constant or short string when parsing failed.
 */
export class MessageHead {
  versionMinor = 1;
  headerCount = 0;
  /** [nameStart, nameEnd, valueStart, valueEnd] per field, absolute offsets. */
  readonly fields = new Int32Array(HEADER_COUNT_MAX * 4);
  /** -1 when there is no Content-Length. */
  contentLength = -1;
  chunked = false;
  /** The connection may carry another message after this one. */
  keepAlive = true;
  /** Why parsing failed, for the error body and log. */
  reason = "";
}

export function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Whether buf[start, end) equals the lower-case ASCII `name`, ignoring case. */
export function nameIs(buf: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    if (lower(buf[start + i]) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** The index after the run of tchar bytes that starts at `i` in buf[i, end). */
export function tokenEnd(buf: Uint8Array, i: number, end: number): number {
  while (i < end && TCHAR[buf[i]] === 1) i++;
  return i;
}

/** Finds the end of the head (index after CRLFCRLF) in buf[0, len), or -1. Scanning
 *  starts at `from` so a head arriving in pieces is not rescanned from the start. */
export function findHeadEnd(buf: Uint8Array, from: number, len: number): number {
  for (let i = Math.max(from, 3); i < len; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return -1;
}

/** Why scanField() (or a caller's fieldFail()) failed; a constant string. */
export let fieldError = "";

/** Sets `fieldError`; returns -1. */
export function fieldFail(reason: string): number {
  fieldError = reason;
  return -1;
}

/**
 * Scans one header field line starting at `i` (field-name ":" OWS field-value OWS CRLF),
 * records [nameStart, nameEnd, valueStart, valueEnd] at out[at..at+3] and returns the
 * index after its CRLF, or -1 with `fieldError` set. The caller has checked that the line
 * is not the empty line ending the head. Shared by the request and response parsers.
 */
export function scanField(buf: Uint8Array, i: number, out: Int32Array, at: number): number {
  if (buf[i] === SP || buf[i] === HTAB) return fieldFail("obsolete line folding");
  const nameStart = i;
  while (TCHAR[buf[i]] === 1) i++;
  if (i === nameStart) return fieldFail("malformed field name");
  if (buf[i] !== COLON) return fieldFail(buf[i] === SP || buf[i] === HTAB ? "whitespace before colon" : "malformed field name");
  const nameEnd = i;
  i++;
  while (buf[i] === SP || buf[i] === HTAB) i++;
  const valueStart = i;
  while (FIELD_VCHAR[buf[i]] === 1) i++;
  if (buf[i] !== CR || buf[i + 1] !== LF) {
    return fieldFail(buf[i] === LF ? "bare LF" : buf[i] === CR ? "bare CR" : "control character in field value");
  }
  let valueEnd = i;
  while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
  out[at] = nameStart;
  out[at + 1] = nameEnd;
  out[at + 2] = valueStart;
  out[at + 3] = valueEnd;
  return i + 2;
}

/** Bounds of the list element found by listItem(); a scratch pair, parsing is synchronous. */
export const item = new Int32Array(2);

/** Finds the comma-separated list element starting at `p` in buf[p, end), trims its
 *  whitespace into `item`, and returns where the next element starts. */
export function listItem(buf: Uint8Array, p: number, end: number): number {
  let q = p;
  while (q < end && buf[q] !== 0x2c) q++;
  let a = p;
  let b = q;
  while (a < b && (buf[a] === SP || buf[a] === HTAB)) a++;
  while (b > a && (buf[b - 1] === SP || buf[b - 1] === HTAB)) b--;
  item[0] = a;
  item[1] = b;
  return q + 1;
}

/** connectionOptions(): the value lists `close`. */
export const CONNECTION_CLOSE = 1;
/** connectionOptions(): the value lists `keep-alive`. */
export const CONNECTION_KEEP_ALIVE = 2;

/** The options of a Connection field value buf[start, end) this host acts on, as
 *  CONNECTION_* bits. */
export function connectionOptions(buf: Uint8Array, start: number, end: number): number {
  let options = 0;
  let p = start;
  while (p <= end) {
    p = listItem(buf, p, end);
    if (nameIs(buf, item[0], item[1], "close")) options |= CONNECTION_CLOSE;
    else if (nameIs(buf, item[0], item[1], "keep-alive")) options |= CONNECTION_KEEP_ALIVE;
  }
  return options;
}

/** 1*DIGIT; -1 when malformed. Values past 2^53 are clamped: they are over any limit. */
export function parseContentLength(buf: Uint8Array, start: number, end: number): number {
  if (start === end) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > Number.MAX_SAFE_INTEGER) v = Number.MAX_SAFE_INTEGER;
  }
  return v;
}

/** Writes the non-negative integer `n` in decimal at u8[pos...]; returns the end. */
export function writeDecimal(u8: Uint8Array, pos: number, n: number): number {
  if (n === 0) {
    u8[pos] = 0x30;
    return pos + 1;
  }
  let digits = 0;
  for (let t = n; t >= 1; t = Math.floor(t / 10)) digits++;
  let p = pos + digits;
  for (let t = n; t >= 1; t = Math.floor(t / 10)) u8[--p] = 0x30 + (t % 10);
  return pos + digits;
}

const CONTENT_LENGTH = new TextEncoder().encode("Content-Length: ");

/** Bytes writeContentLength() writes at the most (a length below 10^10). */
export const CONTENT_LENGTH_LINE_BYTES_MAX = CONTENT_LENGTH.length + 10 + 2;

/** Writes the field line `Content-Length: n CRLF` at u8[pos...]; returns the end. */
export function writeContentLength(u8: Uint8Array, pos: number, n: number): number {
  u8.set(CONTENT_LENGTH, pos);
  pos = writeDecimal(u8, pos + CONTENT_LENGTH.length, n);
  u8[pos++] = CR;
  u8[pos++] = LF;
  return pos;
}
