// A bounded key-value store in the heap region, for the state most apps keep between
// requests: sessions, caches, rate limits. Building that from a start-up Map and
// Heap.keep works, but the Map's tables grow without a bound, every value is an object
// graph to copy and free by hand, and nothing evicts or expires. A Store instead fixes its
// memory when it is made: the entry table is one heap block allocated at start-up, and the
// keys and values it holds are counted against a byte budget. When either bound is reached
// a `set` evicts the least recently used entry or answers `StoreResult.Full`, as chosen at
// creation; it never traps, and a full heap is a value too (`StoreResult.HeapFull`).
//
// Memory: one heap block allocated at creation holds the entries (40 B each), the bucket
// heads and the expiry heap, 48–52 B an entry in all (store_table.ts draws it); each
// entry's key and value are one more heap block, key first. A store's heap use is thus at
// most its table + maxBytes + 20 B an entry (block header and rounding). Keys are hashed
// and compared as UTF-8 bytes read straight from the caller's string or Uint8Array
// (store_key.ts).
//
// Costs: get/has/delete/set are O(1) expected (one bucket chain, FNV-1a with a random seed
// and a finaliser); eviction is O(1) (the oldest end of the recency list); entries with a
// TTL sit in a binary min-heap by expiry, O(log n) to add or drop. Expired entries are
// invisible at once and reclaimed lazily: a lookup that meets one drops it, every set
// drops a few that have expired, and `size` drops them all. Nothing is allocated in the
// request's arena but the copy `get` returns.

import { loadKey, loadValue, keyLen, valueLen, writeKey, writeValue } from "./store_key";
import { StoreTable, tableBytes, NONE, E_DATA, E_KEY, E_VALUE, E_NEWER } from "./store_table";
import { REGION_ID_STARTUP } from "./abi";
import { monotonicMs } from "./time";
import { randomFill } from "./random";
import { utf8 } from "./text/utf8";

/** Most entries one store may have: its table (48–52 B an entry) stays under 1 GiB. */
// @ts-ignore: decorator
@inline const STORE_ENTRIES_MAX: u32 = 1 << 24;
/** Expired entries a set reclaims besides the ones it needs room from. */
// @ts-ignore: decorator
@inline const EXPIRE_STEP: u32 = 8;

/** What `Store#set` did. `if (sessions.set(sid, user) != StoreResult.Ok) return Response.text("busy\n", 503);` */
export enum StoreResult {
  /** Stored (an LRU store may have evicted older entries to make room). */
  Ok = 0,
  /** The store is at maxEntries or maxBytes and does not evict: nothing changed. */
  Full = 1,
  /** Key and value together are larger than maxBytes: they can never fit. */
  TooLarge = 2,
  /** The heap region has no block for them (it is shared with the rest of the app); an
   *  LRU store answers this only once no other entry is left to evict. Nothing changed. */
  HeapFull = 3,
}

/**
 * How a Store behaves when it is full, and how long its entries live.
 * `new Store(10_000, 4 << 20, new StoreOptions().lru().ttl(30 * 60_000))`
 */
export class StoreOptions {
  /** Evict the least recently used entry to make room (else `set` answers Full); `lru()` sets it.
   *  `new StoreOptions().evict` is false. */
  evict: bool = false;
  /** Default time to live of an entry, in ms; 0 for entries that never expire; `ttl(ms)` sets it.
   *  `new StoreOptions().ttl(500).ttlMs` is 500. */
  ttlMs: f64 = 0;

  /** Evict the least recently used entries to make room. `new StoreOptions().lru()` */
  lru(): StoreOptions {
    this.evict = true;
    return this;
  }

  /** Entries expire `ms` milliseconds after their last `set`. `new StoreOptions().ttl(60_000)` */
  ttl(ms: f64): StoreOptions {
    this.ttlMs = ms > 0 ? ms : 0;
    return this;
  }
}

/**
 * A key-value store with fixed bounds, made at start-up; keys and values are strings or
 * Uint8Arrays, kept as UTF-8 bytes in the heap region (a string key and the same bytes as
 * a Uint8Array are the same key). `get` copies the value into the request's arena. Any
 * other key or value type does not compile; a null one stops the request with a clear error.
 *
 * ```ts
 * const pages = new Store(1000, 8 << 20, new StoreOptions().lru().ttl(60_000));
 *
 * function product(req: Request): Response {
 *   const id = req.param("id")!;
 *   const cached = pages.getBytes(id);
 *   if (cached !== null) return Response.bytes(cached, "text/html; charset=utf-8");
 *   const html = render(id);      // a Uint8Array in this request's arena
 *   pages.set(id, html);          // copied into the heap; Full or TooLarge just skip the cache
 *   return Response.bytes(html, "text/html; charset=utf-8");
 * }
 * ```
 */
@final
export class Store {
  private table: StoreTable;
  private maxEntries: u32;
  private maxBytes: usize;
  private evicts: bool;
  private ttlMs: f64;
  private seed: u32;

  /**
   * Makes a store of at most `maxEntries` entries and `maxBytes` bytes of keys and values,
   * with its table in the heap. Call it at the top level: the app fails to start, with a
   * line that says so, when the heap cannot hold the table (raise --heap-bytes).
   *
   * `const cache = new Store(1000, 1 << 20, new StoreOptions().lru());`
   */
  constructor(maxEntries: i32, maxBytes: usize, options: StoreOptions | null = null) {
    if (__arena_current_id() != REGION_ID_STARTUP) abort("Store: make stores at start-up (top level), not in a handler");
    if (maxEntries < 1 || <u32>maxEntries > STORE_ENTRIES_MAX) {
      abort("Store: maxEntries must be 1 to " + STORE_ENTRIES_MAX.toString() + ", got " + maxEntries.toString());
    }
    let bucketCount: u32 = 1;
    while (bucketCount < <u32>maxEntries) bucketCount <<= 1;
    let bytes = tableBytes(<u32>maxEntries, bucketCount);
    let table = __arena_heap_alloc(bytes);
    let capacity = __arena_heap_capacity();
    if (table == 0) {
      abort("Store: a table of " + maxEntries.toString() + " entries needs " + bytes.toString() + " bytes of the heap, which has " +
        (capacity - __arena_heap_used()).toString() + " of " + capacity.toString() + " bytes free: raise --heap-bytes");
    }
    if (maxBytes > capacity) {
      abort("Store: maxBytes " + maxBytes.toString() + " is more than the whole heap (" + capacity.toString() +
        " bytes): raise --heap-bytes or lower maxBytes");
    }
    this.table = new StoreTable(table, <u32>maxEntries, bucketCount);
    this.maxEntries = <u32>maxEntries;
    this.maxBytes = maxBytes;
    this.evicts = options !== null && options.evict;
    this.ttlMs = options !== null ? options.ttlMs : 0;
    let seed = new Uint8Array(4);
    randomFill(seed);
    this.seed = load<u32>(seed.dataStart);
  }

  /**
   * The value stored under `key` (a string or Uint8Array), decoded from UTF-8, copied into
   * the request's arena; null when absent or expired. Counts as a use for LRU eviction.
   *
   * `const user = sessions.get(sid); if (user === null) return Response.text("log in\n", 401);`
   */
  get<K>(key: K): string | null {
    let e = this.lookup<K>(key);
    if (e == 0) return null;
    return utf8(load<u32>(e, E_DATA) + load<u32>(e, E_KEY), load<u32>(e, E_VALUE));
  }

  /**
   * The value stored under `key` as bytes, copied into the request's arena; null when
   * absent or expired. Counts as a use for LRU eviction.
   *
   * `const page = cache.getBytes(req.path); if (page !== null) return Response.bytes(page, "text/html");`
   */
  getBytes<K>(key: K): Uint8Array | null {
    let e = this.lookup<K>(key);
    if (e == 0) return null;
    let len = <i32>load<u32>(e, E_VALUE);
    let out = new Uint8Array(len);
    memory.copy(out.dataStart, load<u32>(e, E_DATA) + load<u32>(e, E_KEY), <usize>len);
    return out;
  }

  /**
   * Stores `value` under `key` (each a string or Uint8Array), replacing what was there,
   * copied into the heap. `ttlMs` > 0 sets this entry's time to live, 0 means it never
   * expires, and the default (-1) takes the store's TTL. Returns Ok, or Full (nothing
   * changed), TooLarge or HeapFull; it never traps.
   *
   * `if (hits.set(ip, count.toString(), 60_000) == StoreResult.Full) log.warn("rate table full");`
   */
  set<K, V>(key: K, value: V, ttlMs: f64 = -1): StoreResult {
    loadKey<K>(key, this.seed);
    loadValue<V>(value);
    let need = <u64>keyLen + <u64>valueLen;
    if (need > <u64>this.maxBytes) return StoreResult.TooLarge;
    let ttl = ttlMs >= 0 ? ttlMs : this.ttlMs;
    let expires = ttl > 0 ? monotonicMs() + ttl : 0;
    this.table.reclaim(EXPIRE_STEP);
    let i = this.table.find();
    if (i != NONE) return this.replace(i, <usize>need, expires);
    return this.insert(<usize>need, expires);
  }

  /**
   * Whether `key` is stored and not expired. Does not count as a use.
   *
   * `if (!seen.has(nonce)) seen.set(nonce, "");`
   */
  has<K>(key: K): bool {
    loadKey<K>(key, this.seed);
    return this.table.find() != NONE;
  }

  /**
   * Removes `key` and gives its heap memory back; false when it was not there.
   *
   * `sessions.delete(sid); // log out`
   */
  delete<K>(key: K): bool {
    loadKey<K>(key, this.seed);
    let i = this.table.find();
    if (i == NONE) return false;
    this.table.remove(i);
    return true;
  }

  /**
   * Entries stored and not expired (expired ones are reclaimed first).
   *
   * `log.info("sessions", new LogFields().num("n", sessions.size));`
   */
  get size(): i32 {
    this.table.reclaim(NONE);
    return <i32>this.table.count;
  }

  /**
   * Bytes of keys and values stored (what maxBytes bounds), after reclaiming expired ones.
   *
   * `let fill = <f64>cache.bytes / <f64>(1 << 20);`
   */
  get bytes(): usize {
    this.table.reclaim(NONE);
    return this.table.used;
  }

  /**
   * Removes every entry and gives their heap memory back (the table stays). O(entries).
   *
   * `cache.clear(); // the upstream's data changed`
   */
  clear(): void {
    this.table.clear();
  }

  /** The entry of `key`, made the newest, or 0. */
  private lookup<K>(key: K): usize {
    loadKey<K>(key, this.seed);
    let i = this.table.find();
    if (i == NONE) return 0;
    this.table.touch(i);
    return this.table.entry(i);
  }

  /** Stores the current key and value in a new entry. */
  private insert(need: usize, expires: f64): StoreResult {
    if (!this.room(1, need, NONE)) return StoreResult.Full;
    let data = this.block(0, need, NONE);
    if (data == 0) return StoreResult.HeapFull;
    writeKey(data);
    writeValue(data + keyLen);
    this.table.add(data, keyLen, valueLen, expires);
    return StoreResult.Ok;
  }

  /** Puts the current value into entry `i`, which holds the current key. */
  private replace(i: u32, need: usize, expires: f64): StoreResult {
    let table = this.table;
    let e = table.entry(i);
    let old = <usize>load<u32>(e, E_KEY) + <usize>load<u32>(e, E_VALUE);
    if (need > old && !this.room(0, need - old, i)) return StoreResult.Full;
    let data = this.block(load<u32>(e, E_DATA), need, i);
    if (data == 0) return StoreResult.HeapFull;
    writeValue(data + keyLen);
    store<u32>(e, <u32>data, E_DATA);
    store<u32>(e, <u32>valueLen, E_VALUE);
    table.used = table.used - old + need;
    table.touch(i);
    table.setExpiry(i, expires);
    return StoreResult.Ok;
  }

  /** Makes room for `entries` more entries and `grow` more bytes, never dropping `keep`. */
  private room(entries: u32, grow: usize, keep: u32): bool {
    let table = this.table;
    while (table.count + entries > this.maxEntries || table.used + grow > this.maxBytes) {
      if (!this.dropOne(keep)) return false;
    }
    return true;
  }

  /** A heap block of `size` bytes (`old` resized when not 0), dropping entries while the
   *  heap has none; 0 when it still has none. */
  private block(old: usize, size: usize, keep: u32): usize {
    let bytes = max<usize>(size, 1);
    let p = old != 0 ? __arena_heap_realloc(old, bytes) : __arena_heap_alloc(bytes);
    while (p == 0 && this.dropOne(keep)) p = old != 0 ? __arena_heap_realloc(old, bytes) : __arena_heap_alloc(bytes);
    return p;
  }

  /** Removes one entry other than `keep`: an expired one, else (LRU) the oldest. */
  private dropOne(keep: u32): bool {
    let table = this.table;
    let victim = table.firstExpired();
    if (victim == NONE || victim == keep) {
      if (!this.evicts) return false;
      victim = table.oldest;
      if (victim == keep && victim != NONE) victim = load<u32>(table.entry(victim), E_NEWER);
      if (victim == NONE) return false;
    }
    table.remove(victim);
    return true;
  }
}
