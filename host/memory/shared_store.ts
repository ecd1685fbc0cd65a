// The shared region's key-value store (host/memory/shared_region.ts draws where it sits): E
// fixed entries of `stride` bytes (key length, value length, key, value), an index of
// T = next power of two ≥ 2E records (hash, entry + 1) probed linearly and deleted by
// backward shift (no tombstones, so probes stay short after any number of deletes), and a
// stack of free entries. Fixed slots mean no allocator and no fragmentation: a set that
// finds a free entry always fits, and "full" is exactly E entries.
//
// One lock (Atomics.compareExchange + wait/notify: Drepper's futex mutex) guards all of it.
// A critical section only probes the index and copies one key and one value, so a value is
// never read torn and the lock is held for microseconds; everything inside it is plain
// reads and writes, ordered between threads by the lock's atomics.

import { assert } from "../assert.ts";
import { COPY_BY_HAND_BYTES_MAX, SHARED_LOCK_WAIT_MS_MAX } from "../limits.ts";

/** What the store and the counters answer. The same numbers are the ABI's SHARED_* statuses
 *  (host/abi/constants.ts sits above this folder; host/effects/shared.ts asserts they agree). */
export const SHARED_OK = 0;
export const SHARED_FULL = 1;
export const SHARED_TOO_LARGE = 2;
export const SHARED_ABSENT = 3;

/** Header words (Int32Array indices) the store owns: its lock, its entry count, the top of
 *  its free stack. The region's header holds them (shared_region.ts, H_*). */
export const H_LOCK = 8, H_COUNT = 9, H_FREE_TOP = 10;

/** An entry's head: key length (u32), value length (u32); the key and the value follow. */
export const ENTRY_HEAD_BYTES = 8;

/** Where the store lies in the region, and its bounds. */
export interface StoreGeometry {
  entries: number;
  keyBytes: number;
  valueBytes: number;
  /** Index records: a power of two > entries, so a probe always meets an empty one. */
  slots: number;
  stride: number;
  indexAt: number;
  freeAt: number;
  entriesAt: number;
}

/** FNV-1a of `len` bytes of `src` at `at`, from `seed`, with murmur3's finaliser (the index
 *  uses the low bits, which FNV-1a leaves weak). The seed is random per region, so keys a
 *  client chooses cannot be made to collide. */
export function hashBytes(seed: number, src: Uint8Array, at: number, len: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ src[at + i], 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Copies `len` bytes; by hand when short, since subarray() makes a view object per call. */
export function copy(dst: Uint8Array, dstAt: number, src: Uint8Array, srcAt: number, len: number): void {
  if (len <= COPY_BY_HAND_BYTES_MAX) {
    for (let i = 0; i < len; i++) dst[dstAt + i] = src[srcAt + i];
  } else {
    dst.set(src.subarray(srcAt, srcAt + len), dstAt);
  }
}

export function equal(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

/** Writes the free stack of a fresh buffer: every entry free, entry 0 on top. */
export function formatStore(i32: Int32Array, g: StoreGeometry): void {
  for (let i = 0; i < g.entries; i++) i32[(g.freeAt >> 2) + i] = g.entries - 1 - i;
  i32[H_FREE_TOP] = g.entries;
}

export class SharedStore {
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly g: StoreGeometry;
  private readonly seed: number;

  constructor(buffer: SharedArrayBuffer, geometry: StoreGeometry, seed: number) {
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.u8 = new Uint8Array(buffer);
    this.g = geometry;
    this.seed = seed;
  }

  /** Entries stored now. */
  get size(): number {
    return Atomics.load(this.i32, H_COUNT);
  }

  /** Takes the store's lock: 0 free, 1 held, 2 held with waiters (Drepper's futex mutex). */
  private lock(): void {
    let c = Atomics.compareExchange(this.i32, H_LOCK, 0, 1);
    if (c === 0) return;
    const deadline = performance.now() + SHARED_LOCK_WAIT_MS_MAX;
    if (c !== 2) c = Atomics.exchange(this.i32, H_LOCK, 2);
    while (c !== 0) {
      const left = deadline - performance.now();
      assert(left > 0, `the shared store's lock is taken within ${SHARED_LOCK_WAIT_MS_MAX} ms (its holder died inside?)`);
      Atomics.wait(this.i32, H_LOCK, 2, left);
      c = Atomics.exchange(this.i32, H_LOCK, 2);
    }
  }

  private unlock(): void {
    if (Atomics.sub(this.i32, H_LOCK, 1) !== 1) {
      Atomics.store(this.i32, H_LOCK, 0);
      Atomics.notify(this.i32, H_LOCK, 1);
    }
  }

  /** The index record holding the key (lock held), or -(record + 1) of the empty record
   *  where it would go. */
  private find(hash: number, src: Uint8Array, at: number, len: number): number {
    const g = this.g;
    const mask = g.slots - 1;
    const h = this.i32;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const w = (g.indexAt >> 2) + 2 * i;
      const entry = h[w + 1] - 1;
      if (entry < 0) return -(i + 1);
      if (h[w] !== hash) continue;
      const e = g.entriesAt + entry * g.stride;
      if (h[e >> 2] === len && equal(this.u8, e + ENTRY_HEAD_BYTES, src, at, len)) return i;
    }
  }

  private entryAt(record: number): number {
    const g = this.g;
    return g.entriesAt + (this.i32[(g.indexAt >> 2) + 2 * record + 1] - 1) * g.stride;
  }

  /** Stores the value (`vlen` bytes of `value` at `vat`) under the key (`klen` bytes of
   *  `key` at `kat`): SHARED_OK, SHARED_FULL (every entry is taken; nothing changed) or
   *  SHARED_TOO_LARGE (over keyBytes or valueBytes). */
  set(key: Uint8Array, kat: number, klen: number, value: Uint8Array, vat: number, vlen: number): number {
    const g = this.g;
    if (klen > g.keyBytes || vlen > g.valueBytes) return g.entries === 0 ? SHARED_FULL : SHARED_TOO_LARGE;
    if (g.entries === 0) return SHARED_FULL;
    const hash = hashBytes(this.seed, key, kat, klen);
    this.lock();
    try {
      let record = this.find(hash, key, kat, klen);
      if (record < 0) {
        if (this.i32[H_COUNT] === g.entries) return SHARED_FULL;
        record = -record - 1;
        const top = --this.i32[H_FREE_TOP];
        assert(top >= 0 && top === g.entries - 1 - this.i32[H_COUNT], "a free entry is on the stack for every entry not stored");
        const entry = this.i32[(g.freeAt >> 2) + top];
        const e = g.entriesAt + entry * g.stride;
        this.i32[e >> 2] = klen;
        copy(this.u8, e + ENTRY_HEAD_BYTES, key, kat, klen);
        this.i32[(g.indexAt >> 2) + 2 * record] = hash;
        this.i32[(g.indexAt >> 2) + 2 * record + 1] = entry + 1;
        Atomics.add(this.i32, H_COUNT, 1);
      }
      const e = this.entryAt(record);
      this.i32[(e >> 2) + 1] = vlen;
      copy(this.u8, e + ENTRY_HEAD_BYTES + g.keyBytes, value, vat, vlen);
      return SHARED_OK;
    } finally {
      this.unlock();
    }
  }

  /** The length of the key's value, copied to `out` at `at` when it fits `cap` bytes (else
   *  nothing is written: ask again with room); -SHARED_ABSENT when the key is not stored. */
  get(key: Uint8Array, kat: number, klen: number, out: Uint8Array, at: number, cap: number): number {
    const g = this.g;
    if (g.entries === 0 || klen > g.keyBytes) return -SHARED_ABSENT;
    const hash = hashBytes(this.seed, key, kat, klen);
    this.lock();
    try {
      const record = this.find(hash, key, kat, klen);
      if (record < 0) return -SHARED_ABSENT;
      const e = this.entryAt(record);
      const vlen = this.i32[(e >> 2) + 1];
      if (vlen <= cap) copy(out, at, this.u8, e + ENTRY_HEAD_BYTES + g.keyBytes, vlen);
      return vlen;
    } finally {
      this.unlock();
    }
  }

  /** Removes the key: SHARED_OK, or SHARED_ABSENT when it was not stored. */
  delete(key: Uint8Array, kat: number, klen: number): number {
    const g = this.g;
    if (g.entries === 0 || klen > g.keyBytes) return SHARED_ABSENT;
    const hash = hashBytes(this.seed, key, kat, klen);
    this.lock();
    try {
      const record = this.find(hash, key, kat, klen);
      if (record < 0) return SHARED_ABSENT;
      const entry = this.i32[(g.indexAt >> 2) + 2 * record + 1] - 1;
      assert(this.i32[H_FREE_TOP] < g.entries, "a stored entry is not on the free stack's full side");
      this.i32[(g.freeAt >> 2) + this.i32[H_FREE_TOP]++] = entry;
      Atomics.sub(this.i32, H_COUNT, 1);
      this.unlink(record);
      return SHARED_OK;
    } finally {
      this.unlock();
    }
  }

  /** Empties index record `hole` by backward shift: every later record of its run whose
   *  home is not between the hole and itself moves back into the hole (lock held). */
  private unlink(hole: number): void {
    const g = this.g;
    const mask = g.slots - 1;
    const h = this.i32;
    const base = g.indexAt >> 2;
    for (let j = (hole + 1) & mask; h[base + 2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = h[base + 2 * j] & mask;
      // The record at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      h[base + 2 * hole] = h[base + 2 * j];
      h[base + 2 * hole + 1] = h[base + 2 * j + 1];
      hole = j;
    }
    h[base + 2 * hole] = 0;
    h[base + 2 * hole + 1] = 0;
  }
}
