// The device-region effects: the `arena.device_*` imports through which an app opens a
// static file, allocates, fills, reads and frees buffers in host memory outside its wasm
// memory (host/memory/device_region.ts). Bytes cross only by explicit copies: a read copies
// a range of a device buffer into the caller's memory, a write copies the other way. They
// answer at once (plain imports, never a wait), in start-up code as in a request. Every
// (ptr, len) is checked against the calling request's arena and the startup region before
// a byte moves; a bad one is DEVICE_BAD_ARGUMENT, and stale, out of range and full are
// statuses too: nothing here traps.

import {
  DEVICE_ABSENT as ABI_ABSENT, DEVICE_BAD_ARGUMENT, DEVICE_FULL as ABI_FULL, DEVICE_OK as ABI_OK, DEVICE_RANGE as ABI_RANGE,
  DEVICE_READ_ONLY as ABI_READ_ONLY, DEVICE_STALE as ABI_STALE,
} from "../abi/constants.ts";
import type { Caller } from "../abi/caller.ts";
import { assert } from "../assert.ts";
import type { AppMemory } from "../memory/app_memory.ts";
import {
  DEVICE_ABSENT, DEVICE_FULL, DEVICE_OK, DEVICE_RANGE, DEVICE_READ_ONLY, DEVICE_STALE, type DeviceTable,
} from "../memory/device_region.ts";

// The table answers the ABI's numbers, so nothing is mapped on the way out.
assert(DEVICE_OK === ABI_OK && DEVICE_STALE === ABI_STALE && DEVICE_RANGE === ABI_RANGE && DEVICE_FULL === ABI_FULL &&
  DEVICE_ABSENT === ABI_ABSENT && DEVICE_READ_ONLY === ABI_READ_ONLY, "the device table's statuses are the ABI's DEVICE_* statuses");

/** Longest static path device_open takes, in bytes (a URL path; URI_BYTES_MAX is larger
 *  than any file name a folder holds). */
const OPEN_PATH_BYTES_MAX = 4096;

const utf8 = new TextDecoder("utf-8", { fatal: false });

export class DeviceEffects {
  private readonly memory: AppMemory;
  private readonly caller: Caller;
  readonly table: DeviceTable;

  constructor(memory: AppMemory, caller: Caller, table: DeviceTable) {
    this.memory = memory;
    this.caller = caller;
    this.table = table;
  }

  /** Whether the caller may read or write [ptr, ptr + len). */
  private valid(ptr: number, len: number): boolean {
    return this.memory.validRange(this.caller.current().slot, ptr >>> 0, len >>> 0);
  }

  /** The bytes of `handle` when [offset, offset + len) is inside them: the buffer, or the
   *  negated status (stale, out of range). */
  private range(handle: number, offset: number, len: number): Uint8Array | number {
    const buf = this.table.get(handle);
    if (buf === null) return -DEVICE_STALE;
    if (offset < 0 || len < 0 || offset + len > buf.length) return -DEVICE_RANGE;
    return buf;
  }

  imports(): Record<string, unknown> {
    const table = this.table;
    return {
      // Handles are integers below 2^53, passed as f64 (device_region.ts says why).
      // device_open(pathPtr, pathLen) -> the handle (> 0) of the static file at that URL
      // path ("/style.css"), read-only, or -DEVICE_ABSENT, -DEVICE_FULL, -DEVICE_BAD_ARGUMENT.
      device_open: (pathPtr: number, pathLen: number): number => {
        if ((pathLen >>> 0) > OPEN_PATH_BYTES_MAX || !this.valid(pathPtr, pathLen)) return -DEVICE_BAD_ARGUMENT;
        const at = pathPtr >>> 0;
        return table.open(utf8.decode(this.memory.u8.subarray(at, at + (pathLen >>> 0))));
      },
      // device_size(handle) -> the buffer's size in bytes, or -DEVICE_STALE.
      device_size: (handle: number): number => {
        const buf = table.get(handle);
        return buf === null ? -DEVICE_STALE : buf.length;
      },
      // device_alloc(size) -> the handle (> 0) of a new zeroed buffer, or -DEVICE_RANGE (over
      // DEVICE_BUFFER_BYTES_MAX), -DEVICE_FULL (--device-bytes or DEVICE_HANDLES_MAX).
      device_alloc: (size: number): number => table.alloc(size),
      // device_read(handle, offset, dstPtr, len) -> status: copies bytes [offset, offset + len)
      // of the buffer to dstPtr.
      device_read: (handle: number, offset: number, dstPtr: number, len: number): number => {
        if (!this.valid(dstPtr, len)) return DEVICE_BAD_ARGUMENT;
        const buf = this.range(handle, offset, len);
        if (typeof buf === "number") return -buf;
        this.memory.u8.set(buf.subarray(offset, offset + len), dstPtr >>> 0);
        return DEVICE_OK;
      },
      // device_write(handle, offset, srcPtr, len) -> status: copies len bytes at srcPtr into
      // the buffer at offset; DEVICE_READ_ONLY for a static file.
      device_write: (handle: number, offset: number, srcPtr: number, len: number): number => {
        if (!this.valid(srcPtr, len)) return DEVICE_BAD_ARGUMENT;
        const buf = this.range(handle, offset, len);
        if (typeof buf === "number") return -buf;
        if (table.isReadOnly(handle)) return DEVICE_READ_ONLY;
        const at = srcPtr >>> 0;
        buf.set(this.memory.u8.subarray(at, at + len), offset);
        return DEVICE_OK;
      },
      // device_free(handle) -> DEVICE_OK, DEVICE_STALE, or DEVICE_READ_ONLY (a static file).
      device_free: (handle: number): number => table.free(handle),
    };
  }
}
