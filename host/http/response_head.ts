// Writes a response head as bytes into the slot's head reserve: status line, the app's
// header lines (validated: the app is not trusted), then the host's framing headers.
// No strings are made per response: status lines are encoded once per status code, and
// numbers are written digit by digit.

import { reasonPhrase, errorBody, type ErrorCode, ERRORS } from "../errors.ts";
import type { HttpDate } from "./date.ts";
import { HTTP_DATE_BYTES } from "./date.ts";
import { FIELD_VCHAR, nameIs, tokenEnd, writeContentLength } from "./syntax.ts";

const encoder = new TextEncoder();
const statusLines: (Uint8Array | undefined)[] = new Array(600);

/** The status line of `status`, encoded once (the stream head reuses it). */
export function statusLine(status: number): Uint8Array {
  let line = statusLines[status];
  if (line === undefined) {
    line = encoder.encode(`HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`);
    statusLines[status] = line;
  }
  return line;
}

const DATE = encoder.encode("Date: ");
const CONNECTION_CLOSE = encoder.encode("Connection: close\r\n");
const CONNECTION_KEEP_ALIVE = encoder.encode("Connection: keep-alive\r\n");
const CRLF = encoder.encode("\r\n");

/** Bytes the host adds besides the app's headers, at most: status line (~50), the
 *  framing headers and the final CRLF. */
export const HOST_HEAD_BYTES_MAX = 64 + 16 + 20 + 6 + HTTP_DATE_BYTES + 2 + 24 + 2;

/** The interim response sent before reading a body announced with Expect: 100-continue. */
export const CONTINUE_BYTES = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

/** Fields the host writes itself in a response; the app may not set them. */
export const RESPONSE_RESERVED_FIELDS = ["content-length", "transfer-encoding", "connection", "date"] as const;

/**
 * Checks the app's header block u8[ptr, ptr + len): a sequence of `token ":" value CRLF`
 * lines whose values hold no CR, LF, NUL or other control bytes, and none of the `reserved`
 * fields the host owns (framing: smuggling defence). Returns null when valid, else why not.
 * The fetch client checks an app's request headers with it too, with its own `reserved`.
 */

export function checkAppHeaders(u8: Uint8Array, ptr: number, len: number,
  reserved: readonly string[] = RESPONSE_RESERVED_FIELDS): string | null {
  const end = ptr + len;
  let i = ptr;
  while (i < end) {
    const nameStart = i;
    i = tokenEnd(u8, i, end);
    if (i === nameStart || i >= end || u8[i] !== 0x3a) return "malformed header name";
    const nameEnd = i;
    i++;
    while (i < end && FIELD_VCHAR[u8[i]] === 1) i++;
    if (i + 1 >= end || u8[i] !== 0x0d || u8[i + 1] !== 0x0a) return "header value with CR, LF or a control byte";
    i += 2;
    for (const name of reserved) {
      if (nameIs(u8, nameStart, nameEnd, name)) return `${name} is set by the host, not the app`;
    }
  }
  return null;
}

/**
 * Whether a response with `status` carries no body, and so no Content-Length either: 1xx
 * and 204 must not have one (RFC 9110 §8.6), and a 304 may only repeat the length the 200
 * would have had, which the host does not know, so it sends none.
 */
export function statusHasNoBody(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** Writes a head's status line and the app's header bytes (already checked) copied from
 *  u8[hdrPtr, hdrPtr + hdrLen) at u8[pos...]; returns the end. What every head starts with. */
export function writeHeadStart(u8: Uint8Array, pos: number, status: number, hdrPtr: number, hdrLen: number): number {
  const line = statusLine(status);
  u8.set(line, pos);
  pos += line.length;
  if (hdrLen > 0) {
    u8.copyWithin(pos, hdrPtr, hdrPtr + hdrLen);
    pos += hdrLen;
  }
  return pos;
}

/** Writes Date, Connection (close unless `keepAlive`; keep-alive for HTTP/1.0, whose
 *  default is to close) and the head's closing CRLF at u8[pos...]; returns the end. What
 *  every head ends with. */
export function writeHeadEnd(u8: Uint8Array, pos: number, date: HttpDate, keepAlive: boolean, http10: boolean): number {
  u8.set(DATE, pos);
  pos += DATE.length;
  u8.set(date.bytes, pos);
  pos += HTTP_DATE_BYTES;
  u8[pos++] = 0x0d;
  u8[pos++] = 0x0a;
  if (!keepAlive) {
    u8.set(CONNECTION_CLOSE, pos);
    pos += CONNECTION_CLOSE.length;
  } else if (http10) {
    u8.set(CONNECTION_KEEP_ALIVE, pos);
    pos += CONNECTION_KEEP_ALIVE.length;
  }
  u8.set(CRLF, pos);
  return pos + 2;
}

/**
 * Writes the full head at u8[pos...]: status line, the app's header bytes (already
 * checked) copied from u8[hdrPtr, hdrPtr + hdrLen), Content-Length (none for the statuses
 * of statusHasNoBody), Date, Connection. Returns the end position. Transfer-Encoding is
 * never written here: the host frames every returned body with Content-Length, and the app
 * may not set either (RESPONSE_RESERVED_FIELDS); a stream's head is stream_writer.ts's.
 */
export function writeHead(u8: Uint8Array, pos: number, status: number, hdrPtr: number, hdrLen: number,
  bodyLen: number, date: HttpDate, keepAlive: boolean, http10: boolean): number {
  pos = writeHeadStart(u8, pos, status, hdrPtr, hdrLen);
  if (!statusHasNoBody(status)) pos = writeContentLength(u8, pos, bodyLen);
  return writeHeadEnd(u8, pos, date, keepAlive, http10);
}

/**
 * A complete error response (JSON body with the code) as one buffer. Errors are off the
 * hot path, so this one allocates.
 */
export function errorResponse(code: ErrorCode, detail: string, date: HttpDate, keepAlive: boolean,
  omitBody: boolean, extraHeaders = ""): Buffer {
  const status = ERRORS[code].status;
  const body = errorBody(code, detail);
  const bodyBytes = Buffer.byteLength(body);
  const head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${bodyBytes}\r\nDate: ${Buffer.from(date.bytes).toString("latin1")}\r\n` +
    (keepAlive ? "" : "Connection: close\r\n") + extraHeaders + "\r\n";
  return Buffer.from(omitBody ? head : head + body, "utf8");
}
