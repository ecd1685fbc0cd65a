// Socket reads and writes without per-request garbage. This is the only file that uses
// Node internals, and each use has a public-API fallback chosen once at start:
//
//   reads   fast: the socket's `onread` machinery (what `net.connect({ onread })` uses) set
//                 on an accepted socket: the kernel reads into one buffer the server owns,
//                 no Buffer per chunk, no 'data' event.
//           public: 'data' events (a Buffer per chunk).
//   writes  fast: the TCP handle's writeBuffer / writev with one WriteWrap per connection,
//                 reused for every response; a write the kernel took at once completes
//                 synchronously with no callback queued.
//           public: socket.write / cork / uncork (a write request and callback per write).
//
// `ioPath()` says which is active (tests/socket_io.test.ts reports it); ARENA_IO=public
// forces the fallback. Node's own Socket still owns the connection's lifecycle (EOF,
// errors, close, end, destroy): only the hot byte paths go around it.

import type { Socket } from "node:net";
import { assert } from "../assert.ts";

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface WriteReq {
  handle: unknown;
  oncomplete: (status: number) => void;
  async: boolean;
  bytes: number;
  buffer: unknown;
}

interface TcpHandle {
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: WriteReq, buf: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
}

type ReadCallback = (nread: number, buf: Uint8Array) => boolean | void;

let binding: StreamWrapBinding | null = null;
let kBuffer: symbol | null = null;
let kBufferCb: symbol | null = null;
let probed = false;

function probe(socket: Socket): void {
  probed = true;
  if (process.env.ARENA_IO === "public") return;
  try {
    // process.binding is deprecated for most modules but still serves stream_wrap; the
    // warning it may print is suppressed because this is deliberate and has a fallback.
    const emit = process.emitWarning;
    process.emitWarning = () => {};
    try {
      binding = (process as unknown as { binding(name: string): StreamWrapBinding }).binding("stream_wrap");
    } finally {
      process.emitWarning = emit;
    }
    for (const sym of Object.getOwnPropertySymbols(socket)) {
      if (sym.description === "kBuffer") kBuffer = sym;
      else if (sym.description === "kBufferCb") kBufferCb = sym;
    }
    const handle = (socket as unknown as { _handle: TcpHandle | null })._handle;
    if (typeof binding?.WriteWrap !== "function" || !(binding.streamBaseState instanceof Int32Array) ||
        kBuffer === null || kBufferCb === null || handle === null ||
        typeof handle.useUserBuffer !== "function" || typeof handle.writeBuffer !== "function" || typeof handle.writev !== "function") {
      binding = null;
    }
  } catch {
    binding = null;
  }
}

/** "internal" (reads into a shared buffer, reused write requests) or "public". */
export function ioPath(): "internal" | "public" | "unknown" {
  if (!probed) return "unknown";
  return binding !== null ? "internal" : "public";
}

/** Bytes the kernel may read at once into the shared buffer (one read per callback). */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Starts delivering the socket's bytes to `onRead(buf, start, end)`; the bytes are only
 * valid during the call (the buffer is shared by every connection of the server).
 * Call on a socket accepted with pauseOnConnect, before anything reads from it.
 */
export function startReading(socket: Socket, shared: Uint8Array, onRead: (buf: Uint8Array, start: number, end: number) => void): void {
  if (!probed) probe(socket);
  const handle = (socket as unknown as { _handle: TcpHandle | null })._handle;
  if (binding !== null && handle !== null) {
    const s = socket as unknown as Record<symbol, unknown>;
    s[kBuffer!] = shared;
    s[kBufferCb!] = ((nread: number, buf: Uint8Array) => {
      onRead(buf, 0, nread);
    }) satisfies ReadCallback;
    handle.useUserBuffer(shared);
  } else {
    socket.on("data", (chunk: Buffer) => onRead(chunk, 0, chunk.length));
  }
  socket.resume();
}

/**
 * Writes one or two byte ranges (views over wasm memory) as one write, and calls `done`
 * once the kernel has them (synchronously when it took them at once). One write at a time
 * per socket: a server connection's responses, or the fetch client's requests upstream.
 */
export class SocketWriter {
  private readonly socket: Socket;
  private readonly done: (err: boolean, later: boolean) => void;
  private readonly req: WriteReq | null;
  private readonly pair: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  /** A write was handed to the socket and `done` has not been called for it. A second
   *  write meanwhile would reuse the write request Node still holds, which aborts the
   *  process natively; the assert makes such a path fail as an exception instead. */
  private pending = false;
  /** Inside the completion of the reused write request, which Node still holds. */
  private completing = false;
  private readonly onPublicDone = (err?: Error | null): void => this.finished(!!err, false);

  /** `done(err, later)` is called once per write; `later` says it runs inside the completion
   *  of the socket's reused write request, which Node releases only after it returns and
   *  the microtasks after it have run: the next write must wait for the next turn of the
   *  event loop (setImmediate), or it would reuse that request too soon. */
  constructor(socket: Socket, done: (err: boolean, later: boolean) => void) {
    this.socket = socket;
    this.done = done;
    if (!probed) probe(socket);
    if (binding !== null) {
      const req = new binding.WriteWrap();
      req.oncomplete = (status: number) => {
        req.buffer = null;
        this.completing = true;
        this.finished(status < 0, true);
        this.completing = false;
      };
      this.req = req;
    } else {
      this.req = null;
    }
  }

  /** The write handed to the socket completed (or failed). */
  private finished(err: boolean, later: boolean): void {
    this.pending = false;
    this.done(err, later);
  }

  /** Marks a write as handed to the socket; there must be none in flight. */
  private begin(): void {
    assert(!this.pending, "one write at a time per socket: the previous write completed");
    assert(!this.completing, "no write from inside a write's completion: Node still holds the write request");
    this.pending = true;
  }

  /** Bytes handed to write() that the kernel has not taken yet (progress of a slow write). */
  queuedBytes(): number {
    const handle = (this.socket as unknown as { _handle: { writeQueueSize?: number } | null })._handle;
    if (this.req !== null && handle !== null && typeof handle.writeQueueSize === "number") return handle.writeQueueSize;
    return this.socket.writableLength;
  }

  write(a: Uint8Array, b: Uint8Array | null): void {
    this.begin();
    const req = this.req;
    const handle = (this.socket as unknown as { _handle: TcpHandle | null })._handle;
    if (req === null || handle === null) {
      if (b === null) {
        this.socket.write(a, this.onPublicDone);
      } else {
        // Corked so head and body leave in one writev.
        this.socket.cork();
        this.socket.write(a);
        this.socket.write(b, this.onPublicDone);
        this.socket.uncork();
      }
      return;
    }
    req.handle = handle;
    req.async = false;
    let err: number;
    if (b === null) {
      req.buffer = a; // keeps the view alive while the kernel may still need it
      err = handle.writeBuffer(req, a);
    } else {
      this.pair[0] = a;
      this.pair[1] = b;
      req.buffer = this.pair;
      err = handle.writev(req, this.pair, true);
    }
    this.started(req, err);
  }

  /** After handing `req` to the socket with status `err`: a failed write or one the kernel
   *  took at once is finished now; otherwise the kernel's buffer was full, and oncomplete
   *  runs when the write finishes. */
  private started(req: WriteReq, err: number): void {
    if (err !== 0) {
      req.buffer = null;
      this.finished(true, false);
    } else if (binding!.streamBaseState[binding!.kLastWriteWasAsync] === 0) {
      req.buffer = null;
      this.finished(false, false);
    }
  }

  /** Writes `parts` (any number of views, kept alive until `done`) as one writev: a
   *  streamed chunk is its size line, its bytes in wasm memory and a CRLF. */
  writeParts(parts: Uint8Array[]): void {
    this.begin();
    const req = this.req;
    const handle = (this.socket as unknown as { _handle: TcpHandle | null })._handle;
    if (req === null || handle === null) {
      this.socket.cork();
      for (let i = 0; i < parts.length - 1; i++) this.socket.write(parts[i]);
      this.socket.write(parts[parts.length - 1], this.onPublicDone);
      this.socket.uncork();
      return;
    }
    req.handle = handle;
    req.async = false;
    req.buffer = parts;
    this.started(req, handle.writev(req, parts, true));
  }
}
