// The one wasm memory of the process, laid out by a MemoryPlan (plan.ts) and made before
// the app's module is instantiated, so the effects and the HTTP client can be built with it
// (they need no instance). It never grows, so the views made here stay valid for the life
// of the process.

import { createMemory, slotBase, type MemoryPlan } from "./plan.ts";

export class AppMemory {
  readonly plan: MemoryPlan;
  readonly memory: WebAssembly.Memory;
  readonly u8: Uint8Array;
  readonly dv: DataView;

  constructor(plan: MemoryPlan) {
    this.plan = plan;
    this.memory = createMemory(plan);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.dv = new DataView(this.memory.buffer);
  }

  /** Address of slot `slot`'s first byte. */
  slotBase(slot: number): number {
    return slotBase(this.plan, slot);
  }

  /** Whether [ptr, ptr + len) lies inside `slot`'s arena or the startup region (static
   *  data included): the only memory a request may hand the host. Never the heap: another
   *  request may free a heap block while the host still writes it (the SDK copies a heap
   *  body into the arena first). Start-up code
   *  (REGION_ID_STARTUP, any slot number past the last) may only use the startup region. */
  validRange(slot: number, ptr: number, len: number): boolean {
    if (len === 0) return true;
    const end = ptr + len;
    const plan = this.plan;
    if (end <= plan.startupBytes) return ptr >= 0;
    if (ptr < plan.slotsBase) return false;
    if (slot >= plan.slots) return false;
    const base = this.slotBase(slot);
    return ptr >= base && end <= base + plan.arenaBytes;
  }
}

/** A view of `buffer` [ptr, ptr + len), taken from views[i] when it is that same range
 *  (responses laid out like the previous one reuse their views), else made and kept. */
export function cachedView(views: Uint8Array[], i: number, buffer: ArrayBufferLike, ptr: number, len: number): Uint8Array {
  const v = views[i];
  if (v.byteOffset === ptr && v.length === len && v.buffer === buffer) return v;
  const nv = new Uint8Array(buffer, ptr, len);
  views[i] = nv;
  return nv;
}
