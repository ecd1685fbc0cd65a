// A reload (ArenaServer.reload: SIGHUP, `arena reload`) loads a new build beside the one
// serving: requests that start after it run on the new build, requests in flight finish
// on the old one, and the old one is dropped once its last request is done. A build that
// fails to load leaves the serving one serving. Under load, no request fails.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { spawnSync } from "node:child_process";
import { ArenaError, ArenaServer, MemoryLogger } from "../host/index.ts";
import { buildApp, httpGet as get, keepAliveLoad, ROOT, waitFor } from "./helpers.ts";

const V1 = "tests/fixtures/versions/v1.ts";
const V2 = "tests/fixtures/versions/v2.ts";

describe("reload", () => {
  let server: ArenaServer;
  let port: number;
  let v1: Uint8Array;
  let v2: Uint8Array;
  const log = new MemoryLogger();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  before(async () => {
    [v1, v2] = await Promise.all([buildApp(V1), buildApp(V2)]);
    server = await ArenaServer.create(v1, V1, { slots: 8, slotBytes: 256 * 1024, heapBytes: 0, log });
    port = await server.listen(0, "127.0.0.1");
  });
  after(async () => {
    agent.destroy();
    await server.close();
  });

  it("swaps builds under keep-alive load with no failed request; in-flight requests finish on the old build", { timeout: 30_000 }, async () => {
    assert.equal((await get(agent, port, "/version")).body, "v1\n");
    const slow = get(agent, port, "/slow"); // in flight on v1 across the reload
    await waitFor(() => server.stats().slotsFree < server.stats().slots);
    const load = keepAliveLoad(port, "/version", 6);
    await waitFor(() => load.seen.has("v1\n"), 10_000); // the load runs on the first build
    const firstMemory = server.app.memory;
    await server.reload(v2, V2);
    assert.notEqual(server.app.memory, firstMemory, "the new build has its own memory");
    assert.equal(server.builds, 2, "the old build is kept while its slow request runs");
    await waitFor(() => load.seen.has("v2\n"), 10_000);
    await load.stop();
    assert.deepEqual(await slow, { status: 200, body: "v1 slow\n" }, "the request in flight finished on the build it started on");
    assert.equal(load.failed(), 0);
    assert.deepEqual([...load.seen].sort(), ["v1\n", "v2\n"]);
    assert.equal((await get(agent, port, "/version")).body, "v2\n");
    // The sweep drops the old build once its last request is done.
    await waitFor(() => server.builds === 1);
    assert.ok(log.lines.some((l) => /reload: the previous build \(.*v1\.ts\) finished its last request/.test(l)), log.lines.join("\n"));
  });

  it("a build that fails to load is refused in one line and the serving build goes on", { timeout: 20_000 }, async () => {
    const serving = server.app;
    await assert.rejects(server.reload(new Uint8Array([0, 1, 2, 3]), "broken.wasm"), (err: unknown) => {
      assert.ok(err instanceof ArenaError);
      assert.equal(err.code, "ARENA_E_RELOAD");
      assert.match(err.message, /^broken\.wasm was not loaded, still serving .*: ARENA_E_WASM: /);
      return true;
    });
    assert.equal(server.app, serving);
    assert.equal(server.builds, 1);
    assert.equal((await get(agent, port, "/version")).status, 200);
  });

  it("a request whose body is still arriving runs on the build current when it is complete", { timeout: 20_000 }, async () => {
    const before = (await get(agent, port, "/version")).body;
    const next = before === "v1\n" ? v2 : v1;
    const sock = net.connect(port, "127.0.0.1");
    let got = "";
    sock.on("data", (d: Buffer) => (got += d.toString()));
    await new Promise((r) => sock.on("connect", r));
    sock.write("GET /version HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345");
    await new Promise((r) => setTimeout(r, 100));
    await server.reload(next, next === v1 ? V1 : V2);
    await waitFor(() => server.builds === 1); // the old build held nothing of this request
    sock.end("67890");
    await waitFor(() => got.endsWith("\n") && got.includes("\r\n\r\n"));
    assert.match(got, next === v1 ? /\r\n\r\nv1\n$/ : /\r\n\r\nv2\n$/);
    sock.destroy();
  });

  it("a dropped build is freed, also with metrics on", { timeout: 60_000 }, () => {
    // In a process of its own: the test runner's own bookkeeping may hold a test's objects.
    const r = spawnSync(process.execPath, ["--expose-gc", "tests/fixtures/dropped_builds.ts"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [true, true, true], "every build a reload dropped was garbage collected");
  });

  it("refuses a reload while one is loading", { timeout: 20_000 }, async () => {
    const first = server.reload(v1, V1);
    await assert.rejects(server.reload(v2, V2), /a reload is already loading/);
    await first;
    assert.equal((await get(agent, port, "/version")).body, "v1\n");
  });
});
