// The streaming-response effects: `arena.stream_start` sends a response head framed for
// streaming, `arena.stream_write` sends the next piece of body. Both wait (JSPI) only when
// the socket does: a write returns once the kernel has taken the whole piece, so a client
// that does not read suspends the handler at its next write, the host keeps no copy of
// anything (the bytes go from the request's arena to the socket), and the send timeout
// (SEND_TIMEOUT_MS) closes a connection whose piece makes no progress, which cancels the
// write. The connection that has the request does the HTTP side (host/http/connection.ts,
// reached through the slot context's `sink`): this file checks the app's arguments.
//
// The request's CPU budget applies to each slice of a stream: every write checks it (the
// gate all waiting effects pass) and then starts the count again, so a stream may run for
// hours while a loop that never writes is still stopped.

import { EFFECT_BAD_ARGUMENT, EFFECT_UNAVAILABLE } from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import type { SlotContext } from "../abi/slot_context.ts";
import type { AppMemory } from "../memory/app_memory.ts";

/** The gate every waiting effect passes (Effects.waitingRequest): the calling request, or
 *  the status to answer at once. */
export type WaitGate = () => SlotContext | number;

export class StreamEffects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;
  private readonly gate: WaitGate;

  constructor(memory: AppMemory, caller: Caller, gate: WaitGate) {
    this.memory = memory;
    this.caller = caller;
    this.gate = gate;
  }

  /** Whether the caller may read [ptr, ptr + len). */
  private valid(ptr: number, len: number): boolean {
    return this.memory.validRange(this.caller.current().slot, ptr >>> 0, len >>> 0);
  }

  imports(): Record<string, unknown> {
    return {
      // stream_start(status, headersPtr, headersLen) -> status. Sends the response head; the
      // handler's returned response is then not sent (docs/abi.md, "Streaming responses").
      stream_start: new WebAssembly.Suspending((status: number, headersPtr: number, headersLen: number): number | Promise<number> => {
        const ctx = this.gate();
        if (typeof ctx === "number") return ctx;
        if (!this.valid(headersPtr, headersLen)) return EFFECT_BAD_ARGUMENT;
        const sink = ctx.sink;
        if (sink === null) return EFFECT_UNAVAILABLE;
        return sink.streamStart(ctx, status >>> 0, headersPtr >>> 0, headersLen >>> 0);
      }),
      // stream_write(ptr, len) -> status. Returns once the socket has taken the bytes.
      stream_write: new WebAssembly.Suspending((ptr: number, len: number): number | Promise<number> => {
        const ctx = this.gate();
        if (typeof ctx === "number") return ctx;
        // The slice that ends here passed its budget check: the next one is counted afresh.
        ctx.cpuUsedMs = 0;
        if (!this.valid(ptr, len)) return EFFECT_BAD_ARGUMENT;
        const sink = ctx.sink;
        if (sink === null) return EFFECT_UNAVAILABLE;
        return sink.streamWrite(ctx, ptr >>> 0, len >>> 0);
      }),
    };
  }
}
