// Steady state: after warm-up, serving requests grows nothing. The wasm memory keeps its
// size, every slot comes back, and the host's JS heap allocates under a stated bound per
// request (the hot path reads into one shared buffer, writes with a reused write request,
// reuses views and runs handlers as plain calls; see host/http/socket_io.ts).
// `npm run bench` measures the same figure under wrk; this is the small-N guard.

import { it } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import path from "node:path";
import { buildApp, get, ROOT, stopChild } from "./helpers.ts";
import fs from "node:fs";
import net from "node:net";

/** Host JS heap bytes per request allowed on the hello route. Measured ~50 B with wrk
 *  (bench/); the bound leaves room for the test's pipelined load and V8 noise, and is far
 *  below the ~2.5 KB per request of the old path (and node:http's ~6 KB). */
const HEAP_BYTES_PER_REQUEST_MAX = 256;

type Msg = Record<string, number | boolean | string>;

function ask(child: ReturnType<typeof fork>, msg: string): Promise<Msg> {
  return new Promise((resolve) => {
    child.once("message", (m) => resolve(m as Msg));
    child.send(msg);
  });
}

/** `count` GETs of `path` on one connection, `window` in flight, all answered 200. */
function load(port: number, pathname: string, count: number, window: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const request = Buffer.from(get(pathname));
    let sent = 0;
    let done = 0;
    let tail = "";
    const fill = () => {
      while (sent < count && sent - done < window) {
        socket.write(request);
        sent++;
      }
    };
    socket.on("connect", fill);
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      const text = tail + d.toString("latin1");
      let i = 0;
      for (;;) {
        const j = text.indexOf("HTTP/1.1 ", i + 1);
        if (j < 0) break;
        if (!text.startsWith("HTTP/1.1 200 ", i)) return reject(new Error(text.slice(i, i + 200)));
        done++;
        i = j;
      }
      tail = text.slice(i);
      if (done + 1 === count && tail.endsWith("Hello from Arena!\n")) {
        done++;
        socket.end();
        resolve();
        return;
      }
      fill();
    });
  });
}

it("after warm-up: wasm memory unchanged, slots all free, host heap per request under the bound", { timeout: 120_000 }, async () => {
  const wasm = path.join(ROOT, "tests/.build/steady-hello.wasm");
  fs.writeFileSync(wasm, await buildApp("examples/hello/app.ts"));
  const child = fork(path.join(ROOT, "tests/fixtures/steady_server.ts"), [wasm, "16"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const { port } = await new Promise<Msg>((resolve) => child.once("message", (m) => resolve(m as Msg)));
    const run = (n: number) => Promise.all(Array.from({ length: 8 }, () => load(port as number, "/", n, 16)));
    await run(5_000); // warm-up: JIT, pools, caches
    const before = await ask(child, "start");
    await run(25_000);
    const after = await ask(child, "stop");
    const perRequest = (after.allocated as number) / (after.requests as number);
    process.stdout.write(`# steady state: ${after.requests} requests, ${perRequest.toFixed(1)} heap bytes/request, ${after.gcs} GCs, I/O path ${after.io}\n`);
    assert.equal(after.requests, 200_000);
    assert.equal(after.memoryBytes, before.memoryBytes, "wasm memory grew");
    assert.equal(after.slotsFree, after.slots, "a slot was not released");
    assert.ok(perRequest <= HEAP_BYTES_PER_REQUEST_MAX, `host heap ${perRequest.toFixed(1)} B/request > ${HEAP_BYTES_PER_REQUEST_MAX}`);
  } finally {
    await stopChild(child);
  }
});
