// The connection's use of the HTTP parser and chunked decoder, simulated without sockets,
// with the invariants every result must satisfy. Shared by the property tests
// (tests/http_parser_properties.test.ts) and the mutation fuzzer (tests/fuzz/http_fuzz.ts).

import { checkIncomplete, HEAD_INCOMPLETE, parseHead, RequestHead, skipEmptyLines } from "../../host/http/request_parser.ts";
import { findHeadEnd } from "../../host/http/syntax.ts";
import { CHUNKED_MORE, ChunkedDecoder } from "../../host/http/chunked.ts";
import { HEADER_BYTES_MAX, HEADER_COUNT_MAX } from "../../host/limits.ts";

export const HEAD_RESULTS = new Set([0, -1, -2, -3, -4, -5, -6, -7, -8]);

export interface HeadOutcome {
  r: number;
  reason: string;
  head: RequestHead;
  buf: Uint8Array;
}

/** Feeds `bytes` cut at `cuts` the way Connection.readHead (host/http/connection.ts) does: a
 *  HEADER_BYTES_MAX buffer, leading CRLFs skipped while it is empty, incremental
 *  findHeadEnd and checkIncomplete from scanFrom while no end, then parseHead. */
export function feedHead(bytes: Uint8Array, cuts: number[], bodyMax: number): HeadOutcome {
  const inbuf = new Uint8Array(HEADER_BYTES_MAX);
  const head = new RequestHead();
  let inLen = 0;
  let scanFrom = 0;
  const bounds = [...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length].sort((a, b) => a - b);
  let from = 0;
  for (const to of bounds) {
    let off = from;
    from = to;
    if (to === off) continue;
    while (inLen === 0 && to - off >= 2 && bytes[off] === 0x0d && bytes[off + 1] === 0x0a) off += 2;
    for (;;) {
      const n = Math.min(to - off, HEADER_BYTES_MAX - inLen);
      inbuf.set(bytes.subarray(off, off + n), inLen);
      inLen += n;
      off += n;
      const kept = skipEmptyLines(inbuf, inLen);
      if (kept !== inLen) {
        inLen = kept;
        scanFrom = 0;
      }
      if (inLen === 0) break;
      const end = findHeadEnd(inbuf, scanFrom, inLen);
      if (end >= 0) {
        const r = parseHead(inbuf, end, head, bodyMax);
        return { r, reason: head.reason, head, buf: inbuf };
      }
      const r = checkIncomplete(inbuf, inLen, head, scanFrom);
      if (r !== HEAD_INCOMPLETE) return { r, reason: head.reason, head, buf: inbuf };
      scanFrom = Math.max(0, inLen - 3);
      if (off >= to) break;
    }
  }
  return { r: HEAD_INCOMPLETE, reason: "", head, buf: inbuf };
}

/** Throws unless every offset a parse reports lies inside the head, in order. */
export function checkHeadBounds(o: HeadOutcome, bodyMax: number): void {
  const fail = (what: string): never => { throw new Error(`head invariant: ${what} (r=${o.r} ${o.reason})`); };
  if (!(HEAD_RESULTS.has(o.r) || o.r > 0)) fail(`result ${o.r}`);
  if (o.r < 0 && o.reason.length === 0) fail("an error without a reason");
  if (o.r <= 0) return;
  const h = o.head;
  if (h.headEnd !== o.r || o.r > HEADER_BYTES_MAX) fail("headEnd");
  if (!(h.methodEnd > 0 && h.methodEnd < h.targetStart)) fail("method bounds");
  if (!(h.targetStart <= h.pathStart && h.pathStart <= h.pathEnd && h.pathEnd <= h.targetEnd && h.targetEnd < o.r)) fail("target bounds");
  if (!(h.headerCount >= 0 && h.headerCount <= HEADER_COUNT_MAX)) fail("headerCount");
  for (let k = 0; k < h.headerCount; k++) {
    const ns = h.fields[k * 4], ne = h.fields[k * 4 + 1], vs = h.fields[k * 4 + 2], ve = h.fields[k * 4 + 3];
    if (!(h.targetEnd < ns && ns < ne && ne < vs + 1 && vs <= ve && ve <= o.r - 4)) fail(`field ${k} bounds`);
  }
  if (!(Number.isInteger(h.contentLength) && h.contentLength >= -1 && h.contentLength <= bodyMax)) fail("contentLength");
  if (h.chunked && h.contentLength >= 0) fail("both framings");
}

/** Whether a LF not preceded by CR occurs in b[0, end). */
export function hasBareLF(b: Uint8Array, end = b.length): boolean {
  for (let i = 0; i < end; i++) if (b[i] === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) return true;
  return false;
}

/**
 * Whether two feeds of the same bytes must agree exactly. One exception: a head with a bare
 * LF, which checkIncomplete refuses
 * as soon as it arrives, so a split head may fail with "bare LF" where the whole one fails
 * for what parseHead meets first. In that case both must still refuse.
 */
export function splitMustAgree(bytes: Uint8Array, a: HeadOutcome, b: HeadOutcome): "exact" | "both-refuse" | "skip" {
  if (a.r > 0 || b.r > 0) return "exact";
  // The head starts after the empty lines the connection skips.
  let k = 0;
  while (k + 1 < bytes.length && bytes[k] === 0x0d && bytes[k + 1] === 0x0a) k += 2;
  const head = bytes.subarray(k);
  const end = findHeadEnd(head, 0, head.length);
  return hasBareLF(head, end < 0 ? head.length : end) ? "both-refuse" : "exact";
}

export interface Decoded { r: number; body: Uint8Array; consumed: number; reason: string }

/** Feeds src cut at `cuts` to a fresh ChunkedDecoder, checking consumed/length bounds. */
export function decodeChunked(src: Uint8Array, cuts: number[], max: number): Decoded {
  const dec = new ChunkedDecoder();
  const dst = new Uint8Array(Math.min(max, src.length) + 16);
  const bounds = [...cuts.filter((c) => c > 0 && c < src.length), src.length].sort((a, b) => a - b);
  let from = 0;
  let r = CHUNKED_MORE;
  for (const to of bounds) {
    if (to === from) continue;
    r = dec.feed(src, from, to, dst, 0, max);
    if (!(dec.consumed >= from && dec.consumed <= to)) throw new Error(`decoder invariant: consumed ${dec.consumed} outside [${from}, ${to}]`);
    if (!(dec.length >= 0 && dec.length <= max && dec.length <= src.length)) throw new Error(`decoder invariant: length ${dec.length}`);
    if (r < -2 || r > 1) throw new Error(`decoder invariant: result ${r}`);
    from = to;
    if (r !== CHUNKED_MORE) break;
  }
  return { r, body: dst.slice(0, dec.length), consumed: dec.consumed, reason: dec.reason };
}
