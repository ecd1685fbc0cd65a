// Connection buffers, lent out while a connection has bytes in progress and returned when
// it has none, so an idle keep-alive connection holds no buffer at all. A connection uses
// at most two at once: one for the request head it is reading (and a small body read
// before a slot is taken), one for bytes that arrived behind a request still in progress
// (pipelining). Returned buffers are kept for reuse up to CONNECTION_BUFFERS_KEPT_MAX, so
// steady load allocates none.

import { CONNECTION_BUFFERS_KEPT_MAX, HEADER_BYTES_MAX } from "../limits.ts";
import { assert } from "../assert.ts";

/** Size of every pooled buffer: a whole request head fits one. */
export const CONNECTION_BUFFER_BYTES = HEADER_BYTES_MAX;

export class BufferPool {
  private readonly free: Uint8Array[] = [];
  /** Buffers lent and not returned yet (for stats and tests). */
  lent = 0;

  take(): Uint8Array {
    this.lent++;
    return this.free.pop() ?? new Uint8Array(CONNECTION_BUFFER_BYTES);
  }

  /** Takes back a buffer from `take`; one of another size (a rare oversized stash on the
   *  public I/O path) is simply dropped. */
  give(buf: Uint8Array): void {
    if (buf.length !== CONNECTION_BUFFER_BYTES) return;
    this.lent--;
    assert(this.lent >= 0, "a connection buffer is returned once");
    if (this.free.length < CONNECTION_BUFFERS_KEPT_MAX) this.free.push(buf);
  }

  get kept(): number {
    return this.free.length;
  }
}
