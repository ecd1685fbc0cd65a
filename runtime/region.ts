// Region headers and the current region: the state every allocation path of the runtime
// shares (runtime/arena.ts allocates, runtime/scope.ts makes and disposes scoped arenas,
// runtime/keep.ts copies graphs between regions).
//
// A bump region is a header and the memory after it. The header is the allocator's whole
// state, so entering a region is one store (`current`) and resetting one is one store too:
//
//   header ┬ PTR    next free byte (kept at 12 mod 16: payloads are 16-byte aligned)
//          ├ END    first byte it may not use (a scoped arena carved from its top lowers it)
//          ├ START  first byte it allocates from
//          ├ ID     the slot it belongs to (REGION_ID_STARTUP at start-up)
//          ├ KIND   bump, heap or scope
//          ├ PARENT the region a scope was carved from (0 for a slot or the startup region)
//          ├ GEN    generation: unique per region made, so a stale handle never matches
//          └ PEAK   the highest PTR this region would have reached had its disposed
//                   scopes been allocated in it (the memory report's peak)
//   scope headers add CAP_END (the parent's END before the carve), LABEL and SITE (strings)
//   and FLAGS (SCOPE_FLAG_RUN: a function runs in it through the host, and cannot wait).
//
// The field offsets are mirrored in host/abi/constants.ts (tests/abi_constants.test.ts
// keeps them equal): the host reads PTR, END and PEAK of a slot's region.

import { AL_MASK, BLOCK, BLOCK_OVERHEAD, BLOCK_MAXSIZE } from "~lib/rt/common";

// @ts-ignore: decorator
@inline export const REGION_PTR: usize = 0;
// @ts-ignore: decorator
@inline export const REGION_END: usize = 4;
// @ts-ignore: decorator
@inline export const REGION_START: usize = 8;
// @ts-ignore: decorator
@inline export const REGION_ID: usize = 12;
// @ts-ignore: decorator
@inline export const REGION_KIND: usize = 16;
// @ts-ignore: decorator
@inline export const REGION_PARENT: usize = 20;
// @ts-ignore: decorator
@inline export const REGION_GEN: usize = 24;
// @ts-ignore: decorator
@inline export const REGION_PEAK: usize = 28;
// @ts-ignore: decorator
@inline export const REGION_HEADER_BYTES: usize = 32;
// @ts-ignore: decorator
@inline export const SCOPE_CAP_END: usize = 32;
// @ts-ignore: decorator
@inline export const SCOPE_LABEL: usize = 36;
// @ts-ignore: decorator
@inline export const SCOPE_SITE: usize = 40;
// @ts-ignore: decorator
@inline export const SCOPE_FLAGS: usize = 44;
// @ts-ignore: decorator
@inline export const SCOPE_HEADER_BYTES: usize = 48;
/** What a scope takes besides the bytes it was asked for (rounded up to 16): its header
 *  and the first block's header and alignment. */
// @ts-ignore: decorator
@inline export const SCOPE_OVERHEAD_BYTES: usize = 64;
/** SCOPE_FLAGS bit: a function runs in this scope through the host (Scratch.run). */
// @ts-ignore: decorator
@inline export const SCOPE_FLAG_RUN: u32 = 1;
// @ts-ignore: decorator
@inline export const REGION_KIND_BUMP: u32 = 1;
// @ts-ignore: decorator
@inline export const REGION_KIND_HEAP: u32 = 2;
// @ts-ignore: decorator
@inline export const REGION_KIND_SCOPE: u32 = 3;

// @ts-ignore: decorator
@lazy let current: usize = 0;
// @ts-ignore: decorator
@lazy let generation: u32 = 0;

/** The header of the region new objects go to. */
// @ts-ignore: decorator
@inline export function currentRegion(): usize {
  return current;
}

/** Makes the region at `header` the one new objects go to. */
// @ts-ignore: decorator
@inline export function setCurrentRegion(header: usize): void {
  current = header;
}

/** A generation no region has had yet (0 is never one: a zeroed handle matches nothing). */
export function nextGeneration(): u32 {
  generation++;
  if (generation == 0) generation = 1;
  return generation;
}

/** Writes a fresh bump region header at `header` covering [start, end). */
export function initRegion(header: usize, start: usize, end: usize, id: u32, kind: u32): void {
  // The first block header sits BLOCK_OVERHEAD before a 16-byte aligned payload.
  let first = ((start + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
  store<u32>(header + REGION_PTR, <u32>first);
  store<u32>(header + REGION_END, <u32>end);
  store<u32>(header + REGION_START, <u32>first);
  store<u32>(header + REGION_ID, id);
  store<u32>(header + REGION_KIND, kind);
  store<u32>(header + REGION_PARENT, 0);
  store<u32>(header + REGION_GEN, nextGeneration());
  store<u32>(header + REGION_PEAK, 0);
}

/** Payload size of a block that holds `size` bytes (the next block stays aligned). */
// @ts-ignore: decorator
@inline export function blockSize(size: usize): usize {
  return ((size + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

/** A block of `size` bytes at the top of the bump region `r`, or 0 when it has no room. */
// @ts-ignore: decorator
@inline export function bumpAlloc(r: usize, size: usize): usize {
  let block = <usize>load<u32>(r + REGION_PTR);
  let ptr = block + BLOCK_OVERHEAD;
  let payloadSize = blockSize(size);
  // Compare in u64 so a huge size cannot wrap around the 32-bit address space.
  if (size > BLOCK_MAXSIZE || <u64>ptr + <u64>payloadSize > <u64>load<u32>(r + REGION_END)) return 0;
  store<u32>(r + REGION_PTR, <u32>(ptr + payloadSize));
  changetype<BLOCK>(block).mmInfo = payloadSize;
  return ptr;
}

/** Where the memory of region `r` ends: a scope's whole carve, or the region's END. */
// @ts-ignore: decorator
@inline export function regionLimit(r: usize): usize {
  return load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE ? <usize>load<u32>(r + SCOPE_CAP_END) : <usize>load<u32>(r + REGION_END);
}

/** Whether `r` is a scoped arena carved in start-up code (its id is the startup region's,
 *  runtime/report.ts's REGION_ID_STARTUP). */
export function isStartupScope(r: usize): bool {
  return load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE && load<u32>(r + REGION_ID) == 0xFFFFFFFF;
}
