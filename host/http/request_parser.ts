// HTTP/1.1 request-head parser (RFC 9112), byte-level over a Uint8Array. It makes no JS
// strings: the request line and every field are recorded as offsets into the buffer, and
// the host copies the head into the request's arena as bytes. Strict where leniency
// enables request smuggling (RFC 9112 §6.3, §11.2): ambiguous framing, whitespace before
// a colon, obs-fold, bare CR/LF and control characters all fail with 400 and a close.

import { HEADER_BYTES_MAX, HEADER_COUNT_MAX, URI_BYTES_MAX } from "../limits.ts";
import type { ErrorCode } from "../errors.ts";
import {
  COLON, CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, connectionOptions, CR, FIELD_VCHAR, fieldError, fieldFail, HTAB, item, LF,
  listItem, MessageHead, nameIs, parseContentLength, scanField, SP, tokenEnd,
} from "./syntax.ts";

// Where a scan of an open line stands (RequestHead.scanPhase).
const SCAN_METHOD = 0;
const SCAN_TARGET = 1;
const SCAN_NAME = 2;
const SCAN_VALUE = 3;

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

/** Bytes allowed in a request target: VCHAR (RFC 3986 plus what browsers send unescaped). */
const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x21; c < 0x7f; c++) TARGET_CHAR[c] = 1;

/**
 * One parsed request head. A connection owns one and reuses it for every request, so
 * parsing allocates nothing; `reason` points at a constant string when parsing failed.
 */
export class RequestHead extends MessageHead {
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  /** Path within the target: after the scheme and authority of an absolute-form target. */
  pathStart = 0;
  /** Index of '?' in the target, or targetEnd. */
  pathEnd = 0;
  headEnd = 0;
  expectContinue = false;
  isHead = false;
  /** What the field lines seen so far said, for the checks made once the head is complete. */
  hosts = 0;
  transferEncoding = false;
  teChunkedLast = false;
  teUnknown = false;
  teChunkedCount = 0;
  connectionClose = false;
  connectionKeepAlive = false;
  /** checkIncomplete(): where the first line it has not checked yet starts (0: the request
   *  line), and how far into that open line its last scan got (scanAt, in phase scanPhase),
   *  so that a head arriving in pieces is scanned once, not once per piece. */
  checkedTo = 0;
  scanAt = 0;
  scanPhase = SCAN_METHOD;

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

/**
 * Decides what to do with an incomplete head of `len` bytes: HEAD_INCOMPLETE to wait for
 * more, or an error as soon as the bytes so far can no longer begin a valid head, or when
 * the limits are already exceeded (414 while the request line is still open and too long,
 * 431 when the head fills its buffer). Refusing early matters for bytes that are not
 * HTTP/1.x at all (a TLS ClientHello, an SSH banner, an HTTP/0.9 request line): they would
 * otherwise hold the connection until the header timeout's 408. Complete lines go through
 * the code parseHead uses, and the open last line through a bounded scan that refuses only
 * what no continuation could make valid, so a head refused early gets exactly the answer
 * the complete head would get. `from` is where the bytes that arrived since the last call
 * start: lines already checked are not checked again (0 checks from the start).
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
  if (from <= 0 || head.checkedTo > len || head.scanAt > len) resetHead(head, 0);
  const r = checkLines(buf, len, head);
  if (r !== HEAD_INCOMPLETE) return r;
  const lineLimit = URI_BYTES_MAX + 64; // method, spaces and version around the target
  if (len > lineLimit && head.checkedTo === 0) {
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

/** The lines of an incomplete head buf[0, len) from head.checkedTo on: HEAD_INCOMPLETE
 *  while they can still begin a valid head, else the error parseHead would return. */
function checkLines(buf: Uint8Array, len: number, head: RequestHead): number {
  let i = head.checkedTo;
  if (i === 0) {
    // A lone CR is an empty line whose LF is still on its way (skipEmptyLines keeps it).
    if (len === 1 && buf[0] === CR) return HEAD_INCOMPLETE;
    i = requestLine(buf, len, head);
    if (i <= 0) return i;
    head.checkedTo = i;
  }
  for (;;) {
    if (i === len) return HEAD_INCOMPLETE;
    if (buf[i] === CR) {
      // The start of the empty line that ends the head, unless a bare CR.
      return i + 1 < len && buf[i + 1] !== LF ? fail(head, HEAD_MALFORMED, "bare CR") : HEAD_INCOMPLETE;
    }
    if (head.headerCount === HEADER_COUNT_MAX) return fail(head, HEAD_TOO_LARGE, "more than HEADER_COUNT_MAX header fields");
    const lineEnd = fieldLineEnd(buf, i, len, head);
    if (lineEnd === 0) return HEAD_INCOMPLETE;
    if (lineEnd < 0) return fail(head, HEAD_MALFORMED, fieldError);
    i = takeField(buf, i, head);
    if (i < 0) return i;
    head.checkedTo = i;
  }
}

/** Clears what a parse records, for a new head ending at `end` (0: not known yet). */
function resetHead(head: RequestHead, end: number): void {
  head.headerCount = 0;
  head.contentLength = -1;
  head.chunked = false;
  head.expectContinue = false;
  head.headEnd = end;
  head.reason = "";
  head.hosts = 0;
  head.transferEncoding = false;
  head.teChunkedLast = false;
  head.teUnknown = false;
  head.teChunkedCount = 0;
  head.connectionClose = false;
  head.connectionKeepAlive = false;
  head.checkedTo = 0;
  head.scanAt = 0;
  head.scanPhase = SCAN_METHOD;
}

/**
 * Parses the complete head buf[0, end) (end from findHeadEnd) into `head`. Returns `end`
 * on success or a negative HEAD_* error; `bodyMax` turns a large Content-Length into 413.
 */
export function parseHead(buf: Uint8Array, end: number, head: RequestHead, bodyMax: number): number {
  resetHead(head, end);
  let i = requestLine(buf, end, head);
  // requestLine's 0 ("not all here yet") cannot happen: a version cannot end in CRLFCRLF.
  if (i <= 0) return i === 0 ? fail(head, HEAD_MALFORMED, "malformed HTTP version") : i;

  // Header fields: field-name ":" OWS field-value OWS CRLF, until an empty line.
  while (true) {
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return fail(head, HEAD_MALFORMED, "bare CR");
      i += 2;
      break;
    }
    i = takeField(buf, i, head);
    if (i < 0) return i;
  }
  if (i !== end) return fail(head, HEAD_MALFORMED, "malformed header section");

  // RFC 9112 §3.2: more than one Host is 400 in any version; none is 400 in HTTP/1.1.
  const minor = head.versionMinor;
  if (head.hosts > 1) return fail(head, HEAD_MALFORMED, "more than one Host header");
  if (minor === 1 && head.hosts === 0) return fail(head, HEAD_MALFORMED, "missing Host header");
  if (head.connectionClose) head.keepAlive = false;
  else if (minor === 0 && head.connectionKeepAlive) head.keepAlive = true;

  if (head.transferEncoding) {
    if (head.contentLength >= 0) return fail(head, HEAD_FRAMING, "both Content-Length and Transfer-Encoding");
    if (minor === 0) return fail(head, HEAD_FRAMING, "Transfer-Encoding in an HTTP/1.0 request");
    if (!head.teChunkedLast) return fail(head, HEAD_FRAMING, "chunked is not the final transfer coding");
    if (head.teChunkedCount > 1) return fail(head, HEAD_FRAMING, "chunked applied more than once");
    if (head.teUnknown) return fail(head, HEAD_CODING, "transfer coding other than chunked");
    head.chunked = true;
  } else if (head.contentLength > bodyMax) {
    return fail(head, HEAD_BODY_TOO_LARGE, "Content-Length over the body limit");
  }
  return end;
}

/** HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF, byte by byte (0: a digit). */
const VERSION_SHAPE = [0x48, 0x54, 0x54, 0x50, 0x2f, 0, 0x2e, 0, CR, LF];

/**
 * Parses the request line (method SP request-target SP HTTP-version CRLF) at the start of
 * buf[0, len) into `head`. Returns the index after its CRLF, a negative HEAD_* error, or 0
 * when the line has not arrived whole and every byte so far can still begin a valid one;
 * the next call then goes on from where this one stopped (head.scanAt, head.scanPhase).
 */
function requestLine(buf: Uint8Array, len: number, head: RequestHead): number {
  let i = head.scanAt;
  if (head.scanPhase === SCAN_METHOD) {
    i = tokenEnd(buf, i, len);
    if (i === len) return openLine(head, i, SCAN_METHOD);
    if (i === 0 || buf[i] !== SP) return fail(head, HEAD_MALFORMED, "malformed method");
    head.methodEnd = i;
    head.isHead = i === 4 && buf[0] === 0x48 && buf[1] === 0x45 && buf[2] === 0x41 && buf[3] === 0x44;
    i++;
    head.targetStart = i;
  }
  const targetStart = head.targetStart;
  while (i < len && TARGET_CHAR[buf[i]] === 1) i++;
  if (i - targetStart > URI_BYTES_MAX) return fail(head, HEAD_URI_TOO_LONG, "request target longer than URI_BYTES_MAX");
  if (i === len) return openLine(head, i, SCAN_TARGET);
  if (i === targetStart || buf[i] !== SP) return fail(head, HEAD_MALFORMED, "malformed request target");
  head.targetEnd = i;
  const bad = locatePath(buf, head);
  if (bad !== null) return fail(head, HEAD_MALFORMED, bad);
  i++;
  if (len - i < VERSION_SHAPE.length) {
    // Not all here: refuse at the first byte that no version could have there.
    for (let k = 0; i + k < len; k++) {
      const c = buf[i + k];
      const want = VERSION_SHAPE[k];
      if (want === 0 ? c < 0x30 || c > 0x39 : c !== want) return fail(head, HEAD_MALFORMED, "malformed HTTP version");
    }
    // The next call goes on from the target's end: these few bytes are checked again.
    return openLine(head, i - 1, SCAN_TARGET);
  }
  if (buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
      buf[i + 4] !== 0x2f || buf[i + 6] !== 0x2e || buf[i + 8] !== CR || buf[i + 9] !== LF) {
    return fail(head, HEAD_MALFORMED, "malformed HTTP version");
  }
  const major = buf[i + 5] - 0x30;
  const minor = buf[i + 7] - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return fail(head, HEAD_MALFORMED, "malformed HTTP version");
  if (major !== 1 || minor > 1) return fail(head, HEAD_VERSION, "unsupported HTTP version");
  head.versionMinor = minor;
  head.keepAlive = minor === 1;
  return i + 10;
}

/**
 * Scans header field n = head.headerCount at `i` (its line has arrived whole) into
 * head.fields and acts on the fields the host itself uses. Returns the index after the
 * line or a negative HEAD_* error. Shared by parseHead and checkIncomplete, so that a
 * field refused before the head is complete is refused for the same reason.
 */
function takeField(buf: Uint8Array, i: number, head: RequestHead): number {
  const n = head.headerCount;
  if (n === HEADER_COUNT_MAX) return fail(head, HEAD_TOO_LARGE, "more than HEADER_COUNT_MAX header fields");
  const fields = head.fields;
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
    head.transferEncoding = true;
    // A list of codings, possibly over several fields; only the last may be chunked.
    let p = valueStart;
    while (p <= valueEnd) {
      p = listItem(buf, p, valueEnd);
      const a = item[0];
      const b = item[1];
      if (a === b) return fail(head, HEAD_FRAMING, "empty transfer coding");
      if (nameIs(buf, a, b, "chunked")) {
        head.teChunkedCount++;
        head.teChunkedLast = true;
      } else {
        head.teChunkedLast = false;
        head.teUnknown = true;
      }
    }
  } else if (nameLen === 10 && nameIs(buf, nameStart, nameEnd, "connection")) {
    const options = connectionOptions(buf, valueStart, valueEnd);
    if ((options & CONNECTION_CLOSE) !== 0) head.connectionClose = true;
    if ((options & CONNECTION_KEEP_ALIVE) !== 0) head.connectionKeepAlive = true;
  } else if (nameLen === 6 && nameIs(buf, nameStart, nameEnd, "expect")) {
    if (!nameIs(buf, valueStart, valueEnd, "100-continue")) return fail(head, HEAD_EXPECT, "unsupported expectation");
    head.expectContinue = head.versionMinor === 1;
  } else if (nameLen === 4 && nameIs(buf, nameStart, nameEnd, "host")) {
    head.hosts++;
    // RFC 9112 §3.2: a Host with an invalid value is 400. The app (and anything it hands
    // the value to) must not see a host that another parser would split differently.
    const bad = hostError(buf, valueStart, valueEnd);
    if (bad !== HOST_OK) return fail(head, HEAD_MALFORMED, HOST_FIELD_REASONS[bad]);
  }
  return i;
}

/** Records where the scan of a line that has not arrived whole stopped; returns 0. */
function openLine(head: RequestHead, at: number, phase: number): number {
  head.scanAt = at;
  head.scanPhase = phase;
  return 0;
}

/**
 * scanField's checks on the field line at `lineStart`, which may not have arrived whole
 * (buf[lineStart, len), at least one byte): the index after its CRLF, 0 while some
 * continuation could still make it valid, or -1 with `fieldError` set to what scanField
 * would say whatever followed. Goes on from where the last call on this line stopped.
 */
function fieldLineEnd(buf: Uint8Array, lineStart: number, len: number, head: RequestHead): number {
  let i = lineStart;
  let phase = SCAN_NAME;
  if (head.scanAt > lineStart) {
    i = head.scanAt;
    phase = head.scanPhase;
  } else if (buf[i] === SP || buf[i] === HTAB) {
    return fieldFail("obsolete line folding");
  }
  if (phase === SCAN_NAME) {
    i = tokenEnd(buf, i, len);
    if (i === len) return openLine(head, i, SCAN_NAME);
    if (i === lineStart) return fieldFail("malformed field name");
    if (buf[i] !== COLON) return fieldFail(buf[i] === SP || buf[i] === HTAB ? "whitespace before colon" : "malformed field name");
    i++;
  }
  while (i < len && FIELD_VCHAR[buf[i]] === 1) i++; // OWS and the value: SP and HTAB are both
  if (i === len) return openLine(head, i, SCAN_VALUE);
  if (buf[i] === CR) {
    if (i + 1 === len) return openLine(head, i, SCAN_VALUE);
    if (buf[i + 1] === LF) return i + 2;
  }
  return fieldFail(buf[i] === LF ? "bare LF" : buf[i] === CR ? "bare CR" : "control character in field value");
}

function fail(head: RequestHead, result: number, reason: string): number {
  head.reason = reason;
  head.keepAlive = false;
  return result;
}

/** Sets pathStart/pathEnd for origin-form ("/p?q"), absolute-form ("http://h/p?q") and
 *  asterisk-form ("*"). Returns null, or why the target is none of them (authority-form
 *  is for CONNECT only). */
function locatePath(buf: Uint8Array, head: RequestHead): string | null {
  const s = head.targetStart;
  const e = head.targetEnd;
  let p = s;
  if (buf[s] === 0x2f) {
    p = s;
  } else if (e - s === 1 && buf[s] === 0x2a) {
    head.pathStart = s;
    head.pathEnd = e;
    return null;
  } else {
    // absolute-form: scheme "://" authority path-abempty [ "?" query ]
    let k = s;
    while (k < e && buf[k] !== COLON) k++;
    if (k === s || k + 2 >= e || buf[k + 1] !== 0x2f || buf[k + 2] !== 0x2f) {
      return "request target is not origin-, absolute- or asterisk-form";
    }
    // This server is an origin for http and https URIs only (RFC 9110 §4.2); any other
    // scheme (ftp:, file:, gopher:) would ask it to be a gateway it is not.
    if (!nameIs(buf, s, k, "http") && !nameIs(buf, s, k, "https")) {
      return "absolute-form target with a scheme other than http or https";
    }
    k += 3;
    const authority = k;
    while (k < e && buf[k] !== 0x2f && buf[k] !== 0x3f) k++;
    const bad = hostError(buf, authority, k);
    if (bad !== HOST_OK) return TARGET_HOST_REASONS[bad];
    p = k;
  }
  let q = p;
  while (q < e && buf[q] !== 0x3f) q++;
  head.pathStart = p;
  head.pathEnd = q;
  return null;
}

// ── Host (RFC 9110 §7.2: Host = uri-host [ ":" port ], RFC 3986 §3.2.2) ─────────────────

const HOST_OK = 0;
const HOST_EMPTY = 1;
const HOST_USERINFO = 2;
const HOST_BAD_CHAR = 3;
const HOST_BAD_PORT = 4;
const HOST_BAD_IP_LITERAL = 5;

/** Why a Host field is refused, by hostError() result. */
const HOST_FIELD_REASONS = [
  "",
  "empty Host: an http(s) target URI has a non-empty host (RFC 9110 §4.2.1)",
  "Host with userinfo (user@host): not allowed (RFC 9110 §4.2.4)",
  "Host with a character not allowed in a host name (RFC 9110 §7.2, RFC 3986 §3.2.2)",
  "Host with a port that is not digits",
  "Host with a malformed IP literal (RFC 3986 §3.2.2)",
];
/** Why an absolute-form target's authority is refused, by hostError() result. */
const TARGET_HOST_REASONS = [
  "",
  "absolute-form target with an empty host (RFC 9110 §4.2.1)",
  "absolute-form target with userinfo (user@host): not allowed (RFC 9110 §4.2.4)",
  "absolute-form target with a character not allowed in a host name (RFC 3986 §3.2.2)",
  "absolute-form target with a port that is not digits",
  "absolute-form target with a malformed IP literal (RFC 3986 §3.2.2)",
];

/** RFC 3986 reg-name bytes: unreserved and sub-delims ('%' of pct-encoded apart). */
const REG_NAME_CHAR = new Uint8Array(256);
/** HEXDIG, either case. */
const HEX = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  REG_NAME_CHAR[c] = /[A-Za-z0-9\-._~!$&'()*+,;=]/.test(ch) ? 1 : 0;
  HEX[c] = /[0-9A-Fa-f]/.test(ch) ? 1 : 0;
}

/**
 * Checks a host with an optional port, buf[s, e): an IP literal in brackets, or a reg-name
 * (which also covers IPv4 addresses), then ":" and digits (RFC 3986 port = *DIGIT).
 * Returns HOST_OK or what is wrong. Userinfo, whitespace and any other delimiter are
 * refused: "a b" or "x@evil.example" could name one host to this server and another to a
 * proxy, a log reader or the app. Empty is refused too: every target this server accepts
 * is an http(s) URI, whose host must not be empty (RFC 9110 §4.2.1), and for origin- and
 * asterisk-form the Host is that host; the empty Host of RFC 9112 §3.2 belongs to target
 * URIs without an authority, which are not http(s).
 */
function hostError(buf: Uint8Array, s: number, e: number): number {
  let i = s;
  let problem = HOST_OK;
  if (i < e && buf[i] === 0x5b) {
    let j = i + 1;
    while (j < e && buf[j] !== 0x5d) j++;
    if (j === e || !ipLiteral(buf, i + 1, j)) problem = HOST_BAD_IP_LITERAL;
    i = j + 1;
  } else {
    for (;;) {
      while (i < e && REG_NAME_CHAR[buf[i]] === 1) i++;
      // pct-encoded = "%" HEXDIG HEXDIG
      if (i + 2 < e && buf[i] === 0x25 && HEX[buf[i + 1]] === 1 && HEX[buf[i + 2]] === 1) i += 3;
      else break;
    }
    if (i === s && (i === e || buf[i] === COLON)) problem = HOST_EMPTY;
  }
  if (problem === HOST_OK && i < e) {
    if (buf[i] === COLON) {
      i++;
      while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) i++;
      if (i < e) problem = HOST_BAD_PORT;
    } else {
      problem = HOST_BAD_CHAR;
    }
  }
  if (problem === HOST_OK) return HOST_OK;
  // An '@' anywhere is the clearest thing to say: it is an attempt at userinfo.
  for (let k = s; k < e; k++) if (buf[k] === 0x40) return HOST_USERINFO;
  return problem;
}

/** IP-literal without its brackets, buf[s, e): IPv6address or IPvFuture (RFC 3986). */
function ipLiteral(buf: Uint8Array, s: number, e: number): boolean {
  if (s < e && (buf[s] | 0x20) === 0x76) {
    // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    let i = s + 1;
    while (i < e && HEX[buf[i]] === 1) i++;
    if (i === s + 1 || i + 1 >= e || buf[i] !== 0x2e) return false;
    for (i++; i < e; i++) {
      if (REG_NAME_CHAR[buf[i]] === 0 && buf[i] !== COLON) return false;
    }
    return true;
  }
  // IPv6address: eight groups of 1-4 HEXDIG, one "::" standing for one or more of them,
  // and the last two may be written as an IPv4 address.
  let groups = 0;
  let elided = false;
  let i = s;
  if (e - s >= 2 && buf[s] === COLON && buf[s + 1] === COLON) {
    elided = true;
    i = s + 2;
  }
  while (i < e) {
    let j = i;
    while (j < e && j - i < 4 && HEX[buf[j]] === 1) j++;
    if (j < e && buf[j] === 0x2e) {
      if (!ipv4(buf, i, e)) return false;
      groups += 2;
      break;
    }
    if (j === i) return false;
    groups++;
    i = j;
    if (i === e) break;
    if (buf[i] !== COLON) return false;
    i++;
    if (i < e && buf[i] === COLON) {
      if (elided) return false;
      elided = true;
      i++;
    } else if (i === e) {
      return false;
    }
  }
  return elided ? groups <= 7 : groups === 8;
}

/** IPv4address, buf[s, e): four dec-octets (0-255, no leading zeros) joined by ".". */
function ipv4(buf: Uint8Array, s: number, e: number): boolean {
  let i = s;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i === e || buf[i] !== 0x2e) return false;
      i++;
    }
    const start = i;
    let v = 0;
    while (i < e && i - start < 3 && buf[i] >= 0x30 && buf[i] <= 0x39) v = v * 10 + buf[i++] - 0x30;
    if (i === start || v > 255 || (buf[start] === 0x30 && i - start > 1)) return false;
  }
  return i === e;
}
