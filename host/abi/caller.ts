// Which code is running in wasm right now: a request in some slot, or the app's start-up
// code. The imports (effects, the runtime's reports) ask it to find the request they act
// for. It holds the per-slot contexts, which exist before the instance, and is bound to the
// instance's `arena_current_slot` export once that exists; an import called before that is
// a bug, and says so instead of acting for nobody.

import { assert } from "../assert.ts";
import { REGION_ID_STARTUP } from "./constants.ts";
import { SlotContext } from "./slot_context.ts";

export class Caller {
  /** One context per slot, made at start and reused by every request in that slot. */
  readonly contexts: SlotContext[];
  /** The context of the app's start-up code. */
  readonly startup = new SlotContext(REGION_ID_STARTUP);
  private currentSlot: (() => number) | null = null;
  private scopeInvoke: ((fn: number, scratch: number, ctx: number) => void) | null = null;

  constructor(slots: number) {
    this.contexts = Array.from({ length: slots }, (_, slot) => new SlotContext(slot));
  }

  /** Binds the instance's `arena_current_slot`; once, before any app code runs. */
  bind(currentSlot: () => number): void {
    assert(this.currentSlot === null, "the caller is bound to one instance, once");
    this.currentSlot = currentSlot;
  }

  /** Binds the instance's `arena_scope_invoke` (absent from builds older than Scratch). */
  bindScopeInvoke(invoke: ((fn: number, scratch: number, ctx: number) => void) | undefined): void {
    this.scopeInvoke = invoke ?? null;
  }

  /** Calls the app's function `fn(scratch, ctx)` from inside an import (Scratch.run). */
  invokeScoped(fn: number, scratch: number, ctx: number): void {
    const invoke = this.scopeInvoke;
    assert(invoke !== null, "Scratch.run called scope_call in a build without arena_scope_invoke");
    invoke(fn, scratch, ctx);
  }

  /** The context of the code running in wasm right now (the startup one at start-up). */
  current(): SlotContext {
    const currentSlot = this.currentSlot;
    assert(currentSlot !== null, "an import was called before the app's instance exists");
    const slot = currentSlot() >>> 0;
    return slot < this.contexts.length ? this.contexts[slot] : this.startup;
  }

  /** The request calling right now, or null for start-up code (which cannot wait). */
  request(): SlotContext | null {
    const ctx = this.current();
    return ctx.slot === REGION_ID_STARTUP ? null : ctx;
  }
}
