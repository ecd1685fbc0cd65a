// HTTP/1.1 response-head parser (RFC 9112) for the HTTP client, byte-level over the bytes
// the client wrote into the request's arena: status line and header fields are recorded
// as offsets, no strings are made. Framing is as strict as for requests: conflicting
// lengths, a Content-Length beside Transfer-Encoding, bare CR/LF and obs-fold are errors
// (an upstream that is confused about framing cannot be trusted with the next response on
// the same connection).

import { HEADER_COUNT_MAX } from "../../limits.ts";
import {
  CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, connectionOptions, CR, fieldError, item, LF, listItem, MessageHead, nameIs,
  parseContentLength, scanField, tokenEnd,
} from "../../http/syntax.ts";

export class ResponseHead extends MessageHead {
  status = 0;
  /** findResponseHeadEnd's place, relative to the head's start: bytes already checked, and
   *  where the line being received starts. resetScan() before each head. */
  scanned = 0;
  lineStart = 0;

  resetScan(): void {
    this.scanned = 0;
    this.lineStart = 0;
  }
}

/** findResponseHeadEnd: the head is not complete yet. */
export const HEAD_INCOMPLETE = -1;
/** findResponseHeadEnd: the bytes so far cannot begin a valid head; `reason` says why. */
export const HEAD_INVALID = -2;

/** What every status line starts with, byte by byte ("HTTP/1." then the minor version). */
const STATUS_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e];
const NOT_HTTP = "the upstream did not answer with an HTTP/1.x status line";

/**
 * Checks the head bytes buf[start + head.scanned, end) as they arrive and finds the head's
 * end. Each byte is looked at once, whatever the split: a status line that does not begin
 * like `HTTP/1.x NNN `, a control byte, a bare CR or LF, a field line without `name:`. An
 * upstream that does not speak HTTP/1.x (an HTTP/0.9 body, a banner, LF-only lines) thus
 * fails as soon as it shows itself instead of holding the fetch until its timeout.
 * Returns the index after the final CRLFCRLF, HEAD_INCOMPLETE, or HEAD_INVALID with
 * `head.reason` set; parseResponseHead then reads the complete head.
 */
export function findResponseHeadEnd(buf: Uint8Array, start: number, end: number, head: ResponseHead): number {
  let lineStart = start + head.lineStart;
  for (let i = start + head.scanned; i < end; i++) {
    const c = buf[i];
    const k = i - start;
    if (k < 13) {
      // The status line's fixed part: HTTP-version SP 3DIGIT (SP / CR).
      if (k < 7) {
        if (c !== STATUS_PREFIX[k]) return invalid(head, NOT_HTTP);
      } else if (k === 7) {
        if (c !== 0x30 && c !== 0x31) return invalid(head, c >= 0x30 && c <= 0x39 ? "the upstream answered with an unsupported HTTP version" : NOT_HTTP);
      } else if (k === 8) {
        if (c !== 0x20) return invalid(head, NOT_HTTP);
      } else if (k < 12) {
        if (c < 0x30 || c > 0x39) return invalid(head, "the upstream's status code is not 3 digits");
      } else if (c !== 0x20 && c !== CR) {
        return invalid(head, "malformed status line");
      }
    }
    if (c === LF) {
      if (buf[i - 1] !== CR) return invalid(head, "bare LF in the upstream's head");
      const lineEnd = i - 1;
      if (lineStart !== start) {
        if (lineEnd === lineStart) {
          head.scanned = i + 1 - start;
          return i + 1; // the empty line: the head is complete
        }
        // A field line: field-name ":" (the value's bytes were checked one by one).
        const c0 = buf[lineStart];
        if (c0 === 0x20 || c0 === 0x09) return invalid(head, "the upstream's head is malformed: obsolete line folding");
        const p = tokenEnd(buf, lineStart, lineEnd);
        if (p === lineStart || p === lineEnd || buf[p] !== 0x3a) {
          return invalid(head, `the upstream's head is malformed: ${buf[p] === 0x20 || buf[p] === 0x09 ? "whitespace before colon" : "malformed field name"}`);
        }
      }
      lineStart = i + 1;
    } else if (k > 0 && buf[i - 1] === CR) {
      return invalid(head, "bare CR in the upstream's head");
    } else if ((c < 0x20 && c !== 0x09 && c !== CR) || c === 0x7f) {
      return invalid(head, "control character in the upstream's head");
    }
  }
  head.scanned = end - start;
  head.lineStart = lineStart - start;
  return HEAD_INCOMPLETE;
}

/** Parses the complete head buf[start, end). True on success; false with `reason` set. */
export function parseResponseHead(buf: Uint8Array, start: number, end: number, head: ResponseHead): boolean {
  head.headerCount = 0;
  head.contentLength = -1;
  head.chunked = false;
  head.reason = "";
  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF
  let i = start;
  if (end - i < 14 || buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
      buf[i + 4] !== 0x2f || buf[i + 5] !== 0x31 || buf[i + 6] !== 0x2e || buf[i + 8] !== 0x20) {
    return fail(head, "the upstream did not answer with an HTTP/1.x status line");
  }
  const minor = buf[i + 7] - 0x30;
  if (minor !== 0 && minor !== 1) return fail(head, "the upstream answered with an unsupported HTTP version");
  head.versionMinor = minor;
  let status = 0;
  for (let k = i + 9; k < i + 12; k++) {
    const d = buf[k] - 0x30;
    if (d < 0 || d > 9) return fail(head, "the upstream's status code is not 3 digits");
    status = status * 10 + d;
  }
  if (status < 100 || buf[i + 12] !== 0x20 && buf[i + 12] !== CR) return fail(head, "malformed status line");
  head.status = status;
  i += 12;
  while (i < end && buf[i] !== CR && buf[i] !== LF) {
    const c = buf[i];
    if (c !== 0x09 && (c < 0x20 || c === 0x7f)) return fail(head, "control byte in the status line");
    i++;
  }
  if (buf[i] !== CR || buf[i + 1] !== LF) return fail(head, "the status line does not end with CRLF");
  i += 2;
  let transferEncoding = false;
  let teChunkedLast = false;
  let close = false; // HTTP/1.0 needs an explicit keep-alive instead (below)
  let keepAlive = false;
  const fields = head.fields;
  for (;;) {
    if (buf[i] === CR) {
      if (buf[i + 1] !== LF) return fail(head, "bare CR in the upstream's head");
      i += 2;
      break;
    }
    const n = head.headerCount;
    if (n === HEADER_COUNT_MAX) return fail(head, "the upstream sent more than HEADER_COUNT_MAX header fields");
    i = scanField(buf, i, fields, n * 4);
    if (i < 0) return fail(head, `the upstream's head is malformed: ${fieldError}`);
    head.headerCount = n + 1;
    const a = fields[n * 4];
    const b = fields[n * 4 + 1];
    const va = fields[n * 4 + 2];
    const vb = fields[n * 4 + 3];
    if (b - a === 14 && nameIs(buf, a, b, "content-length")) {
      const v = parseContentLength(buf, va, vb);
      if (v < 0) return fail(head, "the upstream sent a malformed Content-Length");
      if (head.contentLength >= 0 && head.contentLength !== v) return fail(head, "the upstream sent conflicting Content-Length fields");
      head.contentLength = v;
    } else if (b - a === 17 && nameIs(buf, a, b, "transfer-encoding")) {
      transferEncoding = true;
      let p = va;
      while (p <= vb) {
        p = listItem(buf, p, vb);
        teChunkedLast = nameIs(buf, item[0], item[1], "chunked");
      }
    } else if (b - a === 10 && nameIs(buf, a, b, "connection")) {
      const options = connectionOptions(buf, va, vb);
      if ((options & CONNECTION_CLOSE) !== 0) close = true;
      if ((options & CONNECTION_KEEP_ALIVE) !== 0) keepAlive = true;
    }
  }
  if (i !== end) return fail(head, "the upstream's head is malformed");
  if (transferEncoding) {
    if (head.contentLength >= 0) return fail(head, "the upstream sent both Content-Length and Transfer-Encoding");
    // Anything but a final chunked is read until the connection closes (RFC 9112 §6.3).
    head.chunked = teChunkedLast;
    if (!teChunkedLast) close = true;
  }
  head.keepAlive = minor === 1 ? !close : keepAlive && !close && head.contentLength >= 0;
  return true;
}

function fail(head: ResponseHead, reason: string): boolean {
  head.reason = reason;
  head.keepAlive = false;
  return false;
}

function invalid(head: ResponseHead, reason: string): number {
  fail(head, reason);
  return HEAD_INVALID;
}
