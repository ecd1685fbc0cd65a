// The socket I/O path (host/http/socket_io.ts): on the pinned Node the internal path is active
// (reads into a shared buffer, reused write requests); ARENA_IO=public forces the public
// fallback. Both serve the same bytes; the test prints which path each run used.

import { it } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { buildApp, exchange, get, parseResponses, ROOT, stopChild } from "./helpers.ts";

async function serveWith(io: string | undefined): Promise<{ path: string; bodies: string[] }> {
  const wasm = path.join(ROOT, "tests/.build/socket-io-hello.wasm");
  fs.writeFileSync(wasm, await buildApp("examples/hello/app.ts"));
  const env = { ...process.env };
  if (io === undefined) delete env.ARENA_IO;
  else env.ARENA_IO = io;
  const child = fork(path.join(ROOT, "tests/fixtures/steady_server.ts"), [wasm, "4"], { env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = () => new Promise<Record<string, unknown>>((resolve) => child.once("message", (m) => resolve(m as Record<string, unknown>)));
  try {
    const { port } = await next();
    child.send("start");
    await next();
    // Pipelined requests, one with a 60 KB body.
    const big = "x".repeat(60_000);
    const r = await exchange(port as number, [get("/"), get("/hello/io"), `POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${big.length}\r\n\r\n${big}`, get("/")], { expect: 4, timeoutMs: 10_000 });
    // A reader that stops reading while 150 responses of 60 KB are written: the kernel's
    // buffers (several MB on loopback) fill, writes complete asynchronously, and pipelined
    // requests wait in the stash.
    const slow = await slowReader(port as number, 150, big);
    child.send("stop");
    const stats = await next();
    return { path: stats.io as string, bodies: [...r.responses.map((x) => x.body.length > 100 ? `${x.body.length} bytes` : x.body.toString()), slow] };
  } finally {
    await stopChild(child);
  }
}

/** Sends `n` pipelined echo requests of `body`, reads nothing for 500 ms, then reads all;
 *  returns "n × len" when every response carries exactly `body`. */
function slowReader(port: number, n: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let received = 0;
    socket.pause();
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received < n * body.length) return;
      const all = Buffer.concat(chunks);
      const { responses } = parseResponses(all);
      if (responses.length === n) {
        socket.destroy();
        const ok = responses.every((r) => r.status === 200 && r.body.toString() === body);
        resolve(ok ? `${n} × ${body.length}` : "mismatch");
      }
    });
    socket.on("connect", () => {
      for (let i = 0; i < n; i++) socket.write(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      setTimeout(() => socket.resume(), 500);
    });
  });
}

const expected = ["Hello from Arena!\n", "Hello, io!\n", "60000 bytes", "Hello from Arena!\n", "150 × 60000"];

it("the internal I/O path is active on the pinned Node and serves correctly", { timeout: 60_000 }, async () => {
  const r = await serveWith(undefined);
  process.stdout.write(`# socket I/O path: ${r.path}\n`);
  assert.equal(r.path, "internal", "Node internals changed: the public fallback is in use (host/http/socket_io.ts)");
  assert.deepEqual(r.bodies, expected);
});

it("ARENA_IO=public uses the public-API fallback and serves the same bytes", { timeout: 60_000 }, async () => {
  const r = await serveWith("public");
  process.stdout.write(`# socket I/O path: ${r.path}\n`);
  assert.equal(r.path, "public");
  assert.deepEqual(r.bodies, expected);
});
