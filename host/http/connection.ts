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
import { ARENA_NEEDS_ASYNC, ARENA_NO_HANDLER, ARENA_OK } from "../abi/constants.ts";
import type { RequestBridge } from "../abi/request_bridge.ts";
import { EFFECT_BAD_ARGUMENT, EFFECT_CANCELLED, EFFECT_OK, EFFECT_UNAVAILABLE } from "../abi/constants.ts";
import type { SlotContext, StreamSink } from "../abi/slot_context.ts";
import { assert } from "../assert.ts";
import { ERRORS, type ErrorCode } from "../errors.ts";
import {
  PIPELINE_BATCH_MAX, RESPONSE_HEAD_BYTES_MAX, RETRY_AFTER_SECONDS, SMALL_BODY_COPY_BYTES_MAX, TIMER_SWEEP_MS,
} from "../limits.ts";
import type { Logger } from "../log.ts";
import type { RequestObserver } from "./observer.ts";
import { CONNECTION_BUFFER_BYTES, type BufferPool } from "../memory/connection_buffers.ts";
import type { DeviceTable } from "../memory/device_region.ts";
import { CHUNKED_DONE, CHUNKED_MORE, CHUNKED_TOO_LARGE, ChunkedDecoder } from "./chunked.ts";
import type { ResponseCompression } from "./compress.ts";
import type { HttpDate } from "./date.ts";
import {
  checkIncomplete, headErrorCode, HEAD_BODY_TOO_LARGE, HEAD_INCOMPLETE, parseHead, RequestHead, skipEmptyLines,
} from "./request_parser.ts";
import {
  checkAppHeaders, CONTINUE_BYTES, errorResponse, HOST_HEAD_BYTES_MAX, statusHasNoBody, writeHead,
} from "./response_head.ts";
import type { SlotScheduler, SlotWaiter } from "./scheduler.ts";
import { copyBytes } from "../memory/copy.ts";
import { SocketWriter, startReading } from "./socket_io.ts";
import { STATIC_HEAD_BYTES, type StaticResponder } from "./static_serve.ts";
import { LAST_CHUNK, ResponseStream, writeChunkSize, writeStreamHead } from "./stream_writer.ts";
import { findHeadEnd } from "./syntax.ts";

/** Static head lengths a connection keeps a view for (Connection.staticView). */
const STATIC_VIEWS = 8;

/** The time limits a connection keeps, by name (ms). */
export interface Timeouts {
  /** Keep-alive connection with no request in progress (KEEPALIVE_TIMEOUT_MS). */
  idle: number;
  /** A whole request head, from its first byte (HEADERS_TIMEOUT_MS). */
  headers: number;
  /** A pause between two reads of a body (BODY_IDLE_TIMEOUT_MS). */
  body: number;
  /** A whole body (BODY_TIMEOUT_MS). */
  bodyTotal: number;
  /** No progress on a response write (SEND_TIMEOUT_MS). */
  send: number;
  /** The app's wall-clock time for one request (--deadline-ms). */
  app: number;
}

/** What a request needs from the build of the app it runs on. A connection takes the
 *  server's current build when a request's head is complete and keeps it until that
 *  response is written: a reload swaps the current build, and a request in progress
 *  finishes on the one it started on (its slot belongs to that build's memory). */
export interface RequestEnv {
  readonly scheduler: SlotScheduler;
  readonly bridge: RequestBridge;
  /** The build's device handles: a response body may be one of its buffers. */
  readonly device: DeviceTable;
}

/** What a connection needs from the server it belongs to, and nothing more. */
export interface ConnectionEnv {
  /** Wall clock in ms, refreshed by the server's sweep every TIMER_SWEEP_MS. */
  readonly now: number;
  readonly date: HttpDate;
  readonly timeouts: Timeouts;
  /** The server is shutting down: responses say Connection: close. */
  readonly closing: boolean;
  readonly bodyBytesMax: number;
  /** Where every connection's reads land; valid only during the read callback. */
  readonly readBuffer: Uint8Array;
  readonly buffers: BufferPool;
  /** The build new requests run on; a request keeps the one it started on (RequestEnv). */
  readonly current: RequestEnv;
  /** Told of every finished request, or null (then nothing is done for it). */
  readonly observer: RequestObserver | null;
  /** Compresses qualifying responses (--compress), or null when off. */
  readonly compression: ResponseCompression | null;
  /** The files of --static, answered before the app (host/http/static_serve.ts), or null. */
  readonly statics: StaticResponder | null;
  readonly log: Logger;
  nextRequestId(): number;
  connectionClosed(conn: Connection): void;
}

const S_HEAD = 0;
const S_QUEUED = 1;
const S_BODY = 2;
const S_WRITING = 3;
const S_CLOSED = 4;
const S_APP = 5;
const S_PREBODY = 6;
/** The app started a streaming response: its head is sent, and it writes the body. */
const S_STREAM = 7;

// What a connection's deadline is for; each maps to one of the Timeouts by name.
const DEADLINE_NONE = 0;
const DEADLINE_IDLE = 1;
const DEADLINE_HEADERS = 2;
/** Between two reads of a body, never past the whole body's limit. */
const DEADLINE_BODY = 3;
const DEADLINE_SEND = 4;
/** The app has the request: its wall-clock deadline (504 when it passes). */
const DEADLINE_APP = 5;

function timeoutOf(t: Timeouts, kind: number): number {
  switch (kind) {
    case DEADLINE_IDLE: return t.idle;
    case DEADLINE_HEADERS: return t.headers;
    case DEADLINE_BODY: return t.body;
    case DEADLINE_SEND: return t.send;
    case DEADLINE_APP: return t.app;
    default: return 0;
  }
}

export class Connection implements SlotWaiter, StreamSink {
  readonly socket: Socket;
  private readonly env: ConnectionEnv;
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
  private readonly writer: SocketWriter;
  private readonly head = new RequestHead();
  private readonly chunked = new ChunkedDecoder();
  private state = S_HEAD;
  private slot = -1;
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
  /** The streaming response of the current request (made on the first one), and whether
   *  one holds a stream's share of the slots (from Stream.start until the app is done). */
  private stream: ResponseStream | null = null;
  private streaming = false;
  /** The build this connection's current request runs on (RequestEnv). */
  private run: RequestEnv;
  /** performance.now() when the current request's head was complete, for the observer; 0
   *  when no head is complete or no observer is attached. */
  private startedAt = 0;
  /** Where a static file's response head is written (made on the first one). */
  private staticHead: Uint8Array | null = null;
  /** Views of staticHead by length, STATIC_VIEWS of them reused round-robin: a browser's
   *  few files (page, stylesheet, icon, their 304s) each keep theirs, with no new view per
   *  request. */
  private staticViews: (Uint8Array | null)[] | null = null;
  private staticViewNext = 0;
  /** Bound once so that no closure is made per write or per app call. */
  private readonly onAppDone = (status: number): void => this.appReturned(status);
  private readonly onAppError = (err: unknown): void => this.appThrew(err);
  private readonly onNextBatch = (): void => {
    this.batchScheduled = false;
    if (this.state !== S_CLOSED) this.drive();
  };

  constructor(socket: Socket, env: ConnectionEnv) {
    this.socket = socket;
    this.env = env;
    this.run = env.current;
    socket.setNoDelay(true);
    this.writer = new SocketWriter(socket, (err: boolean, later: boolean) => this.afterWrite(err, later));
    socket.on("end", () => this.onEnd());
    socket.on("error", () => { /* 'close' follows; resets and timeouts are routine */ });
    socket.on("close", () => this.onClose());
    this.setDeadline(DEADLINE_IDLE);
    startReading(socket, env.readBuffer, (buf, start, end) => this.onRead(buf, start, end));
  }

  /** True when no request is in progress and no request bytes are buffered. */
  isIdle(): boolean {
    return this.state === S_HEAD && this.inLen === 0 && this.pending === null;
  }

  private setDeadline(kind: number): void {
    this.deadlineKind = kind;
    // The sweep's clock is up to TIMER_SWEEP_MS old, so a deadline counted from it would
    // fire that much early: add it, and a deadline fires late, never early. (Date.now()
    // here would cost a heap number per request.)
    this.deadline = kind === DEADLINE_NONE ? 0 : this.env.now + TIMER_SWEEP_MS + timeoutOf(this.env.timeouts, kind);
  }

  /** Body deadline: the idle limit from now, but never past the whole-body limit. */
  private setBodyDeadline(): void {
    const t = this.env.timeouts;
    this.deadlineKind = DEADLINE_BODY;
    this.deadline = Math.min(this.env.now + TIMER_SWEEP_MS + t.body, this.bodyStart + TIMER_SWEEP_MS + t.bodyTotal);
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
      const grown = need <= CONNECTION_BUFFER_BYTES ? this.env.buffers.take() : new Uint8Array(need);
      if (have > 0) copyBytes(this.pending!, this.pendingOff, grown, 0, have);
      if (stash !== null) this.env.buffers.give(stash);
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
      this.env.buffers.give(this.stash);
      this.stash = null;
    }
  }

  /** The connection buffer, taken from the pool when there is none. */
  private inbufTaken(): Uint8Array {
    if (this.inbuf === null) this.inbuf = this.env.buffers.take();
    return this.inbuf;
  }

  /** Returns the connection buffer when it holds nothing. */
  private returnEmptyInbuf(): void {
    if (this.inLen === 0 && this.inbuf !== null) {
      this.env.buffers.give(this.inbuf);
      this.inbuf = null;
      this.scanFrom = 0;
    }
  }

  private onEnd(): void {
    this.peerEnded = true;
    // A request with the app goes on: a client that half-closes still reads its response
    // (node:http answers it too); the connection closes once it is written.
    if (this.state === S_HEAD || this.state === S_BODY || this.state === S_PREBODY) this.drive();
    // A stream's client that closes its side has left (an EventSource closed): stop the stream.
    else if (this.state === S_STREAM && this.inApp) this.run.bridge.cancel(this.slot);
  }

  private onClose(): void {
    if (this.state === S_QUEUED) this.run.scheduler.dequeue(this);
    this.state = S_CLOSED;
    if (this.inApp) {
      // The app is running or suspended on an effect: stop its effects; the slot is
      // released when the app returns. A stream write in flight will not complete.
      this.stream?.socketClosed();
      this.run.bridge.cancel(this.slot);
    }
    this.releaseSlot();
    this.endBodySlot();
    this.dropPending();
    this.inLen = 0;
    this.returnEmptyInbuf();
    this.env.connectionClosed(this);
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
          this.driveNextTurn();
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

  /** Drives on the next turn of the event loop (once, however often it is asked). */
  private driveNextTurn(): void {
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(this.onNextBatch);
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
      this.nothingBuffered();
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
      this.nothingBuffered();
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
    // A new request: it has no id until the app has it.
    this.requestId = 0;
    if (this.env.observer !== null) this.startedAt = performance.now();
    const r = parseHead(inbuf, end, head, this.env.bodyBytesMax);
    if (r < 0) {
      const reason = r === HEAD_BODY_TOO_LARGE
        ? `Content-Length ${head.contentLength} is over the body limit of ${this.env.bodyBytesMax} bytes`
        : head.reason;
      this.protocolError(headErrorCode(r), reason, r === HEAD_BODY_TOO_LARGE);
      return false;
    }
    this.setDeadline(DEADLINE_NONE);
    if (this.env.statics !== null && this.answerStatic()) return true;
    this.streamsBody = head.hasBody() && (head.chunked || head.headEnd + head.contentLength > CONNECTION_BUFFER_BYTES);
    if (head.hasBody() && !this.streamsBody) {
      // The body fits behind the head: read it here, before taking a slot.
      this.state = S_PREBODY;
      this.bodyStart = this.env.now;
      this.setBodyDeadline();
      if (head.expectContinue && this.inLen < head.headEnd + head.contentLength) this.socket.write(CONTINUE_BYTES);
      return true;
    }
    return this.queueForSlot();
  }

  /** Between requests with nothing buffered (empty lines before a request are skipped):
   *  the connection is idle, not waiting for a head, so it gets the quiet idle close and
   *  never a 408. */
  private nothingBuffered(): void {
    if (this.peerEnded) this.finish();
    else if (this.deadlineKind === DEADLINE_HEADERS) this.setDeadline(DEADLINE_IDLE);
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

  /**
   * A parsed head whose path names a static file (--static) is answered here, before the
   * app and without a slot: true when it was. A GET or HEAD gets the file (or 304), any
   * other method 405; a request with a body is answered all the same, and the connection
   * then closes (its body is not read).
   */
  private answerStatic(): boolean {
    const statics = this.env.statics!;
    const head = this.head;
    const inbuf = this.inbuf!;
    const file = statics.find(inbuf, head);
    if (file === null) return false;
    this.requestId = this.env.nextRequestId();
    this.batch++;
    const keepAlive = head.keepAlive && !head.hasBody() && !this.env.closing;
    if (!statics.allowed(inbuf, head)) {
      this.consumeHead();
      this.sendError("ARENA_E_STATIC_METHOD", "the path names a static file (--static), which answers GET and HEAD only", keepAlive, "Allow: GET, HEAD\r\n");
      return true;
    }
    const out = this.staticHead ??= new Uint8Array(STATIC_HEAD_BYTES);
    const len = statics.answer(inbuf, head, file, out, this.env.date, keepAlive);
    this.consumeHead();
    const body = statics.body;
    if (this.env.observer !== null) this.observe(statics.status, null, len + (body === null ? 0 : body.length));
    this.writeError(this.staticView(out, len), keepAlive, body);
    return true;
  }

  /** The view of the first `len` bytes of the static head buffer `out`, from the cache. */
  private staticView(out: Uint8Array, len: number): Uint8Array {
    const views = this.staticViews ??= new Array<Uint8Array | null>(STATIC_VIEWS).fill(null);
    for (let i = 0; i < STATIC_VIEWS; i++) {
      const v = views[i];
      if (v !== null && v.length === len) return v;
    }
    const view = out.subarray(0, len);
    views[this.staticViewNext] = view;
    this.staticViewNext = (this.staticViewNext + 1) % STATIC_VIEWS;
    return view;
  }

  /** Drops the current request's head from the connection buffer; what follows it (the
   *  next pipelined request) stays. */
  private consumeHead(): void {
    const inbuf = this.inbuf!;
    inbuf.copyWithin(0, this.head.headEnd, this.inLen);
    this.inLen -= this.head.headEnd;
    this.scanFrom = 0;
  }

  /** The request is ready for a slot: take one now or wait in the server's queue. True
   *  when it got one. */
  private queueForSlot(): boolean {
    // The request runs on the server's current build from here: the first moment it counts
    // as that build's (queued or in a slot), so a reload cannot drop the build under it.
    this.run = this.env.current;
    this.state = S_QUEUED;
    this.run.scheduler.request(this, this.streamsBody);
    return this.state !== S_QUEUED;
  }

  /** The server grants a slot: copy the head into its arena and start reading the body. */
  startRequest(slot: number): void {
    assert(this.state === S_QUEUED && this.slot < 0, "a slot is granted to a request that waits for one");
    const bridge = this.run.bridge;
    const head = this.head;
    const inbuf = this.inbuf!;
    this.slot = slot;
    this.bodyPtr = bridge.openRequest(slot, head, inbuf, this.socket.remoteAddress ?? "");
    this.bodyLen = 0;
    // The body may use the server's limit, but never more than half of what is left of the
    // arena: the handler needs room too.
    this.bodyMax = Math.min(this.env.bodyBytesMax, bridge.bodyRoom(slot, this.bodyPtr));
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
      this.bodyStart = this.env.now;
      this.setBodyDeadline();
    }
  }

  /** A slot freed up while this request waited in the queue. */
  resumeWithSlot(slot: number): void {
    if (this.state !== S_QUEUED) {
      // The client went away meanwhile.
      this.endBodySlot();
      this.run.scheduler.release(slot);
      return;
    }
    this.startRequest(slot);
    this.drive();
  }

  /** The body is read (or the request ended): its slot no longer counts as streaming. */
  private endBodySlot(): void {
    if (!this.holdsBodySlot) return;
    this.run.scheduler.bodySlotDone(this);
  }

  /** Reads body bytes into the arena. True when the state advanced. */
  private readBody(): boolean {
    const u8 = this.run.bridge.u8;
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
    const bridge = this.run.bridge;
    this.endBodySlot();
    this.batch++;
    this.setDeadline(DEADLINE_APP);
    const id = this.env.nextRequestId();
    this.requestId = id;
    this.state = S_APP;
    this.inApp = true;
    this.stream?.reset();
    bridge.attachSink(this.slot, this);
    // First as a plain call (no promise, no JSPI stack: most handlers never wait).
    let status: number;
    try {
      status = bridge.callPlain(this.slot, this.bodyPtr, this.bodyLen, id);
    } catch (err) {
      this.appThrew(err);
      return;
    }
    if (status !== ARENA_NEEDS_ASYNC) {
      this.appReturned(status);
      return;
    }
    // The handler may wait on effects (the build says so; none of its code ran): run it
    // through JSPI. It runs now up to its first suspension; the promise settles when it
    // returns. The callbacks are bound once per connection.
    bridge.callWaiting(this.slot, this.bodyPtr, this.bodyLen).then(this.onAppDone, this.onAppError);
  }

  /** The app is done with the request (returned or trapped). False when the client went
   *  away meanwhile: the slot is released and there is nothing to answer. */
  private appDone(): boolean {
    assert(this.inApp, "the app finishes a request it has");
    this.inApp = false;
    this.run.bridge.ended(this.slot);
    if (this.streaming) this.streamOver();
    if (this.deadlineKind === DEADLINE_APP) this.setDeadline(DEADLINE_NONE);
    if (this.state !== S_CLOSED && !this.abandoned) return true;
    this.releaseSlot();
    return false;
  }

  /** The request's wall-clock deadline passed while the app has it: answer 504 now and
   *  close; its effects are cancelled and its next CPU check traps, and the slot is
   *  released when the app has returned. */
  private deadlinePassed(): void {
    this.run.bridge.deadlinePassed(this.slot);
    this.abandoned = true;
    this.keepAlive = false;
    this.failResponse("ARENA_E_DEADLINE", `no response after ${this.env.timeouts.app} ms (--deadline-ms)`, this.requestId);
  }

  private appReturned(status: number): void {
    if (!this.appDone()) return;
    if (this.state === S_STREAM || this.stream?.refusal) {
      this.streamReturned();
      return;
    }
    if (status !== ARENA_OK) {
      this.failResponse("ARENA_E_RESPONSE", `arena_handle returned status ${status}, not ARENA_OK (${status === ARENA_NO_HANDLER ? "no handler" : "unknown status"})`, this.requestId);
      return;
    }
    this.sendResponse(this.requestId);
  }

  private appThrew(err: unknown): void {
    if (!this.appDone()) return;
    if (this.state === S_STREAM) {
      this.streamTrapped(err);
      return;
    }
    this.appFailed(err, this.requestId);
  }

  private sendResponse(id: number): void {
    const bridge = this.run.bridge;
    const slot = this.slot;
    const bad = bridge.readResponse(slot);
    if (bad !== null) {
      this.failResponse("ARENA_E_RESPONSE", bad, id);
      return;
    }
    const r = bridge.response;
    const u8 = bridge.u8;
    if (r.headersLen + HOST_HEAD_BYTES_MAX > RESPONSE_HEAD_BYTES_MAX) {
      this.failResponse("ARENA_E_RESPONSE", `response headers are ${r.headersLen} bytes, over RESPONSE_HEAD_BYTES_MAX`, id);
      return;
    }
    const badHeader = checkAppHeaders(u8, r.headersPtr, r.headersLen);
    if (badHeader !== null) {
      this.failResponse("ARENA_E_RESPONSE", badHeader, id);
      return;
    }
    const handle = bridge.bodyDevice(slot);
    if (handle !== 0) {
      this.sendDeviceBody(handle, id);
      return;
    }
    // May point r's header lines and body at a compressed copy, further up the slot's arena.
    this.env.compression?.apply(bridge, slot, this.head, r);
    const bodyPtr = r.bodyPtr;
    const bodyLen = r.bodyLen;
    const keepAlive = this.keepAlive && !this.env.closing;
    this.keepAlive = keepAlive;
    const noBody = statusHasNoBody(r.status);
    const headStart = bridge.headReserve(slot);
    const headEnd = writeHead(u8, headStart, r.status, r.headersPtr, r.headersLen, noBody ? 0 : bodyLen, this.env.date,
      keepAlive, this.head.versionMinor === 0);
    const sendBody = !(noBody || this.head.isHead || bodyLen === 0);
    if (this.env.observer !== null) this.observe(r.status, null, headEnd - headStart + (sendBody ? bodyLen : 0));
    this.state = S_WRITING;
    // Head and body go out in one write, as views over wasm memory; the views are cached
    // per slot, so a response laid out as the last one allocates nothing. A small body is
    // copied after the head in the slot's head reserve: one contiguous write() is cheaper
    // for the kernel than a two-part writev().
    this.writing = true;
    if (!sendBody) {
      this.writer.write(bridge.view(slot, 0, headStart, headEnd - headStart), null);
    } else if (bodyLen <= SMALL_BODY_COPY_BYTES_MAX && headEnd + bodyLen <= bridge.slotEnd(slot)) {
      u8.copyWithin(headEnd, bodyPtr, bodyPtr + bodyLen);
      this.writer.write(bridge.view(slot, 0, headStart, headEnd - headStart + bodyLen), null);
    } else {
      this.writer.write(bridge.view(slot, 0, headStart, headEnd - headStart), bridge.view(slot, 1, bodyPtr, bodyLen));
    }
    this.watchSend();
  }

  /** The app answered with a device buffer as its body (RES_BODY_DEVICE, Response.device):
   *  sent straight from the host's buffer after the head, never copied into the slot, and
   *  not compressed (it is the app's to store compressed if it wants). */
  private sendDeviceBody(handle: number, id: number): void {
    const bridge = this.run.bridge;
    const slot = this.slot;
    const r = bridge.response;
    const body = this.run.device.get(handle);
    if (body === null) {
      const why = handle < 0 ? `-DeviceStatus ${-handle}, what a failed device call answered, not a handle` : `device handle ${handle}, which is stale (freed, from before a reload, another worker's, or never given)`;
      this.failResponse("ARENA_E_RESPONSE", `the response body is ${why}`, id);
      return;
    }
    if (r.bodyLen !== 0) {
      this.failResponse("ARENA_E_RESPONSE", "the response has a body in the arena and a device body: one or the other", id);
      return;
    }
    const keepAlive = this.keepAlive && !this.env.closing;
    this.keepAlive = keepAlive;
    const noBody = statusHasNoBody(r.status);
    const headStart = bridge.headReserve(slot);
    const headEnd = writeHead(bridge.u8, headStart, r.status, r.headersPtr, r.headersLen, noBody ? 0 : body.length, this.env.date,
      keepAlive, this.head.versionMinor === 0);
    const sendBody = !(noBody || this.head.isHead || body.length === 0);
    if (this.env.observer !== null) this.observe(r.status, null, headEnd - headStart + (sendBody ? body.length : 0));
    this.state = S_WRITING;
    this.writing = true;
    this.writer.write(bridge.view(slot, 0, headStart, headEnd - headStart), sendBody ? body : null);
    this.watchSend();
  }

  /** The app trapped: answer 500 with the code, keep the connection if the request allows. */
  private appFailed(err: unknown, id: number): void {
    const e = this.run.bridge.trapError(this.slot, err);
    this.failResponse(e.code, e.detail, id);
  }

  /** Logs a request error with method, path and route, then answers with its code. */
  private failResponse(code: ErrorCode, detail: string, id: number): void {
    const where = this.run.bridge.describe(this.slot);
    this.env.log.error(code, `req=${id} slot=${this.slot} ${where}: ${detail}`);
    const keepAlive = this.keepAlive && !this.env.closing;
    const response = errorResponse(code, `${where}: ${detail}`, this.env.date, keepAlive, this.head.isHead, "");
    // Observed while the slot is held (its route and arena use are read from it); released
    // before the write, which may complete at once and start the next pipelined request.
    if (this.env.observer !== null) this.observe(ERRORS[code].status, code, response.length);
    this.releaseSlot();
    this.writeError(response, keepAlive);
  }

  /** A request the host refuses before the app sees it: answer and close. */
  private protocolError(code: ErrorCode, reason: string, logIt = false): void {
    if (logIt || ERRORS[code].status >= 500) this.env.log.error(code, `from ${this.socket.remoteAddress ?? "?"}: ${reason}`);
    // The body will not be read: its share of the slots comes back with the slot, not
    // when the client finally closes.
    this.endBodySlot();
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
        this.env.log.info(`closing a connection from ${this.socket.remoteAddress ?? "?"}: its response made no progress for ${this.env.timeouts.send} ms (${left} bytes unsent)`);
        this.socket.destroy(); // 'close' frees the slot
      }
    } else if (kind === DEADLINE_APP) {
      if (this.inApp && this.state === S_APP) this.deadlinePassed();
    } else if (this.state === S_HEAD || this.state === S_BODY || this.state === S_PREBODY) {
      this.protocolError("ARENA_E_HTTP_TIMEOUT", kind === DEADLINE_HEADERS ? "request head not received in time"
        : `request body not received in time (a pause of ${this.env.timeouts.body} ms, or ${this.env.timeouts.bodyTotal} ms in all)`);
    }
  }

  /** Graceful shutdown: close now if idle; otherwise the response says Connection: close. */
  shutdown(): void {
    if (this.isIdle()) this.socket.destroy();
    // A stream would outlive the shutdown: its next write or wait answers Cancelled.
    else this.stopStream();
  }

  private sendError(code: ErrorCode, detail: string, keepAlive: boolean, extra = ""): void {
    const response = errorResponse(code, detail, this.env.date, keepAlive, this.head.isHead, extra);
    if (this.env.observer !== null) this.observe(ERRORS[code].status, code, response.length);
    this.writeError(response, keepAlive);
  }

  /** Tells the observer the current request is answered with `status` (`code` when the
   *  host wrote it) in `bytes`. */
  private observe(status: number, code: ErrorCode | null, bytes: number): void {
    const obs = this.env.observer!;
    const r = obs.record;
    r.id = this.requestId;
    r.status = status;
    r.code = code;
    r.bytes = bytes;
    r.durationMs = this.startedAt === 0 ? 0 : performance.now() - this.startedAt;
    r.slot = this.slot;
    r.bridge = this.run.bridge;
    this.startedAt = 0;
    obs.finished(r);
    r.bridge = null; // the record must not keep a build alive once a reload dropped it
  }

  /** Writes a response the host made (an error, or a static file's head and `body`). */
  private writeError(response: Uint8Array, keepAlive: boolean, body: Uint8Array | null = null): void {
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
    this.writer.write(response, body);
    this.watchSend();
  }

  /** After a write call: if the kernel did not take it all at once, the send deadline
   *  watches that the client keeps reading. */
  private watchSend(): void {
    if (!this.writing) return;
    this.sendLeft = this.writer.queuedBytes();
    this.setDeadline(DEADLINE_SEND);
  }

  /** A response's write completed; `later` when inside the completion of the socket's write
   *  request (SocketWriter), which the next pipelined response must not reuse yet. */
  private afterWrite(err: boolean, later = false): void {
    this.writing = false;
    if (this.deadlineKind === DEADLINE_SEND) this.setDeadline(DEADLINE_NONE);
    if (this.state === S_CLOSED) return;
    if (this.state === S_STREAM) {
      this.streamWritten(err);
      return;
    }
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
    if (this.env.closing && this.isIdle()) {
      this.state = S_CLOSED;
      this.lingeringClose();
      return;
    }
    // A pipelined request answered at once would write from inside the completion.
    if (later) this.driveNextTurn();
    else this.drive();
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

  // --- Streaming responses (docs/abi.md, "Streaming responses") ---------------------------
  //
  // The app sends the head with stream_start and the body with stream_write while it still
  // has the request (S_STREAM), and the last chunk goes out when it returns. The request's
  // deadline (--deadline-ms) covers the time to the head; after it a stream has no
  // wall-clock limit: it ends when the handler returns, when its client leaves (its next
  // write or wait answers Cancelled), when a write makes no progress for SEND_TIMEOUT_MS
  // (the connection is closed, which cancels the write), or at shutdown.

  /** Asks a stream in progress to end (a reload replaced its build, which it would keep
   *  alive): its next write or wait answers Cancelled, and the handler returns. */
  stopStream(): void {
    if (this.state === S_STREAM && this.inApp) this.run.bridge.cancel(this.slot);
  }

  /** StreamSink: sends the response head, framed for streaming. */
  streamStart(ctx: SlotContext, status: number, hdrPtr: number, hdrLen: number): number | Promise<number> {
    if (this.state !== S_APP || ctx.slot !== this.slot) return EFFECT_BAD_ARGUMENT;
    const stream = this.stream ??= new ResponseStream();
    if (stream.refusal !== null) return EFFECT_BAD_ARGUMENT;
    const bridge = this.run.bridge;
    const bad = status < 200 || status > 599 ? `stream status ${status} is not 200-599`
      : hdrLen + HOST_HEAD_BYTES_MAX > RESPONSE_HEAD_BYTES_MAX ? `stream headers are ${hdrLen} bytes, over RESPONSE_HEAD_BYTES_MAX`
      : checkAppHeaders(bridge.u8, hdrPtr, hdrLen);
    if (bad !== null) {
      stream.refuse("ARENA_E_RESPONSE", bad);
      return EFFECT_BAD_ARGUMENT;
    }
    if (!this.run.scheduler.startStream()) {
      stream.refuse("ARENA_E_STREAMS", `${this.run.scheduler.streamsMax} responses are streaming already (STREAM_SLOTS_SHARE of the slots)`);
      return EFFECT_UNAVAILABLE;
    }
    this.streaming = true;
    this.state = S_STREAM;
    this.setDeadline(DEADLINE_NONE);
    // HTTP/1.0 cannot read chunks: its body ends when the connection closes.
    const http10 = this.head.versionMinor === 0;
    stream.status = status;
    stream.bodyless = this.head.isHead || statusHasNoBody(status);
    stream.chunked = !http10 && !statusHasNoBody(status);
    this.keepAlive = this.keepAlive && !this.env.closing && !http10;
    const start = bridge.headReserve(this.slot);
    const end = writeStreamHead(bridge.u8, start, status, hdrPtr, hdrLen, this.env.date, this.keepAlive, stream.chunked);
    stream.bytes = end - start;
    return this.streamSend(ctx, bridge.view(this.slot, 0, start, end - start));
  }

  /** StreamSink: sends the body's next piece: a chunk, or bytes as they are (HTTP/1.0). */
  streamWrite(ctx: SlotContext, ptr: number, len: number): number | Promise<number> {
    const stream = this.stream;
    if (this.state !== S_STREAM || stream === null || ctx.slot !== this.slot) return this.state === S_APP ? EFFECT_BAD_ARGUMENT : EFFECT_CANCELLED;
    if (stream.bodyless || this.env.closing) return EFFECT_CANCELLED;
    if (len === 0) return EFFECT_OK; // an empty chunk would be the last one
    const bridge = this.run.bridge;
    const data = bridge.view(this.slot, 1, ptr, len);
    if (!stream.chunked) {
      stream.bytes += len;
      return this.streamSend(ctx, data);
    }
    const start = bridge.headReserve(this.slot);
    const end = writeChunkSize(bridge.u8, start, len);
    const parts = stream.parts;
    parts[0] = bridge.view(this.slot, 0, start, end - start);
    parts[1] = data;
    stream.bytes += end - start + len + 2;
    return this.streamSend(ctx, null);
  }

  /** Hands `one` (or the stream's chunk parts) to the socket: the status at once when the
   *  kernel took it all, else a wait until it has (the send deadline watches progress). */
  private streamSend(ctx: SlotContext, one: Uint8Array | null): number | Promise<number> {
    const stream = this.stream!;
    stream.writing(ctx);
    this.writing = true;
    if (one !== null) this.writer.write(one, null);
    else this.writer.writeParts(stream.parts);
    if (!this.writing) return stream.settledAtOnce();
    this.watchSend();
    return ctx.wait(stream);
  }

  /** A stream's write completed (or failed: the connection is closed, the write Cancelled). */
  private streamWritten(err: boolean): void {
    if (err) {
      this.keepAlive = false;
      this.socket.destroy();
    }
    this.stream!.written(err);
  }

  /** The app is done with a stream's request: its share of the slots comes back. A stream
   *  whose client left is observed here; one that ends otherwise, where it ends. */
  private streamOver(): void {
    this.streaming = false;
    this.run.scheduler.streamDone();
    const stream = this.stream!;
    if (this.state === S_CLOSED && this.env.observer !== null) this.observe(stream.status, null, stream.bytes);
  }

  /** The app returned after starting a stream (send its end) or after one was refused
   *  (answer with the refusal's error instead of its response). */
  private streamReturned(): void {
    const stream = this.stream!;
    if (this.state !== S_STREAM) {
      this.failResponse(stream.refusal!, stream.refusalDetail, this.requestId);
      return;
    }
    // The stream's wait settles only once its write completed (ResponseStream.cancel), so
    // the last chunk never queues behind a write that holds the socket's write request.
    assert(!this.writing, "a stream's handler returns only after its write completed");
    const last = stream.chunked && !stream.bodyless && !this.socket.destroyed;
    if (last) stream.bytes += LAST_CHUNK.length;
    if (this.env.observer !== null) this.observe(stream.status, null, stream.bytes);
    if (this.socket.destroyed) return; // a write failed: 'close' frees the slot
    this.state = S_WRITING;
    this.writing = true;
    if (!last) {
      this.afterWrite(false); // head only, or a close-delimited body: keepAlive says which
      return;
    }
    this.writer.write(LAST_CHUNK, null);
    this.watchSend();
  }

  /** The app trapped mid-stream: the head is gone, so the client learns it from a body cut
   *  short (no last chunk, or an early close), and the log says why. */
  private streamTrapped(err: unknown): void {
    const stream = this.stream!;
    const bridge = this.run.bridge;
    const e = bridge.trapError(this.slot, err);
    this.env.log.error(e.code, `req=${this.requestId} slot=${this.slot} ${bridge.describe(this.slot)}: ${e.detail} (mid-stream: the connection is closed)`);
    if (this.env.observer !== null) this.observe(stream.status, e.code, stream.bytes);
    this.keepAlive = false;
    this.socket.destroy(); // 'close' frees the slot
  }

  /** Gives the slot back, unless the app still has it (then `appDone` does). */
  private releaseSlot(): void {
    if (this.slot >= 0 && !this.inApp) {
      const slot = this.slot;
      this.slot = -1;
      this.run.scheduler.release(slot);
    }
  }
}
