// The device region (the seed's `region.device(id)`): host memory outside every wasm
// memory, addressed by handle. It holds the static files of --static, loaded once at start
// into one SharedArrayBuffer that every worker reads (host/memory/static_files.ts), and the
// buffers an app allocates with Device.alloc, each a zeroed Node buffer of its own. The app
// never addresses it: bytes move in and out by explicit copies that can fail
// (host/effects/device.ts), and the host sends a response body straight from it.
//
// The region is bounded as a whole (--device-bytes) by one counter every worker shares
// (Atomics on a SharedArrayBuffer): an allocation that would pass the bound fails as a
// value. Nothing is allocated up front, so the bound is what it may grow to, not what it
// takes. Each worker's share of it is counted too, so that what a worker that died held is
// given back when it is replaced.
//
// Handles belong to one build of the app in one worker (DeviceTable). A handle is an
// integer below 2^53 (an f64 at the ABI, an i64 in the SDK): generation × 4096 + index in
// the table, with generations drawn from one counter for the whole server. No two buffers
// of a server, in any worker or build, ever get the same handle, so a handle kept after its
// buffer was freed, across a reload, or passed to another worker is refused as stale,
// never read as another buffer's bytes (2^41 generations: at a million allocations a
// second, 25 days would not use one in a thousand). A reload's new build starts with an
// empty table (the old build's buffers are freed when it is closed); the static files stay.

import { assert } from "../assert.ts";
import { DEVICE_BUFFER_BYTES_MAX, DEVICE_HANDLES_MAX } from "../limits.ts";
import type { StaticFiles, StaticFilesData } from "./static_files.ts";

/** What the table answers; the ABI's DEVICE_* statuses are the same numbers
 *  (host/effects/device.ts asserts it). */
export const DEVICE_OK = 0;
/** A handle that was freed, belongs to another build, or was never given. */
export const DEVICE_STALE = 1;
/** An offset and length outside the buffer, or a size over DEVICE_BUFFER_BYTES_MAX. */
export const DEVICE_RANGE = 2;
/** The region's bound (--device-bytes) or the build's handles (DEVICE_HANDLES_MAX) are used up. */
export const DEVICE_FULL = 3;
/** No static file at that path. */
export const DEVICE_ABSENT = 4;
/** A write to, or a free of, a static file's handle: those are the host's. */
export const DEVICE_READ_ONLY = 5;

/** What crosses to a worker thread (structured clone): the shared counter and the static
 *  files' bytes and table. */
export interface DeviceShare {
  /** i64s: bytes in use, the bound, the last generation given, then the bytes each worker
   *  holds (one cell per worker). */
  counter: SharedArrayBuffer;
  statics: StaticFilesData | null;
}

const USED = 0;
const BOUND = 1;
const GEN = 2;
const HELD = 3;

/** The region's bound and what is in use, shared by every worker of a server. */
export class DeviceRegion {
  private readonly counter: BigInt64Array;
  private readonly share: DeviceShare;
  /** The cell of the worker this object allocates for. */
  private readonly held: number;
  /** The static files, or null without --static. */
  readonly statics: StaticFiles | null;

  private constructor(share: DeviceShare, statics: StaticFiles | null, worker: number) {
    this.share = share;
    this.counter = new BigInt64Array(share.counter);
    assert(worker >= 0 && HELD + worker < this.counter.length, "a worker's device cell is in the counter");
    this.held = HELD + worker;
    this.statics = statics;
  }

  /** A new region of `bytes` at most for `workers` workers, holding `statics` (whose bytes
   *  are charged to it: the loader checked they fit). This object allocates for worker 0. */
  static create(bytes: number, statics: StaticFiles | null = null, workers = 1): DeviceRegion {
    const counter = new SharedArrayBuffer(8 * (HELD + Math.max(1, workers)));
    const c = new BigInt64Array(counter);
    c[BOUND] = BigInt(bytes);
    c[USED] = BigInt(statics?.bytes ?? 0);
    return new DeviceRegion({ counter, statics: statics?.data ?? null }, statics, 0);
  }

  /** The region `share` describes, in worker `worker`'s thread; `statics` is what
   *  share.statics is made into there (StaticFiles.attach). */
  static attach(share: DeviceShare, statics: StaticFiles | null, worker = 0): DeviceRegion {
    return new DeviceRegion(share, statics, worker);
  }

  /** A generation no handle of this server has had: unique across workers and builds. */
  nextGeneration(): number {
    return Number(Atomics.add(this.counter, GEN, 1n) + 1n);
  }

  /** Gives back what worker `worker` held when it stopped: its thread, and every buffer in
   *  it, is gone (host/workers/primary.ts calls this before starting its replacement). */
  reclaim(worker: number): void {
    const cell = HELD + worker;
    assert(cell < this.counter.length, "a worker's device cell is in the counter");
    const held = Atomics.exchange(this.counter, cell, 0n);
    Atomics.sub(this.counter, USED, held);
  }

  /** What a worker thread attaches to. */
  shared(): DeviceShare {
    return this.share;
  }

  /** The bound, in bytes (--device-bytes). */
  get bound(): number {
    return Number(this.counter[BOUND]);
  }

  /** Bytes in use now: the static files and every live app buffer of every worker. */
  get used(): number {
    return Number(Atomics.load(this.counter, USED));
  }

  /** Takes `n` bytes of the bound, or answers false and takes nothing. */
  reserve(n: number): boolean {
    const big = BigInt(n);
    const after = Atomics.add(this.counter, USED, big) + big;
    if (after <= this.counter[BOUND]) {
      Atomics.add(this.counter, this.held, big);
      return true;
    }
    Atomics.sub(this.counter, USED, big);
    return false;
  }

  /** Gives back `n` bytes a freed buffer held. */
  release(n: number): void {
    const big = BigInt(n);
    Atomics.sub(this.counter, this.held, big);
    const after = Atomics.sub(this.counter, USED, big) - big;
    assert(after >= 0n, "the device region gives back only what it took");
  }
}

/** Handles are generation × INDEX_SPAN + index. */
const INDEX_SPAN = 4096;
/** Generations stay below this, so that a handle is an integer an f64 holds exactly. */
const GEN_LIMIT = Math.floor(Number.MAX_SAFE_INTEGER / INDEX_SPAN);
assert(DEVICE_HANDLES_MAX <= INDEX_SPAN, "a table's indices fit the handle's index part");

/** One build's handles: its own buffers and the static files it opened. */
export class DeviceTable {
  readonly region: DeviceRegion;
  private readonly bufs: (Uint8Array | null)[] = [];
  private readonly gens: number[] = [];
  private readonly readOnly: boolean[] = [];
  private readonly freeList: number[] = [];
  /** Static file path → its handle: opening a file twice gives the same handle. */
  private readonly opened = new Map<string, number>();
  private closed = false;

  constructor(region: DeviceRegion) {
    this.region = region;
  }

  /** A zeroed buffer of `size` bytes (a seam: tests make it fail as a full process would). */
  protected newBuffer(size: number): Uint8Array {
    return new Uint8Array(size);
  }

  /** Handles in use (for tests and the budget). */
  get live(): number {
    return this.bufs.length - this.freeList.length;
  }

  private take(buf: Uint8Array, readOnly: boolean): number {
    let index: number;
    if (this.freeList.length > 0) {
      index = this.freeList.pop()!;
    } else {
      if (this.bufs.length >= DEVICE_HANDLES_MAX) return -DEVICE_FULL;
      index = this.bufs.length;
      this.bufs.push(null);
      this.gens.push(0);
      this.readOnly.push(false);
    }
    const gen = this.region.nextGeneration();
    if (gen >= GEN_LIMIT) {
      this.freeList.push(index);
      return -DEVICE_FULL;
    }
    this.gens[index] = gen;
    this.bufs[index] = buf;
    this.readOnly[index] = readOnly;
    return gen * INDEX_SPAN + index;
  }

  /** The index of a live `handle`, or -1. */
  private indexOf(handle: number): number {
    if (!Number.isSafeInteger(handle) || handle <= 0) return -1;
    const index = handle % INDEX_SPAN;
    const gen = (handle - index) / INDEX_SPAN;
    if (index >= this.bufs.length || this.gens[index] !== gen || this.bufs[index] === null) return -1;
    return index;
  }

  /** A new zeroed buffer of `size` bytes: its handle, or -DEVICE_RANGE (size out of range),
   *  -DEVICE_FULL (the region's bound or the handles are used up). */
  alloc(size: number): number {
    if (this.closed) return -DEVICE_STALE;
    if (!Number.isInteger(size) || size < 0 || size > DEVICE_BUFFER_BYTES_MAX) return -DEVICE_RANGE;
    if (this.freeList.length === 0 && this.bufs.length >= DEVICE_HANDLES_MAX) return -DEVICE_FULL;
    if (!this.region.reserve(size)) return -DEVICE_FULL;
    let buf: Uint8Array;
    try {
      buf = this.newBuffer(size);
    } catch {
      // The process has less memory than --device-bytes promised: a value, and the bound
      // gets its bytes back.
      this.region.release(size);
      return -DEVICE_FULL;
    }
    const handle = this.take(buf, false);
    if (handle < 0) this.region.release(size);
    return handle;
  }

  /** The handle of the static file at `path` (identity bytes, read-only), or -DEVICE_ABSENT,
   *  -DEVICE_FULL. */
  open(path: string): number {
    const known = this.opened.get(path);
    if (known !== undefined) return known;
    const body = this.region.statics?.bodyOf(path) ?? null;
    if (body === null) return -DEVICE_ABSENT;
    const handle = this.take(body, true);
    if (handle > 0) this.opened.set(path, handle);
    return handle;
  }

  /** The bytes of `handle`, or null when it is stale. */
  get(handle: number): Uint8Array | null {
    const i = this.indexOf(handle);
    return i < 0 ? null : this.bufs[i];
  }

  /** Whether `handle` is a static file's (read-only). */
  isReadOnly(handle: number): boolean {
    const i = this.indexOf(handle);
    return i >= 0 && this.readOnly[i];
  }

  /** Frees `handle`'s buffer: DEVICE_OK, DEVICE_STALE, or DEVICE_READ_ONLY for a static
   *  file. A response being written from it keeps its bytes until the write completes (the
   *  socket holds the buffer); only the bound is given back at once. */
  free(handle: number): number {
    const i = this.indexOf(handle);
    if (i < 0) return DEVICE_STALE;
    if (this.readOnly[i]) return DEVICE_READ_ONLY;
    this.region.release(this.bufs[i]!.length);
    this.bufs[i] = null;
    this.freeList.push(i);
    return DEVICE_OK;
  }

  /** The build is closed: every buffer it allocated is freed, every handle is stale. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let i = 0; i < this.bufs.length; i++) {
      const buf = this.bufs[i];
      if (buf !== null && !this.readOnly[i]) this.region.release(buf.length);
      this.bufs[i] = null;
    }
    this.opened.clear();
  }
}
