// One client connection: an HTTP/1.1 state machine over a socket. Requests on a connection
// are handled one after another, so pipelined responses go out in order by construction.
//
//   HEAD ──head parsed──┬──────────────────► QUEUED ──slot──► BODY ──body read──► APP ──► WRITING ──written──► HEAD
//     │                 └─ small body ─► PREBODY ─┘  (no slot            (may suspend            │
//     └─ bad request ─► error response, close         free yet)           on effects) keep-alive? ─┴─ no ─► close
//
// The head is read into a connection buffer (HEADER_BYTES_MAX, lent by the server's pool
// only while bytes are in progress), never into a slot, so slow or hostile clients cannot
// hold slots while they trickle headers. A body that fits that buffer behind its head is
// read there too (PREBODY) before a slot is taken: a client that sends a head and then
// nothing holds no slot. Once the request is ready it waits for a slot; the head (and the
// body read so far) is copied into the slot's arena and a larger body is read straight
// after it, in a slot counted against BODY_SLOTS_SHARE. The response is written from the
// slot, and the slot is released only when the write has completed.
//
// While the app has the request (APP) it may be suspended on effects and other requests
// run. If the client resets the connection meanwhile, the request's effects are cancelled
// so the app unwinds quickly; past its deadline the client gets 504 and the same happens.
// Either way the slot stays busy until the app has returned (its code may still be using
// the arena), then it is released. A client that only half-closes (EOF) still gets its
// response, as node:http does.
//
// Responses that are written at once (the common case) complete inside the write call.
// `drive` is the one loop that moves a connection forward; a completion that re-enters it
// only marks progress, so a flood of pipelined requests is served iteratively with a flat
// stack, PIPELINE_BATCH_MAX at a time before other connections get their turn.

import type { Socket } from "node:net";
import {
  BODY_HEADROOM_BYTES, HEADER_ENTRY_BYTES, REGION_HEADER_BYTES, REQ_BODY_LEN, REQ_BODY_PTR,
  REQ_DESC_BYTES, REQ_HEADER_COUNT, REQ_HEADERS_PTR, REQ_ID, REQ_METHOD_LEN, REQ_METHOD_PTR, REQ_PATH_LEN,
  REQ_PATH_PTR, REQ_QUERY_LEN, REQ_QUERY_PTR, REQ_SLOT, REQ_VERSION_MINOR, RES_BODY_LEN, RES_BODY_PTR,
  RES_HEADERS_LEN, RES_HEADERS_PTR, RES_STATUS, ARENA_NEEDS_ASYNC, ARENA_NO_HANDLER, ARENA_OK,
} from "../abi/constants.ts";
import { CHUNKED_DONE, CHUNKED_MORE, CHUNKED_TOO_LARGE, ChunkedDecoder } from "./chunked.ts";
import { ERRORS, type ErrorCode } from "../errors.ts";
import {
  checkIncomplete, findHeadEnd, headErrorCode, HEAD_BODY_TOO_LARGE, HEAD_INCOMPLETE, parseHead, RequestHead, skipEmptyLines,
} from "./request_parser.ts";
import { CONNECTION_BUFFER_BYTES } from "../memory/connection_buffers.ts";
import { PIPELINE_BATCH_MAX, RESPONSE_HEAD_BYTES_MAX, RETRY_AFTER_SECONDS, SMALL_BODY_COPY_BYTES_MAX } from "../limits.ts";
import {
  checkAppHeaders, CONTINUE_BYTES, errorResponse, HOST_HEAD_BYTES_MAX, statusHasNoBody, writeHead,
} from "./response_head.ts";
import type { ArenaServer } from "../server.ts";
import { align16 } from "../abi/region.ts";
import { copyBytes, ResponseWriter, startReading } from "./socket_io.ts";

const S_HEAD = 0;
const S_QUEUED = 1;
const S_BODY = 2;
const S_WRITING = 3;
const S_CLOSED = 4;
const S_APP = 5;
const S_PREBODY = 6;

// Deadline kinds; the server's table of timeouts is indexed by them.
export const DEADLINE_NONE = 0;
export const DEADLINE_IDLE = 1;
export const DEADLINE_HEADERS = 2;
/** Between two reads of a body; the whole body's own limit is DEADLINE_BODY_TOTAL's. */
export const DEADLINE_BODY = 3;
export const DEADLINE_SEND = 4;
/** The app has the request: its wall-clock deadline (504 when it passes). */
export const DEADLINE_APP = 5;
/** Not a kind a connection waits in: the index of the whole-body timeout in the table. */
export const DEADLINE_BODY_TOTAL = 6;
export const DEADLINE_KINDS = 7;

const latin1 = new TextDecoder("latin1");

export class Connection {
  readonly socket: Socket;
  private readonly server: ArenaServer;
  /** Bytes of the next request head (and what follows it, until consumed); a buffer from
   *  the server's pool while inLen > 0 or a head is being read, else null. */
  private inbuf: Uint8Array | null = null;
  private inLen = 0;
  private scanFrom = 0;
  /** Bytes read and not yet consumed: the server's shared read buffer during a read
   *  callback, else this connection's stash; while bytes are left, the socket is paused. */
  private pending: Uint8Array | null = null;
  private pendingOff = 0;
  private pendingEnd = 0;
  /** Where unconsumed bytes wait once the read callback returns: a pooled buffer, held
   *  exactly while it is `pending` (stash !== null ⇔ pending === stash). */
  private stash: Uint8Array | null = null;
  private readonly writer: ResponseWriter;
  private readonly head = new RequestHead();
  private readonly chunked = new ChunkedDecoder();
  private state = S_HEAD;
  private slot = -1;
  private desc = 0;
  private bodyPtr = 0;
  private bodyLen = 0;
  private bodyMax = 0;
  private bodyRemaining = 0;
  private keepAlive = true;
  private peerEnded = false;
  private paused = false;
  /** Inside `drive`: a nested call (a write that completed at once) only returns, and the
   *  outer loop goes on. */
  private driving = false;
  /** Requests dispatched in the current batch (PIPELINE_BATCH_MAX), and whether the next
   *  batch is scheduled. */
  private batch = 0;
  private batchScheduled = false;
  /** The request's body does not fit the connection buffer: it streams into its slot. */
  private streamsBody = false;
  /** The slot this connection holds counts against the server's body-slot share. */
  holdsBodySlot = false;
  /** When the body started (server clock), for its whole-body limit. */
  private bodyStart = 0;
  /** Past its deadline the client was answered 504; the app is still unwinding. */
  private abandoned = false;
  /** Arrival order in the server's wait queues (older waiters go first). */
  queuedAt = 0;
  /** Wall-clock ms when the current deadline passes, checked by the server's sweep. */
  deadline = 0;
  deadlineKind = DEADLINE_NONE;
  /** A response write has not completed; `sendLeft` is what the kernel had not taken at
   *  the last check (progress resets the send deadline). */
  private writing = false;
  private sendLeft = 0;
  /** The app still has this slot (set while APP, also after the client went away). */
  private inApp = false;
  private requestId = 0;
  /** Bound once so that no closure is made per write or per app call. */
  private readonly onAppDone = (status: number): void => this.appReturned(status);
  private readonly onAppError = (err: unknown): void => this.appThrew(err);
  private readonly onNextBatch = (): void => {
    this.batchScheduled = false;
    if (this.state !== S_CLOSED) this.drive();
  };

  constructor(socket: Socket, server: ArenaServer) {
    this.socket = socket;
    this.server = server;
    socket.setNoDelay(true);
    this.writer = new ResponseWriter(socket, (err: boolean) => this.afterWrite(err));
    socket.on("end", () => this.onEnd());
    socket.on("error", () => { /* 'close' follows; resets and timeouts are routine */ });
    socket.on("close", () => this.onClose());
    this.setDeadline(DEADLINE_IDLE);
    startReading(socket, server.readBuffer, (buf, start, end) => this.onRead(buf, start, end));
  }

  /** True when no request is in progress and no request bytes are buffered. */
  isIdle(): boolean {
    return this.state === S_HEAD && this.inLen === 0 && this.pending === null;
  }

  private setDeadline(kind: number): void {
    this.deadlineKind = kind;
    this.deadline = kind === DEADLINE_NONE ? 0 : this.server.now + this.server.timeoutFor(kind);
  }

  /** Body deadline: the idle limit from now, but never past the whole-body limit. */
  private setBodyDeadline(): void {
    const server = this.server;
    this.deadlineKind = DEADLINE_BODY;
    this.deadline = Math.min(server.now + server.timeoutFor(DEADLINE_BODY), this.bodyStart + server.timeoutFor(DEADLINE_BODY_TOTAL));
  }

  private onRead(buf: Uint8Array, start: number, end: number): void {
    if (this.state === S_CLOSED || end <= start) return;
    if (this.pending !== null) {
      // Bytes that were already in flight when the socket was paused: keep them in order.
      this.stashAppend(buf, start, end);
    } else {
      this.pending = buf;
      this.pendingOff = start;
      this.pendingEnd = end;
    }
    this.drive();
    // The read buffer is shared by every connection: what is left moves to the stash.
    if (this.pending === buf && buf !== this.stash) {
      const off = this.pendingOff;
      this.pending = null;
      this.stashAppend(buf, off, end);
    }
  }

  private stashAppend(buf: Uint8Array, start: number, end: number): void {
    const have = this.pending === null ? 0 : this.pendingEnd - this.pendingOff;
    const need = have + end - start;
    let stash = this.stash;
    if (stash === null || stash.length < need) {
      // A read is at most the server's read buffer (one connection buffer), so a pooled
      // buffer holds it; only the public I/O path, whose chunks are Node's, may need more.
      const grown = need <= CONNECTION_BUFFER_BYTES ? this.server.buffers.take() : new Uint8Array(need);
      if (have > 0) copyBytes(this.pending!, this.pendingOff, grown, 0, have);
      if (stash !== null) this.server.buffers.give(stash);
      stash = grown;
      this.stash = grown;
    } else if (have > 0) {
      stash.copyWithin(0, this.pendingOff, this.pendingEnd);
    }
    copyBytes(buf, start, stash, have, end - start);
    this.pending = stash;
    this.pendingOff = 0;
    this.pendingEnd = need;
  }

  /** Drops the pending bytes (the connection reads no more) and returns the stash. */
  private dropPending(): void {
    this.pending = null;
    this.pendingOff = 0;
    this.pendingEnd = 0;
    if (this.stash !== null) {
      this.server.buffers.give(this.stash);
      this.stash = null;
    }
  }

  /** The connection buffer, taken from the pool when there is none. */
  private inbufTaken(): Uint8Array {
    if (this.inbuf === null) this.inbuf = this.server.buffers.take();
    return this.inbuf;
  }

  /** Returns the connection buffer when it holds nothing. */
  private returnEmptyInbuf(): void {
    if (this.inLen === 0 && this.inbuf !== null) {
      this.server.buffers.give(this.inbuf);
      this.inbuf = null;
      this.scanFrom = 0;
    }
  }

  private onEnd(): void {
    this.peerEnded = true;
    // A request with the app goes on: a client that half-closes still reads its response
    // (node:http answers it too); the connection closes once it is written.
    if (this.state === S_HEAD || this.state === S_BODY || this.state === S_PREBODY) this.drive();
  }

  private onClose(): void {
    if (this.state === S_QUEUED) this.server.dequeue(this);
    this.state = S_CLOSED;
    if (this.inApp) {
      // The app is running or suspended on an effect: stop its effects; the slot is
      // released when the app returns.
      this.server.app.cancel(this.slot);
    }
    this.releaseSlot();
    this.endBodySlot();
    this.dropPending();
    this.inLen = 0;
    this.returnEmptyInbuf();
    this.server.connectionClosed(this);
  }

  /** Advances the state machine as far as the buffered bytes allow. Re-entered from a
   *  write that completed at once, it returns at once: the outer loop continues. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    this.batch = 0;
    for (;;) {
      let progressed: boolean;
      if (this.state === S_HEAD) {
        if (this.batch >= PIPELINE_BATCH_MAX) {
          // Other connections' events run before this one's next batch.
          if (!this.batchScheduled) {
            this.batchScheduled = true;
            setImmediate(this.onNextBatch);
          }
          break;
        }
        progressed = this.readHead();
      } else if (this.state === S_PREBODY) {
        progressed = this.readPrebody();
      } else if (this.state === S_BODY) {
        progressed = this.readBody();
      } else {
        progressed = false;
      }
      if (!progressed) break;
    }
    this.driving = false;
    if (this.state === S_CLOSED) return;
    this.returnEmptyInbuf();
    // Backpressure: unconsumed bytes stay in `pending` and the socket stays paused until
    // the current request is done; otherwise keep reading.
    if (this.pending !== null) {
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
    } else if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private pendingBytes(): number {
    return this.pending === null ? 0 : this.pendingEnd - this.pendingOff;
  }

  private consumePending(n: number): void {
    this.pendingOff += n;
    if (this.pending !== null && this.pendingOff >= this.pendingEnd) this.dropPending();
  }

  /** Reads and parses the next request head. True when the state advanced. */
  private readHead(): boolean {
    // RFC 9112 §2.2: ignore empty lines before a request line.
    while (this.inLen === 0 && this.pending !== null && this.pendingBytes() >= 2 &&
      this.pending[this.pendingOff] === 0x0d && this.pending[this.pendingOff + 1] === 0x0a) {
      this.consumePending(2);
    }
    const wasEmpty = this.inLen === 0;
    if (this.pending === null && this.inLen === 0) {
      if (this.peerEnded) this.finish();
      return false;
    }
    const inbuf = this.inbufTaken();
    const n = Math.min(this.pendingBytes(), CONNECTION_BUFFER_BYTES - this.inLen);
    if (n > 0) {
      copyBytes(this.pending!, this.pendingOff, inbuf, this.inLen, n);
      this.inLen += n;
      this.consumePending(n);
    }
    // Also the empty lines that came with the previous request, or split across reads.
    const kept = skipEmptyLines(inbuf, this.inLen);
    if (kept !== this.inLen) {
      this.inLen = kept;
      this.scanFrom = 0;
      // Room was made in the buffer: take what is still pending before deciding anything
      // (16 KiB of empty lines split at a CR used to stall here until the 408).
      if (this.pending !== null) return true;
    }
    if (this.inLen === 0) {
      if (this.peerEnded) this.finish();
      return false;
    }
    if (wasEmpty) this.setDeadline(DEADLINE_HEADERS);
    const end = findHeadEnd(inbuf, this.scanFrom, this.inLen);
    if (end < 0) {
      const r = checkIncomplete(inbuf, this.inLen, this.head, this.scanFrom);
      if (r !== HEAD_INCOMPLETE) {
        this.protocolError(headErrorCode(r), this.head.reason);
        return false;
      }
      this.scanFrom = Math.max(0, this.inLen - 3);
      if (this.peerEnded) this.socket.destroy(); // the head can never complete
      return false;
    }
    const head = this.head;
    const r = parseHead(inbuf, end, head, this.server.bodyBytesMax);
    if (r < 0) {
      const reason = r === HEAD_BODY_TOO_LARGE
        ? `Content-Length ${head.contentLength} is over the body limit of ${this.server.bodyBytesMax} bytes`
        : head.reason;
      this.protocolError(headErrorCode(r), reason, r === HEAD_BODY_TOO_LARGE);
      return false;
    }
    this.setDeadline(DEADLINE_NONE);
    this.streamsBody = head.hasBody() && (head.chunked || head.headEnd + head.contentLength > CONNECTION_BUFFER_BYTES);
    if (head.hasBody() && !this.streamsBody) {
      // The body fits behind the head: read it here, before taking a slot.
      this.state = S_PREBODY;
      this.bodyStart = this.server.now;
      this.setBodyDeadline();
      if (head.expectContinue && this.inLen < head.headEnd + head.contentLength) this.socket.write(CONTINUE_BYTES);
      return true;
    }
    return this.queueForSlot();
  }

  /** Reads a small body into the connection buffer, behind its head. True when the state
   *  advanced. */
  private readPrebody(): boolean {
    const need = this.head.headEnd + this.head.contentLength;
    const n = Math.min(this.pendingBytes(), need - this.inLen);
    if (n > 0) {
      copyBytes(this.pending!, this.pendingOff, this.inbuf!, this.inLen, n);
      this.inLen += n;
      this.consumePending(n);
      this.setBodyDeadline();
    }
    if (this.inLen >= need) {
      this.setDeadline(DEADLINE_NONE);
      return this.queueForSlot();
    }
    if (this.peerEnded) this.socket.destroy(); // the body can never complete
    return false;
  }

  /** The request is ready for a slot: take one now or wait in the server's queue. True
   *  when it got one. */
  private queueForSlot(): boolean {
    this.state = S_QUEUED;
    this.server.requestSlot(this, this.streamsBody);
    return this.state !== S_QUEUED;
  }

  /** The server grants a slot: copy the head into its arena and start reading the body. */
  startRequest(slot: number): void {
    const app = this.server.app;
    const u8 = app.u8;
    const dv = app.dv;
    const head = this.head;
    const base = app.slotBase(slot);
    const desc = base + REGION_HEADER_BYTES;
    this.slot = slot;
    this.desc = desc;
    const table = desc + REQ_DESC_BYTES;
    const copy = table + head.headerCount * HEADER_ENTRY_BYTES;
    const inbuf = this.inbuf!;
    copyBytes(inbuf, 0, u8, copy, head.headEnd);
    // Zero the descriptor so a field the app does not write reads as 0, never as stale data.
    u8.fill(0, desc, desc + REQ_DESC_BYTES);
    dv.setUint32(desc + REQ_METHOD_PTR, copy, true);
    dv.setUint32(desc + REQ_METHOD_LEN, head.methodEnd, true);
    let pathPtr = copy + head.pathStart;
    let pathLen = head.pathEnd - head.pathStart;
    if (pathLen === 0) {
      // Absolute-form without a path ("http://host"): the path is "/". The byte before
      // the path is the last byte of the authority, which nothing reads any more.
      pathPtr -= 1;
      u8[pathPtr] = 0x2f;
      pathLen = 1;
    }
    dv.setUint32(desc + REQ_PATH_PTR, pathPtr, true);
    dv.setUint32(desc + REQ_PATH_LEN, pathLen, true);
    const queryStart = head.pathEnd < head.targetEnd ? head.pathEnd + 1 : head.targetEnd;
    dv.setUint32(desc + REQ_QUERY_PTR, copy + queryStart, true);
    dv.setUint32(desc + REQ_QUERY_LEN, head.targetEnd - queryStart, true);
    dv.setUint32(desc + REQ_HEADERS_PTR, table, true);
    dv.setUint32(desc + REQ_HEADER_COUNT, head.headerCount, true);
    dv.setUint32(desc + REQ_VERSION_MINOR, head.versionMinor, true);
    dv.setUint32(desc + REQ_SLOT, slot, true);
    const f = head.fields;
    for (let k = 0; k < head.headerCount; k++) {
      const e = table + k * HEADER_ENTRY_BYTES;
      dv.setUint32(e, copy + f[k * 4], true);
      dv.setUint32(e + 4, f[k * 4 + 1] - f[k * 4], true);
      dv.setUint32(e + 8, copy + f[k * 4 + 2], true);
      dv.setUint32(e + 12, f[k * 4 + 3] - f[k * 4 + 2], true);
    }
    this.bodyPtr = align16(copy + head.headEnd + BODY_HEADROOM_BYTES);
    this.bodyLen = 0;
    // The body may use the server's limit, but never more than half of what is left of the
    // arena: the handler needs room too.
    const arenaEnd = base + app.plan.arenaBytes;
    this.bodyMax = Math.min(this.server.bodyBytesMax, Math.floor((arenaEnd - this.bodyPtr) / 2));
    // The head has been copied: drop it from the buffer, keep what follows (body, next request).
    inbuf.copyWithin(0, head.headEnd, this.inLen);
    this.inLen -= head.headEnd;
    this.scanFrom = 0;
    this.keepAlive = head.keepAlive;
    this.state = S_BODY;
    if (head.chunked) {
      this.chunked.reset();
    } else {
      this.bodyRemaining = Math.max(head.contentLength, 0);
      if (this.bodyRemaining > this.bodyMax) {
        this.protocolError("ARENA_E_HTTP_BODY_TOO_LARGE", "Content-Length over what is left of the arena", true);
        return;
      }
    }
    if (this.streamsBody) {
      // Read before the slot, a small body's 100 Continue went out then.
      if (head.expectContinue) this.socket.write(CONTINUE_BYTES);
      this.bodyStart = this.server.now;
      this.setBodyDeadline();
    }
  }

  /** A slot freed up while this request waited in the queue. */
  resumeWithSlot(slot: number): void {
    if (this.state !== S_QUEUED) {
      // The client went away meanwhile.
      this.endBodySlot();
      this.server.releaseSlot(slot);
      return;
    }
    this.startRequest(slot);
    this.drive();
  }

  /** The body is read (or the request ended): its slot no longer counts as streaming. */
  private endBodySlot(): void {
    if (!this.holdsBodySlot) return;
    this.holdsBodySlot = false;
    this.server.bodySlotDone();
  }

  /** Reads body bytes into the arena. True when the state advanced. */
  private readBody(): boolean {
    const u8 = this.server.app.u8;
    const before = this.bodyLen;
    if (this.head.chunked) {
      const dec = this.chunked;
      let r = CHUNKED_MORE;
      if (this.inLen > 0) {
        const inbuf = this.inbuf!;
        r = dec.feed(inbuf, 0, this.inLen, u8, this.bodyPtr, this.bodyMax);
        inbuf.copyWithin(0, dec.consumed, this.inLen);
        this.inLen -= dec.consumed;
      }
      if (r === CHUNKED_MORE && this.pending !== null) {
        r = dec.feed(this.pending, this.pendingOff, this.pendingEnd, u8, this.bodyPtr, this.bodyMax);
        this.consumePending(dec.consumed - this.pendingOff);
      }
      this.bodyLen = dec.length;
      if (r === CHUNKED_DONE) {
        this.dispatch();
        return true;
      }
      if (r !== CHUNKED_MORE) {
        this.protocolError(r === CHUNKED_TOO_LARGE ? "ARENA_E_HTTP_BODY_TOO_LARGE" : "ARENA_E_HTTP_MALFORMED", dec.reason, true);
        return false;
      }
    } else {
      let take = Math.min(this.bodyRemaining, this.inLen);
      if (take > 0) {
        const inbuf = this.inbuf!;
        copyBytes(inbuf, 0, u8, this.bodyPtr + this.bodyLen, take);
        inbuf.copyWithin(0, take, this.inLen);
        this.inLen -= take;
        this.bodyLen += take;
        this.bodyRemaining -= take;
      }
      take = Math.min(this.bodyRemaining, this.pendingBytes());
      if (take > 0) {
        copyBytes(this.pending!, this.pendingOff, u8, this.bodyPtr + this.bodyLen, take);
        this.consumePending(take);
        this.bodyLen += take;
        this.bodyRemaining -= take;
      }
      if (this.bodyRemaining === 0) {
        this.dispatch();
        return true;
      }
    }
    if (this.bodyLen !== before) this.setBodyDeadline(); // progress: the idle limit starts again
    if (this.peerEnded) this.socket.destroy(); // the body can never complete
    return false;
  }

  /** The request is complete in the arena: call the app and write its response. */
  private dispatch(): void {
    const server = this.server;
    const app = server.app;
    const dv = app.dv;
    const desc = this.desc;
    this.endBodySlot();
    this.batch++;
    this.setDeadline(DEADLINE_APP);
    dv.setUint32(desc + REQ_BODY_PTR, this.bodyPtr, true);
    dv.setUint32(desc + REQ_BODY_LEN, this.bodyLen, true);
    const id = server.nextRequestId();
    dv.setUint32(desc + REQ_ID, id, true);
    this.requestId = id;
    const dataEnd = align16(this.bodyPtr + this.bodyLen);
    app.begin(this.slot, dataEnd);
    this.state = S_APP;
    this.inApp = true;
    // First as a plain call (no promise, no JSPI stack: most handlers never wait).
    let status: number;
    try {
      status = app.callSync(this.slot, desc, id);
    } catch (err) {
      this.appThrew(err);
      return;
    }
    if (status !== ARENA_NEEDS_ASYNC) {
      this.appReturned(status);
      return;
    }
    // The handler waits on effects: run it through JSPI from a clean arena. It runs now up
    // to its first suspension; the promise settles when it returns. The callbacks are
    // bound once per connection.
    app.begin(this.slot, dataEnd);
    app.callAsync(this.slot, desc).then(this.onAppDone, this.onAppError);
  }

  /** The app is done with the request (returned or trapped). False when the client went
   *  away meanwhile: the slot is released and there is nothing to answer. */
  private appDone(): boolean {
    this.inApp = false;
    this.server.app.context(this.slot).end();
    if (this.deadlineKind === DEADLINE_APP) this.setDeadline(DEADLINE_NONE);
    if (this.state !== S_CLOSED && !this.abandoned) return true;
    this.releaseSlot();
    return false;
  }

  /** The request's wall-clock deadline passed while the app has it: answer 504 now and
   *  close; its effects are cancelled and its next CPU check traps, and the slot is
   *  released when the app has returned. */
  private deadlinePassed(): void {
    const ctx = this.server.app.context(this.slot);
    ctx.deadlinePassed = true;
    ctx.cancel();
    this.abandoned = true;
    this.keepAlive = false;
    this.failResponse("ARENA_E_DEADLINE", `no response after ${this.server.timeoutFor(DEADLINE_APP)} ms (--deadline-ms)`, this.requestId);
  }

  private appReturned(status: number): void {
    if (!this.appDone()) return;
    if (status !== ARENA_OK) {
      this.failResponse("ARENA_E_RESPONSE", `arena_handle returned status ${status}, not ARENA_OK (${status === ARENA_NO_HANDLER ? "no handler" : "unknown status"})`, this.requestId);
      return;
    }
    this.sendResponse(this.requestId);
  }

  private appThrew(err: unknown): void {
    if (!this.appDone()) return;
    this.appFailed(err as Error, this.requestId);
  }

  private sendResponse(id: number): void {
    const app = this.server.app;
    const u8 = app.u8;
    const dv = app.dv;
    const desc = this.desc;
    const status = dv.getUint32(desc + RES_STATUS, true);
    const hdrPtr = dv.getUint32(desc + RES_HEADERS_PTR, true);
    const hdrLen = dv.getUint32(desc + RES_HEADERS_LEN, true);
    const bodyPtr = dv.getUint32(desc + RES_BODY_PTR, true);
    const bodyLen = dv.getUint32(desc + RES_BODY_LEN, true);
    if (status < 200 || status > 599) {
      this.failResponse("ARENA_E_RESPONSE", `status ${status} is not 200-599`, id);
      return;
    }
    if (!this.server.validRange(this.slot, hdrPtr, hdrLen) || !this.server.validRange(this.slot, bodyPtr, bodyLen)) {
      this.failResponse("ARENA_E_RESPONSE", `response bytes outside the request's arena and the startup region`, id);
      return;
    }
    if (hdrLen + HOST_HEAD_BYTES_MAX > RESPONSE_HEAD_BYTES_MAX) {
      this.failResponse("ARENA_E_RESPONSE", `response headers are ${hdrLen} bytes, over RESPONSE_HEAD_BYTES_MAX`, id);
      return;
    }
    const bad = checkAppHeaders(u8, hdrPtr, hdrLen);
    if (bad !== null) {
      this.failResponse("ARENA_E_RESPONSE", bad, id);
      return;
    }
    const keepAlive = this.keepAlive && !this.server.closing;
    this.keepAlive = keepAlive;
    const noBody = statusHasNoBody(status);
    const headStart = app.slotBase(this.slot) + app.plan.arenaBytes;
    const headEnd = writeHead(u8, headStart, status, hdrPtr, hdrLen, noBody ? 0 : bodyLen, this.server.date,
      keepAlive, this.head.versionMinor === 0);
    this.state = S_WRITING;
    // Head and body go out in one write, as views over wasm memory; the views are cached
    // per slot, so a response laid out as the last one allocates nothing. A small body is
    // copied after the head in the slot's head reserve: one contiguous write() is cheaper
    // for the kernel than a two-part writev().
    const server = this.server;
    this.writing = true;
    const sendBody = !(noBody || this.head.isHead || bodyLen === 0);
    const reserveEnd = app.slotBase(this.slot) + app.plan.slotBytes;
    if (!sendBody) {
      this.writer.write(server.view(this.slot, 0, headStart, headEnd - headStart), null);
    } else if (bodyLen <= SMALL_BODY_COPY_BYTES_MAX && headEnd + bodyLen <= reserveEnd) {
      u8.copyWithin(headEnd, bodyPtr, bodyPtr + bodyLen);
      this.writer.write(server.view(this.slot, 0, headStart, headEnd - headStart + bodyLen), null);
    } else {
      this.writer.write(server.view(this.slot, 0, headStart, headEnd - headStart), server.view(this.slot, 1, bodyPtr, bodyLen));
    }
    this.watchSend();
  }

  /** The app trapped: answer 500 with the code, keep the connection if the request allows. */
  private appFailed(err: Error, id: number): void {
    const trap = this.server.app.context(this.slot).trap;
    if (trap.cpuMs >= 0) {
      this.failResponse("ARENA_E_CPU", `stopped after ${trap.cpuMs.toFixed(1)} ms of CPU, budget ${this.server.app.effects.cpuBudgetMs} ms`, id);
    } else if (trap.overflowSize >= 0) {
      this.failResponse("ARENA_E_MEMORY", `asked ${trap.overflowSize} bytes, arena limit ${trap.overflowLimit} bytes`, id);
    } else if (trap.violationKind !== 0) {
      this.failResponse("ARENA_E_CHECK", trap.abortMessage ?? "violation", id);
    } else {
      this.failResponse("ARENA_E_TRAP", trap.abortMessage ?? `${err.name}: ${err.message}`, id);
    }
  }

  /** Logs a request error with method, path and route, then answers with its code. */
  private failResponse(code: ErrorCode, detail: string, id: number): void {
    const app = this.server.app;
    const dv = app.dv;
    const desc = this.desc;
    const methodPtr = dv.getUint32(desc + REQ_METHOD_PTR, true);
    const method = latin1.decode(app.u8.subarray(methodPtr, methodPtr + dv.getUint32(desc + REQ_METHOD_LEN, true)));
    const pathPtr = dv.getUint32(desc + REQ_PATH_PTR, true);
    const path = latin1.decode(app.u8.subarray(pathPtr, pathPtr + Math.min(dv.getUint32(desc + REQ_PATH_LEN, true), 256)));
    const route = app.route(this.slot);
    const where = `${method} ${path}${route ? ` (route ${route})` : ""}`;
    this.server.log.error(code, `req=${id} slot=${this.slot} ${where}: ${detail}`);
    this.releaseSlot();
    this.sendError(code, `${where}: ${detail}`, this.keepAlive && !this.server.closing);
  }

  /** A request the host refuses before the app sees it: answer and close. */
  private protocolError(code: ErrorCode, reason: string, logIt = false): void {
    if (logIt || ERRORS[code].status >= 500) this.server.log.error(code, `from ${this.socket.remoteAddress ?? "?"}: ${reason}`);
    this.releaseSlot();
    this.sendError(code, reason, false);
  }

  /** Answers 503 (every slot busy, queue full) and closes; the body, if any, is not read. */
  overloaded(): void {
    const code = "ARENA_E_OVERLOAD";
    this.sendError(code, ERRORS[code].message, false, `Retry-After: ${RETRY_AFTER_SECONDS}\r\n`);
  }

  /** The sweep found this connection's deadline passed. */
  timedOut(): void {
    const kind = this.deadlineKind;
    this.setDeadline(DEADLINE_NONE);
    if (kind === DEADLINE_IDLE) {
      this.socket.destroy();
    } else if (kind === DEADLINE_SEND) {
      const left = this.writer.queuedBytes();
      if (this.writing && left < this.sendLeft) {
        this.sendLeft = left; // the client is reading, slowly: wait on
        this.setDeadline(DEADLINE_SEND);
      } else if (this.writing) {
        this.server.log.info(`closing a connection from ${this.socket.remoteAddress ?? "?"}: its response made no progress for ${this.server.timeoutFor(DEADLINE_SEND)} ms (${left} bytes unsent)`);
        this.socket.destroy(); // 'close' frees the slot
      }
    } else if (kind === DEADLINE_APP) {
      if (this.inApp && this.state === S_APP) this.deadlinePassed();
    } else if (this.state === S_HEAD || this.state === S_BODY || this.state === S_PREBODY) {
      this.protocolError("ARENA_E_HTTP_TIMEOUT", kind === DEADLINE_HEADERS ? "request head not received in time"
        : `request body not received in time (a pause of ${this.server.timeoutFor(DEADLINE_BODY)} ms, or ${this.server.timeoutFor(DEADLINE_BODY_TOTAL)} ms in all)`);
    }
  }

  /** Graceful shutdown: close now if idle; otherwise the response says Connection: close. */
  shutdown(): void {
    if (this.isIdle()) this.socket.destroy();
  }

  private sendError(code: ErrorCode, detail: string, keepAlive: boolean, extra = ""): void {
    this.keepAlive = keepAlive;
    if (!keepAlive) {
      // Nothing more is read from a connection that will close.
      this.dropPending();
      this.inLen = 0;
      this.returnEmptyInbuf();
    }
    this.state = S_WRITING;
    this.setDeadline(DEADLINE_NONE);
    this.writing = true;
    this.writer.write(errorResponse(code, detail, this.server.date, keepAlive, this.head.isHead, extra), null);
    this.watchSend();
  }

  /** After a write call: if the kernel did not take it all at once, the send deadline
   *  watches that the client keeps reading. */
  private watchSend(): void {
    if (!this.writing) return;
    this.sendLeft = this.writer.queuedBytes();
    this.setDeadline(DEADLINE_SEND);
  }

  private afterWrite(err: boolean): void {
    this.writing = false;
    if (this.deadlineKind === DEADLINE_SEND) this.setDeadline(DEADLINE_NONE);
    if (this.state === S_CLOSED) return;
    this.releaseSlot();
    if (err || !this.keepAlive) {
      this.state = S_CLOSED;
      if (err) {
        this.socket.destroy();
        return;
      }
      this.lingeringClose();
      return;
    }
    this.state = S_HEAD;
    this.head.isHead = false;
    this.setDeadline(this.inLen > 0 || this.pending !== null ? DEADLINE_HEADERS : DEADLINE_IDLE);
    if (this.server.closing && this.isIdle()) {
      this.state = S_CLOSED;
      this.lingeringClose();
      return;
    }
    this.drive();
  }

  /**
   * Lingering close (as nginx does): send FIN, keep reading and discarding what the client
   * is still sending (say, a body we refused) so the kernel does not answer it with a reset
   * that could destroy our response before the client reads it; the idle deadline closes
   * the socket if the client never closes its side.
   */
  private lingeringClose(): void {
    this.socket.end();
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.setDeadline(DEADLINE_IDLE);
  }

  /** No more requests will come: close our side once everything is written. */
  private finish(): void {
    this.state = S_CLOSED;
    this.socket.end();
  }

  /** Gives the slot back, unless the app still has it (then `appDone` does). */
  private releaseSlot(): void {
    if (this.slot >= 0 && !this.inApp) {
      const slot = this.slot;
      this.slot = -1;
      this.server.releaseSlot(slot);
    }
  }
}
