// The bytes and the state of a streaming response (docs/abi.md, "Streaming responses"),
// apart from the connection's state machine that sends them (connection.ts): the head
// framed for streaming, chunk size lines, and the one reusable wait a write suspends on.
//
// HTTP/1.1 bodies go out with chunked transfer encoding, one chunk per write and the last
// chunk when the handler returns (no trailers). An HTTP/1.0 client cannot read chunks, so
// its body is delimited by closing the connection (RFC 9112 §6.3), and its head says
// Connection: close. A HEAD request, or a status without a body, gets the head only.

import { EFFECT_CANCELLED, EFFECT_OK } from "../abi/constants.ts";
import type { PendingEffect, SlotContext } from "../abi/slot_context.ts";
import type { ErrorCode } from "../errors.ts";
import type { HttpDate } from "./date.ts";
import { writeHeadEnd, writeHeadStart } from "./response_head.ts";

const encoder = new TextEncoder();
const TRANSFER_ENCODING_CHUNKED = encoder.encode("Transfer-Encoding: chunked\r\n");

/** What follows a chunk's bytes. */
export const CHUNK_END = encoder.encode("\r\n");
/** The last chunk, with no trailers: the end of a chunked body. */
export const LAST_CHUNK = encoder.encode("0\r\n\r\n");
/** Bytes of the longest chunk size line: 8 hex digits (a wasm32 length) and CRLF. */
export const CHUNK_SIZE_LINE_BYTES_MAX = 10;

/**
 * Writes a streaming response's head at u8[pos...]: status line, the app's header bytes
 * (already checked) copied from u8[hdrPtr, hdrPtr + hdrLen), Transfer-Encoding: chunked
 * when `chunked`, Date, and Connection: close unless `keepAlive`. Returns the end.
 */
export function writeStreamHead(u8: Uint8Array, pos: number, status: number, hdrPtr: number, hdrLen: number,
  date: HttpDate, keepAlive: boolean, chunked: boolean): number {
  pos = writeHeadStart(u8, pos, status, hdrPtr, hdrLen);
  if (chunked) {
    u8.set(TRANSFER_ENCODING_CHUNKED, pos);
    pos += TRANSFER_ENCODING_CHUNKED.length;
  }
  return writeHeadEnd(u8, pos, date, keepAlive, false);
}

/** Writes the chunk size line of a chunk of `n` (> 0) bytes at u8[pos...], lowercase hex
 *  without leading zeros; returns the end. */
export function writeChunkSize(u8: Uint8Array, pos: number, n: number): number {
  let digits = 1;
  while (digits < 8 && n >>> (digits * 4) !== 0) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    const d = (n >>> (i * 4)) & 0xf;
    u8[pos++] = d < 10 ? 0x30 + d : 0x57 + d;
  }
  u8[pos++] = 0x0d;
  u8[pos++] = 0x0a;
  return pos;
}

/**
 * One connection's streaming response: how its body is framed, what it has sent, why it
 * was refused, and the wait a write suspends on (reused by every write: a write that the
 * kernel takes at once does not suspend at all).
 */
export class ResponseStream implements PendingEffect {
  /** The status the head was sent with. */
  status = 0;
  /** Bytes handed to the socket: head, chunk framing and body. */
  bytes = 0;
  /** HTTP/1.1 body: chunks; else close-delimited (HTTP/1.0). */
  chunked = false;
  /** HEAD, or a status without a body: the head only, writes answer Cancelled. */
  bodyless = false;
  /** Stream.start was refused: the host answers with this code when the handler returns. */
  refusal: ErrorCode | null = null;
  refusalDetail = "";
  /** Where the size line, the bytes and CRLF of a chunk are put for one writev. */
  readonly parts: Uint8Array[] = [CHUNK_END, CHUNK_END, CHUNK_END];
  /** The request that waits for its write, and how a write that completed at once went. */
  private ctx: SlotContext | null = null;
  private failedAtOnce = false;
  /** How the write the request waits for went, until `wakeLater` wakes it. */
  private failedLater = false;
  private readonly wakeLater = (): void => this.settle(this.failedLater);
  /** A write is with the socket and has not completed: the socket's one write request is
   *  Node's until it does. */
  private inFlight = false;
  /** The stream was cancelled while its write was in flight: the wait answers Cancelled
   *  once the write completes. */
  private cancelledInFlight = false;

  reset(): void {
    this.status = 0;
    this.bytes = 0;
    this.chunked = false;
    this.bodyless = false;
    this.refusal = null;
    this.refusalDetail = "";
    this.ctx = null;
    this.failedAtOnce = false;
    this.inFlight = false;
    this.cancelledInFlight = false;
  }

  refuse(code: ErrorCode, detail: string): void {
    this.refusal = code;
    this.refusalDetail = detail;
  }

  /** A write is about to be handed to the socket for the request of `ctx`. */
  writing(ctx: SlotContext): void {
    this.ctx = ctx;
    this.failedAtOnce = false;
    this.inFlight = true;
    this.cancelledInFlight = false;
  }

  /**
   * The write went to the kernel (or failed): wakes the request waiting for it, or, when
   * it completed inside the write call, remembers the outcome for `settledAtOnce`. The
   * wake waits for the next turn of the event loop: this runs inside the socket's write
   * completion, whose request object Node releases only after it returns, and the woken
   * handler's next write (in the microtasks right after) would reuse that object too soon.
   */
  written(err: boolean): void {
    this.inFlight = false;
    const ctx = this.ctx;
    if (ctx !== null && ctx.pending === this) {
      this.failedLater = err || this.cancelledInFlight;
      setImmediate(this.wakeLater);
    } else {
      this.failedAtOnce = err;
    }
  }

  /** Wakes the request waiting for its write, if it still does. */
  private settle(err: boolean): void {
    const ctx = this.ctx;
    if (ctx === null || ctx.pending !== this) return;
    this.ctx = null;
    ctx.wake(this, err ? EFFECT_CANCELLED : EFFECT_OK);
  }

  /** The status of a write that completed inside the write call. */
  settledAtOnce(): number {
    this.ctx = null;
    return this.failedAtOnce ? EFFECT_CANCELLED : EFFECT_OK;
  }

  /**
   * The request is cancelled (its client half-closed, a reload or a shutdown stopped the
   * stream, or the connection closed): its wait answers Cancelled. While its write is still
   * in flight that answer waits for the write to complete: woken now, the handler would
   * return and the connection would send the last chunk through the write request Node
   * still holds (a native assertion aborted the process). A client that half-closed may
   * still read what was sent; one that reads nothing is closed by the send timeout, which
   * settles the wait through `socketClosed`.
   */
  cancel(): void {
    if (this.inFlight) this.cancelledInFlight = true;
    else this.settle(true);
  }

  /** The connection closed: the write in flight will not complete (or its completion is
   *  ignored), and nothing more is written to the socket, so a wait settles at once. */
  socketClosed(): void {
    this.inFlight = false;
    this.settle(true);
  }
}
