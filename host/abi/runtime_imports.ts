// The imports the runtime and AssemblyScript's standard library need (`env.*`) and the
// runtime's own reports to the host (`arena.overflow`, `violation`, `route`, `may_wait`).
// The effects (effects/imports.ts) are the other half of the `arena` module; `appImports`
// puts the two together. Every report is recorded on the calling request's context, so a
// trap that follows it becomes a precise error (abi/request_bridge.ts).

import type { AppMemory } from "../memory/app_memory.ts";
import type { Logger } from "../log.ts";
import { assert } from "../assert.ts";
import { ROUTE_PATTERN_BYTES_MAX } from "../limits.ts";
import type { Caller } from "./caller.ts";
import { REGION_ID_HEAP, SCOPE_CAP_END, SCOPE_OVERHEAD_BYTES, WAITING_IMPORTS } from "./constants.ts";
import { scopeAt } from "./region_violation.ts";
import { ClassTable, ViolationFormatter } from "./violation.ts";

const utf16 = new TextDecoder("utf-16le");

/** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4), bounds-checked. */
export function readAsString(memory: AppMemory, ptr: number): string {
  const u8 = memory.u8;
  if (ptr < 4 || ptr > u8.length) return "";
  const len = memory.dv.getUint32(ptr - 4, true);
  if (ptr + len > u8.length) return "";
  return utf16.decode(u8.subarray(ptr, ptr + (len & ~1)));
}

/** Where a Scratch object keeps its region's header (sdk/lib/arena/region.ts: the first
 *  field of Region; classes have no header of their own before their fields). */
const SCRATCH_HEADER_FIELD = 0;

/** "Scratch 'label' (made at site), which holds N bytes" for the scoped arena whose header is at `header`. */
function scopeName(memory: AppMemory, header: number): string {
  const capacity = memory.dv.getUint32(header + SCOPE_CAP_END, true) - header - SCOPE_OVERHEAD_BYTES;
  return `${scopeAt({ memory, readString: (ptr) => readAsString(memory, ptr) }, header)}, which holds ${capacity} bytes`;
}

/** `arena.overflow(id, size, limit, scope)`: region `id` could not allocate `size` bytes;
 *  `scope` is the header of the scoped arena that overflowed, or 0. Recorded for the trap
 *  that follows (request_bridge.ts turns it into ARENA_E_MEMORY). */
function overflowReport(memory: AppMemory, caller: Caller): (id: number, size: number, limit: number, scope: number) => void {
  return (id, size, limit, scope) => {
    const trap = caller.current().trap;
    trap.overflowSize = size >>> 0;
    trap.overflowLimit = limit >>> 0;
    trap.overflowHeap = id >>> 0 === REGION_ID_HEAP;
    trap.overflowScope = scope >>> 0;
    trap.overflowScopeName = scope !== 0 ? scopeName(memory, scope >>> 0) : "";
  };
}

/**
 * `arena.scope_call(fn, scratch, ctx)`: calls the app's `fn(scratch, ctx)` back through the
 * instance and answers 0, or 1 when the call stopped because the scratch arena it runs in
 * overflowed (Scratch.run; docs/abi.md, "Scoped arenas"): that overflow is forgotten, the
 * request goes on. Any other trap is the request's and goes on up as it would have.
 */
function scopeCall(memory: AppMemory, caller: Caller): (fn: number, scratch: number, ctx: number) => number {
  return (fn, scratch, ctx) => {
    const trap = caller.current().trap;
    const scopeHeader = memory.dv.getUint32((scratch >>> 0) + SCRATCH_HEADER_FIELD, true);
    try {
      caller.invokeScoped(fn, scratch, ctx);
      return 0;
    } catch (err) {
      if (trap.violationKind === 0 && trap.cpuMs < 0 && trap.abortMessage === null && scopeHeader !== 0 && trap.overflowScope === scopeHeader) {
        trap.clearOverflow();
        return 1;
      }
      throw err;
    }
  };
}

/**
 * The whole import object of an app: `env` for the runtime and the standard library, and
 * `arena` with the runtime's reports plus `effects` (the effect imports). `mayWait` is the
 * set of table indices the build says may wait, or null (every handler may). `classes` is
 * the build's class table (`ClassTable.fromModule`), which names classes, fields and
 * globals in violation messages; without it they say "an object".
 */
export function appImports(memory: AppMemory, caller: Caller, log: Logger, effects: Record<string, unknown>,
  mayWait: Set<number> | null, classes: ClassTable = new ClassTable()): WebAssembly.Imports {
  // The build's analysis knows which imports wait only from WAITING_IMPORTS: a suspending
  // import missing from it would let a handler that waits run as a plain call.
  const suspending = Object.keys(effects).filter((name) => effects[name] instanceof WebAssembly.Suspending).sort();
  assert(suspending.join() === [...WAITING_IMPORTS].sort().join(),
    `the host's suspending imports (${suspending.join(", ")}) are WAITING_IMPORTS (${WAITING_IMPORTS.join(", ")}) in host/abi/constants.ts`);
  const tag = () => {
    const id = caller.current().id;
    return id !== 0 ? `app req=${id}` : "app";
  };
  const violations = new ViolationFormatter(memory, classes, (ptr) => readAsString(memory, ptr));
  const consoleLine = (level: "info" | "warn" | "error") => (ptr: number) => log.app(level, tag(), readAsString(memory, ptr));
  return {
    env: {
      memory: memory.memory,
      abort(msg: number, file: number, line: number, column: number) {
        const where = file !== 0 ? ` at ${readAsString(memory, file)}:${line}:${column}` : "";
        caller.current().trap.abortMessage = `${readAsString(memory, msg)}${where}`;
        throw new WebAssembly.RuntimeError("abort");
      },
      trace(msg: number, n: number, ...args: number[]) {
        log.app("info", tag(), `trace: ${readAsString(memory, msg)} ${args.slice(0, n).join(", ")}`);
      },
      seed() {
        // Seeds Math.random in the app; from the CSPRNG so two processes never share a sequence.
        return crypto.getRandomValues(new Uint32Array(2)).reduce((a, b) => a * 4294967296 + b, 0);
      },
      "Date.now"() {
        return Date.now();
      },
      "console.log": consoleLine("info"),
      "console.info": consoleLine("info"),
      "console.debug": consoleLine("info"),
      "console.warn": consoleLine("warn"),
      "console.error": consoleLine("error"),
    },
    arena: {
      ...effects,
      // may_wait(tableIndex) -> 1 when the function at that table index may wait: asked
      // by the SDK once per route at start, so waiting routes skip the plain call.
      may_wait(index: number): number {
        return mayWait === null || mayWait.has(index >>> 0) ? 1 : 0;
      },
      overflow: overflowReport(memory, caller),
      // violation(kind, a, b, c): a rule of the regions was broken (runtime/report.ts says
      // which); the message names what was involved (violation.ts).
      violation(kind: number, a: number, b: number, c: number) {
        const trap = caller.current().trap;
        trap.violationKind = kind;
        trap.abortMessage = violations.format(kind, a, b, c ?? 0);
      },
      scope_call: scopeCall(memory, caller),
      route(ptr: number, len: number) {
        ptr >>>= 0;
        len >>>= 0;
        // Route patterns live in static data or the startup region; anything else is ignored.
        if (len <= ROUTE_PATTERN_BYTES_MAX && ptr + len <= memory.plan.startupBytes) {
          const ctx = caller.current();
          ctx.routePtr = ptr;
          ctx.routeLen = len;
        }
      },
    },
  };
}
