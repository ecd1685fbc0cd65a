// The request bridge: everything the HTTP server does with the app for one request, in
// ABI terms (docs/abi.md), so the connection (http/connection.ts) stays pure HTTP. It
// writes the request descriptor and header table into the request's slot, calls the app
// (as a plain call or through JSPI), reads and bounds-checks the response descriptor, and
// turns a trap into an error code with the reason the runtime reported before it. The
// slot's layout is in host/abi/constants.ts, the whole memory's in docs/architecture.md.

import {
  BODY_HEADROOM_BYTES, HEADER_ENTRY_BYTES, REGION_HEADER_BYTES, REQ_BODY_LEN, REQ_BODY_PTR, RES_BODY_DEVICE,
  REQ_DESC_BYTES, REQ_HEADER_COUNT, REQ_HEADERS_PTR, REQ_ID, REQ_METHOD_LEN, REQ_METHOD_PTR, REQ_PATH_LEN, REQ_PATH_PTR,
  REQ_QUERY_LEN, REQ_QUERY_PTR, REQ_REMOTE_ADDR_LEN, REQ_REMOTE_ADDR_PTR, REQ_SLOT, REQ_VERSION_MINOR, RES_BODY_LEN, RES_BODY_PTR, RES_HEADERS_LEN,
  RES_HEADERS_PTR, RES_STATUS,
} from "./constants.ts";
import type { ErrorCode } from "../errors.ts";
import { cachedView, type AppMemory } from "../memory/app_memory.ts";
import { copyBytes } from "../memory/copy.ts";
import type { App } from "./app.ts";
import { assert } from "../assert.ts";
import { writeHeaderTable, type FieldOffsets } from "./header_table.ts";
import { align16 } from "./region.ts";
import type { SlotContext, StreamSink } from "./slot_context.ts";

/** What the bridge reads of a parsed request head (http/request_parser.ts's RequestHead):
 *  offsets into the head's bytes. */
export interface RequestHeadView {
  readonly headEnd: number;
  readonly methodEnd: number;
  readonly pathStart: number;
  readonly pathEnd: number;
  readonly targetEnd: number;
  readonly headerCount: number;
  readonly versionMinor: number;
  readonly fields: FieldOffsets;
}

/** An allocation this large cannot be a real request's (no arena is 1 GiB): the size was read
 *  from memory that holds no object. */
const POISONED_SIZE_MIN = 1 << 30;

/** The response descriptor the app wrote, as read by `readResponse` (one object, reused:
 *  read it before the next call). */
export class ResponseFields {
  status = 0;
  headersPtr = 0;
  headersLen = 0;
  bodyPtr = 0;
  bodyLen = 0;
}

/** An error for a request the app failed: its code and the detail for the log and body. */
export interface RequestError {
  code: ErrorCode;
  detail: string;
}

const latin1 = new TextDecoder("latin1");

/** Longest client address written into a request (an IPv6 address with a zone id is at most
 *  45 + a few bytes); a longer text is cut here. */
const REMOTE_ADDR_BYTES_MAX = 64;

/** Writes the client's address `addr` (ASCII: Node's socket.remoteAddress) at `at`, an
 *  IPv4-mapped IPv6 address ("::ffff:1.2.3.4") as its IPv4 form; returns the length. Byte
 *  by byte from the string the socket keeps, so nothing is allocated per request. */
function writeAddress(u8: Uint8Array, at: number, addr: string): number {
  const from = addr.startsWith("::ffff:") && addr.includes(".") ? 7 : 0;
  const n = Math.min(addr.length - from, REMOTE_ADDR_BYTES_MAX);
  for (let i = 0; i < n; i++) u8[at + i] = addr.charCodeAt(from + i) & 0x7f;
  return n;
}

export class RequestBridge {
  /** The app's memory bytes: bodies are copied straight into the request's arena. */
  readonly u8: Uint8Array;
  readonly response = new ResponseFields();
  private readonly memory: AppMemory;
  readonly app: App;
  private readonly contexts: readonly SlotContext[];
  private readonly cpuBudgetMs: number;
  /** Per slot, the last head and body views written: a response laid out like the previous
   *  one in its slot reuses them instead of making new view objects. */
  private readonly views: Uint8Array[];

  constructor(app: App, cpuBudgetMs: number) {
    this.app = app;
    this.memory = app.memory;
    this.u8 = app.memory.u8;
    this.contexts = app.caller.contexts;
    this.cpuBudgetMs = cpuBudgetMs;
    this.views = Array.from({ length: app.memory.plan.slots * 2 }, () => new Uint8Array(0));
  }

  /** The request descriptor's address in `slot`. */
  descriptor(slot: number): number {
    return this.memory.slotBase(slot) + REGION_HEADER_BYTES;
  }

  /** The device handle the app answered as its body (RES_BODY_DEVICE, an f64), 0 for none. */
  bodyDevice(slot: number): number {
    return this.memory.dv.getFloat64(this.descriptor(slot) + RES_BODY_DEVICE, true);
  }

  /**
   * Copies the head (`src[0, head.headEnd)`) into `slot`'s arena and writes the request
   * descriptor and header table for it, and the client's address `remoteAddress` (the
   * socket's) after the head. Returns where the body goes: after those, with the app's
   * headroom, 16-byte aligned.
   */
  openRequest(slot: number, head: RequestHeadView, src: Uint8Array, remoteAddress = ""): number {
    const u8 = this.u8;
    const dv = this.memory.dv;
    const desc = this.descriptor(slot);
    const table = desc + REQ_DESC_BYTES;
    const copy = table + head.headerCount * HEADER_ENTRY_BYTES;
    copyBytes(src, 0, u8, copy, head.headEnd);
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
    writeHeaderTable(dv, table, copy, head.fields, head.headerCount);
    const addr = copy + head.headEnd;
    const addrLen = writeAddress(u8, addr, remoteAddress);
    dv.setUint32(desc + REQ_REMOTE_ADDR_PTR, addr, true);
    dv.setUint32(desc + REQ_REMOTE_ADDR_LEN, addrLen, true);
    return align16(addr + addrLen + BODY_HEADROOM_BYTES);
  }

  /** Most body bytes that may follow `bodyPtr` in `slot`: never more than half of what is
   *  left of the arena, so the handler has room too. */
  bodyRoom(slot: number, bodyPtr: number): number {
    const arenaEnd = this.memory.slotBase(slot) + this.memory.plan.arenaBytes;
    return Math.floor((arenaEnd - bodyPtr) / 2);
  }

  /** The request in `slot` is complete: records its body and id and calls the app as a
   *  plain call. Returns arena_handle's status (ARENA_NEEDS_ASYNC: call `callWaiting`);
   *  throws if the app trapped (`trapError` says why). */
  callPlain(slot: number, bodyPtr: number, bodyLen: number, id: number): number {
    const dv = this.memory.dv;
    const desc = this.descriptor(slot);
    dv.setUint32(desc + REQ_BODY_PTR, bodyPtr, true);
    dv.setUint32(desc + REQ_BODY_LEN, bodyLen, true);
    dv.setUint32(desc + REQ_ID, id, true);
    this.app.begin(slot, align16(bodyPtr + bodyLen));
    return this.app.callSync(slot, desc, id);
  }

  /** Runs the request through JSPI from a clean arena, after `callPlain` answered
   *  ARENA_NEEDS_ASYNC (no app code ran). It runs now up to its first suspension. */
  callWaiting(slot: number, bodyPtr: number, bodyLen: number): Promise<number> {
    this.app.begin(slot, align16(bodyPtr + bodyLen));
    return this.app.callAsync(slot, this.descriptor(slot));
  }

  /** Lends `sink` (the request's connection) to the request in `slot`, so the stream
   *  effects can reach it; taken back when the app is done (`ended`). */
  attachSink(slot: number, sink: StreamSink): void {
    this.contexts[slot].sink = sink;
  }

  /** Called with the slot once the app is done with a request in it, or null: the SQLite
   *  effects roll back a transaction the request left open (host/effects/sqlite.ts). */
  onEnded: ((slot: number) => void) | null = null;

  /** The app is done with the request in `slot` (returned or trapped). */
  ended(slot: number): void {
    this.contexts[slot].end();
    this.onEnded?.(slot);
  }

  /** The client of the request in `slot` went away: its effects stop waiting. */
  cancel(slot: number): void {
    this.contexts[slot].cancel();
  }

  /** The request in `slot` passed its deadline: its effects stop and its next CPU check
   *  traps, so even a loop that no longer waits ends at once. */
  deadlinePassed(slot: number): void {
    const ctx = this.contexts[slot];
    ctx.deadlinePassed = true;
    ctx.cancel();
  }

  /**
   * Reads the response descriptor of `slot` into `response` and checks what the ABI
   * promises: a status of 200-599 and header and body bytes inside the request's arena or
   * the startup region. Returns null, or why the response cannot be sent.
   */
  readResponse(slot: number): string | null {
    const dv = this.memory.dv;
    const desc = this.descriptor(slot);
    const r = this.response;
    r.status = dv.getUint32(desc + RES_STATUS, true);
    r.headersPtr = dv.getUint32(desc + RES_HEADERS_PTR, true);
    r.headersLen = dv.getUint32(desc + RES_HEADERS_LEN, true);
    r.bodyPtr = dv.getUint32(desc + RES_BODY_PTR, true);
    r.bodyLen = dv.getUint32(desc + RES_BODY_LEN, true);
    if (r.status < 200 || r.status > 599) return `status ${r.status} is not 200-599`;
    if (!this.memory.validRange(slot, r.headersPtr, r.headersLen) || !this.memory.validRange(slot, r.bodyPtr, r.bodyLen)) {
      return "response bytes outside the request's arena and the startup region";
    }
    return null;
  }

  /** Where the host writes the response head of `slot`: the reserve after its arena. */
  headReserve(slot: number): number {
    return this.memory.slotBase(slot) + this.memory.plan.arenaBytes;
  }

  /** The first byte past `slot`. */
  slotEnd(slot: number): number {
    return this.memory.slotBase(slot) + this.memory.plan.slotBytes;
  }

  /** A view of wasm memory [ptr, ptr + len) for `slot` (kind 0: head, 1: body), reused when
   *  it is the same range as last time. */
  view(slot: number, kind: number, ptr: number, len: number): Uint8Array {
    assert(kind === 0 || kind === 1, "a response is sent as a head view and a body view");
    return cachedView(this.views, slot * 2 + kind, this.memory.memory.buffer, ptr, len);
  }

  /** The error for a request of `slot` whose call threw `err`, from what the runtime
   *  reported before the trap (CPU budget, arena overflow, check build, abort). */
  trapError(slot: number, err: unknown): RequestError {
    const trap = this.contexts[slot].trap;
    if (trap.cpuMs >= 0) {
      return { code: "ARENA_E_CPU", detail: `stopped after ${trap.cpuMs.toFixed(1)} ms of CPU, budget ${this.cpuBudgetMs} ms` };
    }
    if (trap.overflowSize >= 0 && trap.overflowHeap) {
      return { code: "ARENA_E_MEMORY", detail: `the heap region is full: asked ${trap.overflowSize} bytes to grow a long-lived object, heap ${trap.overflowLimit} bytes (raise --heap-bytes, or check Heap.keep's result before storing)` };
    }
    if (trap.overflowSize >= 0 && trap.overflowScope !== 0) {
      return { code: "ARENA_E_MEMORY", detail: `asked ${trap.overflowSize} bytes in ${trap.overflowScopeName} (give Scratch.enter more bytes, or use Scratch.run to get ScratchResult.Full as a value)` };
    }
    if (trap.overflowSize >= 0) {
      // No arena is a gigabyte: such a size was read from garbage, which in a check build is
      // most often the poison a disposed scratch arena or a move left (runtime/scope.ts).
      const hint = trap.overflowSize >= POISONED_SIZE_MIN ? " (a size this large was read from memory that is not an object: in a check build, most likely one a disposed Scratch or Regions.move left behind)" : "";
      return { code: "ARENA_E_MEMORY", detail: `asked ${trap.overflowSize} bytes, arena limit ${trap.overflowLimit} bytes${hint}` };
    }
    if (trap.violationKind !== 0) return { code: "ARENA_E_CHECK", detail: trap.abortMessage ?? "violation" };
    const e = err as Error;
    return { code: "ARENA_E_TRAP", detail: trap.abortMessage ?? `${e?.name}: ${e?.message}` };
  }

  /** "METHOD /path (route /pattern)" of the request in `slot`, for error lines. */
  describe(slot: number): string {
    const u8 = this.u8;
    const dv = this.memory.dv;
    const desc = this.descriptor(slot);
    const methodPtr = dv.getUint32(desc + REQ_METHOD_PTR, true);
    const method = latin1.decode(u8.subarray(methodPtr, methodPtr + dv.getUint32(desc + REQ_METHOD_LEN, true)));
    const pathPtr = dv.getUint32(desc + REQ_PATH_PTR, true);
    const path = latin1.decode(u8.subarray(pathPtr, pathPtr + Math.min(dv.getUint32(desc + REQ_PATH_LEN, true), 256)));
    const route = this.app.route(slot);
    return `${method} ${path}${route ? ` (route ${route})` : ""}`;
  }
}

