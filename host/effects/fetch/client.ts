// The HTTP client behind the app's `fetch` effect: HTTP/1.1 over node:net with a
// keep-alive pool per origin. The request head is built in the calling request's arena,
// the response is written straight into the same arena (head, then body, then the header
// table the app reads), so the app reads status, headers and body without any JS string
// and the host keeps no copy.
//
//   FetchOp (one per slot, reused)         OriginPool (one per host:port, ≤ FETCH_ORIGINS_MAX)
//   start ─► acquire ─► send ─► head ─► body ─► done      idle: [Upstream …] (LIFO)
//              │  no idle socket, pool full: wait (FIFO)  open ≤ FETCH_SOCKETS_PER_ORIGIN_MAX
//              └─ connect (FETCH_CONNECT_TIMEOUT_MS)
//
// Pools are bounded because the origin may come from the app's client (27,000 spellings of
// 127.0.0.1 once made 27,000 pools): a pool with no socket and no waiter is dropped, and a
// new origin past FETCH_ORIGINS_MAX evicts the least recently used pool that has no fetch
// in flight (closing its idle sockets), or fails with FetchError.Unavailable when all have.
//
// Every way it can fail ends as an EFFECT_* status plus a message in the arena; none
// throws into the app. A request whose client went away cancels its fetch: the socket is
// destroyed (it may be mid-response) and the app resumes with FetchError.Cancelled.
// A reused keep-alive socket the upstream closed just before our request went out is
// retried once on a fresh socket for idempotent methods (as undici does).

import net from "node:net";
import {
  BODY_HEADROOM_BYTES, EFFECT_BAD_ARGUMENT, EFFECT_BAD_URL, EFFECT_CANCELLED, EFFECT_DNS, EFFECT_NETWORK, EFFECT_OK,
  EFFECT_PROTOCOL, EFFECT_REFUSED, EFFECT_RESET, EFFECT_TIMEOUT, EFFECT_TOO_LARGE, EFFECT_UNAVAILABLE, FETCH_BODY_LEN, FETCH_BODY_PTR,
  FETCH_DESC_BYTES, FETCH_HEADERS_LEN, FETCH_HEADERS_PTR, FETCH_MAX_BYTES, FETCH_METHOD_LEN, FETCH_METHOD_PTR,
  FETCH_RES_BODY_LEN, FETCH_RES_BODY_PTR, FETCH_RES_ERROR_LEN, FETCH_RES_ERROR_PTR, FETCH_RES_HEADER_COUNT,
  FETCH_RES_HEADERS_PTR, FETCH_RES_STATUS, FETCH_TIMEOUT_MS, FETCH_URL_LEN, FETCH_URL_PTR, HEADER_ENTRY_BYTES,
} from "../../abi/constants.ts";
import { cachedView, type AppMemory } from "../../memory/app_memory.ts";
import { CHUNKED_DONE, CHUNKED_MORE, CHUNKED_TOO_LARGE, ChunkedDecoder } from "../../http/chunked.ts";
import { TCHAR } from "../../http/request_parser.ts";
import {
  FETCH_BODY_BYTES_MAX_DEFAULT, FETCH_CONNECT_TIMEOUT_MS, FETCH_HEAD_BYTES_MAX, FETCH_IDLE_TIMEOUT_MS, FETCH_ORIGINS_MAX,
  FETCH_SOCKETS_PER_ORIGIN_MAX, FETCH_TIMEOUT_MS_DEFAULT, URI_BYTES_MAX,
} from "../../limits.ts";
import { align16, regionCommit, regionEnd, regionTop } from "../../abi/region.ts";
import { writeHeaderTable } from "../../abi/header_table.ts";
import { checkAppHeaders } from "../../http/response_head.ts";
import { findResponseHeadEnd, HEAD_INVALID, parseResponseHead, ResponseHead } from "./response_parser.ts";
import type { PendingEffect, SlotContext } from "../../abi/slot_context.ts";
import { WaitQueue } from "../../memory/slots.ts";
import { copyBytes, READ_BUFFER_BYTES, ResponseWriter } from "../../http/socket_io.ts";
import { parseUpstreamUrl, UpstreamUrl } from "./upstream_url.ts";

export interface FetchOptions {
  /** Connections per upstream origin (FETCH_SOCKETS_PER_ORIGIN_MAX). */
  socketsPerOrigin?: number;
  /** Upstream origins with a pool at once (FETCH_ORIGINS_MAX). */
  originsMax?: number;
  /** Whole-fetch timeout when the app sets none (FETCH_TIMEOUT_MS_DEFAULT). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Largest response body when the app sets none (FETCH_BODY_BYTES_MAX_DEFAULT). */
  bodyBytesMax?: number;
  idleTimeoutMs?: number;
}

/** Fields an app may not set on an upstream request: the client owns framing and routing. */
const REQUEST_RESERVED_FIELDS = ["content-length", "transfer-encoding", "connection", "host", "te", "upgrade", "keep-alive", "trailer"] as const;

const encoder = new TextEncoder();
const HTTP11_HOST = encoder.encode(" HTTP/1.1\r\nHost: ");
const CONTENT_LENGTH = encoder.encode("Content-Length: ");

/** Whether u8[ptr, ptr + len) is the ASCII string `s`. */
function bytesAre(u8: Uint8Array, ptr: number, len: number, s: string): boolean {
  if (len !== s.length) return false;
  for (let i = 0; i < len; i++) if (u8[ptr + i] !== s.charCodeAt(i)) return false;
  return true;
}

function writeDecimal(u8: Uint8Array, pos: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  let p = pos + digits;
  let t = n;
  do {
    u8[--p] = 0x30 + (t % 10);
    t = Math.floor(t / 10);
  } while (t > 0);
  return pos + digits;
}

const PHASE_IDLE = 0;
const PHASE_WAIT = 1;
const PHASE_SEND = 2;
const PHASE_HEAD = 3;
const PHASE_BODY = 4;

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_UNTIL_CLOSE = 3;

/** Node's socket error codes, as the app sees them. */
function statusForError(err: NodeJS.ErrnoException | null): number {
  switch (err?.code) {
    case "ENOTFOUND": case "EAI_AGAIN": case "EAI_FAIL": case "EAI_NONAME": case "EAI_NODATA": return EFFECT_DNS;
    case "ECONNREFUSED": return EFFECT_REFUSED;
    case "ETIMEDOUT": return EFFECT_TIMEOUT;
    case "ECONNRESET": case "EPIPE": case undefined: return EFFECT_RESET;
    default: return EFFECT_NETWORK;
  }
}

class OriginPool {
  /** host:port, its key in the client's map. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** The Host header value, as bytes. */
  readonly authority: Uint8Array;
  readonly idle: Upstream[] = [];
  /** Sockets open or opening for this origin, idle ones included. */
  open = 0;
  readonly waiters: WaitQueue<FetchOp>;
  /** The client's use count when a fetch last chose this pool: eviction takes the lowest. */
  lastUsed = 0;
  /** Out of the client's map (empty or evicted): a slot's memo must not hand it out again. */
  dropped = false;

  constructor(key: string, host: string, port: number, authority: Uint8Array, slots: number) {
    this.key = key;
    this.host = host;
    this.port = port;
    this.authority = authority;
    this.waiters = new WaitQueue<FetchOp>(slots);
  }
}

/** One socket to an upstream. It serves one fetch at a time, then waits in its pool. */
class Upstream {
  readonly socket: net.Socket;
  readonly pool: OriginPool;
  readonly writer: ResponseWriter;
  op: FetchOp | null = null;
  connected = false;
  /** When it was pooled idle (the client's sweep closes it after FETCH_IDLE_TIMEOUT_MS). */
  idleSince = 0;
  /** Responses completed on this socket; a reused socket may have been closed under us. */
  served = 0;
  lastError: NodeJS.ErrnoException | null = null;

  constructor(pool: OriginPool, client: HttpClient) {
    this.pool = pool;
    // Reads land in the client's one shared buffer (net's public `onread` option): no
    // Buffer per chunk. The bytes are consumed before the callback returns.
    const socket = net.connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer: client.readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (this.op !== null) this.op.onData(buf, n);
          else socket.destroy(); // nothing was asked: an upstream talking out of turn is not reused
          return true;
        },
      },
    });
    this.socket = socket;
    this.writer = new ResponseWriter(socket, (err: boolean) => this.op?.written(err));
    socket.setTimeout(client.connectTimeoutMs);
    socket.on("connect", () => {
      this.connected = true;
      socket.setTimeout(0);
      this.op?.connected();
    });
    socket.on("timeout", () => {
      // Connect timeout (the idle timeout is the client's sweep).
      if (!this.connected) this.lastError = Object.assign(new Error(`could not connect within ${client.connectTimeoutMs} ms`), { code: "ETIMEDOUT" });
      socket.destroy();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.lastError = err;
    });
    socket.on("close", () => client.closed(this));
  }
}

/** One slot's fetch. Made once per slot and reused: a fetch allocates no state object. */
class FetchOp implements PendingEffect {
  readonly ctx: SlotContext;
  private readonly client: HttpClient;
  private readonly url = new UpstreamUrl();
  private readonly head = new ResponseHead();
  private readonly chunked = new ChunkedDecoder();
  private phase = PHASE_IDLE;
  private timer: NodeJS.Timeout | null = null;
  private readonly onTimeout = (): void => this.timedOut();
  /** One timer per slot, re-armed with refresh() for every fetch; when it fires for a fetch
   *  that already ended, it does nothing. */
  private timerMs = -1;
  /** The last URL's scheme://authority bytes and what they resolved to: a fetch to the same
   *  origin skips parsing the authority, making strings and the pool lookup. */
  private readonly lastPrefix = new Uint8Array(256);
  private lastPrefixLen = 0;
  private lastPool: OriginPool | null = null;
  /** Why resolveUrl found no pool: EFFECT_BAD_URL or EFFECT_UNAVAILABLE. */
  private noPoolStatus = EFFECT_BAD_URL;
  /** Views of the request head and body, reused when the layout repeats. */
  private readonly views: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  private conn: Upstream | null = null;
  private pool: OriginPool | null = null;
  private base = 0;
  private desc = 0;
  private idempotent = false;
  private expectBody = true;
  private reqStart = 0;
  private reqEnd = 0;
  private sendBodyPtr = 0;
  private sendBodyLen = 0;
  private writeDone = false;
  private retried = false;
  private timeoutMs = 0;
  private bodyMaxAsked = 0;
  /** Where the response is written: its head from recvStart, then the body. */
  private recvStart = 0;
  private recvLen = 0;
  private headEnd = 0;
  private bodyMode = BODY_NONE;
  private bodyStart = 0;
  private bodyLen = 0;
  private bodyMax = 0;
  private remaining = 0;
  private reusable = false;

  constructor(ctx: SlotContext, client: HttpClient) {
    this.ctx = ctx;
    this.client = client;
  }

  private get app(): AppMemory {
    return this.client.memory;
  }

  /** Starts the fetch described at `desc`; a number when it fails at once, else a promise. */
  start(desc: number): number | Promise<number> {
    const app = this.app;
    const dv = app.dv;
    const u8 = app.u8;
    const slot = this.ctx.slot;
    this.base = app.slotBase(slot);
    this.desc = desc;
    if (!app.validRange(slot, desc, FETCH_DESC_BYTES)) return EFFECT_BAD_ARGUMENT;
    dv.setUint32(desc + FETCH_RES_STATUS, 0, true);
    dv.setUint32(desc + FETCH_RES_HEADER_COUNT, 0, true);
    dv.setUint32(desc + FETCH_RES_BODY_LEN, 0, true);
    dv.setUint32(desc + FETCH_RES_ERROR_LEN, 0, true);
    const methodPtr = dv.getUint32(desc + FETCH_METHOD_PTR, true);
    const methodLen = dv.getUint32(desc + FETCH_METHOD_LEN, true);
    const urlPtr = dv.getUint32(desc + FETCH_URL_PTR, true);
    const urlLen = dv.getUint32(desc + FETCH_URL_LEN, true);
    const hdrPtr = dv.getUint32(desc + FETCH_HEADERS_PTR, true);
    const hdrLen = dv.getUint32(desc + FETCH_HEADERS_LEN, true);
    const bodyPtr = dv.getUint32(desc + FETCH_BODY_PTR, true);
    const bodyLen = dv.getUint32(desc + FETCH_BODY_LEN, true);
    if (!app.validRange(slot, methodPtr, methodLen) || !app.validRange(slot, urlPtr, urlLen) ||
        !app.validRange(slot, hdrPtr, hdrLen) || !app.validRange(slot, bodyPtr, bodyLen)) {
      return this.failNow(EFFECT_BAD_ARGUMENT, "fetch descriptor points outside the request's arena");
    }
    if (methodLen === 0 || methodLen > 32) return this.failNow(EFFECT_BAD_ARGUMENT, "the method must be 1 to 32 token characters");
    for (let i = methodPtr; i < methodPtr + methodLen; i++) {
      if (TCHAR[u8[i]] !== 1) return this.failNow(EFFECT_BAD_ARGUMENT, "the method must be 1 to 32 token characters");
    }
    const pool = this.resolveUrl(u8, urlPtr, urlLen);
    if (pool === null) return this.failNow(this.noPoolStatus, this.url.error);
    const badHeader = checkAppHeaders(u8, hdrPtr, hdrLen, REQUEST_RESERVED_FIELDS);
    if (badHeader !== null) return this.failNow(EFFECT_BAD_ARGUMENT, `request headers: ${badHeader}`);
    const isGet = bytesAre(u8, methodPtr, methodLen, "GET");
    const isHead = bytesAre(u8, methodPtr, methodLen, "HEAD");
    this.idempotent = isGet || isHead || bytesAre(u8, methodPtr, methodLen, "OPTIONS") ||
      bytesAre(u8, methodPtr, methodLen, "PUT") || bytesAre(u8, methodPtr, methodLen, "DELETE");
    this.expectBody = !isHead;
    this.timeoutMs = dv.getUint32(desc + FETCH_TIMEOUT_MS, true) || this.client.timeoutMs;
    this.bodyMaxAsked = dv.getUint32(desc + FETCH_MAX_BYTES, true) || this.client.bodyBytesMax;

    // The request head is written as bytes into the arena (committed: it must outlive the
    // write): method SP target SP "HTTP/1.1" CRLF Host CRLF app-headers [Content-Length] CRLF
    const url = this.url;
    const top = regionTop(dv, this.base);
    const end = regionEnd(dv, this.base);
    const withBody = bodyLen > 0 || bytesAre(u8, methodPtr, methodLen, "POST") || bytesAre(u8, methodPtr, methodLen, "PUT") ||
      bytesAre(u8, methodPtr, methodLen, "PATCH");
    const authority = pool.authority;
    const targetLen = url.targetEnd > url.targetStart ? url.targetEnd - url.targetStart : 1;
    const headLen = methodLen + 1 + targetLen + 1 + HTTP11_HOST.length + authority.length + 2 + hdrLen +
      (withBody ? CONTENT_LENGTH.length + 10 + 4 : 2);
    if (top + headLen > end) return this.failNow(EFFECT_TOO_LARGE, "the request head does not fit in the arena");
    let p = top;
    u8.copyWithin(p, methodPtr, methodPtr + methodLen);
    p += methodLen;
    u8[p++] = 0x20;
    if (url.targetEnd > url.targetStart) {
      u8.copyWithin(p, url.targetStart, url.targetEnd);
      // "?q" with no path: the origin-form target still starts with "/".
      if (u8[p] === 0x3f) {
        u8.copyWithin(p + 1, p, p + targetLen);
        u8[p] = 0x2f;
        p += 1;
      }
    } else {
      u8[p] = 0x2f;
    }
    p += targetLen;
    u8.set(HTTP11_HOST, p);
    p += HTTP11_HOST.length;
    u8.set(authority, p);
    p += authority.length;
    u8[p++] = 0x0d;
    u8[p++] = 0x0a;
    u8.copyWithin(p, hdrPtr, hdrPtr + hdrLen);
    p += hdrLen;
    if (withBody) {
      u8.set(CONTENT_LENGTH, p);
      p = writeDecimal(u8, p + CONTENT_LENGTH.length, bodyLen);
      u8[p++] = 0x0d;
      u8[p++] = 0x0a;
    }
    u8[p++] = 0x0d;
    u8[p++] = 0x0a;
    regionCommit(dv, this.base, p);
    this.reqStart = top;
    this.reqEnd = p;
    this.sendBodyPtr = bodyPtr;
    this.sendBodyLen = withBody ? bodyLen : 0;
    this.retried = false;

    const promise = this.ctx.wait(this);
    this.armTimer();
    this.pool = pool;
    this.acquire();
    return promise;
  }

  private armTimer(): void {
    const t = this.timer;
    if (t !== null && this.timerMs === this.timeoutMs) {
      t.refresh();
      return;
    }
    if (t !== null) clearTimeout(t);
    this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    this.timer.unref();
    this.timerMs = this.timeoutMs;
  }

  /**
   * The pool for the URL at u8[ptr, ptr + len), with `url.targetStart/End` set; null with
   * `url.error` and `noPoolStatus` when the URL is unusable or no pool can be made for its
   * origin. A URL to the same origin as this slot's last fetch only has its path
   * checked: no string, no map lookup, nothing allocated.
   */
  private resolveUrl(u8: Uint8Array, ptr: number, len: number): OriginPool | null {
    const url = this.url;
    const n = this.lastPrefixLen;
    const last = this.lastPrefix;
    if (n > 0 && len >= n && this.lastPool !== null && !this.lastPool.dropped) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (u8[ptr + i] !== last[i]) {
          same = false;
          break;
        }
      }
      const next = len === n ? 0x2f : u8[ptr + n];
      if (same && (next === 0x2f || next === 0x3f || next === 0x23)) {
        let ok = len <= URI_BYTES_MAX;
        let targetEnd = ptr + len;
        for (let i = ptr + n; i < ptr + len && ok; i++) {
          const c = u8[i];
          if (c <= 0x20 || c >= 0x7f) ok = false;
          else if (c === 0x23 && targetEnd === ptr + len) targetEnd = i;
        }
        if (ok) {
          url.targetStart = ptr + n;
          url.targetEnd = targetEnd;
          this.lastPool.lastUsed = ++this.client.uses;
          return this.lastPool;
        }
      }
    }
    if (!parseUpstreamUrl(u8, ptr, len, url)) {
      this.noPoolStatus = EFFECT_BAD_URL;
      return null;
    }
    const pool = this.client.pool(url.host, url.port, url.authority);
    if (pool === null) {
      this.noPoolStatus = EFFECT_UNAVAILABLE;
      url.error = `the HTTP client keeps pools for FETCH_ORIGINS_MAX (${this.client.originsMax}) upstream origins and each has a fetch in flight, so none can make room for ${url.origin}`;
      return null;
    }
    const prefix = url.targetStart - ptr;
    if (prefix <= last.length) {
      for (let i = 0; i < prefix; i++) last[i] = u8[ptr + i];
      this.lastPrefixLen = prefix;
      this.lastPool = pool;
    } else {
      this.lastPrefixLen = 0;
      this.lastPool = null;
    }
    return pool;
  }

  private acquire(): void {
    this.phase = PHASE_WAIT;
    const conn = this.client.take(this.pool!, this);
    if (conn !== null) this.assign(conn);
  }

  /** The pool gives this fetch a socket (open, or still connecting). */
  assign(conn: Upstream): void {
    this.conn = conn;
    conn.op = this;
    conn.lastError = null;
    this.phase = PHASE_SEND;
    if (conn.connected) this.send();
  }

  connected(): void {
    if (this.phase === PHASE_SEND) this.send();
  }

  private send(): void {
    const conn = this.conn!;
    const buffer = this.app.memory.buffer;
    this.recvStart = align16(this.reqEnd);
    this.recvLen = 0;
    this.head.resetScan();
    this.writeDone = false;
    this.phase = PHASE_HEAD;
    const head = cachedView(this.views, 0, buffer, this.reqStart, this.reqEnd - this.reqStart);
    conn.writer.write(head, this.sendBodyLen === 0 ? null : cachedView(this.views, 1, buffer, this.sendBodyPtr, this.sendBodyLen));
  }

  /** The request went out (or failed to: the socket's close handles that). */
  written(err: boolean): void {
    if (!err) this.writeDone = true;
  }

  /** `n` bytes from the upstream at buf[0, n); valid only during the call. */
  onData(buf: Uint8Array, n: number): void {
    if (this.phase === PHASE_HEAD) this.headData(buf, 0, n);
    else if (this.phase === PHASE_BODY) this.bodyData(buf, 0, n);
    else this.conn?.socket.destroy();
  }

  private headData(chunk: Uint8Array, off: number, chunkEnd: number): void {
    const u8 = this.app.u8;
    const limit = Math.min(FETCH_HEAD_BYTES_MAX, regionEnd(this.app.dv, this.base) - this.recvStart);
    const n = Math.min(chunkEnd - off, limit - this.recvLen);
    copyBytes(chunk, off, u8, this.recvStart + this.recvLen, n);
    this.recvLen += n;
    const start = this.recvStart;
    const head = this.head;
    const end = findResponseHeadEnd(u8, start, start + this.recvLen, head);
    if (end === HEAD_INVALID) {
      // Not HTTP/1.x, or broken so early that no complete head could follow: fail now
      // rather than wait for a head end that a non-HTTP peer may never send.
      this.fail(EFFECT_PROTOCOL, head.reason);
      return;
    }
    if (end < 0) {
      if (this.recvLen >= limit) {
        this.fail(limit < FETCH_HEAD_BYTES_MAX ? EFFECT_TOO_LARGE : EFFECT_PROTOCOL,
          limit < FETCH_HEAD_BYTES_MAX ? "the upstream's response head does not fit in the arena" : `the upstream's response head is over FETCH_HEAD_BYTES_MAX (${FETCH_HEAD_BYTES_MAX} bytes)`);
      }
      return;
    }
    if (!parseResponseHead(u8, start, end, head)) {
      this.fail(EFFECT_PROTOCOL, head.reason);
      return;
    }
    // Bytes after the head that were copied with it: they move (memmove) to where the body
    // goes, or through the scratch buffer when they must be decoded (chunked).
    const extraStart = end;
    const extraLen = start + this.recvLen - end;
    const rest = chunkEnd - off - n;
    if (head.status === 101) {
      // The client never asks for an upgrade (Upgrade is a reserved field), so what follows
      // is another protocol: waiting for a final HTTP response would last until the timeout.
      this.fail(EFFECT_PROTOCOL, "the upstream switched protocols (101) though the client asked for no upgrade");
      return;
    }
    if (head.status < 200) {
      // Interim response (100 Continue, 103 Early Hints): drop it and read on.
      this.recvLen = 0;
      head.resetScan();
      if (extraLen > 0) {
        const scratch = this.client.scratch;
        copyBytes(u8, extraStart, scratch, 0, extraLen);
        this.headData(scratch, 0, extraLen);
      }
      if (rest > 0 && this.phase === PHASE_HEAD) this.headData(chunk, off + n, chunkEnd);
      return;
    }
    this.headEnd = end;
    this.reusable = head.keepAlive;
    const status = head.status;
    const tableBytes = head.headerCount * HEADER_ENTRY_BYTES + 16;
    this.bodyStart = align16(end + BODY_HEADROOM_BYTES);
    this.bodyLen = 0;
    this.bodyMax = Math.max(0, Math.min(this.bodyMaxAsked, regionEnd(this.app.dv, this.base) - this.bodyStart - tableBytes));
    if (!this.expectBody || status === 204 || status === 304) {
      this.bodyMode = BODY_NONE;
    } else if (head.chunked) {
      this.bodyMode = BODY_CHUNKED;
      this.chunked.reset();
    } else if (head.contentLength >= 0) {
      this.bodyMode = BODY_LENGTH;
      this.remaining = head.contentLength;
      if (head.contentLength > this.bodyMax) {
        this.tooLarge(head.contentLength);
        return;
      }
    } else {
      this.bodyMode = BODY_UNTIL_CLOSE;
      this.reusable = false;
    }
    this.phase = PHASE_BODY;
    if (this.bodyMode === BODY_NONE || (this.bodyMode === BODY_LENGTH && this.remaining === 0)) {
      if (extraLen > 0 || rest > 0) this.reusable = false; // bytes past the response: out of step
      this.complete();
      return;
    }
    if (extraLen > 0) {
      if (this.bodyMode === BODY_CHUNKED) {
        const scratch = this.client.scratch;
        copyBytes(u8, extraStart, scratch, 0, extraLen);
        this.bodyData(scratch, 0, extraLen);
      } else {
        this.bodyData(u8, extraStart, extraStart + extraLen);
      }
    }
    if (rest > 0 && this.phase === PHASE_BODY) this.bodyData(chunk, off + n, chunkEnd);
  }

  private bodyData(src: Uint8Array, start: number, end: number): void {
    const u8 = this.app.u8;
    if (this.bodyMode === BODY_CHUNKED) {
      const dec = this.chunked;
      const r = dec.feed(src, start, end, u8, this.bodyStart, this.bodyMax);
      this.bodyLen = dec.length;
      if (r === CHUNKED_DONE) {
        if (dec.consumed < end) this.reusable = false;
        this.complete();
      } else if (r !== CHUNKED_MORE) {
        // The decoder refuses a chunk size past the room left before any of its data is
        // written, so the length decoded so far is below the limit: ask why, not how much.
        if (r === CHUNKED_TOO_LARGE) this.tooLarge(-1);
        else this.fail(EFFECT_PROTOCOL, `the upstream's chunked body is malformed: ${dec.reason}`);
      }
      return;
    }
    let take = end - start;
    if (this.bodyMode === BODY_LENGTH) {
      if (take > this.remaining) {
        take = this.remaining;
        this.reusable = false;
      }
    } else if (this.bodyLen + take > this.bodyMax) {
      this.tooLarge(-1);
      return;
    }
    if (src === u8) u8.copyWithin(this.bodyStart + this.bodyLen, start, start + take); // may overlap: memmove
    else copyBytes(src, start, u8, this.bodyStart + this.bodyLen, take);
    this.bodyLen += take;
    if (this.bodyMode === BODY_LENGTH) {
      this.remaining -= take;
      if (this.remaining === 0) this.complete();
    }
  }

  private tooLarge(declared: number): void {
    const limit = this.bodyMax;
    const asked = this.bodyMaxAsked;
    const why = limit < asked ? `what is free in the request's arena (${limit} bytes)` : `the fetch's body limit (${limit} bytes)`;
    this.fail(EFFECT_TOO_LARGE, declared >= 0
      ? `the upstream's body is ${declared} bytes, over ${why}`
      : `the upstream's body is over ${why}`);
  }

  /** The response is complete in the arena: write the header table and wake the app. */
  private complete(): void {
    const app = this.app;
    const dv = app.dv;
    const head = this.head;
    const desc = this.desc;
    const table = (this.bodyStart + this.bodyLen + 3) & ~3;
    writeHeaderTable(dv, table, 0, head.fields, head.headerCount);
    regionCommit(dv, this.base, table + head.headerCount * HEADER_ENTRY_BYTES);
    dv.setUint32(desc + FETCH_RES_STATUS, head.status, true);
    dv.setUint32(desc + FETCH_RES_HEADERS_PTR, table, true);
    dv.setUint32(desc + FETCH_RES_HEADER_COUNT, head.headerCount, true);
    dv.setUint32(desc + FETCH_RES_BODY_PTR, this.bodyStart, true);
    dv.setUint32(desc + FETCH_RES_BODY_LEN, this.bodyLen, true);
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      conn.op = null;
      conn.served++;
      this.client.release(conn, this.reusable && this.writeDone);
    }
    this.settle(EFFECT_OK);
  }

  /** The socket closed while this fetch was using it. */
  closed(conn: Upstream): void {
    this.conn = null;
    if (this.phase === PHASE_BODY && this.bodyMode === BODY_UNTIL_CLOSE) {
      this.complete();
      return;
    }
    const err = conn.lastError;
    const nothingReceived = this.phase === PHASE_SEND || (this.phase === PHASE_HEAD && this.recvLen === 0);
    if (conn.served > 0 && nothingReceived && this.idempotent && !this.retried && (err === null || err.code === "ECONNRESET" || err.code === "EPIPE")) {
      // The upstream closed an idle keep-alive socket as we reused it: try once more.
      this.retried = true;
      this.phase = PHASE_WAIT;
      this.client.connectFor(this.pool!, this);
      return;
    }
    const status = !conn.connected && err === null ? EFFECT_NETWORK : statusForError(err);
    const where = `${this.url.origin}`;
    let message: string;
    if (!conn.connected) {
      message = status === EFFECT_DNS ? `cannot resolve ${this.url.host} (${err?.code})`
        : status === EFFECT_REFUSED ? `connection refused by ${where}`
        : status === EFFECT_TIMEOUT ? `could not connect to ${where} within ${this.client.connectTimeoutMs} ms`
        : `cannot connect to ${where}${err ? ` (${err.code ?? err.message})` : ""}`;
    } else {
      message = this.phase === PHASE_BODY
        ? `${where} closed the connection after ${this.bodyLen} bytes of the body${err ? ` (${err.code ?? err.message})` : ""}`
        : `${where} closed the connection before a complete response head${err ? ` (${err.code ?? err.message})` : ""}`;
    }
    this.fail(status === EFFECT_TIMEOUT || status === EFFECT_DNS || status === EFFECT_REFUSED || status === EFFECT_NETWORK ? status : EFFECT_RESET, message);
  }

  private timedOut(): void {
    if (this.phase === PHASE_IDLE) return;
    const what = this.phase === PHASE_WAIT ? "waiting for a free connection" : this.phase === PHASE_SEND && !(this.conn?.connected ?? false)
      ? "connecting" : this.phase === PHASE_BODY ? `reading the body (${this.bodyLen} bytes so far)` : "waiting for the response head";
    this.fail(EFFECT_TIMEOUT, `no complete response from ${this.url.origin} within ${this.timeoutMs} ms (${what})`);
  }

  cancel(): void {
    this.fail(EFFECT_CANCELLED, "the client went away");
  }

  stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Ends the fetch with `status`: drops the socket (it may be mid-response), writes
   *  `message` into the arena if it fits, and wakes the app. */
  private fail(status: number, message: string): void {
    if (this.phase === PHASE_IDLE) return;
    if (this.phase === PHASE_WAIT && this.pool !== null) this.pool.waiters.remove(this);
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      conn.op = null;
      conn.socket.destroy();
    }
    if (status !== EFFECT_CANCELLED) this.writeError(message);
    this.settle(status);
  }

  /** A failure before anything was started: no promise, the app continues at once. */
  private failNow(status: number, message: string): number {
    this.writeError(message);
    return status;
  }

  private writeError(message: string): void {
    const dv = this.app.dv;
    const top = regionTop(dv, this.base);
    const room = regionEnd(dv, this.base) - top;
    const { written } = encoder.encodeInto(message, this.app.u8.subarray(top, top + Math.min(room, 1024)));
    regionCommit(dv, this.base, top + written);
    dv.setUint32(this.desc + FETCH_RES_ERROR_PTR, top, true);
    dv.setUint32(this.desc + FETCH_RES_ERROR_LEN, written, true);
  }

  private settle(status: number): void {
    // The timer stays armed: it does nothing for an ended fetch, and the next fetch re-arms it.
    this.phase = PHASE_IDLE;
    this.ctx.wake(this, status);
  }
}

export class HttpClient {
  /** The app's memory: requests' descriptors are read and responses written there. */
  readonly memory: AppMemory;
  readonly socketsPerOrigin: number;
  readonly originsMax: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly bodyBytesMax: number;
  readonly idleTimeoutMs: number;
  private readonly pools = new Map<string, OriginPool>();
  /** Counts fetches that chose a pool; OriginPool.lastUsed holds it (a number, not a time:
   *  stamping it costs no clock read and no allocation). */
  uses = 0;
  /** One fetch operation per slot, reused. */
  private readonly ops: FetchOp[];
  private closing = false;
  /** Where every upstream socket's reads land; consumed before the read callback returns. */
  readonly readBuffer = new Uint8Array(READ_BUFFER_BYTES);
  /** Bytes that must be decoded out of the arena (a chunked body read with its head). */
  readonly scratch = new Uint8Array(FETCH_HEAD_BYTES_MAX);
  private sweepTimer: NodeJS.Timeout | null = null;

  /** Needs no app instance: the memory and the per-slot contexts exist before it, so the
   *  client can be built (and tested) with no wasm module at all. */
  constructor(memory: AppMemory, contexts: readonly SlotContext[], options: FetchOptions = {}) {
    this.memory = memory;
    this.ops = contexts.map((ctx) => new FetchOp(ctx, this));
    this.socketsPerOrigin = options.socketsPerOrigin ?? FETCH_SOCKETS_PER_ORIGIN_MAX;
    this.originsMax = options.originsMax ?? FETCH_ORIGINS_MAX;
    if (!(this.originsMax >= 1)) throw new Error("assert: the HTTP client needs room for at least one origin");
    this.timeoutMs = options.timeoutMs ?? FETCH_TIMEOUT_MS_DEFAULT;
    this.connectTimeoutMs = options.connectTimeoutMs ?? FETCH_CONNECT_TIMEOUT_MS;
    this.bodyBytesMax = options.bodyBytesMax ?? FETCH_BODY_BYTES_MAX_DEFAULT;
    this.idleTimeoutMs = options.idleTimeoutMs ?? FETCH_IDLE_TIMEOUT_MS;
  }

  /** Starts the fetch of the request in `ctx`, described at `desc` in its arena. */
  fetch(ctx: SlotContext, desc: number): number | Promise<number> {
    return this.ops[ctx.slot].start(desc);
  }

  /** The pool for host:port, made when needed; null when there are originsMax pools and
   *  every one has a fetch in flight or waiting. Stamps the pool as just used. */
  pool(host: string, port: number, authority: string): OriginPool | null {
    const key = `${host}:${port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      if (this.pools.size >= this.originsMax && !this.evictOne()) return null;
      pool = new OriginPool(key, host, port, encoder.encode(authority), this.ops.length);
      this.pools.set(key, pool);
      this.startSweep();
    }
    pool.lastUsed = ++this.uses;
    return pool;
  }

  /** Drops the least recently used pool whose sockets are all idle and that nobody waits
   *  for, closing those sockets. False when every pool is busy. O(pools), only when a new
   *  origin arrives at the limit. */
  private evictOne(): boolean {
    let victim: OriginPool | null = null;
    for (const pool of this.pools.values()) {
      if (pool.open === pool.idle.length && pool.waiters.length === 0 && (victim === null || pool.lastUsed < victim.lastUsed)) victim = pool;
    }
    if (victim === null) return false;
    this.drop(victim);
    // Their close events find the pool dropped: they only fix its counts.
    for (const conn of victim.idle.splice(0)) conn.socket.destroy();
    return true;
  }

  private drop(pool: OriginPool): void {
    if (this.pools.get(pool.key) !== pool) throw new Error("assert: a pool is dropped once, while it is in the map");
    pool.dropped = true;
    this.pools.delete(pool.key);
  }

  /** Drops `pool` if nothing uses it: no socket (idle ones included) and no waiter. */
  private dropIfEmpty(pool: OriginPool): void {
    if (!pool.dropped && pool.open === 0 && pool.waiters.length === 0) this.drop(pool);
  }

  /** Pools and sockets kept (for tests and diagnostics). */
  stats(): { origins: number; sockets: number; idle: number } {
    let sockets = 0;
    let idle = 0;
    for (const pool of this.pools.values()) {
      sockets += pool.open;
      idle += pool.idle.length;
    }
    return { origins: this.pools.size, sockets, idle };
  }

  /** An idle socket, a new one, or null after queueing `op` (the pool is full). */
  take(pool: OriginPool, op: FetchOp): Upstream | null {
    if (pool.dropped) throw new Error("assert: a fetch took a socket from a dropped pool");
    while (pool.idle.length > 0) {
      const conn = pool.idle.pop()!;
      if (!conn.socket.destroyed) return conn;
    }
    if (pool.open < this.socketsPerOrigin) {
      pool.open++;
      return new Upstream(pool, this);
    }
    pool.waiters.push(op); // cannot overflow: one fetch per slot, capacity = slots
    return null;
  }

  /** A fresh socket for `op`, bypassing the idle list (the retry after a stale socket). */
  connectFor(pool: OriginPool, op: FetchOp): void {
    if (pool.dropped) throw new Error("assert: a fetch retried on a dropped pool");
    if (pool.open < this.socketsPerOrigin) {
      pool.open++;
      op.assign(new Upstream(pool, this));
    } else {
      pool.waiters.push(op);
    }
  }

  /** `conn` finished a response; reuse it for a waiter, pool it, or close it. */
  release(conn: Upstream, reusable: boolean): void {
    if (!reusable || this.closing) {
      conn.socket.destroy();
      return;
    }
    const next = conn.pool.waiters.shift();
    if (next !== null) {
      next.assign(conn);
      return;
    }
    conn.idleSince = performance.now();
    conn.pool.idle.push(conn);
  }

  private startSweep(): void {
    if (this.sweepTimer !== null || this.closing) return;
    // One timer for every idle socket of every origin, not one per socket; it runs while
    // any pool exists (a pool exists before its first socket is pooled).
    this.sweepTimer = setInterval(() => this.sweepIdle(), Math.max(250, this.idleTimeoutMs / 4));
    this.sweepTimer.unref();
  }

  private sweepIdle(): void {
    const limit = performance.now() - this.idleTimeoutMs;
    for (const pool of this.pools.values()) {
      // The idle list is LIFO: the oldest are first.
      while (pool.idle.length > 0 && pool.idle[0].idleSince < limit) pool.idle.shift()!.socket.destroy();
      // A pool that never got a socket (its fetch failed before connecting) goes here;
      // one whose sockets all closed went in closed().
      this.dropIfEmpty(pool);
    }
    if (this.pools.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** A socket closed (by either side): fix the counts, fail its fetch, serve a waiter. */
  closed(conn: Upstream): void {
    const pool = conn.pool;
    pool.open--;
    const i = pool.idle.indexOf(conn);
    if (i >= 0) pool.idle.splice(i, 1);
    const op = conn.op;
    conn.op = null;
    if (op !== null) op.closed(conn);
    if (pool.open < this.socketsPerOrigin && !this.closing) {
      const next = pool.waiters.shift();
      if (next !== null) {
        pool.open++;
        next.assign(new Upstream(pool, this));
      }
    }
    this.dropIfEmpty(pool);
  }

  /** Closes idle sockets now and every socket as soon as its fetch ends. */
  close(): void {
    this.closing = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const op of this.ops) op.stopTimer();
    for (const pool of this.pools.values()) {
      for (const conn of pool.idle.splice(0)) conn.socket.destroy();
    }
  }
}
