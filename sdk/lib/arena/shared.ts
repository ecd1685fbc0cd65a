// State shared by every worker of the server (the seed's `region.shared()`): named counters
// and a small bounded key-value store, kept by the host in one region outside the app's
// memory (host/memory/shared_region.ts) and reached through the `arena.shared_*` imports
// (docs/abi.md). Each worker has its own wasm memory, heap region and Stores; only what
// goes through `Shared` is seen by all of them. Every call answers at once (nothing
// suspends) and copies: a key and a value go to the host, a value comes back into the
// caller's region. Full and too large are values, never traps.

import { SHARED_BAD_ARGUMENT, SHARED_OK } from "./abi";
import { utf8 } from "./text/utf8";

// @ts-ignore: decorator
@external("arena", "shared_counter")
declare function hostCounter(namePtr: usize, nameLen: usize): i32;
// @ts-ignore: decorator
@external("arena", "shared_add")
declare function hostAdd(index: i32, delta: i64, outPtr: usize): i32;
// @ts-ignore: decorator
@external("arena", "shared_load")
declare function hostLoad(index: i32, outPtr: usize): i32;
// @ts-ignore: decorator
@external("arena", "shared_exchange")
declare function hostExchange(index: i32, value: i64, outPtr: usize): i32;
// @ts-ignore: decorator
@external("arena", "shared_set")
declare function hostSet(keyPtr: usize, keyLen: usize, valuePtr: usize, valueLen: usize): i32;
// @ts-ignore: decorator
@external("arena", "shared_get")
declare function hostGet(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("arena", "shared_delete")
declare function hostDelete(keyPtr: usize, keyLen: usize): i32;

/** Where the host writes a counter's value: static data, which every caller may pass (the
 *  calls never suspend, so one buffer serves every request). */
const OUT: usize = memory.data(8);

/** Room a get asks for first; a larger value costs a second call with its exact size. */
// @ts-ignore: decorator
@inline const GET_FIRST_BYTES: i32 = 256;

// The bytes of the key or value being passed (bytesOf), without making an object for them.
let argPtr: usize = 0;
let argLen: usize = 0;

/** Points argPtr/argLen at `v`'s UTF-8 bytes: a string is encoded into the current region,
 *  a Uint8Array is passed as it is unless it lies in the heap region, which the host does
 *  not read (another request may free it), and then it is copied into the current region. */
// @ts-ignore: decorator
@inline function bytesOf<T>(v: T): void {
  if (isString<T>()) {
    let s = changetype<string>(changetype<usize>(v));
    if (changetype<usize>(s) == 0) abort("Shared: a key or value is null (check for null first)");
    let buf = String.UTF8.encode(s);
    argPtr = changetype<usize>(buf);
    argLen = <usize>buf.byteLength;
  } else {
    if (!isReference<T>()) ERROR("Shared keys and values are a string or a Uint8Array");
    else if (idof<NonNullable<T>>() != idof<Uint8Array>()) ERROR("Shared keys and values are a string or a Uint8Array");
    let a = changetype<Uint8Array>(changetype<usize>(v));
    if (changetype<usize>(a) == 0) abort("Shared: a key or value is null (check for null first)");
    argPtr = a.dataStart;
    argLen = <usize>a.length;
    if (__arena_in_heap(argPtr)) {
      let copy = new Uint8Array(<i32>argLen);
      memory.copy(copy.dataStart, argPtr, argLen);
      argPtr = copy.dataStart;
    }
  }
}

/** A host answer for an argument the SDK built itself: a platform bug, said so. */
function badArgument(what: string): void {
  abort("assert: the host refused the arguments of Shared." + what + " (a platform bug)");
}

/** What `Shared.set` did. `if (Shared.set(sid, user) != SharedSet.Ok) return Response.text("busy\n", 503);` */
export enum SharedSet {
  /** Stored, replacing the key's old value if it had one. */
  Ok = 0,
  /** Every entry of the shared store is taken (by other keys): nothing changed. */
  Full = 1,
  /** The key or the value is longer than the shared store allows: nothing changed. */
  TooLarge = 2,
}

/**
 * A named 64-bit counter shared by every worker: `add` is one atomic addition, so no
 * increment is ever lost, whichever worker makes it. Get one with `Shared.counter(name)`.
 *
 * ```ts
 * const visits = Shared.counter("visits")!;   // at start-up: every worker gets the same counter
 *
 * function home(req: Request): Response {
 *   let n = visits.add(1);
 *   return Response.text("visitor number " + n.toString() + "\n");
 * }
 * ```
 */
@final
export class SharedCounter {
  private index: i32;

  /** A counter by its index; `Shared.counter(name)` makes it. `Shared.counter("hits")` */
  // @ts-ignore: decorator
  @unsafe constructor(index: i32) {
    this.index = index;
  }

  /**
   * Adds `delta` (default 1, may be negative) and returns the new value, as seen right
   * after this addition; the value wraps at 64 bits.
   *
   * `let inFlight = uploads.add(-1);`
   */
  add(delta: i64 = 1): i64 {
    if (hostAdd(this.index, delta, OUT) != SHARED_OK) badArgument("add");
    return load<i64>(OUT);
  }

  /**
   * The current value (other workers may change it right after).
   *
   * `let total = orders.value;`
   */
  get value(): i64 {
    if (hostLoad(this.index, OUT) != SHARED_OK) badArgument("value");
    return load<i64>(OUT);
  }

  /**
   * Sets the value and returns the value it replaced, in one atomic step: `set(0)` reads
   * and resets a count without losing an addition made in between.
   *
   * `let sinceLast = errors.set(0);`
   */
  set(value: i64): i64 {
    if (hostExchange(this.index, value, OUT) != SHARED_OK) badArgument("set");
    return load<i64>(OUT);
  }
}

/**
 * State shared by every worker of the server: named counters and a small bounded
 * key-value store, in a region the host keeps outside each worker's memory (docs/regions.md,
 * "Shared across workers"). Everything else an app keeps (top-level objects, the heap
 * region, a `Store`) is per worker. Keys and values are strings or Uint8Arrays, stored as
 * UTF-8 bytes; `get` copies the value into the current region. Works in start-up code too,
 * which runs once per worker: seed shared values with `set` (the same value N times is
 * harmless), not with `add`.
 *
 * ```ts
 * const hits = Shared.counter("hits")!;
 *
 * function login(req: Request): Response {
 *   hits.add(1);
 *   let sid = hexEncode(randomBytes(16));
 *   if (Shared.set("session:" + sid, req.query("user")!) != SharedSet.Ok) return Response.text("busy\n", 503);
 *   return Response.text(sid + "\n");
 * }
 *
 * function me(req: Request): Response {
 *   let user = Shared.get("session:" + req.header("x-session")!);   // set by any worker
 *   return user !== null ? Response.text(user + "\n") : Response.text("log in\n", 401);
 * }
 * ```
 */
@final
export abstract class Shared {
  /**
   * The counter named `name`, the same one in every worker, made (at 0) on first use; null
   * when the name is longer than 48 UTF-8 bytes or every counter the region holds is named
   * already (256 by default). Names are never removed. Call it at start-up and keep the
   * counter: a start-up `!` stops a server that cannot have it before it serves.
   *
   * `const signups = Shared.counter("signups")!;`
   */
  static counter(name: string): SharedCounter | null {
    bytesOf<string>(name);
    let index = hostCounter(argPtr, argLen);
    if (index == -SHARED_BAD_ARGUMENT) badArgument("counter");
    return index >= 0 ? new SharedCounter(index) : null;
  }

  /**
   * Stores `value` under `key` (each a string or Uint8Array), replacing the key's value,
   * for every worker to read. Returns Ok, or Full (every entry is taken) or TooLarge (key or
   * value over the region's limits, 128 and 1,024 bytes by default); then nothing changed.
   *
   * `if (Shared.set("flag:beta", "on") != SharedSet.Ok) log.warn("shared store full");`
   */
  static set<K, V>(key: K, value: V): SharedSet {
    bytesOf<K>(key);
    let kp = argPtr, kl = argLen;
    bytesOf<V>(value);
    let status = hostSet(kp, kl, argPtr, argLen);
    if (status == SHARED_BAD_ARGUMENT) badArgument("set");
    return <SharedSet>status;
  }

  /**
   * The value stored under `key`, decoded from UTF-8 (ill-formed bytes become U+FFFD) and
   * copied into the current region; null when no worker stored it.
   *
   * `let beta = Shared.get("flag:beta") == "on";`
   */
  static get<K>(key: K): string | null {
    let bytes = Shared.getBytes<K>(key);
    return bytes !== null ? utf8(bytes.dataStart, <usize>bytes.length) : null;
  }

  /**
   * The value stored under `key` as bytes, copied into the current region; null when no
   * worker stored it. The copy is whole: never part of one value and part of another.
   *
   * `let page = Shared.getBytes(req.path); if (page !== null) return Response.bytes(page, "text/html");`
   */
  static getBytes<K>(key: K): Uint8Array | null {
    bytesOf<K>(key);
    let kp = argPtr, kl = argLen;
    let out = new Uint8Array(GET_FIRST_BYTES);
    let len = hostGet(kp, kl, out.dataStart, <usize>out.length);
    // Another worker may store a larger value between two calls: ask until it fits.
    while (len > out.length) {
      out = new Uint8Array(len);
      len = hostGet(kp, kl, out.dataStart, <usize>out.length);
    }
    if (len == -SHARED_BAD_ARGUMENT) badArgument("get");
    if (len < 0) return null;
    return out.subarray(0, len);
  }

  /**
   * Whether any worker stored `key` (and none deleted it since).
   *
   * `if (!Shared.has("seeded")) Shared.set("seeded", "1");`
   */
  static has<K>(key: K): bool {
    bytesOf<K>(key);
    let len = hostGet(argPtr, argLen, 0, 0);
    if (len == -SHARED_BAD_ARGUMENT) badArgument("has");
    return len >= 0;
  }

  /**
   * Removes `key` for every worker; false when it was not stored.
   *
   * `Shared.delete("session:" + sid); // log out everywhere`
   */
  static delete<K>(key: K): bool {
    bytesOf<K>(key);
    let status = hostDelete(argPtr, argLen);
    if (status == SHARED_BAD_ARGUMENT) badArgument("delete");
    return status == SHARED_OK;
  }
}
