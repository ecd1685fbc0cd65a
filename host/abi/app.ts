// The loaded app: one wasm instance over the process's one fixed memory. This file owns
// the host side of the ABI calls (docs/abi.md): it checks the module's exports and
// imports at load, lays out memory, runs the app's start code in the startup region, and
// records what the app reported (overflow, violation, abort) before a trap so the trap
// can be turned into a precise error.

import { ArenaError } from "../errors.ts";
import {
  LOG_INFO, MAY_WAIT_SECTION, REQ_FLAG_MAY_WAIT, REQ_FLAGS, REQUIRED_EXPORTS, REGION_ID_STARTUP, VIOLATION_LINK,
  WAITING_IMPORTS,
} from "./constants.ts";
import { Effects } from "../effects/imports.ts";
import { CPU_BUDGET_MS_DEFAULT, STARTUP_CPU_MS_MAX } from "../limits.ts";
import { HttpClient, type FetchOptions } from "../effects/fetch/client.ts";
import { createMemory, formatBytes, planMemory, slotBase, type MemoryPlan } from "../memory/plan.ts";
import type { Logger } from "../log.ts";
import { SlotContext } from "./slot_context.ts";

interface AppExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  arena_init(startupEnd: number, slotsBase: number, slotBytes: number, arenaBytes: number, slotCount: number): number;
  arena_heap_base(): number;
  arena_begin(slot: number, dataEnd: number): void;
  arena_enter(slot: number): void;
  arena_used(): number;
  arena_current_slot(): number;
  arena_handle(desc: number): number;
  arena_served(): number;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const utf16 = new TextDecoder("utf-16le");
const utf8 = new TextDecoder("utf-8");

export class App {
  readonly plan: MemoryPlan;
  readonly memory: WebAssembly.Memory;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly heapBase: number;
  /** One context per slot, and one for the start-up code. */
  readonly contexts: SlotContext[];
  readonly startup = new SlotContext(REGION_ID_STARTUP);
  readonly effects: Effects;
  private readonly exports: AppExports;
  /** `arena_handle` wrapped by JSPI: the call returns a promise and may suspend. */
  private readonly handleAsync: (desc: number) => Promise<number>;

  private constructor(plan: MemoryPlan, memory: WebAssembly.Memory, exports: AppExports, effects: Effects) {
    this.plan = plan;
    this.memory = memory;
    // The memory never grows, so these views stay valid for the life of the process.
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    this.exports = exports;
    this.heapBase = exports.arena_heap_base();
    this.contexts = Array.from({ length: plan.slots }, (_, slot) => new SlotContext(slot));
    this.handleAsync = WebAssembly.promising(exports.arena_handle as (desc: number) => number) as (desc: number) => Promise<number>;
    this.effects = effects;
    effects.attach(this);
  }

  /**
   * Compiles and instantiates `bytes` (from `file`, for messages) over a fresh fixed memory
   * of `slots` × `slotBytes` + `startupBytes`, then runs the app's start code.
   */
  static async load(bytes: Uint8Array, file: string, slots: number, slotBytes: number, startupBytes: number, log: Logger,
    fetch: FetchOptions = {}, logLevel: number = LOG_INFO, cpuBudgetMs: number = CPU_BUDGET_MS_DEFAULT): Promise<App> {
    const plan = planMemory(slots, slotBytes, startupBytes);
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
    const mayWait = App.mayWaitTable(module, file);
    const memory = createMemory(plan);
    let app: App | null = null;
    const effects = new Effects(new HttpClient(fetch), log, logLevel, cpuBudgetMs);
    const imports = App.imports(memory, () => app, log, effects, mayWait);
    for (const imp of WebAssembly.Module.imports(module)) {
      const provided = (imports as Record<string, Record<string, unknown>>)[imp.module]?.[imp.name];
      if (provided === undefined) {
        throw new ArenaError("ARENA_E_WASM", `${file} imports ${imp.module}.${imp.name}, which Arena does not provide`, "apps may only use the effects in docs/abi.md");
      }
    }
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, imports);
    } catch (err) {
      throw new ArenaError("ARENA_E_WASM", `${file} could not be instantiated: ${(err as Error).message}`, "its static data may be larger than the startup region; raise --startup-bytes");
    }
    app = new App(plan, memory, instance.exports as unknown as AppExports, effects);
    app.start(file);
    return app;
  }

  private start(file: string): void {
    const plan = this.plan;
    if (this.heapBase + 64 > plan.startupBytes) {
      throw new ArenaError("ARENA_E_CONFIG", `${file}'s static data (${formatBytes(this.heapBase)}) does not fit the startup region (${formatBytes(plan.startupBytes)})`, "raise --startup-bytes");
    }
    const status = this.exports.arena_init(plan.startupBytes, plan.startupBytes, plan.slotBytes, plan.arenaBytes, plan.slots);
    if (status !== 0) throw new Error(`assert: arena_init refused the memory plan (status ${status})`);
    const trap = this.startup.trap;
    trap.clear();
    this.startup.cpuUsedMs = 0;
    this.startup.cpuBase = -1;
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

  slotBase(slot: number): number {
    return slotBase(this.plan, slot);
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
    this.contexts[slot].begin(id);
    this.dv.setUint32(desc + REQ_FLAGS, 0, true);
    return this.exports.arena_handle(desc);
  }

  /** Calls the app through JSPI: it may suspend on effects. The promise settles with
   *  arena_handle's status, or rejects if the app traps. */
  callAsync(slot: number, desc: number): Promise<number> {
    const ctx = this.contexts[slot];
    ctx.trap.clear();
    ctx.routePtr = 0;
    ctx.routeLen = 0;
    this.dv.setUint32(desc + REQ_FLAGS, REQ_FLAG_MAY_WAIT, true);
    return this.handleAsync(desc);
  }

  context(slot: number): SlotContext {
    return this.contexts[slot];
  }

  /** The context of the code running in wasm right now (the startup one at start-up). */
  current(): SlotContext {
    const slot = this.exports.arena_current_slot() >>> 0;
    return slot < this.contexts.length ? this.contexts[slot] : this.startup;
  }

  /** The client of the request in `slot` went away: its effects stop waiting. */
  cancel(slot: number): void {
    this.contexts[slot].cancel();
  }

  /** The route pattern the app reported for the request in `slot`, or "". */
  route(slot: number): string {
    const ctx = this.contexts[slot];
    if (ctx.routeLen === 0) return "";
    return utf8.decode(this.u8.subarray(ctx.routePtr, ctx.routePtr + ctx.routeLen));
  }

  /** Whether [ptr, ptr + len) lies inside `slot`'s arena or the startup region (static
   *  data included): the only memory a request may hand the host. Start-up code
   *  (REGION_ID_STARTUP) may only use the startup region. */
  validRange(slot: number, ptr: number, len: number): boolean {
    if (len === 0) return true;
    const end = ptr + len;
    const plan = this.plan;
    if (end <= plan.startupBytes) return ptr >= 0;
    if (slot >= plan.slots) return false;
    const base = this.slotBase(slot);
    return ptr >= base && end <= base + plan.arenaBytes;
  }

  /** Stops the effects' background work (idle upstream connections). */
  close(): void {
    this.effects.client.close();
  }

  /** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4), bounds-checked. */
  readString(ptr: number): string {
    const size = this.u8.length;
    if (ptr < 4 || ptr > size) return "";
    const len = this.dv.getUint32(ptr - 4, true);
    if (ptr + len > size) return "";
    return utf16.decode(this.u8.subarray(ptr, ptr + (len & ~1)));
  }

  private static imports(memory: WebAssembly.Memory, app: () => App | null, log: Logger, effects: Effects,
    mayWait: Set<number> | null): WebAssembly.Imports {
    const effectImports = effects.imports();
    // The build's analysis knows which imports wait only from WAITING_IMPORTS: a suspending
    // import missing from it would let a handler that waits run as a plain call.
    const suspending = Object.keys(effectImports).filter((name) => effectImports[name] instanceof WebAssembly.Suspending).sort();
    if (suspending.join() !== [...WAITING_IMPORTS].sort().join()) {
      throw new Error(`assert: the host's suspending imports (${suspending.join(", ")}) are not WAITING_IMPORTS (${WAITING_IMPORTS.join(", ")}) in host/abi/constants.ts`);
    }
    const tag = () => {
      const a = app();
      const id = a !== null ? a.current().id : 0;
      return id !== 0 ? `app req=${id}` : "app";
    };
    const str = (ptr: number) => app()?.readString(ptr) ?? "";
    const consoleLine = (level: "info" | "warn" | "error") => (ptr: number) => log.app(level, tag(), str(ptr));
    return {
      env: {
        memory,
        abort(msg: number, file: number, line: number, column: number) {
          const a = app();
          if (a !== null) {
            const where = file !== 0 ? ` at ${a.readString(file)}:${line}:${column}` : "";
            a.current().trap.abortMessage = `${a.readString(msg)}${where}`;
          }
          throw new WebAssembly.RuntimeError("abort");
        },
        trace(msg: number, n: number, ...args: number[]) {
          log.app("info", tag(), `trace: ${str(msg)} ${args.slice(0, n).join(", ")}`);
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
        ...effectImports,
        // may_wait(tableIndex) -> 1 when the function at that table index may wait: asked
        // by the SDK once per route at start, so waiting routes skip the plain call.
        may_wait(index: number): number {
          return mayWait === null || mayWait.has(index >>> 0) ? 1 : 0;
        },
        overflow(id: number, size: number, limit: number) {
          const a = app();
          if (a !== null) {
            const trap = a.current().trap;
            trap.overflowSize = size >>> 0;
            trap.overflowLimit = limit >>> 0;
          }
          void id;
        },
        violation(kind: number, parent: number, child: number) {
          const a = app();
          if (a !== null) {
            const trap = a.current().trap;
            trap.violationKind = kind;
            trap.abortMessage = kind === VIOLATION_LINK
              ? `object at 0x${(child >>> 0).toString(16)} made during the request was stored into startup object at 0x${(parent >>> 0).toString(16)}`
              : `startup object at 0x${(parent >>> 0).toString(16)} was reallocated during a request`;
          }
        },
        route(ptr: number, len: number) {
          const a = app();
          if (a === null) return;
          ptr >>>= 0;
          len >>>= 0;
          // Route patterns live in static data or the startup region; anything else is ignored.
          if (len <= 1024 && ptr + len <= a.plan.startupBytes) {
            const ctx = a.current();
            ctx.routePtr = ptr;
            ctx.routeLen = len;
          }
        },
      },
    };
  }
}
