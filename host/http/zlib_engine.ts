// One reusable compressor (gzip or brotli) that writes a whole body, compressed, into a
// range of memory the caller gives it, without allocating. node:zlib's sync functions
// (gzipSync, brotliCompressSync) make a stream object, fresh native state and output
// buffers on every call and close them after; this keeps one stream per server and drives
// its native handle the way those functions do inside (`_handle.writeSync` with the finish
// flag, the result in `_writeState`), then resets it for the next body.
//
// Brotli's handle forgets its quality on reset() (it recreates the encoder with the
// defaults: quality 11, nodejs/node#66156), so a brotli engine is initialised again with
// its parameters instead. Where the handle is not there (another Node), the public sync
// functions are used and their output copied: the same bytes, with their garbage.

import zlib from "node:zlib";
import { COMPRESS_BODY_BYTES_MAX } from "../limits.ts";

/** Brotli's window: the smallest that holds the largest body compressed (a larger one finds
 *  nothing more to refer back to), which makes the encoder's tables smaller and its start
 *  cheaper than the default 4 MiB window (bench/compress.ts). */
const BROTLI_LGWIN = Math.max(16, Math.ceil(Math.log2(COMPRESS_BODY_BYTES_MAX)));

/** The parts of a zlib stream's native handle this file uses (as Node's own zlib module drives it). */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  init(params: Uint32Array, writeState: Uint32Array, processCallback: () => void): void;
}

interface ZlibInternals {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
  _finishFlushFlag: number;
}

export type Coding = "gzip" | "br";

function noop(): void {}

export class ZlibEngine {
  readonly coding: Coding;
  private stream: zlib.Gzip | zlib.BrotliCompress;
  private handle: ZlibHandle | null = null;
  private state: Uint32Array = new Uint32Array(2);
  private finish = 0;
  /** Brotli's parameters as its handle's init() takes them (0xffffffff: the default). */
  private readonly brotliParams: Uint32Array;
  private readonly options: zlib.ZlibOptions | zlib.BrotliOptions;

  /** `level`: the gzip level (1-9) or the brotli quality (0-11). `usePublic` forces the
   *  public functions (tests compare both paths). */
  constructor(coding: Coding, level: number, usePublic = false) {
    this.coding = coding;
    this.brotliParams = new Uint32Array(zlib.constants.BROTLI_PARAM_LARGE_WINDOW + 1).fill(0xffffffff);
    this.brotliParams[zlib.constants.BROTLI_PARAM_QUALITY] = level;
    this.brotliParams[zlib.constants.BROTLI_PARAM_MODE] = zlib.constants.BROTLI_MODE_TEXT;
    this.brotliParams[zlib.constants.BROTLI_PARAM_LGWIN] = BROTLI_LGWIN;
    const c = zlib.constants;
    this.options = coding === "gzip" ? { level } : {
      params: { [c.BROTLI_PARAM_QUALITY]: level, [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_TEXT, [c.BROTLI_PARAM_LGWIN]: BROTLI_LGWIN },
    };
    this.stream = this.open(usePublic);
  }

  /** "handle" when the native handle is driven directly, else "public". */
  get path(): "handle" | "public" {
    return this.handle !== null ? "handle" : "public";
  }

  private open(usePublic: boolean): zlib.Gzip | zlib.BrotliCompress {
    const stream = this.coding === "gzip" ? zlib.createGzip(this.options) : zlib.createBrotliCompress(this.options);
    // A failed write destroys the stream with an 'error' event; `compress` notices.
    stream.on("error", noop);
    const z = stream as unknown as ZlibInternals;
    const h = z._handle;
    const ok = !usePublic && h !== null && typeof h.writeSync === "function" && typeof h.reset === "function" &&
      typeof h.init === "function" && z._writeState instanceof Uint32Array && typeof z._finishFlushFlag === "number";
    this.handle = ok ? h : null;
    if (ok) {
      this.state = z._writeState;
      this.finish = z._finishFlushFlag;
    }
    return stream;
  }

  /**
   * Compresses input[from, from + len) into out[at, at + room) and returns the compressed
   * length, or -1 when it does not fit in `room` bytes (the caller then sends the body as
   * it is). Synchronous: it runs on the event loop for the body's whole length.
   */
  compress(input: Uint8Array, from: number, len: number, out: Uint8Array, at: number, room: number): number {
    if (this.handle === null) return this.compressPublic(input, from, len, out, at, room);
    const h = this.handle;
    let n = -1;
    try {
      h.writeSync(this.finish, input, from, len, out, at, room);
      // Done when all input is taken and output room is left (the test node:zlib's own sync path makes).
      if (this.state[1] === 0 && this.state[0] > 0) n = room - this.state[0];
    } catch {
      n = -1;
    }
    if (this.stream.destroyed) {
      this.stream = this.open(false); // an error closed it: start a new one
      return -1;
    }
    if (this.coding === "gzip") h.reset();
    else h.init(this.brotliParams, this.state, noop);
    return n;
  }

  private compressPublic(input: Uint8Array, from: number, len: number, out: Uint8Array, at: number, room: number): number {
    const src = input.subarray(from, from + len);
    const res = this.coding === "gzip" ? zlib.gzipSync(src, this.options) : zlib.brotliCompressSync(src, this.options);
    if (res.length >= room) return -1;
    out.set(res, at);
    return res.length;
  }

  /** Frees the native state. */
  close(): void {
    this.stream.close();
  }
}
