// Arena runtime: the AssemblyScript memory manager every Arena app is built with
// (`asc --runtime runtime/arena.ts`). It replaces asc's TLSF allocator and garbage
// collector with bump allocation inside *regions* whose bounds the host sets.
//
// The memory is fixed at start (the host creates it with initial == maximum, so
// memory.grow can never succeed and views over it never go stale); docs/architecture.md
// draws its layout: static data, the startup region from __heap_base, then the slots.
// Every slot begins with a region header, then what the host wrote for the request,
// then the app's allocations:
//
//   slot base
//   ├─ region header (32 B) ─┬─ request descriptor, head bytes, body ─┬─ app heap → … ┤ base + S
//   │ ptr end start id kind  │  written by the host before the call   │ bump pointer   │
//   │ parent (reserved)      │                                        │                │
//
// A region header is the whole state of an allocator, so regions can nest later without a
// rewrite: a scoped sub-arena is a header carved out of its parent (`parent` links back),
// a long-lived region with frees is another `kind` with its own alloc/free, and a region
// shared between threads bumps `ptr` atomically. The allocator only ever follows the
// `current` pointer to a header; entering a region is one global store, O(1), and
// resetting one is one store of `start` into `ptr`, also O(1).
//
// Objects keep asc's standard header (BLOCK.mmInfo + OBJECT gcInfo/gcInfo2/rtId/rtSize,
// 20 bytes before the 16-byte aligned payload), so the standard library works unchanged.
// Nothing is freed individually: __free only gives back the most recent block.
//
// Check build (`--use ARENA_CHECK=1`, made by `arena build --check`): __link traps when an
// object allocated in a request slot is stored into a startup-region object, and __renew
// traps when a startup object is reallocated while a request runs. Both would leave the
// startup object pointing into an arena that is reset when the request ends.

import { AL_MASK, BLOCK, BLOCK_OVERHEAD, BLOCK_MAXSIZE, OBJECT, OBJECT_OVERHEAD, OBJECT_MAXSIZE } from "~lib/rt/common";

// Region header field offsets; mirrored in host/abi/constants.ts (a test keeps them equal).
// @ts-ignore: decorator
@inline const REGION_PTR: usize = 0;
// @ts-ignore: decorator
@inline const REGION_END: usize = 4;
// @ts-ignore: decorator
@inline const REGION_START: usize = 8;
// @ts-ignore: decorator
@inline const REGION_ID: usize = 12;
// @ts-ignore: decorator
@inline const REGION_KIND: usize = 16;
// @ts-ignore: decorator
@inline const REGION_PARENT: usize = 20;
// @ts-ignore: decorator
@inline const REGION_HEADER_BYTES: usize = 32;
// @ts-ignore: decorator
@inline const REGION_KIND_BUMP: u32 = 1;
// @ts-ignore: decorator
@inline const REGION_ID_STARTUP: u32 = 0xFFFFFFFF;

// Violation kinds reported to the host by the check build.
// @ts-ignore: decorator
@inline const VIOLATION_LINK: u32 = 1;
// @ts-ignore: decorator
@inline const VIOLATION_RENEW: u32 = 2;

/** Asks the host to record that region `id` asked for `size` bytes over its `limit`. */
// @ts-ignore: decorator
@external("arena", "overflow")
declare function hostOverflow(id: u32, size: usize, limit: usize): void;

/** Asks the host to record a check-build violation before the runtime traps. */
// @ts-ignore: decorator
@external("arena", "violation")
declare function hostViolation(kind: u32, parent: usize, child: usize): void;

// The startup region's header lives in static data: it must exist before any allocation.
// @ts-ignore: decorator
@lazy const startupHeader: usize = memory.data(<i32>REGION_HEADER_BYTES, 16);
// @ts-ignore: decorator
@lazy let current: usize = 0;
// @ts-ignore: decorator
@lazy let slotsBase: usize = 0;
// @ts-ignore: decorator
@lazy let slotBytes: usize = 0;
// @ts-ignore: decorator
@lazy let slotCount: u32 = 0;
// @ts-ignore: decorator
@lazy let arenaBytes: usize = 0;

// @ts-ignore: decorator
@inline function computeSize(size: usize): usize {
  return ((size + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

/** Writes a fresh bump region header at `header` covering [start, end). */
// @ts-ignore: decorator
@inline function initRegion(header: usize, start: usize, end: usize, id: u32): void {
  // The first block header sits BLOCK_OVERHEAD before a 16-byte aligned payload.
  let first = ((start + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
  store<u32>(header + REGION_PTR, <u32>first);
  store<u32>(header + REGION_END, <u32>end);
  store<u32>(header + REGION_START, <u32>first);
  store<u32>(header + REGION_ID, id);
  store<u32>(header + REGION_KIND, REGION_KIND_BUMP);
  store<u32>(header + REGION_PARENT, 0);
}

/**
 * Sets up the startup region and the slot geometry: `count` slots of `bytes` each from
 * `base`; the arena is the first `arena` bytes of a slot (the rest is the host's).
 * Called by the host once, before the module's start function runs (the module is built with `--exportStart _initialize`).
 * Returns 0, or a negative status when the geometry is impossible.
 */
// @ts-ignore: decorator
@global
function __arena_init(startupEnd: usize, base: usize, bytes: usize, arena: usize, count: u32): i32 {
  if (startupEnd > base) return -1;
  if (bytes < REGION_HEADER_BYTES * 2 || (bytes & AL_MASK) != 0) return -2;
  if (arena > bytes || arena < REGION_HEADER_BYTES * 2 || (arena & AL_MASK) != 0) return -2;
  if (count == 0) return -3;
  if (<u64>base + <u64>bytes * <u64>count > (<u64>memory.size() << 16)) return -4;
  if (__heap_base + REGION_HEADER_BYTES > startupEnd) return -5;
  initRegion(startupHeader, __heap_base, startupEnd, REGION_ID_STARTUP);
  slotsBase = base;
  slotBytes = bytes;
  arenaBytes = arena;
  slotCount = count;
  current = startupHeader;
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
  initRegion(header, dataEnd, header + arenaBytes, slot);
  current = header;
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
    current = startupHeader;
    return;
  }
  if (slot >= slotCount) unreachable();
  current = slotsBase + <usize>slot * slotBytes;
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
  return current;
}

/** Re-enters the region whose header is at `header` (a value `__arena_current` returned). */
// @ts-ignore: decorator
@global @inline
function __arena_switch(header: usize): void {
  current = header;
}

/** The slot number of the current region, or 0xFFFFFFFF for the startup region. The host
 *  asks this when an import needs to know which request is calling. */
// @ts-ignore: decorator
@global
function __arena_current_id(): u32 {
  return load<u32>(current + REGION_ID);
}

/** Bytes in use in the current region (for the host's statistics and tests). */
// @ts-ignore: decorator
@global
function __arena_used(): usize {
  return load<u32>(current + REGION_PTR) - load<u32>(current + REGION_START);
}

/** Static data (asc places constant arrays and strings there) and the startup region:
 *  everything that outlives a request. */
// @ts-ignore: decorator
@inline function inStartup(ptr: usize): bool {
  return ptr != 0 && ptr < slotsBase;
}

// @ts-ignore: decorator
@inline function inSlots(ptr: usize): bool {
  return ptr >= slotsBase;
}

function overflow(size: usize): void {
  let r = current;
  hostOverflow(load<u32>(r + REGION_ID), size, load<u32>(r + REGION_END) - load<u32>(r + REGION_START));
  unreachable();
}

// @ts-ignore: decorator
@unsafe @global
function __alloc(size: usize): usize {
  let r = current;
  let block = <usize>load<u32>(r + REGION_PTR);
  let ptr = block + BLOCK_OVERHEAD;
  let payloadSize = computeSize(size);
  // Compare in u64 so a huge size cannot wrap around the 32-bit address space.
  if (size > BLOCK_MAXSIZE || <u64>ptr + <u64>payloadSize > <u64>load<u32>(r + REGION_END)) {
    overflow(size);
  }
  store<u32>(r + REGION_PTR, <u32>(ptr + payloadSize));
  changetype<BLOCK>(block).mmInfo = payloadSize;
  return ptr;
}

// @ts-ignore: decorator
@unsafe @global
function __realloc(ptr: usize, size: usize): usize {
  let r = current;
  let block = changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
  let actualSize = block.mmInfo;
  let top = <usize>load<u32>(r + REGION_PTR);
  let isLast = ptr + actualSize == top;
  let payloadSize = computeSize(size);
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
  let r = current;
  let block = changetype<BLOCK>(ptr - BLOCK_OVERHEAD);
  if (ptr + block.mmInfo == <usize>load<u32>(r + REGION_PTR)) {
    store<u32>(r + REGION_PTR, <u32>changetype<usize>(block));
  }
}

// @ts-ignore: decorator
@unsafe @global
function __new(size: usize, id: u32): usize {
  if (size > OBJECT_MAXSIZE) overflow(size);
  let ptr = __alloc(OBJECT_OVERHEAD + size);
  let object = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  object.gcInfo = 0;
  object.gcInfo2 = 0;
  object.rtId = id;
  object.rtSize = <u32>size;
  return ptr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@unsafe @global
function __renew(oldPtr: usize, size: usize): usize {
  if (size > OBJECT_MAXSIZE) overflow(size);
  if (isDefined(ARENA_CHECK)) {
    if (current != startupHeader && inStartup(oldPtr)) {
      hostViolation(VIOLATION_RENEW, oldPtr, 0);
      unreachable();
    }
  }
  let newPtr = __realloc(oldPtr - OBJECT_OVERHEAD, OBJECT_OVERHEAD + size);
  changetype<OBJECT>(newPtr - BLOCK_OVERHEAD).rtSize = <u32>size;
  return newPtr + OBJECT_OVERHEAD;
}

// @ts-ignore: decorator
@global @unsafe
function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {
  if (isDefined(ARENA_CHECK)) {
    if (childPtr != 0 && inStartup(parentPtr) && inSlots(childPtr)) {
      hostViolation(VIOLATION_LINK, parentPtr, childPtr);
      unreachable();
    }
  }
}

// @ts-ignore: decorator
@global @unsafe
function __pin(ptr: usize): usize {
  return ptr;
}

// @ts-ignore: decorator
@global @unsafe
function __unpin(ptr: usize): void {
}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void { // eslint-disable-line @typescript-eslint/no-unused-vars
}

// @ts-ignore: decorator
@global @unsafe
function __collect(): void {
}

// @ts-ignore: decorator
@global @unsafe
function __reset(): void {
  store<u32>(current + REGION_PTR, load<u32>(current + REGION_START));
}
