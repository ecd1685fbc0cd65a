// The loaded app: one wasm instance over the process's one fixed memory. This file owns
// the host side of the ABI calls (docs/abi.md): it checks the module's exports at load,
// runs the app's start code in the startup region, and calls `arena_handle` for requests,
// as a plain call or through JSPI. The memory, the per-slot contexts and the imports are
// made before the instance (server.ts puts them together), so nothing here is linked late.

import { ArenaError } from "../errors.ts";
import { assert } from "../assert.ts";
import { MAY_WAIT_SECTION, REQ_FLAG_MAY_WAIT, REQ_FLAGS, REQUIRED_EXPORTS, REGION_ID_STARTUP } from "./constants.ts";
import { STARTUP_CPU_MS_MAX } from "../limits.ts";
import { formatBytes } from "../memory/plan.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import type { Caller } from "./caller.ts";

interface AppExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  arena_init(startupEnd: number, heapEnd: number, slotsBase: number, slotBytes: number, arenaBytes: number, slotCount: number): number;
  arena_heap_used(): number;
  arena_heap_base(): number;
  arena_begin(slot: number, dataEnd: number): void;
  arena_enter(slot: number): void;
  arena_used(): number;
  arena_current_slot(): number;
  /** Calls the app function `fn(scratch, ctx)` for `arena.scope_call` (runtime/exports.ts); optional. */
  arena_scope_invoke?: (fn: number, scratch: number, ctx: number) => void;
  arena_handle(desc: number): number;
  arena_served(): number;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const utf8 = new TextDecoder("utf-8");

/** A compiled app module, checked, with what its build says about waiting handlers. */
export interface AppModule {
  module: WebAssembly.Module;
  file: string;
  /** Table indices of the functions that may wait, or null: every handler may. */
  mayWait: Set<number> | null;
}

export class App {
  readonly memory: AppMemory;
  readonly caller: Caller;
  readonly heapBase: number;
  private readonly exports: AppExports;
  /** `arena_handle` wrapped by JSPI: the call returns a promise and may suspend. */
  private readonly handleAsync: (desc: number) => Promise<number>;
  /** A call into the app is running on the stack right now (re-entrancy guard). */
  private calling = false;

  private constructor(memory: AppMemory, caller: Caller, exports: AppExports) {
    this.memory = memory;
    this.caller = caller;
    this.exports = exports;
    this.heapBase = exports.arena_heap_base();
    this.handleAsync = WebAssembly.promising(exports.arena_handle as (desc: number) => number) as (desc: number) => Promise<number>;
  }

  /** Compiles `bytes` (from `file`, for messages) and checks it is an Arena app. */
  static async compile(bytes: Uint8Array, file: string): Promise<AppModule> {
    if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
      throw new ArenaError("ARENA_E_WASM", `${file} is not a wasm file`, "build one with `npm run arena -- build app.ts`");
    }
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    } catch (err) {
      throw new ArenaError("ARENA_E_WASM", `${file} is not a valid wasm module: ${(err as Error).message}`, "rebuild it with `npm run arena -- build`");
    }
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    const missing = REQUIRED_EXPORTS.filter((name) => !exported.has(name));
    if (missing.length > 0) {
      throw new ArenaError("ARENA_E_WASM", `${file} is not an Arena app: missing exports ${missing.join(", ")}`, "build it with `npm run arena -- build app.ts`, which adds them");
    }
    return { module, file, mayWait: App.mayWaitTable(module, file) };
  }

  /**
   * Instantiates `app` over `memory` with `imports` (abi/runtime_imports.ts), binds the
   * caller to the instance and runs the app's start code in the startup region.
   */
  static async instantiate(app: AppModule, memory: AppMemory, caller: Caller, imports: WebAssembly.Imports): Promise<App> {
    const file = app.file;
    for (const imp of WebAssembly.Module.imports(app.module)) {
      const provided = (imports as Record<string, Record<string, unknown>>)[imp.module]?.[imp.name];
      if (provided === undefined) {
        throw new ArenaError("ARENA_E_WASM", `${file} imports ${imp.module}.${imp.name}, which Arena does not provide`, "apps may only use the effects in docs/abi.md");
      }
    }
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(app.module, imports);
    } catch (err) {
      throw new ArenaError("ARENA_E_WASM", `${file} could not be instantiated: ${(err as Error).message}`, "its static data may be larger than the startup region; raise --startup-bytes");
    }
    const exports = instance.exports as unknown as AppExports;
    caller.bind(exports.arena_current_slot);
    caller.bindScopeInvoke(exports.arena_scope_invoke);
    const loaded = new App(memory, caller, exports);
    loaded.start(file);
    return loaded;
  }

  private start(file: string): void {
    const plan = this.memory.plan;
    if (this.heapBase + 64 > plan.startupBytes) {
      throw new ArenaError("ARENA_E_CONFIG", `${file}'s static data (${formatBytes(this.heapBase)}) does not fit the startup region (${formatBytes(plan.startupBytes)})`, "raise --startup-bytes");
    }
    const status = this.exports.arena_init(plan.startupBytes, plan.slotsBase, plan.slotsBase, plan.slotBytes, plan.arenaBytes, plan.slots);
    assert(status === 0, `arena_init accepts the memory plan (it returned status ${status})`);
    const startup = this.caller.startup;
    const trap = startup.trap;
    trap.clear();
    startup.cpuUsedMs = 0;
    startup.cpuBase = -1;
    try {
      this.exports._initialize();
    } catch (err) {
      if (trap.cpuMs >= 0) {
        throw new ArenaError("ARENA_E_WASM", `${file}'s start-up code ran for more than ${STARTUP_CPU_MS_MAX} ms of CPU (STARTUP_CPU_MS_MAX)`, "look for an endless loop in the app's top-level code");
      }
      if (trap.overflowSize >= 0) {
        throw new ArenaError("ARENA_E_CONFIG", `${file}'s start-up code allocated past the startup region (asked ${trap.overflowSize} bytes, region ${formatBytes(plan.startupBytes)})`, "raise --startup-bytes");
      }
      throw new ArenaError("ARENA_E_WASM", `${file} failed during start-up: ${trap.abortMessage ?? (err as Error).message}`, "fix the app's top-level code");
    }
    // Without a handler every request could only be a 500; say so once, at start.
    if (this.exports.arena_served() !== 1) {
      throw new ArenaError("ARENA_E_WASM", `${file} never called serve(): it has no handler for requests`, "register the routes on a Router and call `serve(app)` at the top level of the app");
    }
  }

  /**
   * The table indices of the functions that may wait, from the build's `arena.may_wait`
   * section (cli/instrument.ts), or null when the module has none (built by another
   * toolchain): then every handler is taken to wait and runs through JSPI, which is
   * slower but never wrong.
   */
  private static mayWaitTable(module: WebAssembly.Module, file: string): Set<number> | null {
    const sections = WebAssembly.Module.customSections(module, MAY_WAIT_SECTION);
    if (sections.length === 0) return null;
    const indices = new Set<number>();
    for (const section of sections) {
      if (section.byteLength % 4 !== 0) {
        throw new ArenaError("ARENA_E_WASM", `${file}'s ${MAY_WAIT_SECTION} section is ${section.byteLength} bytes, not a list of u32 table indices`, "rebuild it with `npm run arena -- build`");
      }
      const dv = new DataView(section);
      for (let off = 0; off < section.byteLength; off += 4) indices.add(dv.getUint32(off, true));
    }
    return indices;
  }

  /** Bytes the app's start code allocated in the startup region. */
  startupUsed(): number {
    this.exports.arena_enter(REGION_ID_STARTUP);
    return this.exports.arena_used();
  }

  /** Bytes in use in the heap region (block headers included). */
  heapUsed(): number {
    return this.exports.arena_heap_used() >>> 0;
  }

  /** Resets `slot`'s arena to start at `dataEnd` and enters it (O(1)). */
  begin(slot: number, dataEnd: number): void {
    this.exports.arena_begin(slot, dataEnd);
  }

  /**
   * Calls the app for request `id`, whose descriptor is at `desc` in `slot` (already begun),
   * as a plain call: no promise, no JSPI stack. Returns arena_handle's status, which is
   * ARENA_NEEDS_ASYNC when the request must run through `callAsync` instead: its route's
   * handler may wait on effects (the build says so), and no app code ran. Throws if the
   * app trapped; `context(slot).trap` says why.
   */
  callSync(slot: number, desc: number, id: number): number {
    assert(!this.calling, "no call into the app starts while another runs (an import re-entered the app)");
    this.caller.contexts[slot].begin(id);
    this.memory.dv.setUint32(desc + REQ_FLAGS, 0, true);
    this.calling = true;
    try {
      return this.exports.arena_handle(desc);
    } finally {
      this.calling = false;
    }
  }

  /** Calls the app through JSPI: it may suspend on effects. The promise settles with
   *  arena_handle's status, or rejects if the app traps. */
  callAsync(slot: number, desc: number): Promise<number> {
    const ctx = this.caller.contexts[slot];
    ctx.trap.clear();
    ctx.routePtr = 0;
    ctx.routeLen = 0;
    ctx.startStretch();
    this.memory.dv.setUint32(desc + REQ_FLAGS, REQ_FLAG_MAY_WAIT, true);
    assert(!this.calling, "no call into the app starts while another runs (an import re-entered the app)");
    // Runs synchronously up to the first suspension (or the end), then hands back the promise.
    this.calling = true;
    try {
      return this.handleAsync(desc);
    } finally {
      this.calling = false;
    }
  }

  /** The route pattern the app reported for the request in `slot`, or "". */
  route(slot: number): string {
    const ctx = this.caller.contexts[slot];
    if (ctx.routeLen === 0) return "";
    return utf8.decode(this.memory.u8.subarray(ctx.routePtr, ctx.routePtr + ctx.routeLen));
  }
}
