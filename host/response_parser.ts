// HTTP/1.1 response-head parser (RFC 9112) for the HTTP client, byte-level over the bytes
// the client wrote into the request's arena: status line and header fields are recorded
// as offsets, no strings are made. Framing is as strict as for requests: conflicting
// lengths, a Content-Length beside Transfer-Encoding, bare CR/LF and obs-fold are errors
// (an upstream that is confused about framing cannot be trusted with the next response on
// the same connection).

import { HEADER_COUNT_MAX } from "./limits.ts";
import { fieldError, item, listItem, nameIs, parseContentLength, scanField } from "./http_parser.ts";

const CR = 0x0d;
const LF = 0x0a;

export class ResponseHead {
  status = 0;
  versionMinor = 1;
  headerCount = 0;
  /** [nameStart, nameEnd, valueStart, valueEnd] per field, absolute offsets. */
  readonly fields = new Int32Array(HEADER_COUNT_MAX * 4);
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** Why parsing failed; a constant or short string. */
  reason = "";
}

/** Finds the end of a head (index after CRLFCRLF) in buf[from, end), or -1. */
export function findResponseHeadEnd(buf: Uint8Array, start: number, from: number, end: number): number {
  for (let i = Math.max(from, start + 3); i < end; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return -1;
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
      let p = va;
      while (p <= vb) {
        p = listItem(buf, p, vb);
        if (nameIs(buf, item[0], item[1], "close")) close = true;
        else if (nameIs(buf, item[0], item[1], "keep-alive")) keepAlive = true;
      }
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
