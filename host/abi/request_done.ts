// What the server tells ServerOptions.onRequestDone when the app is done with a request
// (returned or trapped), read from the request's slot before anything reuses it: the
// route, the status, and how much of the arena the request used (the region's bump
// pointer minus the slot's base: the arena never frees, so its end-of-handler value is the
// request's peak). A server with a hook uses ReportingBridge, which builds the report;
// one without uses the plain RequestBridge and pays nothing.

import type { RequestMemory } from "../memory/arena_peaks.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import type { App } from "./app.ts";
import {
  HEADER_ENTRY_BYTES, REQ_BODY_LEN, REQ_HEADER_COUNT, REQ_HEADERS_PTR, REQ_ID, REQ_METHOD_LEN, REQ_METHOD_PTR,
  REQ_PATH_LEN, REQ_PATH_PTR, RES_STATUS,
} from "./constants.ts";
import { regionPeakBytes } from "./region.ts";
import { RequestBridge } from "./request_bridge.ts";
import type { SlotContext } from "./slot_context.ts";

/** A request the app is done with. */
export interface RequestDone extends RequestMemory {
  /** The request id, as in log lines. */
  id: number;
  /** The request path as sent, without the query. */
  path: string;
  /** A request header's value (the first field of that name, case-insensitive), or null.
   *  Read from the slot: valid only during the hook's call. */
  header(name: string): string | null;
}

/** Called once per request the app handled, after it returned or trapped and before the
 *  response is written. It must not throw (an exception is rethrown as an uncaught one,
 *  after the server's own state is safe). */
export type RequestDoneHook = (info: RequestDone) => void;

const latin1 = new TextDecoder("latin1");

function text(memory: AppMemory, ptr: number, len: number): string {
  return latin1.decode(memory.u8.subarray(ptr, ptr + len));
}

/** The first value of header `name` in the request of descriptor `desc`, or null. */
function header(memory: AppMemory, desc: number, name: string): string | null {
  const dv = memory.dv;
  const table = dv.getUint32(desc + REQ_HEADERS_PTR, true);
  const count = dv.getUint32(desc + REQ_HEADER_COUNT, true);
  const wanted = name.toLowerCase();
  for (let k = 0; k < count; k++) {
    const e = table + k * HEADER_ENTRY_BYTES;
    if (dv.getUint32(e + 4, true) !== wanted.length) continue;
    if (text(memory, dv.getUint32(e, true), wanted.length).toLowerCase() !== wanted) continue;
    return text(memory, dv.getUint32(e + 8, true), dv.getUint32(e + 12, true));
  }
  return null;
}

/** The report for the request in `slot` (descriptor at `desc`, reported route `route`). */
export function requestDone(memory: AppMemory, ctx: SlotContext, slot: number, desc: number, route: string): RequestDone {
  const dv = memory.dv;
  const base = memory.slotBase(slot);
  // The SDK writes the response fields only when the handler returned: 0 means it trapped.
  const answered = dv.getUint32(desc + RES_STATUS, true);
  const trap = ctx.trap;
  const overflowBytes = answered === 0 && trap.overflowSize >= 0 && !trap.overflowHeap ? trap.overflowSize : 0;
  return {
    id: dv.getUint32(desc + REQ_ID, true),
    method: text(memory, dv.getUint32(desc + REQ_METHOD_PTR, true), dv.getUint32(desc + REQ_METHOD_LEN, true)),
    path: text(memory, dv.getUint32(desc + REQ_PATH_PTR, true), dv.getUint32(desc + REQ_PATH_LEN, true)),
    route: route === "" ? null : route,
    status: ctx.deadlinePassed ? 504 : answered >= 200 && answered <= 599 ? answered : 500,
    arenaBytes: regionPeakBytes(dv, base, memory.plan.arenaBytes),
    bodyBytes: dv.getUint32(desc + REQ_BODY_LEN, true),
    overflowBytes,
    header: (name) => header(memory, desc, name),
  };
}

/** The request bridge of a server with an onRequestDone hook: when the app is done with a
 *  request, it reports it to the hook, then ends it as the plain bridge does. */
export class ReportingBridge extends RequestBridge {
  private readonly hook: RequestDoneHook;
  private readonly loaded: App;

  constructor(app: App, cpuBudgetMs: number, hook: RequestDoneHook) {
    super(app, cpuBudgetMs);
    this.loaded = app;
    this.hook = hook;
  }

  override ended(slot: number): void {
    const app = this.loaded;
    const info = requestDone(app.memory, app.caller.contexts[slot], slot, this.descriptor(slot), app.route(slot));
    try {
      this.hook(info);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
    super.ended(slot);
  }
}
