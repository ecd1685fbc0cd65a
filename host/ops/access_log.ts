// The access log: one JSON line per finished request,
//   {"time","method","path","status","bytes","duration_ms","arena_bytes","id","worker","route","code"}
// formatted byte by byte into a preallocated buffer (no string or object per request) and
// written with fs.write on one fd, opened once, every ACCESS_LOG_FLUSH_MS or when the buffer
// fills. There are two buffers: lines go into one while the other is being written. If
// both are full (the disk or the reader of stdout is slower than the requests), a line is
// dropped and counted (`dropped`, exported as arena_access_log_dropped_lines_total)
// instead of the worker waiting or its memory growing.
//
// Several workers can share one target: a file is opened append-only (O_APPEND: each
// write lands whole at the end), and every write holds whole lines. On stdout (a pipe, most
// often) a write is at most ACCESS_LOG_LINE_BYTES_MAX, PIPE_BUF, so it is atomic too.

import fs from "node:fs";
import { ArenaError } from "../errors.ts";
import type { FinishedRequest } from "../http/observer.ts";
import { REQ_METHOD_LEN, REQ_METHOD_PTR, REQ_PATH_LEN, REQ_PATH_PTR } from "../abi/constants.ts";
import { ACCESS_LOG_BUFFER_BYTES, ACCESS_LOG_FLUSH_MS, ACCESS_LOG_LINE_BYTES_MAX, ACCESS_LOG_PATH_BYTES_MAX } from "../limits.ts";
import { ascii, bytes, IsoTime, jsonBytes, thousandths, uint } from "./line_bytes.ts";

/** Method bytes an access log line carries: a longer method is cut (methods are short). */
const METHOD_BYTES_MAX = 32;
/** Wait before writing again after the target said EAGAIN (stdout is a full pipe). */
const RETRY_MS = 10;
const NEWLINE = 0x0a;

export class AccessLog {
  /** Lines dropped because both buffers were full or a write failed. */
  dropped = 0;
  /** The last write error, or null: lines are dropped while the target refuses them. */
  lastError: Error | null = null;
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private readonly bufs = [Buffer.allocUnsafe(ACCESS_LOG_BUFFER_BYTES), Buffer.allocUnsafe(ACCESS_LOG_BUFFER_BYTES)];
  private active = 0;
  private fill = 0;
  /** The other buffer is being written. */
  private writing = false;
  /** Largest write: whole lines up to PIPE_BUF on stdout, a whole buffer to a file. */
  private readonly chunkMax: number;
  private readonly time = new IsoTime();
  private readonly workerField: Uint8Array;
  private readonly timer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;
  private written: (() => void) | null = null;

  private constructor(fd: number, ownsFd: boolean, worker: number) {
    this.fd = fd;
    this.ownsFd = ownsFd;
    this.chunkMax = ownsFd ? ACCESS_LOG_BUFFER_BYTES : ACCESS_LOG_LINE_BYTES_MAX;
    this.workerField = Buffer.from(`,"worker":${worker},"route":`, "latin1");
    this.timer = setInterval(() => this.flush(), ACCESS_LOG_FLUSH_MS);
    this.timer.unref();
  }

  /** The access log of worker `worker` (its number in each line) to `target`: "-" for
   *  stdout, else a file opened for appending (created when missing). Throws ArenaError
   *  ARENA_E_CONFIG when the file cannot be opened. */
  static open(target: string, worker: number): AccessLog {
    if (target === "-") return new AccessLog(1, false, worker);
    let fd: number;
    try {
      fd = fs.openSync(target, "a");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ArenaError("ARENA_E_CONFIG", `cannot open the access log ${target}: ${e.code ?? e.message}`, "give a writable file, or - for stdout");
    }
    return new AccessLog(fd, true, worker);
  }

  /** Adds the line of request `r`, which used `arenaBytes` of its arena and ran on route
   *  `route` (its JSON string, quotes included; null when it had none). */
  log(r: FinishedRequest, arenaBytes: number, route: Uint8Array | null): void {
    if (this.closing !== null) return;
    if (this.fill + ACCESS_LOG_LINE_BYTES_MAX > ACCESS_LOG_BUFFER_BYTES) {
      this.flush();
      if (this.fill + ACCESS_LOG_LINE_BYTES_MAX > ACCESS_LOG_BUFFER_BYTES) {
        this.dropped++;
        return;
      }
    }
    this.fill = this.line(this.bufs[this.active], this.fill, r, arenaBytes, route);
  }

  private line(buf: Buffer, at: number, r: FinishedRequest, arenaBytes: number, route: Uint8Array | null): number {
    at = ascii(buf, at, '{"time":"');
    at = this.time.write(buf, at);
    at = ascii(buf, at, '","method":"');
    const bridge = r.bridge;
    if (r.slot >= 0 && bridge !== null) {
      const dv = bridge.app.memory.dv;
      const desc = bridge.descriptor(r.slot);
      const methodLen = Math.min(dv.getUint32(desc + REQ_METHOD_LEN, true), METHOD_BYTES_MAX);
      at = jsonBytes(buf, at, bridge.u8, dv.getUint32(desc + REQ_METHOD_PTR, true), methodLen, at + 6 * METHOD_BYTES_MAX);
      at = ascii(buf, at, '","path":"');
      at = jsonBytes(buf, at, bridge.u8, dv.getUint32(desc + REQ_PATH_PTR, true), dv.getUint32(desc + REQ_PATH_LEN, true),
        at + ACCESS_LOG_PATH_BYTES_MAX);
    } else {
      at = ascii(buf, at, '-","path":"-');
    }
    at = ascii(buf, at, '","status":');
    at = uint(buf, at, r.status);
    at = ascii(buf, at, ',"bytes":');
    at = uint(buf, at, r.bytes);
    at = ascii(buf, at, ',"duration_ms":');
    const micros = Math.round(r.durationMs * 1000);
    const whole = Math.floor(micros / 1000);
    at = uint(buf, at, whole);
    at = thousandths(buf, at, micros - whole * 1000);
    at = ascii(buf, at, ',"arena_bytes":');
    at = uint(buf, at, arenaBytes);
    at = ascii(buf, at, ',"id":');
    at = uint(buf, at, r.id);
    at = bytes(buf, at, this.workerField);
    at = route === null ? ascii(buf, at, "null") : bytes(buf, at, route);
    at = ascii(buf, at, ',"code":');
    if (r.code === null) {
      at = ascii(buf, at, "null");
    } else {
      buf[at++] = 0x22;
      at = ascii(buf, at, r.code);
      buf[at++] = 0x22;
    }
    buf[at++] = 0x7d; // "}"
    buf[at++] = NEWLINE;
    return at;
  }

  /** Starts writing the lines gathered so far, unless a write is in progress (its end
   *  starts the next one when lines are waiting). */
  /** A write is in progress (its lines are on their way to the target). */
  get flushing(): boolean {
    return this.writing;
  }

  flush(): void {
    if (this.writing || this.fill === 0) return;
    const buf = this.bufs[this.active];
    const end = this.fill;
    this.active ^= 1;
    this.fill = 0;
    this.writing = true;
    this.writeFrom(buf, 0, end);
  }

  /** Writes buf[off, end) in chunks of whole lines, then frees the buffer. */
  private writeFrom(buf: Buffer, off: number, end: number): void {
    if (off >= end) {
      this.writing = false;
      if (this.fill > 0 && this.closing !== null) this.flush();
      if (!this.writing) {
        const done = this.written;
        this.written = null;
        done?.();
      }
      return;
    }
    // The last whole line within chunkMax (after a short write, `off` may be inside a line).
    let stop = end - off <= this.chunkMax ? end : buf.lastIndexOf(NEWLINE, off + this.chunkMax - 1) + 1;
    if (stop <= off) stop = Math.min(end, off + this.chunkMax);
    fs.write(this.fd, buf, off, stop - off, null, (err, n) => {
      if (err === null) {
        this.writeFrom(buf, off + n, end);
      } else if (err.code === "EAGAIN") {
        setTimeout(() => this.writeFrom(buf, off, end), RETRY_MS);
      } else {
        this.lastError = err;
        this.dropped += countLines(buf, off, end);
        this.writeFrom(buf, end, end);
      }
    });
  }

  /** Writes every line gathered, then closes the file (stdout stays open). Lines logged
   *  after close() are not written. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    clearInterval(this.timer);
    this.closing = (async () => {
      for (;;) {
        this.flush();
        if (!this.writing) break;
        await new Promise<void>((resolve) => (this.written = resolve));
      }
      if (this.ownsFd) fs.closeSync(this.fd);
    })();
    return this.closing;
  }
}

function countLines(buf: Buffer, off: number, end: number): number {
  let n = 0;
  for (let i = off; i < end; i++) if (buf[i] === NEWLINE) n++;
  return n;
}
