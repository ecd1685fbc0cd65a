// Streaming responses: the handler sends the head first and then the body in pieces, as it
// makes them (a large export, progress, live updates). Each write suspends the request
// (JSPI) only while the client is slower than the handler: it returns once the socket has
// taken the bytes, so a stream never buffers more than one piece, and the handler learns
// from its result that the client left. docs/abi.md, "Streaming responses", has the rules.

import { EFFECT_OK, REGION_HEADER_BYTES, RES_HEADERS_LEN, RES_HEADERS_PTR, RES_STATUS } from "./abi";
import { mayWait, RUN_CANNOT_WAIT } from "./wait";
import { ByteWriter } from "./bytes";
import { Request } from "./request";
import { Response } from "./response";

// @ts-ignore: decorator
@external("arena", "stream_start")
declare function hostStreamStart(status: i32, headersPtr: usize, headersLen: usize): i32;

// @ts-ignore: decorator
@external("arena", "stream_write")
declare function hostStreamWrite(ptr: usize, len: usize): i32;

/** What a stream's start and writes answer (the effect statuses they can be).
 *  `if (s.write(line) != StreamStatus.Ok) return s.end();` */
export enum StreamStatus {
  /** The head or the bytes are on their way to the client. */
  Ok = 0,
  /** The client left (or the server is shutting down, or the request is a HEAD: nothing
   *  more is sent); the handler should stop and `return s.end()`. */
  Cancelled = 8,
  /** The stream could not start: as many streams are open as the server allows, or it was
   *  started outside a request. The host answers 503 ARENA_E_STREAMS itself. */
  Refused = 9,
  /** A second start, a write before the start, or a head the host refused (it answers 500
   *  ARENA_E_RESPONSE and logs why). */
  BadArgument = 11,
}

/**
 * A response whose body is written in pieces while the handler runs. `Stream.start` sends
 * the head; each `write` sends a piece (HTTP/1.1 chunked encoding; an HTTP/1.0 client gets
 * a body that ends when the connection closes) and returns `StreamStatus.Ok`, or why the
 * handler should stop; the handler ends with `return s.end()`, which sends the last chunk.
 *
 * The head goes out at the start, so what the handler returns after it is not sent, and
 * `after` hooks cannot change it. Every piece is bytes in the request's arena, which a
 * stream keeps for its life: a long stream writes from reused bytes (`writeFrom` a
 * ByteWriter it `clear()`s, `write` of a string reuses one) and ends itself when
 * `arenaRoom` runs low. A write checks the request's CPU budget and starts it afresh: the
 * budget applies to the work between two writes.
 *
 * ```ts
 * function exportCsv(req: Request): Response {
 *   const s = Stream.start(req, 200, "text/csv");
 *   for (let i = 0; i < 1000 && s.ok; i++) s.write(i.toString() + "," + (i * i).toString() + "\n");
 *   return s.end();
 * }
 * ```
 */
export class Stream {
  /** Ok while the stream is open, else why it stopped. `if (s.status == StreamStatus.Cancelled) return s.end();` */
  status: StreamStatus;
  private scratch: ByteWriter | null = null;
  private readonly httpStatus: i32;

  private constructor(status: StreamStatus, httpStatus: i32) {
    this.status = status;
    this.httpStatus = httpStatus;
  }

  /** Sends a head with `status` and `contentType` and returns the stream.
   *  `const s = Stream.start(req, 200, "text/plain; charset=utf-8");` */
  static start(req: Request, status: i32 = 200, contentType: string = "text/plain; charset=utf-8"): Stream {
    return Stream.startWith(req, new Response(status).header("Content-Type", contentType));
  }

  /** Sends the head of `res` (its status and headers; its body is not sent) and returns
   *  the stream. `Stream.startWith(req, new Response(200).header("Content-Type", "text/csv").header("Cache-Control", "no-store"))` */
  static startWith(req: Request, res: Response): Stream {
    if (!mayWait()) return new Stream(StreamStatus.Refused, res.status);
    // The response's fields go where a returned response's would, and the host reads the
    // head from there (the request descriptor follows the region header).
    let desc = __arena_request_region() + <usize>REGION_HEADER_BYTES;
    res.writeTo(desc);
    let region = __arena_current();
    let st = hostStreamStart(<i32>load<u32>(desc + RES_STATUS), <usize>load<u32>(desc + RES_HEADERS_PTR), <usize>load<u32>(desc + RES_HEADERS_LEN));
    // Other requests may have run while the head was sent: re-enter this request's arena.
    __arena_switch(region);
    return new Stream(<StreamStatus>st, res.status);
  }

  /** True while writes may go on. `while (s.ok) { … }` */
  get ok(): bool {
    return this.status == StreamStatus.Ok;
  }

  /** Bytes left in the current region (the request's arena, or a Scratch entered), which
   *  a stream keeps for its life: a long one ends itself when this runs low. `if (s.arenaRoom < 64 * 1024) return s.end();` */
  get arenaRoom(): usize {
    return __arena_room();
  }

  /** Sends `text` as UTF-8, from one buffer the stream reuses. `s.write("line\n")` */
  write(text: string): StreamStatus {
    let w = this.scratch;
    if (w === null) {
      // Made where the stream lives: a Scratch entered later would take it away.
      let saved = __arena_owner_enter(changetype<usize>(this));
      w = new ByteWriter(256);
      __arena_switch(saved);
      this.scratch = w;
    }
    w.clear().str(text);
    return this.send(w.dataStart, <usize>w.length);
  }

  /** Sends `b` (copied first when it lives in the heap, which other requests may change
   *  meanwhile). `s.writeBytes(chunk)` */
  writeBytes(b: Uint8Array): StreamStatus {
    if (__arena_in_heap(b.dataStart)) {
      let w = this.scratch;
      if (w === null) {
        let saved = __arena_owner_enter(changetype<usize>(this));
        w = new ByteWriter(b.length);
        __arena_switch(saved);
        this.scratch = w;
      }
      w.clear().bytes(b);
      return this.send(w.dataStart, <usize>w.length);
    }
    return this.send(b.dataStart, <usize>b.length);
  }

  /** Sends what `w` holds; `w` may be cleared and reused as soon as this returns.
   *  `s.writeFrom(w); w.clear();` */
  writeFrom(w: ByteWriter): StreamStatus {
    return this.send(w.dataStart, <usize>w.length);
  }

  private send(ptr: usize, len: usize): StreamStatus {
    if (this.status != StreamStatus.Ok) return this.status;
    if (__arena_in_run_scope()) abort(RUN_CANNOT_WAIT);
    if (len == 0) return StreamStatus.Ok;
    let region = __arena_current();
    let st = hostStreamWrite(ptr, len);
    __arena_switch(region);
    if (st != EFFECT_OK) this.status = <StreamStatus>st;
    return this.status;
  }

  /** Ends the stream: the handler returns this, and the host sends the last chunk (or the
   *  error it answers for a stream that could not start). `return s.end();` */
  end(): Response {
    if (this.status == StreamStatus.Ok) this.status = StreamStatus.Cancelled;
    return new Response(this.httpStatus);
  }
}
