// Answers a request for a static file (--static) without the app: the connection asks
// `find` once a head is parsed, and a path that names a loaded file is answered here, ahead
// of the app (static first, the app for every other path: what express.static and Hono's
// serveStatic do when mounted first). GET and HEAD get the file; any other method 405 with
// Allow. The variant follows the client's Accept-Encoding (brotli before gzip at equal q:
// the files were compressed once at the best level, so the smaller one costs nothing
// more), identity unless a coding has a higher q; If-None-Match holding the variant's ETag
// (or *) gets 304 without a body. Nothing is allocated per response: the header lines
// were encoded at load, the head is written into a buffer the connection keeps, and the
// body is a view over the device region's shared bytes made at load.

import { assert } from "../assert.ts";
import { ACCEPT_Q, ENC_BR, ENC_GZIP, ENC_IDENTITY, readAcceptEncoding } from "./compress.ts";
import type { HttpDate } from "./date.ts";
import type { RequestHead } from "./request_parser.ts";
import { HOST_HEAD_BYTES_MAX, writeHeadEnd, writeHeadStart } from "./response_head.ts";
import { HTAB, nameIs, SP, writeContentLength } from "./syntax.ts";
import type { StaticFile, StaticFiles, StaticVariant } from "../memory/static_files.ts";

/** Bytes of the buffer a connection writes a static response's head into: the host's own
 *  lines and the longest header lines a variant has (Content-Type, ETag, Cache-Control,
 *  Content-Encoding, Vary: about 200 bytes). */
export const STATIC_HEAD_BYTES = 512;

/** Whether the request's method is GET or HEAD (RequestHead.isHead says which). */
function getOrHead(buf: Uint8Array, head: RequestHead): boolean {
  if (head.isHead) return true;
  return head.methodEnd === 3 && buf[0] === 0x47 && buf[1] === 0x45 && buf[2] === 0x54;
}

/** Whether the If-None-Match value buf[p, end) lists `etag` (weak comparison, RFC 9110
 *  §13.1.2: a W/ prefix is ignored) or is `*`. */
function listsEtag(buf: Uint8Array, p: number, end: number, etag: Uint8Array): boolean {
  while (p < end) {
    while (p < end && (buf[p] === SP || buf[p] === HTAB || buf[p] === 0x2c)) p++;
    if (p < end && buf[p] === 0x2a) return true;
    if (p + 1 < end && buf[p] === 0x57 && buf[p + 1] === 0x2f) p += 2; // W/
    const start = p;
    if (p < end && buf[p] === 0x22) {
      p++;
      while (p < end && buf[p] !== 0x22) p++;
      p++;
    }
    if (p - start === etag.length) {
      let same = true;
      for (let i = 0; i < etag.length && same; i++) same = buf[start + i] === etag[i];
      if (same) return true;
    }
    while (p < end && buf[p] !== 0x2c) p++;
  }
  return false;
}

/** Whether the request's If-None-Match fields list `etag`. */
function notModified(buf: Uint8Array, head: RequestHead, etag: Uint8Array): boolean {
  const f = head.fields;
  for (let k = 0; k < head.headerCount; k++) {
    const n = k * 4;
    if (f[n + 1] - f[n] === 13 && nameIs(buf, f[n], f[n + 1], "if-none-match") && listsEtag(buf, f[n + 2], f[n + 3], etag)) return true;
  }
  return false;
}

/** The variant of `file` the request accepts best. */
function variantFor(buf: Uint8Array, head: RequestHead, file: StaticFile): StaticVariant {
  if ((file.br === null && file.gzip === null) || !readAcceptEncoding(buf, 0, head)) return file.identity;
  const qBr = file.br === null ? 0 : ACCEPT_Q[ENC_BR];
  const qGzip = file.gzip === null ? 0 : ACCEPT_Q[ENC_GZIP];
  const best = Math.max(qBr, qGzip);
  if (best === 0 || ACCEPT_Q[ENC_IDENTITY] > best) return file.identity;
  return qBr >= qGzip ? file.br! : file.gzip!;
}

/** The static files of a server and the answer to the request being served. */
export class StaticResponder {
  readonly files: StaticFiles;
  /** What `answer` decided: the status, and the body to send after the head (null for
   *  none: a 304 or a HEAD). */
  status = 0;
  body: Uint8Array | null = null;

  constructor(files: StaticFiles) {
    this.files = files;
  }

  /** The file the request's path names (its head in buf from 0), or null: the app's. */
  find(buf: Uint8Array, head: RequestHead): StaticFile | null {
    return this.files.find(buf, head.pathStart, head.pathEnd);
  }

  /** Whether the request may have the file (GET or HEAD); otherwise it is a 405. */
  allowed(buf: Uint8Array, head: RequestHead): boolean {
    return getOrHead(buf, head);
  }

  /** Writes the head of the answer to a GET or HEAD for `file` into `out` from 0 and
   *  returns its length; `status` and `body` say the rest. */
  answer(buf: Uint8Array, head: RequestHead, file: StaticFile, out: Uint8Array, date: HttpDate, keepAlive: boolean): number {
    const v = variantFor(buf, head, file);
    const fresh = notModified(buf, head, v.etag);
    this.status = fresh ? 304 : 200;
    this.body = fresh || head.isHead || v.body.length === 0 ? null : v.body;
    const lines = fresh ? v.head304 : v.head200;
    assert(lines.length + HOST_HEAD_BYTES_MAX <= out.length, "a static file's header lines fit STATIC_HEAD_BYTES");
    out.set(lines, STATIC_HEAD_BYTES - lines.length); // writeHeadStart copies within `out`
    let pos = writeHeadStart(out, 0, this.status, STATIC_HEAD_BYTES - lines.length, lines.length);
    if (!fresh) pos = writeContentLength(out, pos, v.body.length);
    return writeHeadEnd(out, pos, date, keepAlive, head.versionMinor === 0);
  }
}
