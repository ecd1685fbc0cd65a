// Arena runtime: the AssemblyScript memory manager every Arena app is built with
// (`asc --runtime runtime/arena.ts`). It replaces asc's TLSF allocator and garbage
// collector with *regions* whose bounds the host sets: bump allocation for the startup
// region and the request arenas, and a TLSF heap (runtime/heap.ts) for state that outlives
// a request.
//
// The memory is fixed at start (the host creates it with initial == maximum, so
// memory.grow can never succeed and views over it never go stale); docs/architecture.md
// draws its layout: static data, the startup region from __heap_base, the heap region,
// then the slots. Every slot begins with a region header, then what the host wrote for
// the request, then the app's allocations:
//
//   slot base
//   ├─ region header (32 B) ─┬─ request descriptor, head bytes, body ─┬─ app heap → … ┬ scopes ┤ base + S
//   │ ptr end start id kind  │  written by the host before the call   │ bump pointer   │ carved  │
//   │ parent gen peak        │                                        │                │ from top│
//
// A region header is the whole state of a bump allocator (runtime/region.ts lists its
// fields). A scoped arena is a header carved from the top of its parent (runtime/scope.ts),
// `parent` links back. The allocator follows the `current` pointer to a header: entering a
// region is one store, and so is resetting one. The heap has a header too (kind
// REGION_KIND_HEAP), its allocator state is the TLSF root.
//
// Where an allocation goes:
// - `current` decides for new objects (__new, __alloc): the request's arena while a handler
//   runs, the startup region while the module initialises.
// - A long-lived object that grows keeps living long: __realloc of a block below the slots,
//   while a request runs, moves it into the heap (`Array#push` on a top-level array). Maps
//   and Sets make new tables with `new ArrayBuffer`, so `arena build` patches them to
//   allocate in their owner's region and free the old tables (cli/stdlib_patch.ts).
// - Anything else the app wants to keep it copies into the heap explicitly (runtime/keep.ts).
//
// Objects keep asc's standard header (20 bytes before the 16-byte aligned payload), so the
// standard library works unchanged. In bump regions __free only gives back the last block.
//
// The collector's hooks (__link, __pin, …) are in runtime/gc.ts; the check build's checks
// in runtime/check.ts.

import { AL_MASK, BLOCK, BLOCK_OVERHEAD, BLOCK_MAXSIZE, OBJECT, OBJECT_OVERHEAD, OBJECT_MAXSIZE, TOTAL_OVERHEAD } from "~lib/rt/common";
import { heapAlloc, heapCapacity, heapContains, heapFree, heapInit, heapIsUsedBlock, heapRealloc, heapUsed } from "./heap";
import "./gc";
import "./keep";
import { newObject, zeroBytes } from "./zero";
import { hostOverflow, hostViolation, REGION_ID_HEAP, REGION_ID_STARTUP, VIOLATION_FREE } from "./report";
import {
  blockSize, bumpAlloc, currentRegion, initRegion, isStartupScope, REGION_END, REGION_HEADER_BYTES, REGION_ID, REGION_KIND, REGION_KIND_BUMP,
  REGION_KIND_HEAP, REGION_KIND_SCOPE, REGION_PTR, REGION_START, SCOPE_CAP_END, SCOPE_OVERHEAD_BYTES, setCurrentRegion,
} from "./region";
import "./scope";

// Both long-lived headers live in static data: they must exist before any allocation.
// @ts-ignore: decorator
@lazy const startupHeader: usize = memory.data(<i32>REGION_HEADER_BYTES, 16);
// @ts-ignore: decorator
@lazy const heapHeader: usize = memory.data(<i32>REGION_HEADER_BYTES, 16);
// The region that was current when a container began to grow in the heap (its ids), the
// bytes that growth has allocated so far, and the most any growth has.
// @ts-ignore: decorator
@lazy let heapCaller: usize = 0;
// @ts-ignore: decorator
@lazy let growthBytes: usize = 0;
// @ts-ignore: decorator
@lazy let growthMax: usize = 0;
// @ts-ignore: decorator
@lazy let slotsBase: usize = 0;
// @ts-ignore: decorator
@lazy let slotBytes: usize = 0;
// @ts-ignore: decorator
@lazy let slotCount: u32 = 0;
// @ts-ignore: decorator
@lazy let arenaBytes: usize = 0;

/**
 * Sets up the startup region [__heap_base, startupEnd), the heap region [startupEnd,
 * heapEnd) and the slot geometry: `count` slots of `bytes` each from `base`; the arena is
 * the first `arena` bytes of a slot (the rest is the host's). Called by the host once,
 * before the module's start function runs (the module is built with `--exportStart
 * _initialize`). Returns 0, or a negative status when the geometry is impossible.
 */
// @ts-ignore: decorator
@global
function __arena_init(startupEnd: usize, heapEnd: usize, base: usize, bytes: usize, arena: usize, count: u32): i32 {
  if (startupEnd > heapEnd || heapEnd > base) return -1;
  if (bytes < REGION_HEADER_BYTES * 2 || (bytes & AL_MASK) != 0) return -2;
  if (arena > bytes || arena < REGION_HEADER_BYTES * 2 || (arena & AL_MASK) != 0) return -2;
  if (count == 0) return -3;
  if (<u64>base + <u64>bytes * <u64>count > (<u64>memory.size() << 16)) return -4;
  if (__heap_base + REGION_HEADER_BYTES > startupEnd) return -5;
  initRegion(startupHeader, __heap_base, startupEnd, REGION_ID_STARTUP, REGION_KIND_BUMP);
  // A zone too small for the TLSF root is a heap of size 0: every heap allocation fails.
  heapInit(startupEnd, heapEnd);
  store<u32>(heapHeader + REGION_ID, REGION_ID_HEAP);
  store<u32>(heapHeader + REGION_KIND, REGION_KIND_HEAP);
  store<u32>(heapHeader + REGION_START, <u32>startupEnd);
  store<u32>(heapHeader + REGION_END, <u32>heapEnd);
  slotsBase = base;
  slotBytes = bytes;
  arenaBytes = arena;
  slotCount = count;
  setCurrentRegion(startupHeader);
  heapCaller = startupHeader;
  return 0;
}

/**
 * Resets `slot`'s region so the app heap starts at `dataEnd` (the host has written the
 * request below it) and makes it the current region. O(1): one header is rewritten.
 */
// @ts-ignore: decorator
@global
function __arena_begin(slot: u32, dataEnd: usize): void {
  if (slot >= slotCount) unreachable();
  let header = slotsBase + <usize>slot * slotBytes;
  if (dataEnd < header + REGION_HEADER_BYTES || dataEnd > header + arenaBytes) unreachable();
  initRegion(header, dataEnd, header + arenaBytes, slot, REGION_KIND_BUMP);
  setCurrentRegion(header);
}

/**
 * Makes `slot`'s region the current one without resetting it: the synchronous step that
 * re-enters a request's arena right before its code continues after a suspension.
 * A slot of 0xFFFFFFFF re-enters the startup region.
 */
// @ts-ignore: decorator
@global
function __arena_enter(slot: u32): void {
  if (slot == REGION_ID_STARTUP) {
    setCurrentRegion(startupHeader);
    return;
  }
  if (slot >= slotCount) unreachable();
  setCurrentRegion(slotsBase + <usize>slot * slotBytes);
}

/**
 * The current region's header address. Code that may suspend (every effect that waits, in
 * the SDK) saves it before the call and hands it back to `__arena_switch` right after:
 * other requests run while it is suspended and each of them enters its own region, so the
 * resumed code must re-enter its own before it allocates anything. The wasm does this
 * itself, in the same synchronous step that resumes it; no JS runs in between.
 */
// @ts-ignore: decorator
@global @inline
function __arena_current(): usize {
  return currentRegion();
}

/** Re-enters the region whose header is at `header` (a value `__arena_current` returned). */
// @ts-ignore: decorator
@global @inline
function __arena_switch(header: usize): void {
  setCurrentRegion(header);
}

/**
 * Enters the region that owns the object at `ptr`, for code that is about to allocate
 * memory the object will keep (a Map's or Set's new tables): the heap when the object is
 * long-lived and a request (or the heap) is current, else the current region. Returns the
 * region to go back to with `__arena_switch`.
 */
// @ts-ignore: decorator
@global
function __arena_owner_enter(ptr: usize): usize {
  let saved = currentRegion();
  if (load<u32>(saved + REGION_KIND) == REGION_KIND_SCOPE && __arena_scope_owner(ptr) != saved) {
    // A Map or Set made before a scope was entered grows in the region that owns it.
    setCurrentRegion(__arena_scope_owner(ptr));
  } else if (heapContains(ptr) || (ptr < slotsBase && saved != startupHeader && !isStartupScope(saved))) {
    if (saved != heapHeader) heapCaller = saved;
    growthBytes = 0;
    setCurrentRegion(heapHeader);
  }
  return saved;
}

/** The region whose code is running: the current one, or while a long-lived container
 *  grows in the heap, the region that made it grow (runtime/scope.ts walks from it). */
// @ts-ignore: decorator
@global @inline
function __arena_caller_region(): usize {
  let r = currentRegion();
  return r == heapHeader ? heapCaller : r;
}

/** The end of the memory of the slot or startup region whose header is `header`: a
 *  request's arena ends at its slot base + the arena size whatever its scopes lowered. */
// @ts-ignore: decorator
@global
function __arena_region_limit(header: usize): usize {
  if (header == startupHeader) return <usize>load<u32>(heapHeader + REGION_START);
  return header >= slotsBase ? header + arenaBytes : 0;
}

/** The slot number of the current region, 0xFFFFFFFF for the startup region, 0xFFFFFFFE
 *  for the heap. The host asks this when an import needs to know which request calls. */
// @ts-ignore: decorator
@global
function __arena_current_id(): u32 {
  // While a container grows in the heap, the request that made it grow is still the caller.
  return load<u32>((currentRegion() == heapHeader ? heapCaller : currentRegion()) + REGION_ID);
}

/** Bytes in use in the current region (for the host's statistics and tests). */
// @ts-ignore: decorator
@global
function __arena_used(): usize {
  if (currentRegion() == heapHeader) return heapUsed();
  return load<u32>(currentRegion() + REGION_PTR) - load<u32>(currentRegion() + REGION_START);
}

/** Bytes free in the current bump region (the JSON tape asks before it grows). */
// @ts-ignore: decorator
@global
function __arena_room(): usize {
  return currentRegion() == heapHeader ? 0 : load<u32>(currentRegion() + REGION_END) - load<u32>(currentRegion() + REGION_PTR);
}

/** The most heap bytes one growth of a long-lived container has taken (a Map's two new
 *  tables, an array's new buffer): its next growth may need twice that (runtime/keep.ts). */
// @ts-ignore: decorator
@global @inline
function __arena_growth_max(): usize {
  return growthMax;
}

/** Start of the first slot: everything below it outlives requests (runtime/check.ts). */
// @ts-ignore: decorator
@global @inline
function __arena_slots_base(): usize {
  return slotsBase;
}

function overflow(size: usize): void {
  let r = currentRegion();
  if (r == heapHeader) heapFull(size);
  // A scoped arena names itself (its header carries its label), and its limit is its own
  // capacity: the host's message then says which scope was too small.
  let scope = load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE ? r : 0;
  let limit = scope != 0 ? <usize>load<u32>(r + SCOPE_CAP_END) - r - SCOPE_OVERHEAD_BYTES : load<u32>(r + REGION_END) - load<u32>(r + REGION_START);
  hostOverflow(load<u32>(r + REGION_ID), size, limit, scope);
  unreachable();
}

/** Stops the request as if the current region could not allocate `size` bytes: what the
 *  SDK does when a Scratch cannot be carved from it. */
// @ts-ignore: decorator
@global
function __arena_overflow(size: usize): void {
  overflow(size);
}

/** A heap block of `size` payload bytes, or a trap that names the heap as full. */
function heapAllocOrTrap(size: usize): usize {
  // Every block made here is a long-lived container's new storage (Heap.keep allocates on
  // its own): the largest growth so far tells Heap.keep how much room to leave.
  growthBytes += size;
  if (growthBytes > growthMax) growthMax = growthBytes;
  let ptr = heapAlloc(size);
  if (ptr == 0) heapFull(size);
  return ptr;
}

/** Reports that the heap has no block of `size` for a long-lived object, and traps. */
function heapFull(size: usize): void {
  hostOverflow(REGION_ID_HEAP, size, heapCapacity(), 0);
  unreachable();
}

// @ts-ignore: decorator
@unsafe @global
function __alloc(size: usize): usize {
  let r = currentRegion();
  if (r == heapHeader) return heapAllocOrTrap(size);
  let ptr = bumpAlloc(r, size);
  if (ptr == 0) overflow(size);
  return ptr;
}

/** Moves a block to a new one of `size`, in the heap or the current region. */
function moveBlock(ptr: usize, oldSize: usize, size: usize, toHeap: bool): usize {
  let newPtr = toHeap ? heapAllocOrTrap(size) : __alloc(size);
  memory.copy(newPtr, ptr, min(oldSize, size));
  return newPtr;
}

// @ts-ignore: decorator
@unsafe @global
function __realloc(ptr: usize, size: usize): usize {
  growthBytes = 0;
  if (heapContains(ptr)) {
    if (size > growthMax) growthMax = size;
    let moved = heapRealloc(ptr, size);
    if (moved == 0) heapFull(size);
    return moved;
  }
  let r = currentRegion();
  let block = changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
  let actualSize = block.mmInfo;
  // A block that grows while a scoped arena entered after it is current grows in the
  // region that owns it (in the scope it would dangle once the scope is disposed).
  if (load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE && (ptr < r || ptr >= <usize>load<u32>(r + SCOPE_CAP_END))) {
    let owner = __arena_scope_owner(ptr);
    if (owner != r) {
      setCurrentRegion(owner);
      let grown = __realloc(ptr, size);
      setCurrentRegion(r);
      return grown;
    }
  }
  // A long-lived block (static data or the startup region) that grows while a request or
  // the heap is current moves to the heap: it must outlive the request. Its old block is
  // abandoned; the startup region is a bump region and does not take blocks back.
  if (ptr < slotsBase && r != startupHeader && !isStartupScope(r)) return moveBlock(ptr, actualSize, size, true);
  // A block of another bump region than the current one (static data while the startup
  // region is current, which asc's constant arrays are) moves into the current region.
  if (r == heapHeader || ptr < <usize>load<u32>(r + REGION_START) || ptr >= <usize>load<u32>(r + REGION_END)) {
    return moveBlock(ptr, actualSize, size, r == heapHeader);
  }
  let top = <usize>load<u32>(r + REGION_PTR);
  let isLast = ptr + actualSize == top;
  let payloadSize = blockSize(size);
  if (size > actualSize) {
    if (isLast) {
      // The last block of the current region grows in place: the common case for a
      // writer that appends, and why a bump arena can build large bodies cheaply.
      if (size > BLOCK_MAXSIZE || <u64>ptr + <u64>payloadSize > <u64>load<u32>(r + REGION_END)) {
        overflow(size);
      }
      store<u32>(r + REGION_PTR, <u32>(ptr + payloadSize));
      block.mmInfo = payloadSize;
    } else {
      // Elsewhere: copy to a new block at least double the size, so appends stay O(1)
      // amortised. The old block is simply abandoned until the region is reset.
      let newPtr = __alloc(max<usize>(payloadSize, actualSize << 1));
      memory.copy(newPtr, ptr, actualSize);
      ptr = newPtr;
    }
  } else if (isLast) {
    store<u32>(r + REGION_PTR, <u32>(ptr + payloadSize));
    block.mmInfo = payloadSize;
  }
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
function __free(ptr: usize): void {
  if (heapContains(ptr)) {
    // A double free or a pointer into the middle of a block would corrupt the free lists:
    // always reported, in every build.
    if (!heapIsUsedBlock(ptr)) {
      hostViolation(VIOLATION_FREE, ptr, 0, 0);
      unreachable();
    }
    heapFree(ptr);
    return;
  }
  let r = currentRegion();
  if (r == heapHeader) return;
  let block = changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
  if (ptr + block.mmInfo == <usize>load<u32>(r + REGION_PTR)) {
    store<u32>(r + REGION_PTR, <u32>changetype<usize>(block));
  }
}

// @ts-ignore: decorator
@unsafe @global
function __new(size: usize, id: u32): usize {
  let ptr = newObject(size, id);
  // asc's standard library relies on this (a GC runtime zeroes in __new: ArrayBuffer, Array
  // and StaticArray skip their own fill), and so does isolation: arenas and heap blocks are
  // reused, and a fresh object must never show what an earlier request left there.
  zeroBytes(ptr, size);
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
function __renew(oldPtr: usize, size: usize): usize {
  if (size > OBJECT_MAXSIZE) overflow(size);
  let oldSize = <usize>changetype<OBJECT>(oldPtr - TOTAL_OVERHEAD).rtSize;
  let newPtr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size);
  changetype<OBJECT>(newPtr - BLOCK_OVERHEAD).rtSize = <u32>size;
  // Growth is zeroed like a new object (see __new): in place it would show old bytes.
  if (size > oldSize) memory.fill(newPtr + OBJECT_OVERHEAD + oldSize, 0, size - oldSize);
  return newPtr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@global @unsafe
function __reset(): void {
  store<u32>(currentRegion() + REGION_PTR, load<u32>(currentRegion() + REGION_START));
}
