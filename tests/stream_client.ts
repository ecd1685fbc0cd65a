// A raw HTTP client for the streaming tests (tests/stream.test.ts, tests/sse.test.ts): the
// bytes a server sent so far, and a strict decoder of chunked bodies.

import assert from "node:assert/strict";
import net from "node:net";
import { waitFor } from "./helpers.ts";

/** A raw client: what the server sent so far, and whether it closed. */
export class RawClient {
  readonly socket: net.Socket;
  bytes = Buffer.alloc(0);
  closed = false;

  constructor(port: number, request: string) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => { this.bytes = Buffer.concat([this.bytes, d]); });
    this.socket.on("close", () => { this.closed = true; });
    this.socket.on("error", () => { /* 'close' follows */ });
    this.socket.write(request);
  }

  get text(): string {
    return this.bytes.toString("latin1");
  }

  async until(cond: (text: string) => boolean, ms = 5000): Promise<string> {
    await waitFor(() => cond(this.text) || this.closed, ms);
    assert.ok(cond(this.text), `not seen in ${JSON.stringify(this.text.slice(0, 400))}`);
    return this.text;
  }
}

/** The head and the body bytes of one response in `text` (latin1). */
export function split(text: string): { head: string; body: string } {
  const at = text.indexOf("\r\n\r\n");
  assert.ok(at > 0, "a complete head");
  return { head: text.slice(0, at + 4), body: text.slice(at + 4) };
}

/** Decodes a chunked body strictly; returns the data, the chunk sizes and what follows. */
export function dechunk(body: string): { data: string; sizes: number[]; rest: string; complete: boolean } {
  let i = 0;
  let data = "";
  const sizes: number[] = [];
  for (;;) {
    const eol = body.indexOf("\r\n", i);
    if (eol < 0) return { data, sizes, rest: body.slice(i), complete: false };
    const line = body.slice(i, eol);
    assert.match(line, /^[0-9a-f]+$/, `a chunk size line: ${JSON.stringify(line)}`);
    const size = parseInt(line, 16);
    if (size === 0) {
      assert.equal(body.slice(eol + 2, eol + 4), "\r\n", "no trailers after the last chunk");
      return { data, sizes, rest: body.slice(eol + 4), complete: true };
    }
    if (body.length < eol + 2 + size + 2) return { data, sizes, rest: body.slice(i), complete: false };
    data += body.slice(eol + 2, eol + 2 + size);
    assert.equal(body.slice(eol + 2 + size, eol + 4 + size), "\r\n", "CRLF after a chunk's data");
    sizes.push(size);
    i = eol + 4 + size;
  }
}

