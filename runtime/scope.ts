// Scoped arenas: a bump region carved from the top of the current one, entered so that
// allocations land in it, and disposed in O(1). The SDK's `Scratch` (sdk/lib/arena/region.ts)
// is the app-facing half; docs/regions.md explains when to use one.
//
// Why the top: the parent keeps allocating from its bottom while the scope lives (a copy
// out of the scope, an effect's result), and disposing the scope gives its whole carve back
// by restoring the parent's END, whatever the parent allocated meanwhile:
//
//   parent START ── parent's objects → PTR ········ END ┬ scope header ┬ scope objects → ┤ CAP_END
//                                                       └ 48 B          (the carve)        (parent's old END)
//
// Scopes nest (a scope carved from a scope) and are disposed last in, first out: at any time
// a region has at most one live scope, so the live regions of a request form one chain from
// the current region up through PARENT links to the slot's region. A handle (header,
// generation) is live exactly when that pair is on the chain: generations are unique, so
// neither a disposed scope nor one of another request, nor a scope made later at the same
// address, can match.
//
// The check build (ARENA_CHECK) also poisons what a scope leaves behind, marks moved
// objects, and keeps a short record of both so that a later use can be named
// (runtime/check.ts reports it).

import { BLOCK_OVERHEAD, OBJECT, TOTAL_OVERHEAD } from "~lib/rt/common";
import {
  currentRegion, initRegion, REGION_END, REGION_KIND_BUMP, REGION_START, REGION_GEN, REGION_ID, REGION_KIND, REGION_KIND_SCOPE, REGION_PARENT,
  REGION_PEAK, REGION_PTR, SCOPE_CAP_END, SCOPE_FLAG_RUN, SCOPE_FLAGS, SCOPE_HEADER_BYTES, SCOPE_OVERHEAD_BYTES, SCOPE_LABEL, SCOPE_SITE,
  setCurrentRegion,
} from "./region";
import { hostViolation, VIOLATION_DEAD_OBJECT, VIOLATION_DISPOSED, VIOLATION_MOVED, VIOLATION_SCOPE_ORDER, VIOLATION_UNINIT } from "./report";

/** The byte the check build fills disposed and moved memory with: as a pointer
 *  (0xDDDDDDDD) it lies past any wasm32 memory Arena makes, so following one traps. */
// @ts-ignore: decorator
@inline export const POISON_DEAD: u8 = 0xDD;
/** gcInfo2 of an object `move` took away (check build); gcInfo then holds its record. */
// @ts-ignore: decorator
@inline export const GCINFO2_MOVED: u32 = 0x4D4F5645;
/** Disposed scopes and moves the check build remembers, to name them when used later. */
// @ts-ignore: decorator
@inline const RECORDS: usize = 64;
// @ts-ignore: decorator
@inline const RECORD_BYTES: usize = 16;
/** Record fields: a disposed scope's [start, end), or 0 and the move's target kind; then
 *  the label and the site (string pointers, 0 for none). */
// @ts-ignore: decorator
@inline export const RECORD_START: usize = 0;
// @ts-ignore: decorator
@inline export const RECORD_END: usize = 4;
// @ts-ignore: decorator
@inline export const RECORD_LABEL: usize = 8;
// @ts-ignore: decorator
@inline export const RECORD_SITE: usize = 12;

// @ts-ignore: decorator
@lazy const records: usize = memory.data(<i32>(RECORDS * RECORD_BYTES), 16);
// @ts-ignore: decorator
@lazy let recordNext: usize = 0;

/** Stores a record and returns its address (the oldest is overwritten). */
export function addRecord(start: usize, end: usize, label: usize, site: usize): usize {
  let at = records + (recordNext % RECORDS) * RECORD_BYTES;
  recordNext++;
  store<u32>(at + RECORD_START, <u32>start);
  store<u32>(at + RECORD_END, <u32>end);
  store<u32>(at + RECORD_LABEL, <u32>label);
  store<u32>(at + RECORD_SITE, <u32>site);
  return at;
}

/** The newest record of a disposed scope whose memory held `ptr`, or 0. */
function recordOf(ptr: usize): usize {
  let n = min(recordNext, RECORDS);
  for (let i: usize = 1; i <= n; i++) {
    let at = records + ((recordNext - i) % RECORDS) * RECORD_BYTES;
    if (ptr >= <usize>load<u32>(at + RECORD_START) && ptr < <usize>load<u32>(at + RECORD_END)) return at;
  }
  return 0;
}

/**
 * Carves a scope of `bytes` from the top of the current region and enters it. Returns its
 * header, or 0 when the current region has no room for it (nothing changed then). `label`
 * and `site` are string pointers the host names the scope with.
 */
// @ts-ignore: decorator
@global
function __arena_scope_enter(bytes: usize, label: usize, site: usize): usize {
  let parent = currentRegion();
  let kind = load<u32>(parent + REGION_KIND);
  // Only bump regions (a request's arena, a scope, the startup region) can be carved.
  if (kind != REGION_KIND_BUMP && kind != REGION_KIND_SCOPE) return 0;
  let end = <usize>load<u32>(parent + REGION_END);
  let top = <usize>load<u32>(parent + REGION_PTR);
  if (bytes > (1 << 30)) return 0;
  // The header, then 16 bytes for the first block's header and alignment, then `bytes`
  // rounded up: the scope can allocate at least `bytes` (block headers included).
  let size = ((bytes + 15) & ~15) + SCOPE_OVERHEAD_BYTES;
  if (<u64>top + <u64>size + 16 > <u64>end) return 0;
  let header = (end - size) & ~15;
  initRegion(header, header + SCOPE_HEADER_BYTES, end, load<u32>(parent + REGION_ID), REGION_KIND_SCOPE);
  store<u32>(header + REGION_PARENT, <u32>parent);
  store<u32>(header + SCOPE_CAP_END, <u32>end);
  store<u32>(header + SCOPE_LABEL, <u32>label);
  store<u32>(header + SCOPE_SITE, <u32>site);
  store<u32>(header + SCOPE_FLAGS, 0);
  store<u32>(parent + REGION_END, <u32>header);
  setCurrentRegion(header);
  return header;
}

/** The generation of the region at `header` (read right after it is made). */
// @ts-ignore: decorator
@global @inline
function __arena_region_gen(header: usize): u32 {
  return load<u32>(header + REGION_GEN);
}

/** Whether the region (`header`, `gen`) is live for the code running now: on the chain
 *  from the current region to its request's (or the startup) region. */
// @ts-ignore: decorator
@global
function __arena_region_live(header: usize, gen: u32): bool {
  let r = __arena_caller_region();
  while (r != 0) {
    if (r == header) return load<u32>(r + REGION_GEN) == gen;
    r = <usize>load<u32>(r + REGION_PARENT);
  }
  return false;
}

/** The outermost region of the running code's chain: its request's arena, or the startup
 *  region at start-up. */
// @ts-ignore: decorator
@global
function __arena_request_region(): usize {
  let r = __arena_caller_region();
  while (load<u32>(r + REGION_PARENT) != 0) r = <usize>load<u32>(r + REGION_PARENT);
  return r;
}

/** Gives the scope at `header` back to its parent and re-enters the parent. */
function release(header: usize): void {
  let parent = <usize>load<u32>(header + REGION_PARENT);
  let capEnd = <usize>load<u32>(header + SCOPE_CAP_END);
  // The memory report's peak: the parent's top plus the whole carve (what the arena had to
  // hold, however much of it the scope used), as if it had been allocated in the parent.
  let parentTop = <usize>load<u32>(parent + REGION_PTR);
  let peak = parentTop + (capEnd - header);
  if (peak > <usize>load<u32>(parent + REGION_PEAK)) store<u32>(parent + REGION_PEAK, <u32>peak);
  // A host commit clamped at the carve's edge can leave the parent's top at 0 mod 16; the
  // next block must again start 12 mod 16 so that its payload is 16-byte aligned.
  let aligned = ((parentTop + 4 + 15) & ~15) - 4;
  if (aligned != parentTop) store<u32>(parent + REGION_PTR, <u32>min(aligned, capEnd));
  let label = <usize>load<u32>(header + SCOPE_LABEL);
  let site = <usize>load<u32>(header + SCOPE_SITE);
  store<u32>(parent + REGION_END, <u32>capEnd);
  setCurrentRegion(parent);
  if (isDefined(ARENA_CHECK)) {
    addRecord(header, capEnd, label, site);
    memory.fill(header, POISON_DEAD, capEnd - header);
  }
}

/**
 * Disposes the scope (`header`, `gen`): O(1), it must be the current region. Disposing one
 * that is not current (a scope made inside it is still entered) or not live (disposed
 * already, or another request's) is a programming error, reported in every build: going
 * on would hand memory still in use back to the parent.
 */
// @ts-ignore: decorator
@global
function __arena_scope_dispose(header: usize, gen: u32, label: usize, site: usize): void {
  let current = currentRegion();
  if (current != header || load<u32>(header + REGION_GEN) != gen) {
    if (__arena_region_live(header, gen)) {
      hostViolation(VIOLATION_SCOPE_ORDER, header, current, 0);
    } else {
      hostViolation(VIOLATION_DISPOSED, label, site, 0);
    }
    unreachable();
  }
  release(header);
}

/** Disposes the scope (`header`, `gen`) and every scope entered inside it: what the SDK does
 *  after a function run in a scope stopped part way (its scope overflowed). */
// @ts-ignore: decorator
@global
function __arena_scope_unwind(header: usize, gen: u32): void {
  if (!__arena_region_live(header, gen)) unreachable();
  while (currentRegion() != header) release(currentRegion());
  release(header);
}

/** Bytes allocated in the region at `header` (a scope's own objects; a request's arena
 *  counts what the host wrote for the request too). */
// @ts-ignore: decorator
@global
function __arena_region_used(header: usize): usize {
  let start = load<u32>(header + REGION_KIND) == REGION_KIND_SCOPE ? <usize>load<u32>(header + REGION_START) : header;
  return <usize>load<u32>(header + REGION_PTR) - start;
}

/** Payload bytes the next block of the region at `header` can still have (its block
 *  header left out): a scope of n bytes starts with room n. */
// @ts-ignore: decorator
@global
function __arena_region_room(header: usize): usize {
  let room = <usize>load<u32>(header + REGION_END) - <usize>load<u32>(header + REGION_PTR);
  return room > BLOCK_OVERHEAD ? room - BLOCK_OVERHEAD : 0;
}

/** The live region of the running code's chain whose memory holds `ptr`, or 0 when `ptr`
 *  is not in its request's arena (or the startup region at start-up). */
export function regionOf(ptr: usize): usize {
  let r = __arena_caller_region();
  while (load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE) {
    if (ptr >= r && ptr < <usize>load<u32>(r + SCOPE_CAP_END)) return r;
    r = <usize>load<u32>(r + REGION_PARENT);
  }
  // The startup region's objects include static data, below its header's address.
  let lo: usize = load<u32>(r + REGION_ID) == 0xFFFFFFFF ? 0 : r;
  return ptr >= lo && ptr < __arena_region_limit(r) ? r : 0;
}

/** The region that owns the request block at `ptr`: a block that grows while a scope
 *  entered after it is current grows there (runtime/arena.ts). */
// @ts-ignore: decorator
@global
function __arena_scope_owner(ptr: usize): usize {
  let r = regionOf(ptr);
  return r != 0 ? r : currentRegion();
}

/** Whether the object at `ptr` was taken away by `move` (check build). */
// @ts-ignore: decorator
@inline export function isMoved(ptr: usize): bool {
  return ptr >= TOTAL_OVERHEAD && changetype<OBJECT>(ptr - TOTAL_OVERHEAD).gcInfo2 == GCINFO2_MOVED;
}

/**
 * The check build's test of an object the app hands to the platform (a response body, a
 * value to copy or keep): it must not be moved away, nor lie in memory a disposed scope
 * left behind. A no-op in the release build.
 */
// @ts-ignore: decorator
@global
function __arena_check_live(ptr: usize): void {
  if (!isDefined(ARENA_CHECK) || ptr == 0) return;
  checkObject(ptr);
}

/** Reports and traps when `ptr` is a moved object or lies past the top of its region. */
export function checkObject(ptr: usize): void {
  // A reference read out of poisoned memory (a moved object's field, a disposed scratch
  // arena's object) is no address at all: say so before anything reads through it.
  if (ptr >= (<usize>memory.size() << 16) || ptr < TOTAL_OVERHEAD) {
    hostViolation(VIOLATION_DEAD_OBJECT, ptr, 0, 0);
    unreachable();
  }
  let r = regionOf(ptr);
  if (r != 0 && ptr >= <usize>load<u32>(r + REGION_PTR)) {
    hostViolation(VIOLATION_DEAD_OBJECT, ptr, recordOf(ptr), 0);
    unreachable();
  }
  if (isMoved(ptr)) {
    hostViolation(VIOLATION_MOVED, ptr, <usize>changetype<OBJECT>(ptr - TOTAL_OVERHEAD).gcInfo, 0);
    unreachable();
  }
}

/** Marks the scope at `header` as one a function runs in (Scratch.run): code in it cannot
 *  wait, and `__arena_in_run_scope` tells the SDK's wait gate so. */
// @ts-ignore: decorator
@global
function __arena_scope_mark_run(header: usize): void {
  store<u32>(header + SCOPE_FLAGS, SCOPE_FLAG_RUN);
}

/** Whether the running code is inside a scope a function runs in (Scratch.run). */
// @ts-ignore: decorator
@global
function __arena_in_run_scope(): bool {
  let r = __arena_caller_region();
  while (load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE) {
    if ((load<u32>(r + SCOPE_FLAGS) & SCOPE_FLAG_RUN) != 0) return true;
    r = <usize>load<u32>(r + REGION_PARENT);
  }
  return false;
}

/** Reports that a handle of a region no longer live was used (`label` and `site` name the
 *  region, string pointers or 0) and stops the request. */
// @ts-ignore: decorator
@global
function __arena_report_disposed(label: usize, site: usize): void {
  hostViolation(VIOLATION_DISPOSED, label, site, 0);
  unreachable();
}

/** Reports that UninitBytes.assumeInit covered byte `index` of a `length`-byte buffer that
 *  was never written (check build), and stops the request. `site` names where it was made. */
// @ts-ignore: decorator
@global
function __arena_report_uninit(index: usize, length: usize, site: usize): void {
  hostViolation(VIOLATION_UNINIT, index, length, site);
  unreachable();
}
