// The Store's entry table (store.ts has the public API and the eviction policy): one heap
// block allocated at start-up and never resized, holding fixed-size entries, the bucket
// heads of a chained hash table, and a binary min-heap of the entries that expire.
//
//   table block: entries (ENTRY_BYTES × maxEntries) │ buckets (u32 × 2^k >= maxEntries) │ expiry heap (u32 × maxEntries)
//   entry:       hash u32 │ data u32 │ keyLen u32 │ valueLen u32 │ expires f64 │ newer u32 │ older u32 │ chain u32 │ heapPos u32
//
// `data` is the entry's own heap block: the key's UTF-8 bytes, then the value's. `newer` and
// `older` link every entry into one recency list (newest first), which eviction takes from
// the oldest end in O(1); `chain` links a bucket's entries, or the free entries; `heapPos`
// is the entry's place in the expiry heap (NONE when it never expires). Entries are indices,
// not pointers, so the table could move without rewriting them.

import { keyEquals, keyHash } from "./store_key";
import { monotonicMs } from "./time";

// @ts-ignore: decorator
@inline export const NONE: u32 = 0xffffffff;
// @ts-ignore: decorator
@inline export const ENTRY_BYTES: usize = 40;
// Entry field offsets.
// @ts-ignore: decorator
@inline export const E_HASH: usize = 0;
// @ts-ignore: decorator
@inline export const E_DATA: usize = 4;
// @ts-ignore: decorator
@inline export const E_KEY: usize = 8;
// @ts-ignore: decorator
@inline export const E_VALUE: usize = 12;
// @ts-ignore: decorator
@inline const E_EXPIRES: usize = 16;
// @ts-ignore: decorator
@inline export const E_NEWER: usize = 24;
// @ts-ignore: decorator
@inline const E_OLDER: usize = 28;
// @ts-ignore: decorator
@inline const E_CHAIN: usize = 32;
// @ts-ignore: decorator
@inline const E_HEAP_POS: usize = 36;

/** Bytes of the table block for `maxEntries` entries and `bucketCount` buckets. */
export function tableBytes(maxEntries: u32, bucketCount: u32): usize {
  return <usize>maxEntries * ENTRY_BYTES + (<usize>bucketCount << 2) + (<usize>maxEntries << 2);
}

/** The entry table over the heap block at `table` (tableBytes long). Not for apps. */
@final
export class StoreTable {
  private entries: usize;
  private buckets: usize;
  private expiry: usize;
  private mask: u32;
  /** Entries in use, and the UTF-8 bytes of their keys and values. */
  count: u32 = 0;
  used: usize = 0;
  /** Ends of the recency list. */
  newest: u32 = NONE;
  oldest: u32 = NONE;
  private free: u32 = NONE;
  private fresh: u32 = 0;
  /** Entries in the expiry heap. */
  expiring: u32 = 0;

  constructor(table: usize, maxEntries: u32, bucketCount: u32) {
    this.entries = table;
    this.buckets = table + <usize>maxEntries * ENTRY_BYTES;
    this.expiry = this.buckets + (<usize>bucketCount << 2);
    this.mask = bucketCount - 1;
    memory.fill(this.buckets, 0xff, <usize>bucketCount << 2);
  }

  // @ts-ignore: decorator
  @inline entry(i: u32): usize {
    return this.entries + <usize>i * ENTRY_BYTES;
  }

  // @ts-ignore: decorator
  @inline private bucket(hash: u32): usize {
    return this.buckets + (<usize>(hash & this.mask) << 2);
  }

  /** The entry holding the current key, or NONE; an expired one is removed on the way. */
  find(): u32 {
    let i = load<u32>(this.bucket(keyHash));
    while (i != NONE) {
      let e = this.entry(i);
      if (load<u32>(e, E_HASH) == keyHash && keyEquals(load<u32>(e, E_DATA), load<u32>(e, E_KEY))) {
        let expires = load<f64>(e, E_EXPIRES);
        if (expires != 0 && expires <= monotonicMs()) {
          this.remove(i);
          return NONE;
        }
        return i;
      }
      i = load<u32>(e, E_CHAIN);
    }
    return NONE;
  }

  /** Adds an entry for the current key (hash `keyHash`) whose bytes are at `data`; the
   *  caller has made room. It is the newest, and expires at `expires` (0: never). */
  add(data: usize, keyLen: usize, valueLen: usize, expires: f64): void {
    let i = this.free;
    if (i != NONE) this.free = load<u32>(this.entry(i), E_CHAIN);
    else i = this.fresh++;
    let e = this.entry(i);
    store<u32>(e, keyHash, E_HASH);
    store<u32>(e, <u32>data, E_DATA);
    store<u32>(e, <u32>keyLen, E_KEY);
    store<u32>(e, <u32>valueLen, E_VALUE);
    store<f64>(e, 0, E_EXPIRES);
    store<u32>(e, NONE, E_HEAP_POS);
    let head = this.bucket(keyHash);
    store<u32>(e, load<u32>(head), E_CHAIN);
    store<u32>(head, i);
    this.pushNewest(i);
    this.count++;
    this.used += keyLen + valueLen;
    this.setExpiry(i, expires);
  }

  /** Unlinks entry `i` from its bucket, the recency list and the expiry heap, and frees its block. */
  remove(i: u32): void {
    let e = this.entry(i);
    let next = load<u32>(e, E_CHAIN);
    let head = this.bucket(load<u32>(e, E_HASH));
    let j = load<u32>(head);
    if (j == i) {
      store<u32>(head, next);
    } else {
      while (load<u32>(this.entry(j), E_CHAIN) != i) j = load<u32>(this.entry(j), E_CHAIN);
      store<u32>(this.entry(j), next, E_CHAIN);
    }
    this.unlink(i);
    let pos = load<u32>(e, E_HEAP_POS);
    if (pos != NONE) this.heapRemove(pos);
    __arena_heap_free(load<u32>(e, E_DATA));
    this.used -= <usize>load<u32>(e, E_KEY) + <usize>load<u32>(e, E_VALUE);
    this.count--;
    store<u32>(e, this.free, E_CHAIN);
    this.free = i;
  }

  /** Frees every entry's block and empties the table. O(entries). */
  clear(): void {
    for (let i = this.newest; i != NONE; ) {
      let e = this.entry(i);
      __arena_heap_free(load<u32>(e, E_DATA));
      i = load<u32>(e, E_OLDER);
    }
    memory.fill(this.buckets, 0xff, <usize>(this.mask + 1) << 2);
    this.count = 0;
    this.used = 0;
    this.newest = NONE;
    this.oldest = NONE;
    this.free = NONE;
    this.fresh = 0;
    this.expiring = 0;
  }

  /** The entry that expires first, when it has expired by now; else NONE. */
  firstExpired(): u32 {
    if (this.expiring == 0) return NONE;
    let top = this.heapAt(0);
    return load<f64>(this.entry(top), E_EXPIRES) <= monotonicMs() ? top : NONE;
  }

  /** Removes up to `limit` expired entries, earliest first. */
  reclaim(limit: u32): void {
    if (this.expiring == 0) return;
    let now = monotonicMs();
    while (this.expiring > 0 && limit > 0) {
      let top = this.heapAt(0);
      if (load<f64>(this.entry(top), E_EXPIRES) > now) return;
      this.remove(top);
      limit--;
    }
  }

  /** Makes entry `i` the newest. */
  touch(i: u32): void {
    if (this.newest == i) return;
    this.unlink(i);
    this.pushNewest(i);
  }

  private unlink(i: u32): void {
    let e = this.entry(i);
    let newer = load<u32>(e, E_NEWER);
    let older = load<u32>(e, E_OLDER);
    if (newer != NONE) store<u32>(this.entry(newer), older, E_OLDER);
    else this.newest = older;
    if (older != NONE) store<u32>(this.entry(older), newer, E_NEWER);
    else this.oldest = newer;
  }

  private pushNewest(i: u32): void {
    let e = this.entry(i);
    store<u32>(e, NONE, E_NEWER);
    store<u32>(e, this.newest, E_OLDER);
    if (this.newest != NONE) store<u32>(this.entry(this.newest), i, E_NEWER);
    else this.oldest = i;
    this.newest = i;
  }

  /** Sets entry `i`'s expiry (0: never) and its place in the expiry heap. */
  setExpiry(i: u32, expires: f64): void {
    let e = this.entry(i);
    let pos = load<u32>(e, E_HEAP_POS);
    if (pos != NONE) this.heapRemove(pos);
    store<f64>(e, expires, E_EXPIRES);
    if (expires == 0) return;
    let at = this.expiring++;
    this.heapPlace(at, i);
    this.siftUp(at);
  }

  // @ts-ignore: decorator
  @inline private heapAt(pos: u32): u32 {
    return load<u32>(this.expiry + (<usize>pos << 2));
  }

  // @ts-ignore: decorator
  @inline private heapKey(pos: u32): f64 {
    return load<f64>(this.entry(this.heapAt(pos)), E_EXPIRES);
  }

  private heapPlace(pos: u32, i: u32): void {
    store<u32>(this.expiry + (<usize>pos << 2), i);
    store<u32>(this.entry(i), pos, E_HEAP_POS);
  }

  private heapRemove(pos: u32): void {
    store<u32>(this.entry(this.heapAt(pos)), NONE, E_HEAP_POS);
    let last = --this.expiring;
    if (pos == last) return;
    this.heapPlace(pos, this.heapAt(last));
    this.siftDown(pos);
    this.siftUp(pos);
  }

  private siftUp(pos: u32): void {
    while (pos > 0) {
      let parent = (pos - 1) >> 1;
      if (this.heapKey(parent) <= this.heapKey(pos)) return;
      let i = this.heapAt(pos);
      this.heapPlace(pos, this.heapAt(parent));
      this.heapPlace(parent, i);
      pos = parent;
    }
  }

  private siftDown(pos: u32): void {
    for (;;) {
      let least = pos;
      let left = (pos << 1) + 1;
      if (left < this.expiring && this.heapKey(left) < this.heapKey(least)) least = left;
      if (left + 1 < this.expiring && this.heapKey(left + 1) < this.heapKey(least)) least = left + 1;
      if (least == pos) return;
      let i = this.heapAt(pos);
      this.heapPlace(pos, this.heapAt(least));
      this.heapPlace(least, i);
      pos = least;
    }
  }
}
