// Response compression: gzip and brotli (node:zlib) for a response body the client accepts
// compressed, done on the event loop as the response is sent (docs/performance.md,
// "Compression"). A body qualifies when it has a text-like Content-Type, is at least the
// server's minimum and at most COMPRESS_BODY_BYTES_MAX (a synchronous compression stalls the
// worker for its whole length), and the app did not encode it itself (Content-Encoding),
// cut it (Content-Range) or forbid it (Cache-Control: no-transform). Such a response gets
// `Vary: Accept-Encoding` whether or not this client accepted a coding, since another
// client's answer differs.
//
// Nothing is allocated per response: the compressed bytes and the rewritten header lines
// go into the request's own arena, past what the app allocated (the app has returned and
// the slot stays held until the write completes), and the response is written from there
// like any other. Each server keeps one gzip and one brotli engine and drives its native
// handle directly (the `_handle.writeSync` that zlib's own sync functions use), because
// zlib.gzipSync makes a stream, its native state and output buffers for every call; where
// that handle is not there, the public functions are used and their result copied.

import { HEADER_ENTRY_BYTES, REGION_HEADER_BYTES, REGION_PTR, REQ_DESC_BYTES } from "../abi/constants.ts";
import { COMPRESS_BODY_BYTES_MAX, RESPONSE_HEAD_BYTES_MAX } from "../limits.ts";
import { HOST_HEAD_BYTES_MAX, statusHasNoBody } from "./response_head.ts";
import { HTAB, item, listItem, lower, nameIs, SP, tokenEnd } from "./syntax.ts";
import { ZlibEngine } from "./zlib_engine.ts";

/** The codings, as chooseEncoding returns them. */
export const ENC_IDENTITY = 0;
export const ENC_GZIP = 1;
export const ENC_BR = 2;

/** gzip level and brotli quality: picked for speed on the request path, measured with
 *  bench/compress.ts (docs/performance.md, "Compression"). */
export const GZIP_LEVEL = 5;
export const BROTLI_QUALITY = 4;

/** Header bytes compression may add: `Content-Encoding: gzip`, `Vary: Accept-Encoding`
 *  (or `, Accept-Encoding` on the app's Vary) and `W/` on a strong ETag. */
const HEAD_EXTRA_BYTES = 64;

const encoder = new TextEncoder();
const CE_GZIP = encoder.encode("Content-Encoding: gzip\r\n");
const CE_BR = encoder.encode("Content-Encoding: br\r\n");
const VARY_LINE = encoder.encode("Vary: Accept-Encoding\r\n");
const VARY_MORE = encoder.encode(", Accept-Encoding");
const WEAK = encoder.encode("W/");
const EMPTY = new Uint8Array(0);

/** The request head as the connection keeps it: field offsets relative to its first byte. */
export interface HeadFields {
  readonly headerCount: number;
  readonly fields: ArrayLike<number>;
}

/** What compression needs of the request bridge (host/abi/request_bridge.ts). */
export interface CompressionBridge {
  readonly u8: Uint8Array;
  /** The request descriptor of `slot`: after the region header, before the header table. */
  descriptor(slot: number): number;
  /** Where the arena of `slot` ends (its response head reserve starts). */
  headReserve(slot: number): number;
}

/** Where `slot`'s copy of the request head starts: after its descriptor and header table
 *  (RequestBridge.openRequest lays them out so). */
function headCopy(bridge: CompressionBridge, slot: number, headerCount: number): number {
  return bridge.descriptor(slot) + REQ_DESC_BYTES + headerCount * HEADER_ENTRY_BYTES;
}

/** The first byte of `slot`'s arena the app has not allocated: its region's bump pointer
 *  (REGION_PTR, little-endian), or the arena's end when the app left it out of range. */
function arenaTop(bridge: CompressionBridge, slot: number): number {
  const u8 = bridge.u8;
  const at = bridge.descriptor(slot) - REGION_HEADER_BYTES + REGION_PTR;
  const top = (u8[at] | (u8[at + 1] << 8) | (u8[at + 2] << 16) | (u8[at + 3] << 24)) >>> 0;
  const end = bridge.headReserve(slot);
  return top < at || top > end ? end : top;
}

/** The response as read from the app (ResponseFields): rewritten in place when compressed. */
export interface ResponseRanges {
  status: number;
  headersPtr: number;
  headersLen: number;
  bodyPtr: number;
  bodyLen: number;
}

/** A thousandth-based q-value: 1000 is q=1. */
const Q_ONE = 1000;

/** The weight of the list element whose parameters start at `p` in buf[p, end): its q in
 *  thousandths, Q_ONE without one, 0 (refused) when the parameters are malformed. */
function weight(buf: Uint8Array, p: number, end: number): number {
  let q = Q_ONE;
  while (p < end) {
    if (buf[p] === SP || buf[p] === HTAB) {
      p++;
      continue;
    }
    if (buf[p] !== 0x3b) return 0; // not ';'
    p++;
    while (p < end && (buf[p] === SP || buf[p] === HTAB)) p++;
    if (p + 1 < end && lower(buf[p]) === 0x71 && buf[p + 1] === 0x3d) { // q=
      p += 2;
      const d = p < end ? buf[p] - 0x30 : -1;
      if (d !== 0 && d !== 1) return 0;
      q = d * Q_ONE;
      p++;
      if (p < end && buf[p] === 0x2e) {
        p++;
        for (let scale = 100; p < end && buf[p] >= 0x30 && buf[p] <= 0x39; scale /= 10, p++) {
          if (scale < 1) return 0; // a fourth decimal
          q += (buf[p] - 0x30) * scale;
        }
      }
      if (q > Q_ONE) return 0;
    } else {
      while (p < end && buf[p] !== 0x3b) p++; // another parameter: not ours
    }
  }
  return q;
}

/** What readAcceptEncoding found: the q (in thousandths) each coding gets, by ENC_*. */
export const ACCEPT_Q = new Int32Array(3);

/**
 * Reads the Accept-Encoding fields of a request head whose bytes start at `base` in `buf`
 * (RFC 9110 §12.5.3) into ACCEPT_Q: each coding's q, `*` standing for every coding not
 * listed (identity too), a coding listed twice keeping its lowest q, identity acceptable
 * unless refused. False when the request has no Accept-Encoding field (then only identity).
 */
export function readAcceptEncoding(buf: Uint8Array, base: number, head: HeadFields): boolean {
  let br = -1, gzip = -1, identity = -1, star = -1;
  let seen = false;
  const f = head.fields;
  for (let k = 0; k < head.headerCount; k++) {
    const n = k * 4;
    if (f[n + 1] - f[n] !== 15 || !nameIs(buf, base + f[n], base + f[n + 1], "accept-encoding")) continue;
    seen = true;
    const end = base + f[n + 3];
    let p = base + f[n + 2];
    while (p <= end) {
      p = listItem(buf, p, end);
      const a = item[0];
      const b = item[1];
      const codingEnd = a < b && buf[a] === 0x2a ? a + 1 : tokenEnd(buf, a, b);
      if (codingEnd === a) continue;
      const q = weight(buf, codingEnd, b);
      // A coding listed twice keeps its lowest weight: a refusal anywhere stands.
      if (nameIs(buf, a, codingEnd, "br")) br = br < 0 ? q : Math.min(br, q);
      else if (nameIs(buf, a, codingEnd, "gzip") || nameIs(buf, a, codingEnd, "x-gzip")) gzip = gzip < 0 ? q : Math.min(gzip, q);
      else if (nameIs(buf, a, codingEnd, "identity")) identity = identity < 0 ? q : Math.min(identity, q);
      else if (codingEnd === a + 1 && buf[a] === 0x2a) star = star < 0 ? q : Math.min(star, q);
    }
  }
  ACCEPT_Q[ENC_BR] = br >= 0 ? br : Math.max(star, 0);
  ACCEPT_Q[ENC_GZIP] = gzip >= 0 ? gzip : Math.max(star, 0);
  ACCEPT_Q[ENC_IDENTITY] = identity >= 0 ? identity : Math.max(star, 0);
  return seen;
}

/**
 * The coding to answer with, from the Accept-Encoding fields of a request head whose bytes
 * start at `base` in `buf` (readAcceptEncoding): the acceptable coding with the highest q,
 * gzip before brotli at equal q (at the levels chosen here brotli is no smaller on real
 * pages and costs more CPU: docs/performance.md, "Compression"), q=0 refusing. Identity
 * wins only with a higher q than both, given to it or to `*`; with no Accept-Encoding field
 * (or an empty one) it is identity: clients that decode say so.
 */
export function chooseEncoding(buf: Uint8Array, base: number, head: HeadFields): number {
  if (!readAcceptEncoding(buf, base, head)) return ENC_IDENTITY;
  const qBr = ACCEPT_Q[ENC_BR];
  const qGzip = ACCEPT_Q[ENC_GZIP];
  // Identity is acceptable unless refused, but only a q the client gave it can beat a coding.
  const best = Math.max(qBr, qGzip);
  if (best === 0 || ACCEPT_Q[ENC_IDENTITY] > best) return ENC_IDENTITY;
  return qGzip >= qBr ? ENC_GZIP : ENC_BR;
}

/** Whether the media type in buf[p, end) (a Content-Type value) is worth compressing:
 *  text/*, JSON, JavaScript, XML and the +json / +xml types (SVG among them). */
export function compressibleType(buf: Uint8Array, p: number, end: number): boolean {
  const typeEnd = tokenEnd(buf, p, end);
  if (typeEnd === end || buf[typeEnd] !== 0x2f) return false;
  const sub = typeEnd + 1;
  const subEnd = tokenEnd(buf, sub, end);
  if (nameIs(buf, p, typeEnd, "text")) return true;
  if (subEnd - sub > 5 && (nameIs(buf, subEnd - 5, subEnd, "+json"))) return true;
  if (subEnd - sub > 4 && (nameIs(buf, subEnd - 4, subEnd, "+xml"))) return true;
  if (!nameIs(buf, p, typeEnd, "application")) return false;
  return nameIs(buf, sub, subEnd, "json") || nameIs(buf, sub, subEnd, "javascript") || nameIs(buf, sub, subEnd, "xml") ||
    nameIs(buf, sub, subEnd, "x-javascript") || nameIs(buf, sub, subEnd, "ecmascript");
}

/** Whether the comma-separated list in buf[p, end) holds the token `name` (case-insensitive). */
function listHas(buf: Uint8Array, p: number, end: number, name: string): boolean {
  while (p <= end) {
    p = listItem(buf, p, end);
    if (nameIs(buf, item[0], item[1], name)) return true;
  }
  return false;
}

/**
 * Compresses responses for one server (one worker): its gzip and brotli engines, and what
 * the scan of the current response's header lines found. One per server, used for one
 * response at a time (compression is synchronous).
 */
export class ResponseCompression {
  /** Bodies shorter than this are sent as they are (--compress-min-bytes). */
  readonly minBytes: number;
  readonly gzip: ZlibEngine;
  readonly br: ZlibEngine;
  /** The app's first Vary line that needs Accept-Encoding added: where its value ends, or -1. */
  private varyEnd = -1;
  /** The app's Vary already covers Accept-Encoding (it lists it, or `*`). */
  private varyDone = false;
  /** Where the app's strong ETag value starts (its opening quote), or -1. */
  private etagAt = -1;
  /** rewrite()'s write position and the next app byte it copies. */
  private w = 0;
  private from = 0;

  constructor(minBytes: number, usePublic = false) {
    this.minBytes = minBytes;
    this.gzip = new ZlibEngine("gzip", GZIP_LEVEL, usePublic);
    this.br = new ZlibEngine("br", BROTLI_QUALITY, usePublic);
  }

  /**
   * Called with the response of `slot` once the app returned and its header lines were
   * checked: when the response qualifies, its header lines get Vary (and, compressed,
   * Content-Encoding and a weak ETag) and, when the request accepts gzip or br and the
   * compressed body fits past what the app allocated, its body is replaced by that. `r`'s
   * ranges are rewritten to point at the new bytes, all in the slot's arena.
   */
  apply(bridge: CompressionBridge, slot: number, head: HeadFields, r: ResponseRanges): void {
    const len = r.bodyLen;
    if (len < this.minBytes || len > COMPRESS_BODY_BYTES_MAX || statusHasNoBody(r.status) || r.status === 206) return;
    if (r.headersLen + HEAD_EXTRA_BYTES + HOST_HEAD_BYTES_MAX > RESPONSE_HEAD_BYTES_MAX) return;
    const u8 = bridge.u8;
    if (!this.scan(u8, r.headersPtr, r.headersLen)) return;
    const enc = chooseEncoding(u8, headCopy(bridge, slot, head.headerCount), head);
    if (enc === ENC_IDENTITY && this.varyDone) return;
    // Past what the app allocated, its body and its header lines: the rewritten lines,
    // then the compressed body (a lying bump pointer only spoils the app's own response).
    const at = Math.max(arenaTop(bridge, slot), r.bodyPtr + len, r.headersPtr + r.headersLen);
    const bodyAt = at + r.headersLen + HEAD_EXTRA_BYTES;
    const end = bridge.headReserve(slot);
    if (bodyAt >= end) return;
    let n = -1;
    if (enc !== ENC_IDENTITY) {
      const engine = enc === ENC_BR ? this.br : this.gzip;
      n = engine.compress(u8, r.bodyPtr, len, u8, bodyAt, Math.min(end - bodyAt, len));
    }
    r.headersLen = this.rewrite(u8, r.headersPtr, r.headersLen, at, n < 0 ? ENC_IDENTITY : enc);
    r.headersPtr = at;
    if (n >= 0) {
      r.bodyPtr = bodyAt;
      r.bodyLen = n;
    }
  }

  /** Reads the app's header lines u8[p, p + len) (checked by checkAppHeaders): whether the
   *  response qualifies, and where its Vary and ETag lines are. */
  private scan(u8: Uint8Array, p: number, len: number): boolean {
    const end = p + len;
    let type = false;
    let typeSeen = false;
    this.varyEnd = -1;
    this.varyDone = false;
    this.etagAt = -1;
    while (p < end) {
      const name = p;
      const nameEnd = tokenEnd(u8, p, end);
      let lineEnd = nameEnd + 1;
      while (lineEnd < end && u8[lineEnd] !== 0x0d) lineEnd++;
      let v = nameEnd + 1;
      while (v < lineEnd && (u8[v] === SP || u8[v] === HTAB)) v++;
      let ve = lineEnd;
      while (ve > v && (u8[ve - 1] === SP || u8[ve - 1] === HTAB)) ve--;
      p = lineEnd + 2;
      const n = nameEnd - name;
      if (n === 12 && !typeSeen && nameIs(u8, name, nameEnd, "content-type")) {
        typeSeen = true;
        type = compressibleType(u8, v, ve);
      } else if (n === 16 && nameIs(u8, name, nameEnd, "content-encoding")) {
        return false; // the app encoded it itself
      } else if (n === 13 && (nameIs(u8, name, nameEnd, "content-range") ||
        (nameIs(u8, name, nameEnd, "cache-control") && listHas(u8, v, ve, "no-transform")))) {
        return false;
      } else if (n === 4 && nameIs(u8, name, nameEnd, "vary")) {
        if (listHas(u8, v, ve, "*") || listHas(u8, v, ve, "accept-encoding")) this.varyDone = true;
        else if (this.varyEnd < 0) this.varyEnd = ve;
      } else if (n === 4 && this.etagAt < 0 && nameIs(u8, name, nameEnd, "etag") && u8[v] === 0x22) {
        this.etagAt = v;
      }
    }
    return type;
  }

  /** Writes the app's header lines u8[p, p + len) at `at` with Accept-Encoding in Vary and,
   *  for a coding other than identity, `W/` before a strong ETag and Content-Encoding.
   *  Returns the length written (at most len + HEAD_EXTRA_BYTES). */
  private rewrite(u8: Uint8Array, p: number, len: number, at: number, enc: number): number {
    const vary = this.varyDone ? -1 : this.varyEnd;
    const etag = enc === ENC_IDENTITY ? -1 : this.etagAt;
    this.w = at;
    this.from = p;
    if (vary >= 0 && (etag < 0 || vary < etag)) this.put(u8, vary, VARY_MORE);
    if (etag >= 0) this.put(u8, etag, WEAK);
    if (vary >= 0 && etag >= 0 && vary > etag) this.put(u8, vary, VARY_MORE);
    this.put(u8, p + len, this.varyDone || vary >= 0 ? EMPTY : VARY_LINE);
    if (enc !== ENC_IDENTITY) this.put(u8, p + len, enc === ENC_BR ? CE_BR : CE_GZIP);
    return this.w - at;
  }

  /** rewrite(): copies the app's bytes up to `pos`, then `bytes`. */
  private put(u8: Uint8Array, pos: number, bytes: Uint8Array): void {
    u8.copyWithin(this.w, this.from, pos);
    this.w += pos - this.from;
    u8.set(bytes, this.w);
    this.w += bytes.length;
    this.from = pos;
  }

  /** Frees the engines' native state. */
  close(): void {
    this.gzip.close();
    this.br.close();
  }
}
