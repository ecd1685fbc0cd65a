// Uninitialised memory: a buffer the app fills itself, without paying for zeroing first.
// Every other allocation is zeroed (runtime/arena.ts: a fresh object never shows an earlier
// request's bytes); this one is not, so its bytes can only be written until the app says
// they all are (`assumeInit`), and only then read.

/**
 * A byte buffer in the current region that is not zeroed: for a large buffer the app
 * overwrites completely anyway (a copy, a fill, a generated body). It can be written
 * (`set`, `write`, `fill`) but not read; `assumeInit()` declares it written and returns
 * the bytes as a `Uint8Array`. Its bytes before that are whatever the region held — which
 * may be an earlier request's — so reading them is forbidden. The check build fills it
 * with 0xAA when it is made, tracks which bytes were written, and stops the request when
 * `assumeInit` is called with a byte never written, naming where the buffer was made.
 *
 * ```ts
 * let buf = UninitBytes.alloc(rows * 16);
 * for (let i = 0; i < rows; i++) buf.write(i * 16, row(i));   // every byte, once
 * return Response.bytes(buf.assumeInit(), "application/octet-stream");
 * ```
 */
export class UninitBytes {
  /** Made by `UninitBytes.alloc`. */
  private constructor(
    private readonly buffer: ArrayBuffer,
    /** In the check build: one bit per byte, set when written; null in the release build. */
    private readonly written: Uint8Array | null,
    private readonly region: usize,
    private readonly gen: u32,
    private readonly site: string,
  ) {}

  /** An uninitialised buffer of `length` bytes in the current region (`site` is filled in
   *  by `arena build`). `let buf = UninitBytes.alloc(64 << 10);` */
  static alloc(length: i32, site: string = ""): UninitBytes {
    if (length < 0) throw new RangeError("UninitBytes.alloc: negative length");
    let region = __arena_current();
    let buffer = changetype<ArrayBuffer>(__arena_new_uninit(<usize>length, idof<ArrayBuffer>()));
    let written: Uint8Array | null = null;
    if (isDefined(ARENA_CHECK)) written = new Uint8Array((length + 7) >> 3);
    return new UninitBytes(buffer, written, region, __arena_region_gen(region), site);
  }

  /** Its size in bytes. `for (let i = 0; i < buf.length; i++) buf.set(i, 0x20);` */
  get length(): i32 {
    return this.buffer.byteLength;
  }

  /** Writes byte `value` at `index` (bounds-checked). `buf.set(0, 0x7B);` */
  set(index: i32, value: u8): void {
    // Byte by byte, the region walk would cost more than the zeroing saved: the check
    // build checks here, every build in write, fill and assumeInit.
    if (isDefined(ARENA_CHECK)) this.check();
    if (<u32>index >= <u32>this.buffer.byteLength) throw new RangeError("UninitBytes.set: index out of range");
    store<u8>(changetype<usize>(this.buffer) + <usize>index, value);
    this.mark(index, index + 1);
  }

  /** Copies `src` in at `offset` (bounds-checked). `buf.write(0, header);` */
  write(offset: i32, src: Uint8Array): void {
    this.check();
    let n = src.length;
    if (offset < 0 || <i64>offset + <i64>n > <i64>this.buffer.byteLength) throw new RangeError("UninitBytes.write: out of range");
    memory.copy(changetype<usize>(this.buffer) + <usize>offset, src.dataStart, <usize>n);
    this.mark(offset, offset + n);
  }

  /** Sets bytes [from, to) to `value`. `buf.fill(0x20, 80, 96);` */
  fill(value: u8, from: i32 = 0, to: i32 = i32.MAX_VALUE): void {
    this.check();
    let end = min(to, this.buffer.byteLength);
    if (from < 0 || from > end) throw new RangeError("UninitBytes.fill: out of range");
    memory.fill(changetype<usize>(this.buffer) + <usize>from, value, <usize>(end - from));
    this.mark(from, end);
  }

  /**
   * Declares the first `length` bytes (all, by default) written and returns them as a
   * `Uint8Array` over the same memory. In the check build a byte among them never written
   * stops the request with a message naming it.
   *
   * `return Response.bytes(buf.assumeInit(), "text/csv");`
   */
  assumeInit(length: i32 = -1): Uint8Array {
    this.check();
    let n = length < 0 ? this.buffer.byteLength : min(length, this.buffer.byteLength);
    let written = this.written;
    if (isDefined(ARENA_CHECK) && written !== null) {
      for (let i = 0; i < n; i++) {
        if (((<u32>written[i >> 3] >> <u32>(i & 7)) & 1) == 0) {
          __arena_report_uninit(<usize>i, <usize>this.buffer.byteLength, changetype<usize>(this.site));
        }
      }
    }
    return Uint8Array.wrap(this.buffer, 0, n);
  }

  /** Stops the request when the region the buffer was made in is gone (the memory may
   *  already be another object's). */
  private check(): void {
    if (!__arena_region_live(this.region, this.gen)) __arena_report_disposed(0, changetype<usize>(this.site));
  }

  /** Records bytes [from, to) as written (check build only). */
  private mark(from: i32, to: i32): void {
    let written = this.written;
    if (!isDefined(ARENA_CHECK) || written === null) return;
    for (let i = from; i < to; i++) written[i >> 3] |= <u8>(<u32>1 << <u32>(i & 7));
  }
}
