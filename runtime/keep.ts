// Keeping request data: copying an object graph from a request's arena into the heap
// region, and freeing a kept graph again. The SDK's `Heap.keep` / `Heap.free`
// (sdk/lib/arena/heap.ts) are the app-facing half.
//
// How a graph is walked without a garbage collector's tables: asc gives every object its
// class id (rtId) and size in the header, the runtime type table (__rtti_base) says per
// class whether it is an array, a typed array, a StaticArray, a Map or Set and whether its
// values are references, and the compiler emits `__visit_members`, which calls `__visit`
// once per reference an object holds. Arrays and typed arrays have a fixed layout; for an
// ordinary class, a field holds a reference exactly when `__visit_members` reports it, so
// each candidate word is probed once with a sentinel value.
//
// What is copied: objects in a request slot or in the heap. Objects in static data or the
// startup region live as long as the process and are referenced, not copied. A kept graph
// therefore owns every heap block in it, and `free` can release them all. Maps, Sets and
// graphs deeper than KEEP_DEPTH_MAX (cycles) cannot be kept: a programmer error, reported
// as such; running out of heap is a value (0), and the partial copy is freed first.

import { AL_MASK, BLOCK_OVERHEAD, OBJECT, OBJECT_OVERHEAD, TOTAL_OVERHEAD } from "~lib/rt/common";
import { TypeinfoFlags } from "~lib/shared/typeinfo";
import { heapAlloc, heapCapacity, heapContains, heapFree, heapIsUsedBlock, heapUsed, heapRealloc } from "./heap";
import { hostViolation, KEEP_REASON_DEPTH, KEEP_REASON_MAP, VIOLATION_FREE, VIOLATION_KEEP } from "./report";
import { bumpAlloc, REGION_KIND, REGION_KIND_SCOPE, REGION_PTR, SCOPE_LABEL } from "./region";
import { addRecord, checkObject, GCINFO2_MOVED, POISON_DEAD, regionOf } from "./scope";
import { objectAt } from "./zero";

/** Deepest object graph `keep` copies. Deeper means a cycle or a linked list kept node by
 *  node, and each level is a wasm stack frame. */
// @ts-ignore: decorator
@inline const KEEP_DEPTH_MAX: i32 = 64;


/** Share of the heap `keep` leaves free for containers to grow (1/16: 1 MiB of 16 MiB). */
// @ts-ignore: decorator
@inline const KEEP_HEADROOM_SHARE: usize = 16;

// @ts-ignore: decorator
@inline const COOKIE_PROBE: u32 = 1;
// @ts-ignore: decorator
@inline const COOKIE_FREE: u32 = 2;

/** A value no object pointer can have (payloads are 16-byte aligned). */
// @ts-ignore: decorator
@inline const SENTINEL: usize = 0xFFFFFFF1;

// @ts-ignore: decorator
@lazy let probeHit = false;
// @ts-ignore: decorator
@lazy let keepFull = false;
/** Where copies go: 0 for the heap, else the header of a bump region (runtime/region.ts). */
// @ts-ignore: decorator
@lazy let target: usize = 0;


// @ts-ignore: decorator
@inline function typeFlags(id: u32): u32 {
  return load<u32>(__rtti_base + 4 + (<usize>id << 2));
}

/** The runtime's answer to `__visit_members`: one call per reference an object holds. */
// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void {
  if (cookie == COOKIE_PROBE) {
    if (ptr == SENTINEL) probeHit = true;
  } else if (cookie == COOKIE_FREE) {
    freeGraph(ptr);
  }
}

/** A new object of class `id` and `size` bytes where copies go (`target`); 0 when it is full. */
function heapObject(id: u32, size: usize): usize {
  let ptr = target == 0 ? heapAlloc(OBJECT_OVERHEAD + size) : bumpAlloc(target, OBJECT_OVERHEAD + size);
  return ptr == 0 ? 0 : objectAt(ptr, id, size);
}

/** Whether the word at `copy + offset` is a reference field: `__visit_members` reports it. */
function isReferenceField(copy: usize, offset: usize): bool {
  let saved = load<usize>(copy + offset);
  store<usize>(copy + offset, SENTINEL);
  probeHit = false;
  __visit_members(copy, COOKIE_PROBE);
  store<usize>(copy + offset, saved);
  return probeHit;
}

/** Copies the references of `count` slots at `from` into `to` (zeroed first, so a failure
 *  part way leaves only references the copy owns). False when the heap filled up. */
function keepSlots(from: usize, to: usize, count: usize, depth: i32): bool {
  memory.fill(to, 0, count << alignof<usize>());
  for (let i: usize = 0; i < count; i++) {
    let child = load<usize>(from + (i << alignof<usize>()));
    if (child == 0) continue;
    let kept = keepGraph(child, depth + 1);
    if (kept == 0) return false;
    store<usize>(to + (i << alignof<usize>()), kept);
  }
  return true;
}

/** Keeps an Array or typed array: the view, and only the bytes it shows, in a new buffer. */
function keepView(ptr: usize, copy: usize, flags: u32, depth: i32): bool {
  let data = load<usize>(ptr, 4);
  let bytes = <usize>load<u32>(ptr, 8);
  store<usize>(copy, 0, 0);
  store<usize>(copy, 0, 4);
  let buffer = heapObject(idof<ArrayBuffer>(), bytes);
  if (buffer == 0) return false;
  store<usize>(copy, buffer, 0);
  store<usize>(copy, buffer, 4);
  if ((flags & TypeinfoFlags.ARRAY) != 0 && (flags & TypeinfoFlags.VALUE_MANAGED) != 0) {
    memory.fill(buffer, 0, bytes);
    return keepSlots(data, buffer, <usize>load<i32>(ptr, 12), depth);
  }
  memory.copy(buffer, data, bytes);
  return true;
}

/** Keeps an ordinary class instance: each reference field found by probing is kept. */
function keepFields(ptr: usize, copy: usize, size: usize, depth: i32): bool {
  // First mark: zero every reference field of the copy (an integer field keeps its value).
  for (let offset: usize = 0; offset + sizeof<usize>() <= size; offset += sizeof<usize>()) {
    let value = load<usize>(ptr + offset);
    if (value == 0 || (value & AL_MASK) != 0) continue;
    if (isReferenceField(copy, offset)) store<usize>(copy + offset, 0);
  }
  // Then fill: a zero in the copy where the original is not zero is a reference field.
  for (let offset: usize = 0; offset + sizeof<usize>() <= size; offset += sizeof<usize>()) {
    let child = load<usize>(ptr + offset);
    if (child == 0 || load<usize>(copy + offset) != 0) continue;
    let kept = keepGraph(child, depth + 1);
    if (kept == 0) return false;
    store<usize>(copy + offset, kept);
  }
  return true;
}

/** The heap copy of the graph at `ptr` (non-null); 0 with keepFull set when the heap is full. */
function keepGraph(ptr: usize, depth: i32): usize {
  // Static data and the startup region outlive every request: referenced, not copied; but
  // for objects of a scratch arena entered in start-up code, which is disposed.
  if (ptr < __arena_slots_base() && !heapContains(ptr) && !inStartupScope(ptr)) return ptr;
  if (depth > KEEP_DEPTH_MAX) {
    hostViolation(VIOLATION_KEEP, ptr, KEEP_REASON_DEPTH, 0);
    unreachable();
  }
  let object = changetype<OBJECT>(ptr - TOTAL_OVERHEAD);
  let id = object.rtId;
  let size = <usize>object.rtSize;
  let flags = typeFlags(id);
  if ((flags & (TypeinfoFlags.MAP | TypeinfoFlags.SET)) != 0) {
    hostViolation(VIOLATION_KEEP, ptr, KEEP_REASON_MAP, 0);
    unreachable();
  }
  let copy = heapObject(id, size);
  if (copy == 0) {
    keepFull = true;
    return 0;
  }
  memory.copy(copy, ptr, size);
  let ok = true;
  // Arrays have the typed arrays' layout (buffer, dataStart, byteLength) plus a length, but
  // only typed arrays carry the ARRAYBUFFERVIEW flag.
  if ((flags & (TypeinfoFlags.ARRAYBUFFERVIEW | TypeinfoFlags.ARRAY)) != 0) {
    ok = keepView(ptr, copy, flags, depth);
  } else if ((flags & TypeinfoFlags.STATICARRAY) != 0) {
    if ((flags & TypeinfoFlags.VALUE_MANAGED) != 0) ok = keepSlots(ptr, copy, size >> alignof<usize>(), depth);
  } else if (id > idof<String>() && (flags & TypeinfoFlags.POINTERFREE) == 0) {
    ok = keepFields(ptr, copy, size, depth);
  }
  if (!ok) {
    freeGraph(copy);
    keepFull = true;
    return 0;
  }
  return copy;
}

/** Whether `ptr` lies in a scratch arena of start-up code (the running code's chain). */
function inStartupScope(ptr: usize): bool {
  if (load<u32>(__arena_caller_region() + REGION_KIND) != REGION_KIND_SCOPE) return false;
  let r = regionOf(ptr);
  return r != 0 && load<u32>(r + REGION_KIND) == REGION_KIND_SCOPE;
}

/** Frees the heap objects of a kept graph, children first. Objects outside the heap, and
 *  blocks already freed in this walk (a child referenced twice), are skipped. */
function freeGraph(ptr: usize): void {
  if (ptr == 0 || !heapContains(ptr)) return;
  let block = ptr - OBJECT_OVERHEAD;
  if (!heapIsUsedBlock(block)) return;
  __visit_members(ptr, COOKIE_FREE);
  heapFree(block);
}

/** Copies the object graph at `ptr` into the heap and returns the copy, or 0 when the heap
 *  cannot hold it (nothing is left allocated then). `ptr` must not be 0.
 *
 *  A copy is refused too when it would leave less free than 1/KEEP_HEADROOM_SHARE of the
 *  heap plus twice the largest container growth so far: the start-up containers that hold
 *  kept values (a Map of notes) grow in the heap, a container that cannot grow can only
 *  trap, and a Map's next growth takes up to twice its last (both tables double while the
 *  old ones are still there). The headroom turns "full" into the value the app handles
 *  before its containers run out of room. */
// @ts-ignore: decorator
@global
function __arena_keep(ptr: usize): usize {
  if (isDefined(ARENA_CHECK)) checkObject(ptr);
  target = 0;
  keepFull = false;
  let kept = keepGraph(ptr, 0);
  if (keepFull) return 0;
  let capacity = heapCapacity();
  let headroom = capacity / KEEP_HEADROOM_SHARE + 2 * __arena_growth_max();
  if (capacity - heapUsed() < headroom) {
    freeGraph(kept);
    return 0;
  }
  return kept;
}

/**
 * Copies the graph at `ptr` (not 0) into the bump region whose header is `to` (a request's
 * arena, a scope, the startup region) or, for `to` = 0, into the heap as `__arena_keep`
 * does. Returns the copy, or 0 when the region cannot hold it: a bump region then gets back
 * what the partial copy took (its top is restored), so nothing is left allocated.
 */
// @ts-ignore: decorator
@global
function __arena_copy(ptr: usize, to: usize): usize {
  if (to == 0) return __arena_keep(ptr);
  if (isDefined(ARENA_CHECK)) checkObject(ptr);
  let top = load<u32>(to + REGION_PTR);
  target = to;
  keepFull = false;
  let copy = keepGraph(ptr, 0);
  target = 0;
  if (keepFull) {
    store<u32>(to + REGION_PTR, top);
    return 0;
  }
  return copy;
}

/**
 * `__arena_copy`, then the source is given up: a heap source is freed (as Heap.free
 * does), and in the check build a source in a request's or a scratch arena is marked moved
 * and its payload poisoned. Only the source object itself: what it references may be
 * shared with the rest of the program (a request's path, its body), so it stays valid.
 * `site` is a string naming the call, for the check build's messages.
 */
// @ts-ignore: decorator
@global
function __arena_move(ptr: usize, to: usize, site: usize): usize {
  let copy = __arena_copy(ptr, to);
  if (copy == 0 || copy == ptr) return copy;
  if (heapContains(ptr)) {
    freeGraph(ptr);
  } else if (isDefined(ARENA_CHECK)) {
    let from = regionOf(ptr);
    if (from != 0) {
      let isScope = load<u32>(from + REGION_KIND) == REGION_KIND_SCOPE;
      let kind: usize = to == 0 ? 1 : load<u32>(to + REGION_KIND) == REGION_KIND_SCOPE ? 3 : 2;
      let object = changetype<OBJECT>(ptr - TOTAL_OVERHEAD);
      object.gcInfo2 = GCINFO2_MOVED;
      object.gcInfo = <u32>addRecord(0xFFFFFFFF, kind, isScope ? <usize>load<u32>(from + SCOPE_LABEL) : 0, site);
      memory.fill(ptr, POISON_DEAD, <usize>object.rtSize);
    }
  }
  return copy;
}

/** Frees a graph `__arena_keep` returned. A pointer into the heap that is not a live object
 *  (freed already) is reported; anything outside the heap is left alone. */
// @ts-ignore: decorator
@global
function __arena_free(ptr: usize): void {
  if (ptr == 0 || !heapContains(ptr)) return;
  if (!heapIsUsedBlock(ptr - OBJECT_OVERHEAD)) {
    hostViolation(VIOLATION_FREE, ptr, 0, 0);
    unreachable();
  }
  freeGraph(ptr);
}

/** Whether `ptr` lies in the heap region (the SDK copies a response body kept there into
 *  the arena: another request may free it while the host still writes it). */
// @ts-ignore: decorator
@global
function __arena_in_heap(ptr: usize): bool {
  return heapContains(ptr);
}

/** Frees the object at `ptr` when it lives in the heap (a table a Map or Set replaced);
 *  objects in bump regions are left for their region's reset. */
// @ts-ignore: decorator
@global
function __arena_release(ptr: usize): void {
  if (ptr != 0 && heapContains(ptr)) __free(ptr - OBJECT_OVERHEAD);
}

/** Bytes in use in the heap region, block headers included. */
// @ts-ignore: decorator
@global
function __arena_heap_used(): usize {
  return heapUsed();
}

/** Bytes the heap region holds when empty. */
// @ts-ignore: decorator
@global
function __arena_heap_capacity(): usize {
  return heapCapacity();
}

/** Raw heap block of `size` bytes (no object header), 0 when full: for the SDK's store. */
// @ts-ignore: decorator
@global
function __arena_heap_alloc(size: usize): usize {
  return heapAlloc(size);
}

/** Resizes a raw heap block; 0 when full (the old block is then untouched). */
// @ts-ignore: decorator
@global
function __arena_heap_realloc(ptr: usize, size: usize): usize {
  return heapRealloc(ptr, size);
}

/** Frees a raw heap block; a double free is reported. */
// @ts-ignore: decorator
@global
function __arena_heap_free(ptr: usize): void {
  if (!heapIsUsedBlock(ptr)) {
    hostViolation(VIOLATION_FREE, ptr, 0, 0);
    unreachable();
  }
  heapFree(ptr);
}
