// The shared region: memory every worker of one server reaches (the seed's
// `region.shared()`: multi-thread access, atomics only). It lives outside every app's wasm
// memory, on one SharedArrayBuffer the primary makes and hands to each worker; apps reach
// it only through effects (host/effects/shared.ts) that copy into the caller's arena.
//
// SKELETON: the API the server and the workers use; the implementation is being written.

export interface SharedRegionOptions {
  /** Bytes of the region (--shared-bytes), 0 for none. */
  bytes?: number;
}

export class SharedRegion {
  /** The memory itself: what a worker receives to attach(). */
  readonly buffer: SharedArrayBuffer;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
  }

  /** A new, empty region (the primary, or a single-instance server). */
  static create(options: SharedRegionOptions = {}): SharedRegion {
    return new SharedRegion(new SharedArrayBuffer(Math.max(8, options.bytes ?? 0)));
  }

  /** The region made by create() in another thread, from its buffer. */
  static attach(buffer: SharedArrayBuffer): SharedRegion {
    return new SharedRegion(buffer);
  }
}
