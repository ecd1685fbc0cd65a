// HTTP/1.1 request-head parser (RFC 9112), byte-level over a Uint8Array. It makes no JS
// strings: the request line and every field are recorded as offsets into the buffer, and
// the host copies the head into the request's arena as bytes. Strict where leniency
// enables request smuggling (RFC 9112 §6.3, §11.2): ambiguous framing, whitespace before
// a colon, obs-fold, bare CR/LF and control characters all fail with 400 and a close.

import { HEADER_BYTES_MAX, HEADER_COUNT_MAX, URI_BYTES_MAX } from "./limits.ts";
import type { ErrorCode } from "./errors.ts";

/** parse() results: > 0 is the head's length in bytes; these are the others. */
export const HEAD_INCOMPLETE = 0;
export const HEAD_MALFORMED = -1;
export const HEAD_FRAMING = -2;
export const HEAD_URI_TOO_LONG = -3;
export const HEAD_TOO_LARGE = -4;
export const HEAD_CODING = -5;
export const HEAD_VERSION = -6;
export const HEAD_EXPECT = -7;
export const HEAD_BODY_TOO_LARGE = -8;

/** The error code for each negative parse() result. */
export function headErrorCode(result: number): ErrorCode {
  switch (result) {
    case HEAD_FRAMING: return "ARENA_E_HTTP_FRAMING";
    case HEAD_URI_TOO_LONG: return "ARENA_E_HTTP_URI_TOO_LONG";
    case HEAD_TOO_LARGE: return "ARENA_E_HTTP_HEADERS_TOO_LARGE";
    case HEAD_CODING: return "ARENA_E_HTTP_CODING";
    case HEAD_VERSION: return "ARENA_E_HTTP_VERSION";
    case HEAD_EXPECT: return "ARENA_E_HTTP_EXPECT";
    case HEAD_BODY_TOO_LARGE: return "ARENA_E_HTTP_BODY_TOO_LARGE";
    default: return "ARENA_E_HTTP_MALFORMED";
  }
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** RFC 9110 tchar, as a 256-entry table so the hot loops do one load per byte. */
export const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  TCHAR[c] = /[A-Za-z0-9!#$%&'*+\-.^_`|~]/.test(ch) ? 1 : 0;
}
/** Bytes allowed in a field value: HTAB, SP, VCHAR, obs-text. */
const FIELD_VCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) FIELD_VCHAR[c] = c === HTAB || (c >= 0x20 && c !== 0x7f) ? 1 : 0;
/** Bytes allowed in a request target: VCHAR (RFC 3986 plus what browsers send unescaped). */
const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) TARGET_CHAR[c] = 1;

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

/**
 * One parsed request head. A connection owns one and reuses it for every request, so
 * parsing allocates nothing; `reason` points at a constant string when parsing failed.
 */
export class RequestHead {
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  /** Path within the target: after the scheme and authority of an absolute-form target. */
  pathStart = 0;
  /** Index of '?' in the target, or targetEnd. */
  pathEnd = 0;
  versionMinor = 1;
  headEnd = 0;
  headerCount = 0;
  /** [nameStart, nameEnd, valueStart, valueEnd] per field. */
  readonly fields = new Int32Array(HEADER_COUNT_MAX * 4);
  /** -1 when there is no Content-Length. */
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  expectContinue = false;
  isHead = false;
  /** Why parsing failed, for the error body and log; a constant string. */
  reason = "";

  /** Whether the request has a body to read. */
  hasBody(): boolean {
    return this.chunked || this.contentLength > 0;
  }
}

/**
 * Drops the empty lines (CRLF) at the start of buf[0, len) — RFC 9112 §2.2: a server
 * should ignore them before a request line (old clients send one after a POST body) — and
 * returns the new length. A lone CR at the end is kept: its LF may be in the next read.
 */
export function skipEmptyLines(buf: Uint8Array, len: number): number {
  let k = 0;
  while (k + 1 < len && buf[k] === CR && buf[k + 1] === LF) k += 2;
  if (k === 0) return len;
  buf.copyWithin(0, k, len);
  return len - k;
}

/** Finds the end of the head (index after CRLFCRLF) in buf[0, len), or -1. Scanning
 *  starts at `from` so a head arriving in pieces is not rescanned from the start. */
export function findHeadEnd(buf: Uint8Array, from: number, len: number): number {
  for (let i = Math.max(from, 3); i < len; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return -1;
}

/**
 * Decides what to do with an incomplete head of `len` bytes: HEAD_INCOMPLETE to wait for
 * more, or an error when the limits are already exceeded (414 while the request line is
 * still open and too long, 431 when the head fills its buffer).
 */
export function checkIncomplete(buf: Uint8Array, len: number, head: RequestHead, from = 0): number {
  // A bare LF can never end a head this parser accepts: refuse it now rather than wait
  // for the header timeout (scanning only what arrived since the last call).
  for (let i = Math.max(from, 0); i < len; i++) {
    if (buf[i] === LF && (i === 0 || buf[i - 1] !== CR)) {
      head.reason = "bare LF";
      return HEAD_MALFORMED;
    }
  }
  const lineLimit = URI_BYTES_MAX + 64; // method, spaces and version around the target
  if (len > lineLimit) {
    let hasLineEnd = false;
    for (let i = 0; i < lineLimit; i++) {
      if (buf[i] === LF) { hasLineEnd = true; break; }
    }
    if (!hasLineEnd) {
      head.reason = "request line longer than URI_BYTES_MAX";
      return HEAD_URI_TOO_LONG;
    }
  }
  if (len >= HEADER_BYTES_MAX) {
    head.reason = "header section larger than HEADER_BYTES_MAX";
    return HEAD_TOO_LARGE;
  }
  return HEAD_INCOMPLETE;
}

/**
 * Parses the complete head buf[0, end) (end from findHeadEnd) into `head`. Returns `end`
 * on success or a negative HEAD_* error; `bodyMax` turns a large Content-Length into 413.
 */
export function parseHead(buf: Uint8Array, end: number, head: RequestHead, bodyMax: number): number {
  head.headerCount = 0;
  head.contentLength = -1;
  head.chunked = false;
  head.expectContinue = false;
  head.headEnd = end;
  head.reason = "";

  // Request line: method SP request-target SP HTTP-version CRLF
  let i = 0;
  while (i < end && TCHAR[buf[i]] === 1) i++;
  if (i === 0 || buf[i] !== SP) return fail(head, HEAD_MALFORMED, "malformed method");
  head.methodEnd = i;
  head.isHead = i === 4 && buf[0] === 0x48 && buf[1] === 0x45 && buf[2] === 0x41 && buf[3] === 0x44;
  i++;
  const targetStart = i;
  while (i < end && TARGET_CHAR[buf[i]] === 1) i++;
  if (i - targetStart > URI_BYTES_MAX) return fail(head, HEAD_URI_TOO_LONG, "request target longer than URI_BYTES_MAX");
  if (i === targetStart || buf[i] !== SP) return fail(head, HEAD_MALFORMED, "malformed request target");
  head.targetStart = targetStart;
  head.targetEnd = i;
  if (!locatePath(buf, head)) return fail(head, HEAD_MALFORMED, "request target is not origin-, absolute- or asterisk-form");
  i++;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (end - i < 10 || buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
      buf[i + 4] !== 0x2f || buf[i + 6] !== 0x2e || buf[i + 8] !== CR || buf[i + 9] !== LF) {
    return fail(head, HEAD_MALFORMED, "malformed HTTP version");
  }
  const major = buf[i + 5] - 0x30;
  const minor = buf[i + 7] - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return fail(head, HEAD_MALFORMED, "malformed HTTP version");
  if (major !== 1 || minor > 1) return fail(head, HEAD_VERSION, "unsupported HTTP version");
  head.versionMinor = minor;
  head.keepAlive = minor === 1;
  i += 10;

  // Header fields: field-name ":" OWS field-value OWS CRLF, until an empty line.
  let hosts = 0;
  let transferEncoding = false;
  let teChunkedLast = false;
  let teUnknown = false;
  let teChunkedCount = 0;
  let connectionClose = false;
  let connectionKeepAlive = false;
  const fields = head.fields;
  while (true) {
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return fail(head, HEAD_MALFORMED, "bare CR");
      i += 2;
      break;
    }
    const n = head.headerCount;
    if (n === HEADER_COUNT_MAX) return fail(head, HEAD_TOO_LARGE, "more than HEADER_COUNT_MAX header fields");
    i = scanField(buf, i, fields, n * 4);
    if (i < 0) return fail(head, HEAD_MALFORMED, fieldError);
    const nameStart = fields[n * 4];
    const nameEnd = fields[n * 4 + 1];
    const valueStart = fields[n * 4 + 2];
    const valueEnd = fields[n * 4 + 3];
    head.headerCount = n + 1;

    // The fields the host itself acts on, matched by length first.
    const nameLen = nameEnd - nameStart;
    if (nameLen === 14 && nameIs(buf, nameStart, nameEnd, "content-length")) {
      const v = parseContentLength(buf, valueStart, valueEnd);
      if (v < 0) return fail(head, HEAD_FRAMING, "malformed Content-Length");
      if (head.contentLength >= 0 && head.contentLength !== v) return fail(head, HEAD_FRAMING, "conflicting Content-Length fields");
      head.contentLength = v;
    } else if (nameLen === 17 && nameIs(buf, nameStart, nameEnd, "transfer-encoding")) {
      transferEncoding = true;
      // A list of codings, possibly over several fields; only the last may be chunked.
      let p = valueStart;
      while (p <= valueEnd) {
        p = listItem(buf, p, valueEnd);
        const a = item[0];
        const b = item[1];
        if (a === b) return fail(head, HEAD_FRAMING, "empty transfer coding");
        if (nameIs(buf, a, b, "chunked")) {
          teChunkedCount++;
          teChunkedLast = true;
        } else {
          teChunkedLast = false;
          teUnknown = true;
        }
      }
    } else if (nameLen === 10 && nameIs(buf, nameStart, nameEnd, "connection")) {
      let p = valueStart;
      while (p <= valueEnd) {
        p = listItem(buf, p, valueEnd);
        if (nameIs(buf, item[0], item[1], "close")) connectionClose = true;
        else if (nameIs(buf, item[0], item[1], "keep-alive")) connectionKeepAlive = true;
      }
    } else if (nameLen === 6 && nameIs(buf, nameStart, nameEnd, "expect")) {
      if (!nameIs(buf, valueStart, valueEnd, "100-continue")) return fail(head, HEAD_EXPECT, "unsupported expectation");
      head.expectContinue = minor === 1;
    } else if (nameLen === 4 && nameIs(buf, nameStart, nameEnd, "host")) {
      hosts++;
    }
  }
  if (i !== end) return fail(head, HEAD_MALFORMED, "malformed header section");

  // RFC 9112 §3.2: more than one Host is 400 in any version; none is 400 in HTTP/1.1.
  if (hosts > 1) return fail(head, HEAD_MALFORMED, "more than one Host header");
  if (minor === 1 && hosts === 0) return fail(head, HEAD_MALFORMED, "missing Host header");
  if (connectionClose) head.keepAlive = false;
  else if (minor === 0 && connectionKeepAlive) head.keepAlive = true;

  if (transferEncoding) {
    if (head.contentLength >= 0) return fail(head, HEAD_FRAMING, "both Content-Length and Transfer-Encoding");
    if (minor === 0) return fail(head, HEAD_FRAMING, "Transfer-Encoding in an HTTP/1.0 request");
    if (!teChunkedLast) return fail(head, HEAD_FRAMING, "chunked is not the final transfer coding");
    if (teChunkedCount > 1) return fail(head, HEAD_FRAMING, "chunked applied more than once");
    if (teUnknown) return fail(head, HEAD_CODING, "transfer coding other than chunked");
    head.chunked = true;
  } else if (head.contentLength > bodyMax) {
    return fail(head, HEAD_BODY_TOO_LARGE, "Content-Length over the body limit");
  }
  return end;
}

/** Why scanField() failed; a constant string. */
export let fieldError = "";

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

function fieldFail(reason: string): number {
  fieldError = reason;
  return -1;
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

function fail(head: RequestHead, result: number, reason: string): number {
  head.reason = reason;
  head.keepAlive = false;
  return result;
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

/** Sets pathStart/pathEnd for origin-form ("/p?q"), absolute-form ("http://h/p?q") and
 *  asterisk-form ("*"); false for anything else (authority-form is for CONNECT only). */
function locatePath(buf: Uint8Array, head: RequestHead): boolean {
  const s = head.targetStart;
  const e = head.targetEnd;
  let p = s;
  if (buf[s] === 0x2f) {
    p = s;
  } else if (e - s === 1 && buf[s] === 0x2a) {
    head.pathStart = s;
    head.pathEnd = e;
    return true;
  } else {
    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    let k = s;
    while (k < e && buf[k] !== COLON) k++;
    if (k === s || k + 2 >= e || buf[k + 1] !== 0x2f || buf[k + 2] !== 0x2f) return false;
    k += 3;
    while (k < e && buf[k] !== 0x2f && buf[k] !== 0x3f) k++;
    p = k;
  }
  let q = p;
  while (q < e && buf[q] !== 0x3f) q++;
  head.pathStart = p;
  head.pathEnd = q;
  return true;
}
