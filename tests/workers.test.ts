// Several workers (--workers N): one worker thread each, each with its own memory, all on
// one port; the primary replaces a worker that dies while the others serve, rolls a reload
// through them with no failed request, and drains them all on shutdown. The admin listener
// answers health, readiness and metrics for the whole process.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MemoryLogger, Primary, serverOptions, resolveServeConfig } from "../host/index.ts";
import { buildApp, httpGet as get, keepAliveLoad, waitFor } from "./helpers.ts";

const V1 = "tests/fixtures/versions/v1.ts";
const V2 = "tests/fixtures/versions/v2.ts";

/** Requests of the metrics text counted for `worker`. */
function requestsOf(metrics: string, worker: number): number {
  let n = 0;
  for (const line of metrics.split("\n")) {
    const m = /^arena_requests_total\{([^}]*)\} (\d+)/.exec(line);
    if (m !== null && m[1].includes(`worker="${worker}"`)) n += Number(m[2]);
  }
  return n;
}

describe("workers", () => {
  let primary: Primary;
  let port: number;
  let admin: number;
  let next: Uint8Array;
  let v1Bytes: Uint8Array;
  /** How long making the next build takes (arena start rebuilds the app). */
  let slowBuildMs = 0;
  const log = new MemoryLogger();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-workers-"));

  before(async () => {
    const [v1, v2] = await Promise.all([buildApp(V1), buildApp(V2)]);
    next = v2;
    v1Bytes = v1;
    const config = resolveServeConfig({ slots: "8", "arena-bytes": "256KiB", "heap-bytes": "0" }, {});
    primary = await Primary.start({
      wasm: v1, file: V1, host: "127.0.0.1", port: 0, workers: 2, options: serverOptions(config),
      adminPort: 0, adminHost: "127.0.0.1", accessLog: null, log, nextBuild: async () => {
        await new Promise((r) => setTimeout(r, slowBuildMs));
        return next;
      },
    });
    port = primary.servingPort;
    admin = primary.adminPort!;
  });
  after(async () => {
    await primary.drain();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("both workers answer on the one port; health and readiness are 200", { timeout: 30_000 }, async () => {
    // New connections are spread by the kernel over both workers' sockets.
    for (let i = 0; i < 200; i++) assert.equal((await get(false, port, "/version")).body, "v1\n");
    const metrics = (await get(false, admin, "/metrics")).body;
    assert.ok(requestsOf(metrics, 0) > 0 && requestsOf(metrics, 1) > 0, `each worker served some of 200 connections:\n${metrics}`);
    assert.equal(requestsOf(metrics, 0) + requestsOf(metrics, 1), 200);
    assert.equal((await get(false, admin, "/healthz")).status, 200);
    assert.equal((await get(false, admin, "/readyz")).status, 200);
  });

  it("a worker that dies is logged and replaced; the other serves meanwhile", { timeout: 30_000 }, async () => {
    await primary.killWorker(1);
    await waitFor(() => log.lines.some((l) => l.startsWith("ERROR ARENA_E_WORKER worker 1 stopped")));
    assert.equal((await get(false, admin, "/readyz")).status, 503, "not ready while a worker is missing");
    for (let i = 0; i < 20; i++) assert.equal((await get(false, port, "/version")).status, 200);
    await waitFor(() => primary.ready(), 15_000);
    assert.equal(primary.restarts, 1);
    assert.match((await get(false, admin, "/metrics")).body, /^arena_worker_restarts_total 1$/m);
  });

  it("a reload under keep-alive load swaps every worker with no failed request", { timeout: 60_000 }, async () => {
    const load = keepAliveLoad(port, "/version", 8);
    await waitFor(() => load.seen.has("v1\n"), 10_000); // the load runs on the first build
    const reloaded = await get(false, admin, "/reload", "POST");
    assert.equal(reloaded.status, 200, reloaded.body);
    await waitFor(() => load.seen.has("v2\n"), 10_000);
    await load.stop();
    assert.equal(load.failed(), 0);
    assert.deepEqual([...load.seen].sort(), ["v1\n", "v2\n"]);
    for (let i = 0; i < 50; i++) assert.equal((await get(false, port, "/version")).body, "v2\n");
  });

  it("a worker that starts again during a reload, on the old build, catches up", { timeout: 60_000 }, async () => {
    const current = next;
    next = v1Bytes; // back to v1; the build is made slowly (a rebuild), while worker 0 restarts
    slowBuildMs = 1_050;
    await primary.killWorker(0);
    const reloaded = await get(false, admin, "/reload", "POST");
    slowBuildMs = 0;
    assert.equal(reloaded.status, 200, reloaded.body);
    await waitFor(() => primary.ready(), 20_000);
    // The restarted worker may have started on the previous build: it reloads when it serves.
    await waitFor(() => log.lines.some((l) => l.includes("worker 0 started again")), 20_000);
    const until = Date.now() + 20_000;
    let bodies = new Set<string>();
    while (Date.now() < until) {
      bodies = new Set<string>();
      for (let i = 0; i < 60; i++) bodies.add((await get(false, port, "/version")).body);
      if (bodies.size === 1 && bodies.has("v1\n")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...bodies], ["v1\n"], "every worker serves the reloaded build, the restarted one too");
    next = current;
  });

  it("a build that fails to load leaves every worker on the one it has", { timeout: 30_000 }, async () => {
    next = new Uint8Array([0, 97, 115, 109, 9, 9]);
    const r = await get(false, admin, "/reload", "POST");
    assert.equal(r.status, 500);
    assert.match(r.body, /ARENA_E_RELOAD/);
    for (let i = 0; i < 20; i++) assert.equal((await get(false, port, "/version")).body, "v1\n");
  });
});

describe("one worker, in the main thread", () => {
  it("reloads again and again, then drains and stops", { timeout: 30_000 }, async () => {
    const [v1, v2] = await Promise.all([buildApp(V1), buildApp(V2)]);
    let n = 0;
    const config = resolveServeConfig({ slots: "4", "arena-bytes": "256KiB", "heap-bytes": "0" }, {});
    const one = await Primary.start({
      wasm: v1, file: V1, host: "127.0.0.1", port: 0, workers: 1, options: serverOptions(config),
      adminPort: null, adminHost: "127.0.0.1", accessLog: null, log: new MemoryLogger(), nextBuild: async () => (++n % 2 === 1 ? v2 : v1),
    });
    // The worker answers by direct call, before the primary waits: no message may be lost.
    for (let i = 0; i < 3; i++) {
      const r = await one.reload();
      assert.equal(r.ok, true, r.line);
      assert.equal((await get(false, one.servingPort, "/version")).body, i % 2 === 0 ? "v2\n" : "v1\n");
    }
    await one.drain();
  });
});
