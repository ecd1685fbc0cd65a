// The fetch descriptor (docs/abi.md): what the app asks for, read from its arena, and
// where the host writes the answer back (status, header table, body, or an error message).

import {
  FETCH_BODY_LEN, FETCH_BODY_PTR, FETCH_DESC_BYTES, FETCH_HEADERS_LEN, FETCH_HEADERS_PTR, FETCH_MAX_BYTES, FETCH_METHOD_LEN,
  FETCH_METHOD_PTR, FETCH_RES_BODY_LEN, FETCH_RES_BODY_PTR, FETCH_RES_ERROR_LEN, FETCH_RES_ERROR_PTR, FETCH_RES_HEADER_COUNT,
  FETCH_RES_HEADERS_PTR, FETCH_RES_STATUS, FETCH_TIMEOUT_MS, FETCH_URL_LEN, FETCH_URL_PTR,
} from "../../abi/constants.ts";
import { checkAppHeaders } from "../../http/response_head.ts";
import { tokenEnd } from "../../http/syntax.ts";
import type { AppMemory } from "../../memory/app_memory.ts";
import { FETCH_ERROR_MESSAGE_BYTES_MAX } from "../../limits.ts";

const encoder = new TextEncoder();

/** Fields an app may not set on an upstream request: the client owns framing and routing. */
export const REQUEST_RESERVED_FIELDS = ["content-length", "transfer-encoding", "connection", "host", "te", "upgrade", "keep-alive", "trailer"] as const;

/** Whether u8[ptr, ptr + len) is the ASCII string `s` (methods are case-sensitive). */
function bytesAre(u8: Uint8Array, ptr: number, len: number, s: string): boolean {
  if (len !== s.length) return false;
  for (let i = 0; i < len; i++) if (u8[ptr + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** One slot's fetch descriptor; reused for every fetch of the slot. */
export class FetchDescriptor {
  /** Its address in the arena. */
  desc = 0;
  methodPtr = 0;
  methodLen = 0;
  urlPtr = 0;
  urlLen = 0;
  hdrPtr = 0;
  hdrLen = 0;
  bodyPtr = 0;
  bodyLen = 0;
  /** What the app asked for; 0: the client's default. */
  timeoutMs = 0;
  bodyBytesMax = 0;
  /** Safe to send again on a fresh socket (GET, HEAD, OPTIONS, PUT, DELETE). */
  idempotent = false;
  /** A response to it may have a body (not HEAD). */
  expectBody = true;
  /** It carries a Content-Length: it has a body, or its method is one that has one. */
  withBody = false;

  /** Reads the descriptor at `desc` and clears its answer; false when it does not lie in
   *  `slot`'s arena (then nothing is read or written). */
  open(app: AppMemory, slot: number, desc: number): boolean {
    this.desc = desc;
    if (!app.validRange(slot, desc, FETCH_DESC_BYTES)) return false;
    const dv = app.dv;
    dv.setUint32(desc + FETCH_RES_STATUS, 0, true);
    dv.setUint32(desc + FETCH_RES_HEADER_COUNT, 0, true);
    dv.setUint32(desc + FETCH_RES_BODY_LEN, 0, true);
    dv.setUint32(desc + FETCH_RES_ERROR_LEN, 0, true);
    this.methodPtr = dv.getUint32(desc + FETCH_METHOD_PTR, true);
    this.methodLen = dv.getUint32(desc + FETCH_METHOD_LEN, true);
    this.urlPtr = dv.getUint32(desc + FETCH_URL_PTR, true);
    this.urlLen = dv.getUint32(desc + FETCH_URL_LEN, true);
    this.hdrPtr = dv.getUint32(desc + FETCH_HEADERS_PTR, true);
    this.hdrLen = dv.getUint32(desc + FETCH_HEADERS_LEN, true);
    this.bodyPtr = dv.getUint32(desc + FETCH_BODY_PTR, true);
    this.bodyLen = dv.getUint32(desc + FETCH_BODY_LEN, true);
    this.timeoutMs = dv.getUint32(desc + FETCH_TIMEOUT_MS, true);
    this.bodyBytesMax = dv.getUint32(desc + FETCH_MAX_BYTES, true);
    return true;
  }

  /** Whether every range it names lies in `slot`'s arena. */
  inArena(app: AppMemory, slot: number): boolean {
    return app.validRange(slot, this.methodPtr, this.methodLen) && app.validRange(slot, this.urlPtr, this.urlLen) &&
      app.validRange(slot, this.hdrPtr, this.hdrLen) && app.validRange(slot, this.bodyPtr, this.bodyLen);
  }

  /** Why the request cannot be sent (a range outside the arena, a bad method), or null;
   *  sets what follows from the method. */
  check(app: AppMemory, slot: number): string | null {
    if (!this.inArena(app, slot)) return "fetch descriptor points outside the request's arena";
    return this.method(app.u8) ? null : "the method must be 1 to 32 token characters";
  }

  /** Why the app's header lines cannot be sent (a field the client owns, bad syntax), or null. */
  checkHeaders(u8: Uint8Array): string | null {
    const badHeader = checkAppHeaders(u8, this.hdrPtr, this.hdrLen, REQUEST_RESERVED_FIELDS);
    return badHeader === null ? null : `request headers: ${badHeader}`;
  }

  /** Checks the method (1 to 32 token characters) and sets what follows from it. */
  method(u8: Uint8Array): boolean {
    const ptr = this.methodPtr;
    const len = this.methodLen;
    if (len === 0 || len > 32 || tokenEnd(u8, ptr, ptr + len) !== ptr + len) return false;
    const isGet = bytesAre(u8, ptr, len, "GET");
    const isHead = bytesAre(u8, ptr, len, "HEAD");
    const isPut = bytesAre(u8, ptr, len, "PUT");
    this.idempotent = isGet || isHead || isPut || bytesAre(u8, ptr, len, "OPTIONS") || bytesAre(u8, ptr, len, "DELETE");
    this.expectBody = !isHead;
    this.withBody = this.bodyLen > 0 || isPut || bytesAre(u8, ptr, len, "POST") || bytesAre(u8, ptr, len, "PATCH");
    return true;
  }

  /** The answer: the response's status, its header table and its body, in the arena. */
  writeResponse(dv: DataView, status: number, table: number, headerCount: number, bodyPtr: number, bodyLen: number): void {
    const desc = this.desc;
    dv.setUint32(desc + FETCH_RES_STATUS, status, true);
    dv.setUint32(desc + FETCH_RES_HEADERS_PTR, table, true);
    dv.setUint32(desc + FETCH_RES_HEADER_COUNT, headerCount, true);
    dv.setUint32(desc + FETCH_RES_BODY_PTR, bodyPtr, true);
    dv.setUint32(desc + FETCH_RES_BODY_LEN, bodyLen, true);
  }

  /** Drops the error message: it lies in space that could not be committed. */
  clearError(dv: DataView): void {
    dv.setUint32(this.desc + FETCH_RES_ERROR_LEN, 0, true);
  }

  /** Writes `message` (up to 1 KiB of it, as fits) at [top, end) of the arena and points
   *  the answer's error at it; returns where the message ends (the caller commits it). */
  writeError(app: AppMemory, top: number, end: number, message: string): number {
    const dv = app.dv;
    const { written } = encoder.encodeInto(message, app.u8.subarray(top, top + Math.min(end - top, FETCH_ERROR_MESSAGE_BYTES_MAX)));
    dv.setUint32(this.desc + FETCH_RES_ERROR_PTR, top, true);
    dv.setUint32(this.desc + FETCH_RES_ERROR_LEN, written, true);
    return top + written;
  }
}
