// Streaming responses (Stream.start / write / end, host/http/connection.ts's stream path):
// the chunked framing byte for byte, HTTP/1.0 and HEAD, backpressure from a client that
// does not read (the writer suspends, the host buffers nothing, the send timeout closes
// it), a client that leaves mid-stream (the next write answers Cancelled and the slot comes
// back), the stream limit (503 ARENA_E_STREAMS), a trap mid-stream, and the observer told
// once per stream with its bytes. The app is tests/fixtures/streamapp.ts. A stream cancelled
// while a write is still in the kernel (the client half-closes, a reload, a shutdown), and
// a pipelined request behind a response whose write completes later, run in a server
// process of their own (tests/fixtures/stream_server.ts): each once reused the socket's
// write request too soon, which aborts the process natively and would take the test
// runner with it.

import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { FinishedRequest, type RequestObserver } from "../host/http/observer.ts";
import { buildApp, get, ROOT, startTestServer, stopChild, waitFor, type Running } from "./helpers.ts";
import { dechunk, RawClient, split } from "./stream_client.ts";

const SLOTS = 8;

class Recorder implements RequestObserver {
  readonly record = new FinishedRequest();
  readonly seen: { status: number; code: string | null; bytes: number }[] = [];
  finished(r: FinishedRequest): void {
    this.seen.push({ status: r.status, code: r.code, bytes: r.bytes });
  }
}

describe("streaming responses", () => {
  let site: Running;
  let port: number;
  const observer = new Recorder();
  before(async () => {
    site = await startTestServer({ slots: SLOTS, slotBytes: 1024 * 1024, sendTimeoutMs: 600, observer }, false, "tests/fixtures/streamapp.ts");
    port = site.port;
  });
  after(async () => {
    await site?.server.close();
  });

  const progress = async (): Promise<number[]> => (await (await fetch(`http://127.0.0.1:${port}/progress`)).text()).trim().split(" ").map(Number);

  it("sends the head, one chunk per write and the last chunk, byte for byte; the connection is kept", async () => {
    const c = new RawClient(port, get("/chunks?n=3"));
    const text = await c.until((t) => t.endsWith("0\r\n\r\n"));
    const { head, body } = split(text);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\nDate: [^\r]+\r\n\r\n$/);
    assert.equal(body, "8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n8\r\nchunk 2\n\r\n0\r\n\r\n");
    const decoded = dechunk(body);
    assert.deepEqual([decoded.data, decoded.sizes, decoded.complete], ["chunk 0\nchunk 1\nchunk 2\n", [8, 8, 8], true]);
    // Keep-alive: the next request on the same connection is answered.
    c.bytes = Buffer.alloc(0);
    c.socket.write(get("/plain"));
    await c.until((t) => t.endsWith("plain\n"));
    c.socket.destroy();
    const res = await fetch(`http://127.0.0.1:${port}/chunks?n=20`);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.equal((await res.text()).split("\n").length, 21);
  });

  it("HTTP/1.0 gets a body that ends when the connection closes; HEAD gets the head only", async () => {
    const old = new RawClient(port, "GET /chunks?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await waitFor(() => old.closed, 5000);
    const { head, body } = split(old.text);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(head, /Transfer-Encoding|Content-Length/i);
    assert.match(head, /\r\nConnection: close\r\n/);
    assert.equal(body, "chunk 0\nchunk 1\n");

    const h = new RawClient(port, `HEAD /chunks?n=2 HTTP/1.1\r\nHost: t\r\n\r\n${get("/plain")}`);
    const text = await h.until((t) => t.endsWith("plain\n"));
    const first = text.slice(0, text.indexOf("\r\n\r\n") + 4);
    assert.match(first, /^HTTP\/1\.1 200 OK\r\n[^]*Transfer-Encoding: chunked\r\n/);
    assert.match(text.slice(first.length), /^HTTP\/1\.1 200 OK\r\n/, "the next response follows the head at once");
    h.socket.destroy();
  });

  it("a client that does not read suspends the writer (nothing piles up in the host) until the send timeout closes it", async () => {
    const before = (await progress())[1];
    const c = new RawClient(port, get("/big?n=400&kib=64")); // 25 MiB
    c.socket.pause();
    await waitFor(() => site.server.stats().streams === 1, 5000);
    // The writer stops once the kernel's buffers are full: the count stays put.
    await new Promise((r) => setTimeout(r, 200));
    const stalled = (await progress())[0];
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await progress())[0], stalled, "the writer is suspended");
    assert.ok(stalled < 400, `${stalled} pieces written`);
    // No progress for sendTimeoutMs: the connection is closed, the write Cancelled.
    await waitFor(() => site.server.stats().streams === 0 && site.server.stats().slotsFree === SLOTS, 5000);
    assert.equal((await progress())[1], before + 1, "the handler saw Cancelled");
    assert.ok(site.log.lines.some((l) => /made no progress/.test(l)), "the send timeout is logged");
    c.socket.destroy();
  });

  it("a client that reads slowly gets every byte: writes the kernel could not take at once resume the handler", async () => {
    const c = new RawClient(port, get("/big?n=160&kib=64")); // 10 MiB
    // Reads in bursts, so the socket's buffer fills again and again.
    const pump = setInterval(() => (c.socket.isPaused() ? c.socket.resume() : c.socket.pause()), 5);
    try {
      const text = await c.until((t) => t.endsWith("\r\n0\r\n\r\n"), 20_000);
      const decoded = dechunk(split(text).body);
      assert.equal(decoded.complete, true);
      assert.deepEqual([decoded.data.length, decoded.sizes.length, /^x+$/.test(decoded.data)], [160 * 65536, 160, true]);
    } finally {
      clearInterval(pump);
      c.socket.destroy();
    }
  });

  it("a client that leaves mid-stream cancels the handler's next write, and the slot comes back", async () => {
    const before = (await progress())[1];
    const c = new RawClient(port, get("/forever"));
    await c.until((t) => (t.match(/tick/g) ?? []).length >= 3);
    c.socket.destroy();
    await waitFor(() => site.server.stats().slotsFree === SLOTS && site.server.stats().streams === 0, 5000);
    assert.equal((await progress())[1], before + 1);
  });

  it("past STREAM_SLOTS_SHARE of the slots a stream is refused with 503 ARENA_E_STREAMS; other requests go on", async () => {
    const max = Math.floor(SLOTS * 0.25);
    const holders = Array.from({ length: max }, () => new RawClient(port, get("/hold?ms=5000")));
    for (const h of holders) await h.until((t) => t.includes("holding"));
    assert.equal(site.server.stats().streams, max);
    const refused = await fetch(`http://127.0.0.1:${port}/hold?ms=100`);
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { code: string }).code, "ARENA_E_STREAMS");
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/plain`)).text(), "plain\n");
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/publish?topic=hold&id=${Date.now()}`, { method: "POST" })).text(), "ok\n");
    for (const h of holders) {
      const text = await h.until((t) => t.endsWith("0\r\n\r\n"));
      assert.equal(dechunk(split(text).body).data, "holding\nreleased\n");
      h.socket.destroy();
    }
    await waitFor(() => site.server.stats().streams === 0, 5000);
  });

  it("a trap mid-stream closes the connection without the last chunk, and is logged", async () => {
    const c = new RawClient(port, get("/trap"));
    await waitFor(() => c.closed, 5000);
    const decoded = dechunk(split(c.text).body);
    assert.equal(decoded.data, "before the trap\n");
    assert.equal(decoded.complete, false, "no last chunk");
    assert.ok(site.log.lines.some((l) => /ARENA_E_TRAP.*trapped mid-stream.*mid-stream/.test(l)));
    await waitFor(() => site.server.stats().slotsFree === SLOTS, 5000);
  });

  it("the observer is told once per stream, at its end, with all its bytes", async () => {
    observer.seen.length = 0;
    const c = new RawClient(port, get("/chunks?n=2"));
    const text = await c.until((t) => t.endsWith("0\r\n\r\n"));
    c.socket.destroy();
    await waitFor(() => observer.seen.length === 1, 2000);
    assert.deepEqual(observer.seen, [{ status: 200, code: null, bytes: Buffer.byteLength(text, "latin1") }]);
  });
});

type Msg = Record<string, unknown>;

/** A server in a process of its own, and how it exited (null while it runs). */
class Child {
  readonly proc: ChildProcess;
  exit: string | null = null;
  constructor(wasm: string, options: object) {
    this.proc = fork(path.join(ROOT, "tests/fixtures/stream_server.ts"), [wasm, JSON.stringify(options)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.proc.on("exit", (code, signal) => { this.exit = `code ${code} signal ${signal}`; });
  }
  /** Sends `msg` and resolves with the reply; rejects when the process exits first. */
  ask(msg: string): Promise<Msg> {
    return new Promise((resolve, reject) => {
      if (this.exit !== null) return reject(new Error(`the server exited: ${this.exit}`));
      const onExit = () => reject(new Error(`the server exited: ${this.exit}`));
      this.proc.once("exit", onExit);
      this.proc.once("message", (m) => {
        this.proc.off("exit", onExit);
        resolve(m as Msg);
      });
      this.proc.send(msg);
    });
  }
}

describe("a stream cancelled while its write is still in the kernel", () => {
  let wasm = "";
  let child: Child;
  let port = 0;
  before(async () => {
    wasm = path.join(ROOT, "tests/.build/streamapp-child.wasm");
    fs.mkdirSync(path.dirname(wasm), { recursive: true });
    fs.writeFileSync(wasm, await buildApp("tests/fixtures/streamapp.ts"));
  });
  const start = async (options: object = {}): Promise<void> => {
    child = new Child(wasm, options);
    port = (await new Promise<Msg>((resolve) => child.proc.once("message", (m) => resolve(m as Msg)))).port as number;
  };
  afterEach(async () => {
    if (child !== undefined) await stopChild(child.proc);
  });

  /** /big's pieces written and the Cancelled answers the app saw, from this server. */
  const counts = async (): Promise<number[]> => (await (await fetch(`http://127.0.0.1:${port}/progress`)).text()).trim().split(" ").map(Number);
  const pieces = async (): Promise<number> => (await counts())[0];
  /** The server is alive, every slot and stream share came back, and it still serves. */
  const stillServes = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      const s = await child.ask("stats");
      if (s.slotsFree === s.slots && s.streams === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = await child.ask("stats");
    assert.deepEqual([s.slotsFree, s.streams], [s.slots, 0], String(s.lines));
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/plain`)).text(), "plain\n");
  };
  /** Reads slowly: a read every 10 ms, so the server's writes wait on the kernel. */
  const slowly = (c: RawClient): NodeJS.Timeout => {
    c.socket.pause();
    c.socket.on("data", () => c.socket.pause());
    return setInterval(() => c.socket.resume(), 10);
  };

  it("a client that half-closes while the writer waits on a full kernel buffer still reads a complete body; the slot comes back", { timeout: 30_000 }, async () => {
    await start();
    const c = new RawClient(port, get("/big?n=200&kib=256")); // 50 MiB
    c.socket.pause();
    // The writer is suspended: its count stays put with a piece in flight.
    let stalled = -1;
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await pieces();
      if (now > 0 && now === stalled) break;
      stalled = now;
    }
    assert.ok(stalled > 0 && stalled < 200, `${stalled} pieces written`);
    c.socket.end(); // the half-close cancels the stream; the client may still read
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exit, null, "the server is alive");
    c.socket.resume();
    await waitFor(() => c.closed, 10_000);
    const decoded = dechunk(split(c.text).body);
    assert.equal(decoded.complete, true, "the last chunk ends the body");
    assert.ok(decoded.sizes.length < 200, `${decoded.sizes.length} pieces: the stream stopped`);
    assert.equal((await counts())[1], 1, "the handler's write answered Cancelled");
    await stillServes();
  });

  it("a reload while a slow reader's write is pending ends the stream with its last chunk", { timeout: 30_000 }, async () => {
    await start();
    const c = new RawClient(port, get("/big?n=200&kib=256"));
    const pump = slowly(c);
    try {
      await c.until((t) => t.length > 1024 * 1024);
      assert.equal((await child.ask("reload")).reloaded, true);
      const text = await c.until((t) => t.endsWith("\r\n0\r\n\r\n"), 20_000);
      const decoded = dechunk(split(text).body);
      assert.ok(decoded.complete && decoded.sizes.length < 200, `${decoded.sizes.length} pieces, complete: ${decoded.complete}`);
    } finally {
      clearInterval(pump);
      c.socket.destroy();
    }
    await stillServes();
  });

  it("a graceful shutdown during a fast stream sends its last chunk and exits cleanly", { timeout: 30_000 }, async () => {
    await start();
    const c = new RawClient(port, get("/big?n=400&kib=256")); // 100 MiB, read as fast as it comes
    await c.until((t) => t.length > 4 * 1024 * 1024, 10_000);
    const closed = await child.ask("close");
    assert.equal(closed.closed, true);
    await waitFor(() => child.exit !== null && c.closed, 10_000);
    assert.equal(child.exit, "code 0 signal null");
    const decoded = dechunk(split(c.text).body);
    assert.ok(decoded.complete && decoded.sizes.length < 400, `${decoded.sizes.length} pieces, complete: ${decoded.complete}`);
  });
});

describe("a response whose write completes later, with the next request already pipelined", () => {
  it("answers the next request on the next turn, not from inside the write's completion", { timeout: 30_000 }, async () => {
    const wasm = path.join(ROOT, "tests/.build/streamapp-child.wasm");
    fs.writeFileSync(wasm, await buildApp("tests/fixtures/streamapp.ts"));
    const child = new Child(wasm, { slots: 2, slotBytes: 16 * 1024 * 1024 });
    try {
      const port = (await new Promise<Msg>((resolve) => child.proc.once("message", (m) => resolve(m as Msg)))).port as number;
      // 8 MiB is more than loopback's socket buffers take while the client does not read.
      const c = new RawClient(port, get("/large?kib=8192") + get("/large?kib=8192") + get("/plain"));
      c.socket.pause();
      await new Promise((r) => setTimeout(r, 300));
      c.socket.resume();
      await waitFor(() => c.bytes.length >= 2 * 8 * 1024 * 1024 + 300 || c.closed, 20_000);
      const text = await c.until((t) => t.endsWith("plain\n"), 10_000);
      assert.equal(text.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
      assert.equal(child.exit, null, "the server is alive");
      c.socket.destroy();
    } finally {
      await stopChild(child.proc);
    }
  });
});
