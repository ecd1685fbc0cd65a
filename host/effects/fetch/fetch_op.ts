// One slot's fetch, as a state machine. The request head is written into the calling
// request's arena, and the response straight into the same arena (head, then body, then
// the header table the app reads), so the app reads status, headers and body without any
// JS string and the host keeps no copy.
//
//   IDLE ─► WAIT ─► SEND ─► HEAD ─► BODY ─► IDLE (settled: the app resumes)
//            │ no idle socket, pool full: queued (FIFO)
//            └ connecting (FETCH_CONNECT_TIMEOUT_MS)
//
// Every way it can fail ends as an EFFECT_* status plus a message in the arena; none
// throws into the app. A request whose client went away cancels its fetch: the socket is
// destroyed (it may be mid-response) and the app resumes with FetchError.Cancelled.
// A reused keep-alive socket the upstream closed just before our request went out is
// retried once on a fresh socket for idempotent methods (as undici does).
//
// A fetch of its own writes its response at the region's top and commits it there. A fetch
// of a group (fetch_group.ts) writes into the share of the free arena its group gave it,
// and tells the group when it ends; the group commits every share at once.

import {
  BODY_HEADROOM_BYTES, EFFECT_BAD_ARGUMENT, EFFECT_CANCELLED, EFFECT_OK, EFFECT_PROTOCOL, EFFECT_TIMEOUT, EFFECT_TOO_LARGE,
  HEADER_ENTRY_BYTES,
} from "../../abi/constants.ts";
import { writeHeaderTable } from "../../abi/header_table.ts";
import { align16, regionCommit, regionEnd, regionTop } from "../../abi/region.ts";
import type { PendingEffect, SlotContext } from "../../abi/slot_context.ts";
import { assert } from "../../assert.ts";
import { copyBytes } from "../../memory/copy.ts";
import { FETCH_HEAD_BYTES_MAX } from "../../limits.ts";
import { cachedView, type AppMemory } from "../../memory/app_memory.ts";
import { BODY_DONE, BODY_MALFORMED, BODY_MORE, BODY_TOO_LARGE, BodyReader } from "./body_reader.ts";
import { FetchDescriptor } from "./descriptor.ts";
import { closedMessage, closedStatus, closedWhileIdle } from "./errno.ts";
import { OpTimer } from "./op_timer.ts";
import { OriginLookup } from "./origin_lookup.ts";
import type { OriginPool, Upstream, UpstreamPools, UpstreamUser } from "./pool.ts";
import { requestHeadBytes, writeRequestHead } from "./request_head.ts";
import { findResponseHeadEnd, HEAD_INVALID, parseResponseHead, ResponseHead } from "./response_parser.ts";

/** What a fetch needs of its client: the app's memory, the defaults, the pools. */
export interface FetchEnv {
  /** The app's memory: requests' descriptors are read and responses written there. */
  readonly memory: AppMemory;
  /** Whole-fetch timeout when the app sets none. */
  readonly timeoutMs: number;
  /** Largest response body when the app sets none. */
  readonly bodyBytesMax: number;
  /** Bytes that must be decoded out of the arena (a chunked body read with its head);
   *  shared by every fetch, used only within one call. */
  readonly scratch: Uint8Array;
  readonly pools: UpstreamPools;
}

/** What a fetch of a group tells its group (fetch_group.ts) when it ends. */
export interface FetchGroupSink {
  settled(op: FetchOp, status: number): void;
}

const PHASE_IDLE = 0;
const PHASE_WAIT = 1;
const PHASE_SEND = 2;
const PHASE_HEAD = 3;
const PHASE_BODY = 4;

/** One slot's fetch. Made once per slot and reused: a fetch allocates no state object. */
export class FetchOp implements PendingEffect, UpstreamUser {
  readonly ctx: SlotContext;
  private readonly env: FetchEnv;
  private readonly req = new FetchDescriptor();
  private readonly origin: OriginLookup;
  private readonly head = new ResponseHead();
  private readonly body = new BodyReader();
  private phase = PHASE_IDLE;
  private readonly timer = new OpTimer(() => this.timedOut());
  /** Views of the request head and body, reused when the layout repeats. */
  private readonly views: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  private conn: Upstream | null = null;
  private pool: OriginPool | null = null;
  private base = 0;
  private reqStart = 0;
  private reqEnd = 0;
  private sendBodyLen = 0;
  private writeDone = false;
  private retried = false;
  private timeoutMs = 0;
  private bodyMaxAsked = 0;
  /** Where the response is written: its head from recvStart, then the body. */
  private recvStart = 0;
  private recvLen = 0;
  private reusable = false;
  /** The group this fetch belongs to, or null for a fetch of its own. */
  private group: FetchGroupSink | null = null;
  /** Where this fetch may write its response: [winStart, winEnd) of the arena. */
  private winStart = 0;
  private winEnd = 0;
  /** What it wrote there in the end (its response or its message), for its group. */
  blockStart = 0;
  blockEnd = 0;

  constructor(ctx: SlotContext, env: FetchEnv) {
    this.ctx = ctx;
    this.env = env;
    this.origin = new OriginLookup(env.pools);
  }

  private get app(): AppMemory {
    return this.env.memory;
  }

  /** The descriptor's address in the arena. */
  get desc(): number {
    return this.req.desc;
  }

  /** Bytes its response may take: its body limit and `overhead` (a head, its table). */
  needBytes(overhead: number): number {
    return this.bodyMaxAsked + overhead;
  }

  /** Whether it has started and not ended. */
  get busy(): boolean {
    return this.phase !== PHASE_IDLE;
  }

  /** Starts the fetch described at `desc`; a number when it fails at once, else a promise. */
  start(desc: number): number | Promise<number> {
    const status = this.prepare(desc);
    if (status !== EFFECT_OK) return status;
    const promise = this.ctx.wait(this);
    const dv = this.app.dv;
    this.launch(null, regionTop(dv, this.base), regionEnd(dv, this.base));
    return promise;
  }

  /** Reads and checks the descriptor at `desc` and writes the request head into the arena
   *  (committed: it must outlive the write); EFFECT_OK, or the status of a failure whose
   *  message is written. */
  prepare(desc: number): number {
    const app = this.app;
    const dv = app.dv;
    const u8 = app.u8;
    const slot = this.ctx.slot;
    const req = this.req;
    this.base = app.slotBase(slot);
    if (!req.open(app, slot, desc)) return EFFECT_BAD_ARGUMENT;
    const bad = req.check(app, slot);
    if (bad !== null) return this.failNow(EFFECT_BAD_ARGUMENT, bad);
    const pool = this.origin.lookup(u8, req.urlPtr, req.urlLen);
    if (pool === null) return this.failNow(this.origin.noPoolStatus, this.origin.url.error);
    const badHeader = req.checkHeaders(u8);
    if (badHeader !== null) return this.failNow(EFFECT_BAD_ARGUMENT, badHeader);
    this.timeoutMs = req.timeoutMs || this.env.timeoutMs;
    this.bodyMaxAsked = req.bodyBytesMax || this.env.bodyBytesMax;
    const url = this.origin.url;
    const top = regionTop(dv, this.base);
    if (top + requestHeadBytes(u8, req, url.targetStart, url.targetEnd, pool.authority) > regionEnd(dv, this.base)) {
      return this.failNow(EFFECT_TOO_LARGE, "the request head does not fit in the arena");
    }
    const headEnd = writeRequestHead(u8, top, req, url.targetStart, url.targetEnd, pool.authority);
    if (!regionCommit(dv, this.base, headEnd)) return this.failNow(EFFECT_TOO_LARGE, "the request head does not fit in the arena");
    this.reqStart = top;
    this.reqEnd = headEnd;
    this.sendBodyLen = req.withBody ? req.bodyLen : 0;
    this.retried = false;
    this.pool = pool;
    return EFFECT_OK;
  }

  /** Starts the prepared fetch, its response to go into [start, end) of the arena; in
   *  `group`, or its own (null: it commits what it writes and wakes the request). */
  launch(group: FetchGroupSink | null, start: number, end: number): void {
    this.group = group;
    this.winStart = start;
    this.winEnd = end;
    this.blockStart = start;
    this.blockEnd = start;
    this.timer.arm(this.timeoutMs);
    this.acquire();
  }

  private acquire(): void {
    this.phase = PHASE_WAIT;
    const conn = this.env.pools.take(this.pool!, this);
    if (conn !== null) this.assign(conn);
  }

  /** The pool gives this fetch a socket (open, or still connecting). */
  assign(conn: Upstream): void {
    assert(this.phase === PHASE_WAIT, "a socket is handed only to a fetch waiting for one");
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
    this.recvStart = align16(this.winStart);
    this.recvLen = 0;
    this.head.resetScan();
    this.writeDone = false;
    this.phase = PHASE_HEAD;
    const head = cachedView(this.views, 0, buffer, this.reqStart, this.reqEnd - this.reqStart);
    conn.writer.write(head, this.sendBodyLen === 0 ? null : cachedView(this.views, 1, buffer, this.req.bodyPtr, this.sendBodyLen));
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

  /** Head bytes chunk[off, chunkEnd): copied after what came before, then looked for the
   *  head's end in; what follows the head goes on to the body. */
  private headData(chunk: Uint8Array, off: number, chunkEnd: number): void {
    const u8 = this.app.u8;
    const limit = Math.max(0, Math.min(FETCH_HEAD_BYTES_MAX, this.winEnd - this.recvStart));
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
    if (head.status === 101) {
      // The client never asks for an upgrade (Upgrade is a reserved field), so what follows
      // is another protocol: waiting for a final HTTP response would last until the timeout.
      this.fail(EFFECT_PROTOCOL, "the upstream switched protocols (101) though the client asked for no upgrade");
      return;
    }
    // Bytes after the head that were copied with it (extra), and the chunk's bytes that
    // were not (from off + n on).
    const extraLen = start + this.recvLen - end;
    if (head.status < 200) this.interim(chunk, off + n, chunkEnd, end, extraLen);
    else this.final(chunk, off + n, chunkEnd, end, extraLen);
  }

  /** An interim response (100 Continue, 103 Early Hints) ended at `end`: drop it, and read
   *  what follows as the next head. */
  private interim(chunk: Uint8Array, restStart: number, chunkEnd: number, end: number, extraLen: number): void {
    this.recvLen = 0;
    this.head.resetScan();
    if (extraLen > 0) {
      const scratch = this.env.scratch;
      copyBytes(this.app.u8, end, scratch, 0, extraLen);
      this.headData(scratch, 0, extraLen);
    }
    if (restStart < chunkEnd && this.phase === PHASE_HEAD) this.headData(chunk, restStart, chunkEnd);
  }

  /** The final response's head ended at `end`: set up its body and take what came of it.
   *  The extra bytes move (memmove) to where the body goes, or through the scratch buffer
   *  when they must be decoded (chunked). */
  private final(chunk: Uint8Array, restStart: number, chunkEnd: number, end: number, extraLen: number): void {
    const u8 = this.app.u8;
    const head = this.head;
    const body = this.body;
    this.reusable = head.keepAlive;
    // The body and the header table after it (4-byte aligned: up to 3 bytes more) must fit
    // the window too: a head that only just fits would push the table past its end (into
    // the next fetch's share, or past the region's end).
    const tableBytes = head.headerCount * HEADER_ENTRY_BYTES + 16;
    const bodyStart = align16(end + BODY_HEADROOM_BYTES);
    if (bodyStart + tableBytes > this.winEnd) {
      this.fail(EFFECT_TOO_LARGE, `the upstream's response head (${end - this.recvStart} bytes, ${head.headerCount} fields) and its header table are over ${this.room()}`);
      return;
    }
    const bodyMax = Math.min(this.bodyMaxAsked, this.winEnd - bodyStart - tableBytes);
    const r = body.begin(head, this.req.expectBody, bodyStart, bodyMax);
    if (r === BODY_TOO_LARGE) {
      this.tooLarge(head.contentLength);
      return;
    }
    this.phase = PHASE_BODY;
    if (r === BODY_DONE) {
      if (extraLen > 0 || restStart < chunkEnd) this.reusable = false; // bytes past the response: out of step
      this.complete();
      return;
    }
    if (extraLen > 0) {
      if (body.decodes) {
        const scratch = this.env.scratch;
        copyBytes(u8, end, scratch, 0, extraLen);
        this.bodyData(scratch, 0, extraLen);
      } else {
        this.bodyData(u8, end, end + extraLen);
      }
    }
    if (restStart < chunkEnd && this.phase === PHASE_BODY) this.bodyData(chunk, restStart, chunkEnd);
  }

  private bodyData(src: Uint8Array, start: number, end: number): void {
    const body = this.body;
    const r = body.feed(src, start, end, this.app.u8);
    if (r === BODY_MORE) return;
    if (r === BODY_DONE) this.complete();
    else if (r === BODY_TOO_LARGE) this.tooLarge(-1);
    else if (r === BODY_MALFORMED) this.fail(EFFECT_PROTOCOL, `the upstream's chunked body is malformed: ${body.reason}`);
  }

  private tooLarge(declared: number): void {
    const limit = this.body.max;
    const asked = this.bodyMaxAsked;
    const why = limit < asked ? `what is free in the request's arena (${limit} bytes)` : `the fetch's body limit (${limit} bytes)`;
    this.fail(EFFECT_TOO_LARGE, declared >= 0
      ? `the upstream's body is ${declared} bytes, over ${why}`
      : `the upstream's body is over ${why}`);
  }

  /** The response is complete in the arena: write the header table and wake the app. */
  private complete(): void {
    const dv = this.app.dv;
    const head = this.head;
    const body = this.body;
    const table = (body.start + body.length + 3) & ~3;
    const tableEnd = table + head.headerCount * HEADER_ENTRY_BYTES;
    // final() left room for the table; checked again here, where a write past the window
    // would land in another fetch's answer.
    if (tableEnd > this.winEnd) {
      this.fail(EFFECT_TOO_LARGE, `the upstream's response and its header table are over ${this.room()}`);
      return;
    }
    writeHeaderTable(dv, table, 0, head.fields, head.headerCount);
    if (!this.wrote(this.recvStart, tableEnd)) {
      this.fail(EFFECT_TOO_LARGE, "the upstream's response could not be kept in the request's arena");
      return;
    }
    this.req.writeResponse(dv, head.status, table, head.headerCount, body.start, body.length);
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      conn.op = null;
      conn.served++;
      this.env.pools.release(conn, this.reusable && !body.spoilsConnection && this.writeDone);
    }
    this.settle(EFFECT_OK);
  }

  /** The socket closed while this fetch was using it. */
  closed(conn: Upstream): void {
    this.conn = null;
    if (this.phase === PHASE_BODY && this.body.endsAtClose) {
      this.complete();
      return;
    }
    const err = conn.lastError;
    const nothingReceived = this.phase === PHASE_SEND || (this.phase === PHASE_HEAD && this.recvLen === 0);
    if (conn.served > 0 && nothingReceived && this.req.idempotent && !this.retried && closedWhileIdle(err)) {
      // The upstream closed an idle keep-alive socket as we reused it: try once more.
      this.retried = true;
      this.phase = PHASE_WAIT;
      this.env.pools.connectFor(this.pool!, this);
      return;
    }
    const status = closedStatus(conn.connected, err);
    const url = this.origin.url;
    this.fail(status, closedMessage(status, {
      origin: url.origin,
      host: url.host,
      connected: conn.connected,
      connectTimeoutMs: this.env.pools.connectTimeoutMs,
      bodyBytes: this.phase === PHASE_BODY ? this.body.length : -1,
    }, err));
  }

  /** What its response may take, for a TooLarge message. */
  private room(): string {
    const bytes = Math.max(0, this.winEnd - align16(this.winStart));
    return this.group === null ? `what is free in the request's arena (${bytes} bytes)` : `this fetch's share of the request's arena (${bytes} bytes)`;
  }

  /** How far the fetch got, for a timeout's message. */
  private progress(): string {
    return this.phase === PHASE_WAIT ? "waiting for a free connection" : this.phase === PHASE_SEND && !(this.conn?.connected ?? false)
      ? "connecting" : this.phase === PHASE_BODY ? `reading the body (${this.body.length} bytes so far)` : "waiting for the response head";
  }

  private timedOut(): void {
    if (this.phase === PHASE_IDLE) return;
    this.fail(EFFECT_TIMEOUT, `no complete response from ${this.origin.url.origin} within ${this.timeoutMs} ms (${this.progress()})`);
  }

  /** Its group's timeout passed while it was still running. */
  groupTimedOut(ms: number): void {
    if (this.phase === PHASE_IDLE) return;
    this.fail(EFFECT_TIMEOUT, `no complete response from ${this.origin.url.origin} within the group's ${ms} ms (${this.progress()})`);
  }

  cancel(): void {
    this.fail(EFFECT_CANCELLED, "the client went away");
  }

  stopTimer(): void {
    this.timer.stop();
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
    if (status !== EFFECT_CANCELLED) {
      const start = align16(this.winStart);
      this.wrote(start, this.req.writeError(this.app, start, Math.max(start, this.winEnd), message));
    }
    this.settle(status);
  }

  /** Its group could not keep its answer: the answer is cleared and `message` written at
   *  [start, end) of the arena; returns where the message ends. */
  dropAnswer(start: number, end: number, message: string): number {
    const dv = this.app.dv;
    this.req.writeResponse(dv, 0, 0, 0, 0, 0);
    return this.req.writeError(this.app, start, Math.max(start, end), message);
  }

  /** A failure before anything was started: no promise, the app continues at once. */
  private failNow(status: number, message: string): number {
    const dv = this.app.dv;
    const top = regionTop(dv, this.base);
    if (!regionCommit(dv, this.base, this.req.writeError(this.app, top, Math.max(top, regionEnd(dv, this.base)), message))) this.req.clearError(dv);
    return status;
  }

  /** Its answer lies at [start, end) of its window: a fetch of its own commits it, a
   *  group's member leaves that to the group. False when the commit fails (the region's
   *  header no longer matches the window): then no answer is left pointing at free space. */
  private wrote(start: number, end: number): boolean {
    this.blockStart = start;
    this.blockEnd = end;
    if (this.group === null && !regionCommit(this.app.dv, this.base, end)) {
      this.blockEnd = start;
      this.req.clearError(this.app.dv);
      return false;
    }
    return true;
  }

  private settle(status: number): void {
    // The timer stays armed: it does nothing for an ended fetch, and the next fetch re-arms it.
    this.phase = PHASE_IDLE;
    const group = this.group;
    if (group === null) this.ctx.wake(this, status);
    else group.settled(this, status);
  }
}
