// The device region (the seed's `region.device(id)`): buffers the host keeps outside the
// app's wasm memory, addressed by handle (host/memory/device_region.ts). The static files
// of `arena serve --static DIR` are there, and so are the buffers an app allocates for big
// blobs it keeps across requests (a rendered report, a generated image, an upload): they
// do not count against the 4 GiB of wasm32, only against --device-bytes. The app never
// addresses their bytes: `read` copies a range into the current region, `write` copies
// bytes out, and `Response.device` sends a whole buffer as a response body straight from
// the host's memory. Every failure is a value (DeviceStatus), never a trap.
//
// A handle is an i64 (> 0; a negative number is a failed call's -DeviceStatus), an f64 at
// the ABI: keep it in a module-level variable or a Store like any number. It stays valid
// across requests until `free`, in the worker that made it; a freed handle, one from
// before a reload or from another worker answers Stale, never another buffer's bytes (no
// two buffers of a server ever get the same handle).

import { DEVICE_BAD_ARGUMENT, DEVICE_NO_ROOM, DEVICE_OK } from "./abi";

// @ts-ignore: decorator
@external("arena", "device_open")
declare function hostOpen(pathPtr: usize, pathLen: usize): f64;
// @ts-ignore: decorator
@external("arena", "device_size")
declare function hostSize(handle: f64): i32;
// @ts-ignore: decorator
@external("arena", "device_alloc")
declare function hostAlloc(size: i32): f64;
// @ts-ignore: decorator
@external("arena", "device_read")
declare function hostRead(handle: f64, offset: i32, dstPtr: usize, len: i32): i32;
// @ts-ignore: decorator
@external("arena", "device_write")
declare function hostWrite(handle: f64, offset: i32, srcPtr: usize, len: i32): i32;
// @ts-ignore: decorator
@external("arena", "device_free")
declare function hostFree(handle: f64): i32;

/** Bytes of the region an object header and alignment may take besides a read's bytes. */
// @ts-ignore: decorator
@inline const READ_OVERHEAD_BYTES: usize = 64;

/**
 * What a device call answered: `Ok`, or why it failed. Calls that return a handle or a size
 * return `-status` instead.
 *
 * ```ts
 * let h = Device.alloc(1 << 20);
 * if (h < 0) return Response.text("device region full: " + Device.statusName(<DeviceStatus>(-h)) + "\n", 503);
 * ```
 */
export enum DeviceStatus {
  /** Done. */
  Ok = 0,
  /** The handle was freed, is from before a reload, or was never given. */
  Stale = 1,
  /** The offset and length are outside the buffer, or the size is over 1 GiB. */
  Range = 2,
  /** --device-bytes, or the 4096 handles of this build, are used up. */
  Full = 3,
  /** No static file at that path (`arena serve --static DIR`). */
  Absent = 4,
  /** The handle is a static file's: it cannot be written or freed. */
  ReadOnly = 5,
  /** The bytes passed are not the caller's to pass (a platform bug when the SDK made them). */
  BadArgument = 6,
  /** What was asked to read does not fit what is left of the current arena. */
  NoRoom = 7,
}

/**
 * Buffers in host memory outside the app's wasm memory, by handle. Copy in with `write`,
 * out with `read`, send with `Response.device`, give back with `free`.
 *
 * ```ts
 * let report: i64 = 0; // a handle, kept across requests
 *
 * function build(req: Request): Response {
 *   let bytes = req.body;
 *   let h = Device.alloc(bytes.length);
 *   if (h < 0) return Response.text("no room\n", 503);
 *   Device.write(h, 0, bytes);
 *   if (report > 0) Device.free(report);
 *   report = h;
 *   return new Response(204);
 * }
 *
 * function show(req: Request): Response {
 *   return report > 0 ? Response.device(report, "application/pdf") : Response.text("none yet\n", 404);
 * }
 * ```
 */
export class Device {
  /** What the last `read` answered (Ok when it returned bytes). `if (Device.status == DeviceStatus.Stale) …` */
  static status: DeviceStatus = DeviceStatus.Ok;

  /**
   * The handle of the static file `path` names (a URL path of `--static`, "/style.css"),
   * read-only; or `-DeviceStatus.Absent`. The same path gives the same handle.
   * `const logo = Device.open("/logo.png"); // at start-up`
   */
  static open(path: string): i64 {
    let buf = String.UTF8.encode(path);
    return <i64>hostOpen(changetype<usize>(buf), <usize>buf.byteLength);
  }

  /**
   * A new buffer of `size` bytes, zeroed: its handle (> 0), or `-DeviceStatus.Full` when
   * --device-bytes (or the build's handles) are used up, `-DeviceStatus.Range` over 1 GiB.
   * `let h = Device.alloc(16 << 20); if (h < 0) return Response.text("busy\n", 503);`
   */
  static alloc(size: i32): i64 {
    return <i64>hostAlloc(size);
  }

  /** The size of a buffer in bytes, or `-DeviceStatus.Stale`. `let n = Device.size(h);` */
  static size(handle: i64): i32 {
    return hostSize(<f64>handle);
  }

  /**
   * Copies bytes [offset, offset + len) of the buffer into a new Uint8Array in the current
   * region, or returns null with `Device.status` saying why (Stale, Range, NoRoom when the
   * arena has no room for them: nothing is allocated then).
   * `let head = Device.read(h, 0, 512); if (head === null) return Response.text("gone\n", 410);`
   */
  static read(handle: i64, offset: i32, len: i32): Uint8Array | null {
    if (len < 0) {
      Device.status = DeviceStatus.Range;
      return null;
    }
    if (<usize>len + READ_OVERHEAD_BYTES > __arena_room()) {
      Device.status = <DeviceStatus>DEVICE_NO_ROOM;
      return null;
    }
    let out = new Uint8Array(len);
    let s = hostRead(<f64>handle, offset, out.dataStart, len);
    Device.status = <DeviceStatus>s;
    if (s == DEVICE_BAD_ARGUMENT) abort("assert: the host refused the buffer of Device.read (a platform bug)");
    return s == DEVICE_OK ? out : null;
  }

  /**
   * Copies `bytes` into the buffer at `offset`: Ok, Stale, Range (past its end) or
   * ReadOnly (a static file). `Device.write(h, 0, chunk);`
   */
  static write(handle: i64, offset: i32, bytes: Uint8Array): DeviceStatus {
    let ptr = bytes.dataStart;
    let len = bytes.length;
    // The heap region is not the host's to read (another request may free it): copy first.
    if (__arena_in_heap(ptr)) {
      let copy = new Uint8Array(len);
      memory.copy(copy.dataStart, ptr, <usize>len);
      ptr = copy.dataStart;
    }
    return <DeviceStatus>hostWrite(<f64>handle, offset, ptr, len);
  }

  /**
   * Frees the buffer: Ok, Stale (freed already), ReadOnly (a static file). Its handle is
   * stale from now on; a response already being sent from it still gets every byte.
   * `Device.free(h);`
   */
  static free(handle: i64): DeviceStatus {
    return <DeviceStatus>hostFree(<f64>handle);
  }

  /** The name of a status, for messages. `Device.statusName(DeviceStatus.Full) // "Full"` */
  static statusName(s: DeviceStatus): string {
    switch (s) {
      case DeviceStatus.Ok: return "Ok";
      case DeviceStatus.Stale: return "Stale";
      case DeviceStatus.Range: return "Range";
      case DeviceStatus.Full: return "Full";
      case DeviceStatus.Absent: return "Absent";
      case DeviceStatus.ReadOnly: return "ReadOnly";
      case DeviceStatus.NoRoom: return "NoRoom";
      default: return "BadArgument";
    }
  }
}
