// Zeroing a fresh object's payload (runtime/arena.ts: __new zeroes every new object, for
// the standard library and for isolation), and the one allocation that skips it on purpose. Most objects are small (a JSON handle is 28 bytes, a
// string a few dozen): for them a few overlapping stores beat `memory.fill`, which the
// engine runs as a call; larger payloads still use it.

import { BLOCK_OVERHEAD, OBJECT, OBJECT_OVERHEAD, OBJECT_MAXSIZE } from "~lib/rt/common";

/** The byte the check build fills uninitialised buffers with (UninitBytes). */
// @ts-ignore: decorator
@inline export const POISON_UNINIT: u8 = 0xAA;

/** Payloads up to this many bytes are zeroed inline. */
// @ts-ignore: decorator
@inline export const ZERO_INLINE_BYTES_MAX: usize = 64;

/** Zeroes the `n` bytes at `p`: inline stores up to ZERO_INLINE_BYTES_MAX (each store
 *  inside [p, p + n): the ends are covered by overlapping stores), memory.fill beyond. */
// @ts-ignore: decorator
@inline export function zeroBytes(p: usize, n: usize): void {
  if (n > ZERO_INLINE_BYTES_MAX) {
    memory.fill(p, 0, n);
  } else if (n >= 16) {
    // Eight-byte stores (no simd needed: the runtime builds with or without it).
    store<u64>(p, 0);
    store<u64>(p, 0, 8);
    store<u64>(p + n - 16, 0);
    store<u64>(p + n - 8, 0);
    if (n > 32) {
      store<u64>(p, 0, 16);
      store<u64>(p, 0, 24);
      store<u64>(p + n - 32, 0);
      store<u64>(p + n - 24, 0);
    }
  } else if (n >= 8) {
    store<u64>(p, 0);
    store<u64>(p + n - 8, 0);
  } else if (n >= 4) {
    store<u32>(p, 0);
    store<u32>(p + n - 4, 0);
  } else if (n >= 2) {
    store<u16>(p, 0);
    store<u16>(p + n - 2, 0);
  } else if (n == 1) {
    store<u8>(p, 0);
  }
}

/** A new object of class `id` with `size` bytes of payload, its header written and its
 *  payload as the region held it: `__new` zeroes it, `__arena_new_uninit` does not. */
// @ts-ignore: decorator
@inline export function newObject(size: usize, id: u32): usize {
  if (size > OBJECT_MAXSIZE) __arena_overflow(size);
  return objectAt(__alloc(OBJECT_OVERHEAD + size), id, size);
}

/** Writes the object header of class `id` and `size` payload bytes into the block whose
 *  payload is at `ptr` (asc's layout) and returns the object's address. */
// @ts-ignore: decorator
@inline export function objectAt(ptr: usize, id: u32, size: usize): usize {
  let object = changetype<OBJECT>(ptr - BLOCK_OVERHEAD);
  object.gcInfo = 0;
  object.gcInfo2 = 0;
  object.rtId = id;
  object.rtSize = <u32>size;
  return ptr + OBJECT_OVERHEAD;
}

/**
 * `__new` without the zeroing, for a buffer the app fills itself (UninitBytes): its bytes
 * are whatever the region held. The check build fills them with POISON_UNINIT instead, so
 * a read of a byte never written shows (and a test can see it).
 */
// @ts-ignore: decorator
@unsafe @global
function __arena_new_uninit(size: usize, id: u32): usize {
  let ptr = newObject(size, id);
  if (isDefined(ARENA_CHECK)) memory.fill(ptr, POISON_UNINIT, size);
  return ptr;
}
