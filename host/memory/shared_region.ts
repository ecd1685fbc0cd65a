// The shared region: memory every worker of one server reaches (the seed's
// `region.shared()`: multi-thread access, atomics only). It lives outside every app's wasm
// memory, on one SharedArrayBuffer the primary makes and hands to each worker; apps reach
// it only through effects (host/effects/shared.ts) that copy into the caller's arena.
//
// It holds two things, laid out once when the region is made and never grown:
//
//   0 ─ header 64 B ─┬─ counters: C × 64 B ─┬─ store index: T × 8 B ─┬─ free list: E × 4 B ─┬─ entries: E × stride ─┬ (unused) ┐ bytes
//
// - Counters: named i64s, one 64-byte cache line each (state, name length, value, name), so
//   two workers adding to two counters never share a line. A name is interned on first use
//   (start-up code or a request, in any worker) by open addressing over the C lines; a line
//   goes empty → claiming → ready once and is never freed, so a name keeps its index for
//   the life of the region and every worker finds the same one. Adds are Atomics.add: no lock.
// - The store: a bounded key-value store of fixed entries under one lock (shared_store.ts
//   describes it). Every value is read and written whole inside the lock: never torn.
//
// Sizes come from the options (SHARED_* in host/limits.ts): the counters and the largest
// key and value are fixed, and the entries are as many as fit in `bytes`.

import { ArenaError } from "../errors.ts";
import { assert } from "../assert.ts";
import {
  SHARED_BYTES_DEFAULT, SHARED_BYTES_MAX, SHARED_COUNTER_NAME_BYTES_MAX, SHARED_COUNTERS_DEFAULT, SHARED_KEY_BYTES_MAX_DEFAULT,
  SHARED_LOCK_WAIT_MS_MAX, SHARED_VALUE_BYTES_MAX_DEFAULT,
} from "../limits.ts";
import { formatBytes } from "./plan.ts";
import {
  copy, ENTRY_HEAD_BYTES, equal, formatStore, hashBytes, SHARED_FULL, SHARED_TOO_LARGE, SharedStore, type StoreGeometry,
} from "./shared_store.ts";

export { SHARED_ABSENT, SHARED_FULL, SHARED_OK, SHARED_TOO_LARGE } from "./shared_store.ts";

export interface SharedRegionOptions {
  /** Bytes of the region (--shared-bytes), 0 for none (every counter and set is Full). */
  bytes?: number;
  /** Named counters it can hold (SHARED_COUNTERS_DEFAULT). */
  counters?: number;
  /** Longest key of the store, in bytes (SHARED_KEY_BYTES_MAX_DEFAULT). */
  keyBytes?: number;
  /** Largest value of the store, in bytes (SHARED_VALUE_BYTES_MAX_DEFAULT). */
  valueBytes?: number;
}

/** "SHRD": a buffer that is not a shared region fails attach() at once. */
const MAGIC = 0x44524853;
const VERSION = 1;
const HEADER_BYTES = 64;
/** Header words (Int32Array indices). */
const H_MAGIC = 0, H_VERSION = 1, H_COUNTERS = 2, H_ENTRIES = 3, H_KEY_BYTES = 4, H_VALUE_BYTES = 5, H_SLOTS = 6, H_SEED = 7;
/** Counters named so far (statistics). Words 8–10 are the store's (shared_store.ts, H_*). */
const H_NAMED = 11;

/** A counter's line: state (i32), name length (i32), value (i64), name. */
const COUNTER_BYTES = 64;
const C_STATE = 0, C_NAME_LEN = 4, C_VALUE = 8, C_NAME = 16;
const EMPTY = 0, CLAIMING = 1, READY = 2;

assert(C_NAME + SHARED_COUNTER_NAME_BYTES_MAX === COUNTER_BYTES, "a counter's name ends its cache line");

/** The region's geometry, as create() lays it out and attach() reads it back. */
interface Layout extends StoreGeometry {
  counters: number;
  end: number;
}

const align8 = (n: number) => (n + 7) & ~7;
function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function layout(counters: number, entries: number, keyBytes: number, valueBytes: number): Layout {
  const slots = entries === 0 ? 0 : nextPow2(2 * entries);
  const stride = align8(ENTRY_HEAD_BYTES + keyBytes + valueBytes);
  const indexAt = HEADER_BYTES + counters * COUNTER_BYTES;
  const freeAt = indexAt + slots * 8;
  const entriesAt = align8(freeAt + entries * 4);
  return { counters, entries, keyBytes, valueBytes, slots, stride, indexAt, freeAt, entriesAt, end: entriesAt + entries * stride };
}

/** The most entries that fit in `bytes` beside the counters. */
function fitEntries(bytes: number, counters: number, keyBytes: number, valueBytes: number): number {
  const fixed = layout(counters, 0, keyBytes, valueBytes);
  // Each entry costs its stride, a free-list word and at most 4 index records (8 B each).
  let entries = Math.max(0, Math.floor((bytes - fixed.end) / (fixed.stride + 4 + 32)));
  while (layout(counters, entries + 1, keyBytes, valueBytes).end <= bytes) entries++;
  return entries;
}

function whole(name: string, value: number, min: number, max: number, flag: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ArenaError("ARENA_E_CONFIG", `shared region: ${name} must be a whole number from ${min} to ${max}, got ${value}`, `set ${flag}`);
  }
  return value;
}

/** Writes the header and the free list of a fresh (zeroed) buffer. */
function format(buffer: SharedArrayBuffer, g: Layout): void {
  const h = new Int32Array(buffer, 0, buffer.byteLength >> 2);
  h[H_COUNTERS] = g.counters;
  h[H_ENTRIES] = g.entries;
  h[H_KEY_BYTES] = g.keyBytes;
  h[H_VALUE_BYTES] = g.valueBytes;
  h[H_SLOTS] = g.slots;
  h[H_SEED] = crypto.getRandomValues(new Int32Array(1))[0];
  formatStore(h, g);
  h[H_VERSION] = VERSION;
  // Last, so a buffer read before its header is whole is no region at all.
  Atomics.store(h, H_MAGIC, MAGIC);
}

export class SharedRegion {
  /** The memory itself: what a worker receives to attach(). */
  readonly buffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  private readonly u8: Uint8Array;
  private readonly layout: Layout;
  private readonly seed: number;
  /** The key-value store: set, get, delete, size (shared_store.ts). */
  readonly store: SharedStore;

  private constructor(buffer: SharedArrayBuffer, layout: Layout) {
    assert(layout.end <= buffer.byteLength, "the region's layout fits its buffer");
    assert(Atomics.load(new Int32Array(buffer, 0, 1), H_MAGIC) === MAGIC, "the region's header is written before it is used");
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    this.i64 = new BigInt64Array(buffer, 0, buffer.byteLength >> 3);
    this.u8 = new Uint8Array(buffer);
    this.layout = layout;
    this.seed = this.i32[H_SEED];
    this.store = new SharedStore(buffer, layout, this.seed);
  }

  /** A new, empty region (the primary, or a single-instance server); throws ArenaError
   *  ARENA_E_CONFIG when the options are impossible. */
  static create(options: SharedRegionOptions = {}): SharedRegion {
    const bytes = whole("bytes", options.bytes ?? SHARED_BYTES_DEFAULT, 0, SHARED_BYTES_MAX, "--shared-bytes");
    const keyBytes = whole("keyBytes", options.keyBytes ?? SHARED_KEY_BYTES_MAX_DEFAULT, 1, 64 * 1024, "the shared key size");
    const valueBytes = whole("valueBytes", options.valueBytes ?? SHARED_VALUE_BYTES_MAX_DEFAULT, 0, 16 * 1024 * 1024, "the shared value size");
    let counters = whole("counters", options.counters ?? SHARED_COUNTERS_DEFAULT, 0, 1 << 20, "the shared counters");
    if (bytes === 0) counters = 0;
    const entries = bytes === 0 ? 0 : fitEntries(bytes, counters, keyBytes, valueBytes);
    if (bytes > 0 && entries === 0) {
      const least = layout(counters, 1, keyBytes, valueBytes).end;
      throw new ArenaError("ARENA_E_CONFIG", `shared region: ${formatBytes(bytes)} cannot hold ${counters} counters and one entry of ` +
        `${keyBytes} + ${valueBytes} bytes (${formatBytes(least)} at least)`, "raise --shared-bytes, or set it to 0 for no shared region");
    }
    const geometry = layout(counters, entries, keyBytes, valueBytes);
    const buffer = new SharedArrayBuffer(Math.max(bytes, HEADER_BYTES));
    format(buffer, geometry);
    return new SharedRegion(buffer, geometry);
  }

  /** The region made by create() in another thread, from its buffer. */
  static attach(buffer: SharedArrayBuffer): SharedRegion {
    const h = new Int32Array(buffer, 0, HEADER_BYTES >> 2);
    assert(h[H_MAGIC] === MAGIC && h[H_VERSION] === VERSION, "attach() is given the buffer of a shared region");
    const geometry = layout(h[H_COUNTERS], h[H_ENTRIES], h[H_KEY_BYTES], h[H_VALUE_BYTES]);
    assert(geometry.slots === h[H_SLOTS], "the region's index is the size its entries imply");
    return new SharedRegion(buffer, geometry);
  }

  /** Bytes the region takes (the server's budget line). */
  get bytes(): number {
    return this.buffer.byteLength;
  }

  /** Counters it can hold, and how many are named. */
  get counters(): number {
    return this.layout.counters;
  }
  get countersNamed(): number {
    return Atomics.load(this.i32, H_NAMED);
  }

  /** Entries the store can hold, the longest key and the largest value. */
  get entries(): number {
    return this.layout.entries;
  }
  get keyBytes(): number {
    return this.layout.keyBytes;
  }
  get valueBytes(): number {
    return this.layout.valueBytes;
  }

  /** For the budget line: `4 MiB shared (256 counters, 3,532 entries of ≤ 128 B keys and 1 KiB values)`. */
  describe(): string {
    const g = this.layout;
    if (g.counters === 0 && g.entries === 0) return "no shared region";
    return `${formatBytes(this.bytes)} shared (${g.counters} counters, ${g.entries.toLocaleString("en-US")} entries of ≤ ` +
      `${formatBytes(g.keyBytes)} keys and ${formatBytes(g.valueBytes)} values)`;
  }

  // ── Counters ────────────────────────────────────────────────────────────────────────

  /** The index of the counter named by `len` bytes of `src` at `at`, interned on first use;
   *  -SHARED_TOO_LARGE for a name over SHARED_COUNTER_NAME_BYTES_MAX, -SHARED_FULL when
   *  every counter is named otherwise. Lock-free: see the file's comment. */
  counter(src: Uint8Array, at = 0, len = src.length - at): number {
    if (len > SHARED_COUNTER_NAME_BYTES_MAX) return -SHARED_TOO_LARGE;
    const n = this.layout.counters;
    let i = (hashBytes(this.seed, src, at, len) >>> 0) % Math.max(n, 1);
    for (let probes = 0; probes < n; probes++, i = i + 1 === n ? 0 : i + 1) {
      const line = HEADER_BYTES + i * COUNTER_BYTES;
      const state = (line + C_STATE) >> 2;
      if (Atomics.load(this.i32, state) === EMPTY && Atomics.compareExchange(this.i32, state, EMPTY, CLAIMING) === EMPTY) {
        this.i32[(line + C_NAME_LEN) >> 2] = len;
        copy(this.u8, line + C_NAME, src, at, len);
        Atomics.store(this.i32, state, READY);
        Atomics.notify(this.i32, state);
        Atomics.add(this.i32, H_NAMED, 1);
        return i;
      }
      this.waitWhile(state, CLAIMING, "a counter's name is written");
      if (this.i32[(line + C_NAME_LEN) >> 2] === len && equal(this.u8, line + C_NAME, src, at, len)) return i;
    }
    return -SHARED_FULL;
  }

  /** Whether `index` is a counter counter() has given out. */
  validCounter(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.layout.counters &&
      Atomics.load(this.i32, (HEADER_BYTES + index * COUNTER_BYTES + C_STATE) >> 2) === READY;
  }

  /** Adds `delta` to counter `index` (wrapping at 64 bits) and returns its new value. */
  add(index: number, delta: bigint): bigint {
    assert(this.validCounter(index), "add() is given a counter counter() returned");
    const old = Atomics.add(this.i64, (HEADER_BYTES + index * COUNTER_BYTES + C_VALUE) >> 3, delta);
    return BigInt.asIntN(64, old + delta);
  }

  /** Counter `index`'s value. */
  load(index: number): bigint {
    assert(this.validCounter(index), "load() is given a counter counter() returned");
    return Atomics.load(this.i64, (HEADER_BYTES + index * COUNTER_BYTES + C_VALUE) >> 3);
  }

  /** Sets counter `index` to `value` and returns the value it had. */
  exchange(index: number, value: bigint): bigint {
    assert(this.validCounter(index), "exchange() is given a counter counter() returned");
    return Atomics.exchange(this.i64, (HEADER_BYTES + index * COUNTER_BYTES + C_VALUE) >> 3, value);
  }

  /** Waits while the word at `word` is `value`; a wait past SHARED_LOCK_WAIT_MS_MAX means
   *  its holder died inside, which fails loudly (see the limit). */
  private waitWhile(word: number, value: number, what: string): void {
    if (Atomics.load(this.i32, word) !== value) return;
    const deadline = performance.now() + SHARED_LOCK_WAIT_MS_MAX;
    while (Atomics.load(this.i32, word) === value) {
      const left = deadline - performance.now();
      assert(left > 0, `${what} within ${SHARED_LOCK_WAIT_MS_MAX} ms (its holder died inside?)`);
      Atomics.wait(this.i32, word, value, left);
    }
  }
}
