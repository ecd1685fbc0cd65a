// Runtime half of the host/app ABI (docs/abi.md): the host sets the memory geometry and
// chooses which region allocations go to. `arena build` compiles this file as an extra
// entry of every app, so these are module exports.

/** Address where the startup heap begins (end of static data). */
export function arena_heap_base(): u32 {
  return <u32>__heap_base;
}

/** Sets the startup region to [__heap_base, startupEnd), the heap region to [startupEnd,
 *  heapEnd) and the slot geometry: `slotCount` slots of `slotBytes` from `slotsBase`, each
 *  an arena of `arenaBytes` plus the host's reserve. Returns 0, or a negative status when
 *  the geometry is impossible. */
export function arena_init(startupEnd: u32, heapEnd: u32, slotsBase: u32, slotBytes: u32, arenaBytes: u32, slotCount: u32): i32 {
  return __arena_init(startupEnd, heapEnd, slotsBase, slotBytes, arenaBytes, slotCount);
}

/** Resets `slot`'s arena so the app heap starts at `dataEnd`, and enters it. */
export function arena_begin(slot: u32, dataEnd: u32): void {
  __arena_begin(slot, dataEnd);
}

/** Re-enters `slot`'s arena (0xFFFFFFFF: the startup region) without resetting it. */
export function arena_enter(slot: u32): void {
  __arena_enter(slot);
}

/** Bytes allocated so far in the current region. */
export function arena_used(): u32 {
  return <u32>__arena_used();
}

/** The slot whose arena is current (0xFFFFFFFF: the startup region): the request that is
 *  calling when an import runs. */
export function arena_current_slot(): u32 {
  return __arena_current_id();
}

/** Bytes in use in the heap region (the host's statistics and the memory report). */
export function arena_heap_used(): u32 {
  return <u32>__arena_heap_used();
}

/** Calls the app's function `fn(scratch, ctx)` (a function reference, as the SDK's
 *  Scratch.run passes it to the host's `scope_call`): the host calls back so that a scratch
 *  arena that overflows stops only that call (docs/abi.md, "Scoped arenas"). */
export function arena_scope_invoke(fn: u32, scratch: u32, ctx: u32): void {
  changetype<(scratch: usize, ctx: usize) => void>(<usize>fn)(scratch, ctx);
}
