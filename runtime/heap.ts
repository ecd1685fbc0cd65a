// The heap region's allocator: TLSF (Two-Level Segregated Fit, http://www.gii.upv.es/tlsf/),
// adapted from AssemblyScript's own rt/tlsf.ts (Apache-2.0). Allocation and free are O(1):
// free blocks sit in 23 × 16 size-class lists found through two bitmaps, and a freed block
// merges with free neighbours at once, so fragmentation stays bounded without compaction.
//
// What differs from asc's allocator, and why:
// - The zone is fixed: [start, end) given once by the host's memory plan. There is no
//   memory.grow; when no block fits, allocation returns 0 and the caller turns that into a
//   value the app sees (Heap.keep → null, Store → Full) or a clear trap.
// - The root (bitmaps and list heads, ~1.5 KiB) lives at the start of the zone, not at
//   __heap_base, so the startup region before it stays a plain bump region.
// - A free of a block that is not in use (double free, or a pointer that is not a heap
//   block) is reported, never silently accepted: it would corrupt the lists.
//
// Blocks keep asc's BLOCK header (mmInfo = payload size | tags in the two low bits), so an
// object allocated here is an ordinary AssemblyScript object with the 20-byte header.

import { AL_BITS, AL_MASK, BLOCK, BLOCK_OVERHEAD, BLOCK_MAXSIZE } from "~lib/rt/common";

// @ts-ignore: decorator
@inline const SL_BITS: u32 = 4;
// @ts-ignore: decorator
@inline const SL_SIZE: u32 = 1 << SL_BITS;
// @ts-ignore: decorator
@inline const SB_BITS: u32 = SL_BITS + AL_BITS;
// @ts-ignore: decorator
@inline const SB_SIZE: usize = 1 << SB_BITS;
// @ts-ignore: decorator
@inline const FL_BITS: u32 = 31 - SB_BITS;

// Tags in the low bits of mmInfo, which alignment leaves free.
// @ts-ignore: decorator
@inline const FREE: usize = 1 << 0;
// @ts-ignore: decorator
@inline const LEFTFREE: usize = 1 << 1;
// @ts-ignore: decorator
@inline const TAGS_MASK: usize = FREE | LEFTFREE;

/** A heap block; `prev`/`next` are valid only while it is free, and a free block ends with
 *  a back pointer to its own start (read by its right neighbour to merge). */
@unmanaged class Block extends BLOCK {
  prev: Block | null;
  next: Block | null;
}

// Smallest payload: a free block must hold prev, next and back.
// @ts-ignore: decorator
@inline const BLOCK_MINSIZE: usize = ((3 * sizeof<usize>() + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;

// Root layout at the start of the zone: flMap, slMap[FL_BITS], heads[FL_BITS × SL_SIZE], tail.
// @ts-ignore: decorator
@inline const SL_START: usize = sizeof<usize>();
// @ts-ignore: decorator
@inline const SL_END: usize = SL_START + (<usize>FL_BITS << alignof<u32>());
// @ts-ignore: decorator
@inline const HL_START: usize = (SL_END + AL_MASK) & ~AL_MASK;
// @ts-ignore: decorator
@inline const HL_END: usize = HL_START + <usize>FL_BITS * <usize>SL_SIZE * sizeof<usize>();
// @ts-ignore: decorator
@inline const ROOT_SIZE: usize = HL_END + sizeof<usize>();

// @ts-ignore: decorator
@lazy let root: usize = 0;
// @ts-ignore: decorator
@lazy let zoneStart: usize = 0;
// @ts-ignore: decorator
@lazy let zoneEnd: usize = 0;
// @ts-ignore: decorator
@lazy let usedBytes: usize = 0;
// @ts-ignore: decorator
@lazy let capacityBytes: usize = 0;

// @ts-ignore: decorator
@inline function getSL(fl: usize): u32 {
  return load<u32>(root + (fl << alignof<u32>()), SL_START);
}
// @ts-ignore: decorator
@inline function setSL(fl: usize, map: u32): void {
  store<u32>(root + (fl << alignof<u32>()), map, SL_START);
}
// @ts-ignore: decorator
@inline function getHead(fl: usize, sl: u32): Block | null {
  return load<Block | null>(root + (((fl << SL_BITS) + <usize>sl) << alignof<usize>()), HL_START);
}
// @ts-ignore: decorator
@inline function setHead(fl: usize, sl: u32, head: Block | null): void {
  store<Block | null>(root + (((fl << SL_BITS) + <usize>sl) << alignof<usize>()), head, HL_START);
}
// @ts-ignore: decorator
@inline function getRight(block: Block): Block {
  return changetype<Block>(changetype<usize>(block) + BLOCK_OVERHEAD + (block.mmInfo & ~TAGS_MASK));
}
// @ts-ignore: decorator
@inline function getFreeLeft(block: Block): Block {
  return load<Block>(changetype<usize>(block) - sizeof<usize>());
}

/** First and second level of a free block of `size` (mapping_insert). */
// @ts-ignore: decorator
@inline function levels(size: usize): u64 {
  let fl: usize, sl: u32;
  if (size < SB_SIZE) {
    fl = 0;
    sl = <u32>(size >> AL_BITS);
  } else {
    let bounded = min(size, BLOCK_MAXSIZE);
    fl = 31 - clz<usize>(bounded);
    sl = <u32>((bounded >> (fl - SL_BITS)) ^ (1 << SL_BITS));
    fl -= SB_BITS - 1;
  }
  return (<u64>fl << 32) | <u64>sl;
}

function insertBlock(block: Block): void {
  let blockInfo = block.mmInfo;
  let right = getRight(block);
  let rightInfo = right.mmInfo;
  if (rightInfo & FREE) {
    removeBlock(right);
    block.mmInfo = blockInfo = blockInfo + BLOCK_OVERHEAD + (rightInfo & ~TAGS_MASK);
    right = getRight(block);
    rightInfo = right.mmInfo;
  }
  if (blockInfo & LEFTFREE) {
    let left = getFreeLeft(block);
    let leftInfo = left.mmInfo;
    removeBlock(left);
    block = left;
    block.mmInfo = blockInfo = leftInfo + BLOCK_OVERHEAD + (blockInfo & ~TAGS_MASK);
  }
  right.mmInfo = rightInfo | LEFTFREE;
  let size = blockInfo & ~TAGS_MASK;
  store<Block>(changetype<usize>(right) - sizeof<usize>(), block);
  let l = levels(size);
  let fl = <usize>(l >> 32);
  let sl = <u32>l;
  let head = getHead(fl, sl);
  block.prev = null;
  block.next = head;
  if (head) head.prev = block;
  setHead(fl, sl, block);
  store<usize>(root, load<usize>(root) | (1 << fl));
  setSL(fl, getSL(fl) | (1 << sl));
}

function removeBlock(block: Block): void {
  let size = block.mmInfo & ~TAGS_MASK;
  let l = levels(size);
  let fl = <usize>(l >> 32);
  let sl = <u32>l;
  let prev = block.prev;
  let next = block.next;
  if (prev) prev.next = next;
  if (next) next.prev = prev;
  if (block == getHead(fl, sl)) {
    setHead(fl, sl, next);
    if (!next) {
      let slMap = getSL(fl) & ~(1 << sl);
      setSL(fl, slMap);
      if (!slMap) store<usize>(root, load<usize>(root) & ~(1 << fl));
    }
  }
}

/** Rounds a request up to the next size class, so the first block of a class found fits. */
function roundSize(size: usize): usize {
  const halfMaxSize = BLOCK_MAXSIZE >> 1;
  return size < halfMaxSize ? size + (1 << (27 - clz<usize>(size))) - 1 : size;
}

function searchBlock(size: usize): Block | null {
  let fl: usize, sl: u32;
  if (size < SB_SIZE) {
    fl = 0;
    sl = <u32>(size >> AL_BITS);
  } else {
    let request = roundSize(size);
    fl = 31 - clz<usize>(request);
    sl = <u32>((request >> (fl - SL_BITS)) ^ (1 << SL_BITS));
    fl -= SB_BITS - 1;
    if (fl >= <usize>FL_BITS) return null;
  }
  let slMap = getSL(fl) & (~0 << sl);
  if (!slMap) {
    let flMap = load<usize>(root) & (~0 << (fl + 1));
    if (!flMap) return null;
    fl = ctz<usize>(flMap);
    slMap = getSL(fl);
  }
  return getHead(fl, ctz<u32>(slMap));
}

/** Marks `block` used with a payload of `size`, splitting off the rest when it is large
 *  enough to be a block of its own. */
function prepareBlock(block: Block, size: usize): void {
  let blockInfo = block.mmInfo;
  let remaining = (blockInfo & ~TAGS_MASK) - size;
  if (remaining >= BLOCK_OVERHEAD + BLOCK_MINSIZE) {
    block.mmInfo = size | (blockInfo & LEFTFREE);
    let spare = changetype<Block>(changetype<usize>(block) + BLOCK_OVERHEAD + size);
    spare.mmInfo = (remaining - BLOCK_OVERHEAD) | FREE;
    insertBlock(spare);
  } else {
    block.mmInfo = blockInfo & ~FREE;
    getRight(block).mmInfo &= ~LEFTFREE;
  }
}

// @ts-ignore: decorator
@inline function computeSize(size: usize): usize {
  return size <= BLOCK_MINSIZE ? BLOCK_MINSIZE : ((size + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

/** Sets the heap up over [start, end). Returns false when the zone cannot hold the root and
 *  one block (the host then plans no heap: every heap allocation returns 0). */
export function heapInit(start: usize, end: usize): bool {
  zoneStart = start;
  zoneEnd = end;
  usedBytes = 0;
  capacityBytes = 0;
  root = 0;
  let r = (start + AL_MASK) & ~AL_MASK;
  if (end < r + ROOT_SIZE) return false;
  let memStart = ((r + ROOT_SIZE + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
  let memEnd = end & ~AL_MASK;
  if (memEnd < memStart + 2 * BLOCK_OVERHEAD + BLOCK_MINSIZE) return false;
  memory.fill(r, 0, ROOT_SIZE);
  root = r;
  // One free block over the whole zone, then a zero-length used tail that stops merging.
  let leftSize = memEnd - memStart - 2 * BLOCK_OVERHEAD;
  let left = changetype<Block>(memStart);
  left.mmInfo = leftSize | FREE;
  left.prev = null;
  left.next = null;
  let tail = changetype<Block>(memStart + BLOCK_OVERHEAD + leftSize);
  tail.mmInfo = 0 | LEFTFREE;
  store<usize>(root, changetype<usize>(tail), HL_END);
  insertBlock(left);
  capacityBytes = leftSize + BLOCK_OVERHEAD;
  return true;
}

/** True when `ptr` (a payload address) lies in the heap zone. */
// @ts-ignore: decorator
@inline export function heapContains(ptr: usize): bool {
  return ptr >= zoneStart && ptr < zoneEnd;
}

/** Allocates a block with at least `size` payload bytes; its payload address, or 0 when no
 *  free block is large enough (the heap is full or too fragmented for this size). */
export function heapAlloc(size: usize): usize {
  if (root == 0 || size > BLOCK_MAXSIZE) return 0;
  let payload = computeSize(size);
  let block = searchBlock(payload);
  if (block == null) return 0;
  removeBlock(block);
  prepareBlock(block, payload);
  usedBytes += (block.mmInfo & ~TAGS_MASK) + BLOCK_OVERHEAD;
  return changetype<usize>(block) + BLOCK_OVERHEAD;
}

/** Whether `ptr` is the payload of a block in use: in the zone, aligned, not free. */
export function heapIsUsedBlock(ptr: usize): bool {
  if (root == 0 || ptr < root + ROOT_SIZE || ptr >= zoneEnd || (ptr & AL_MASK) != 0) return false;
  return (changetype<Block>(ptr - BLOCK_OVERHEAD).mmInfo & FREE) == 0;
}

/** Frees the block whose payload is at `ptr`. The caller has checked heapIsUsedBlock. */
export function heapFree(ptr: usize): void {
  let block = changetype<Block>(ptr - BLOCK_OVERHEAD);
  usedBytes -= (block.mmInfo & ~TAGS_MASK) + BLOCK_OVERHEAD;
  block.mmInfo = block.mmInfo | FREE;
  insertBlock(block);
}

/** Resizes the used block at `ptr` to at least `size` payload bytes: in place when it fits
 *  or its right neighbour is free and large enough, else moved (contents copied, old block
 *  freed). Returns the payload address, or 0 when the heap cannot hold it (the old block is
 *  then untouched). */
export function heapRealloc(ptr: usize, size: usize): usize {
  if (size > BLOCK_MAXSIZE) return 0;
  let payload = computeSize(size);
  let block = changetype<Block>(ptr - BLOCK_OVERHEAD);
  let blockInfo = block.mmInfo;
  let blockSize = blockInfo & ~TAGS_MASK;
  if (payload <= blockSize) {
    prepareBlock(block, payload);
    usedBytes -= blockSize - (block.mmInfo & ~TAGS_MASK);
    return ptr;
  }
  let right = getRight(block);
  let rightInfo = right.mmInfo;
  if (rightInfo & FREE) {
    let merged = blockSize + BLOCK_OVERHEAD + (rightInfo & ~TAGS_MASK);
    if (merged >= payload) {
      removeBlock(right);
      block.mmInfo = (blockInfo & TAGS_MASK) | merged;
      prepareBlock(block, payload);
      usedBytes += (block.mmInfo & ~TAGS_MASK) - blockSize;
      return ptr;
    }
  }
  let moved = heapAlloc(size);
  if (moved == 0) return 0;
  memory.copy(moved, ptr, blockSize);
  heapFree(ptr);
  return moved;
}

/** Payload bytes of the used block at `ptr` (its size class, at least what was asked). */
// @ts-ignore: decorator
@inline export function heapBlockSize(ptr: usize): usize {
  return changetype<BLOCK>(ptr - BLOCK_OVERHEAD).mmInfo & ~TAGS_MASK;
}

/** Bytes in use (payloads and block headers). */
export function heapUsed(): usize {
  return usedBytes;
}

/** Bytes the heap can hand out when empty (the zone minus the root and the tail). */
export function heapCapacity(): usize {
  return capacityBytes;
}
