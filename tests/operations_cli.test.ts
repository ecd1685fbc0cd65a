// What an operator does with `arena serve`, as a real process: two workers and the admin
// listener, SIGHUP with a new build written over the old file under load (no failed
// request), `arena reload` through the admin port, SIGTERM draining and exiting 0, and the
// access log's lines.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { buildApp, httpGet, keepAliveLoad, ROOT, servingUrl, waitFor } from "./helpers.ts";

const CLI = path.join(ROOT, "cli/arena.ts");

/** Responses the test got from the app's /version: each must have its access log line. */
let answered = 0;

async function get(agent: http.Agent | false, port: number, p: string): Promise<{ status: number; body: string }> {
  const r = await httpGet(agent, port, p);
  if (p === "/version" && r.status !== 0) answered++;
  return r;
}

describe("arena serve --workers 2 --admin-port", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-ops-"));
  const wasm = path.join(dir, "app.wasm");
  const accessLog = path.join(dir, "access.log");
  let child: ChildProcess;
  let port: number;
  let admin: number;
  let output: () => string;
  let exited: Promise<number | null>;
  let v2: Uint8Array;

  before(async () => {
    const [v1, built2] = await Promise.all([buildApp("tests/fixtures/versions/v1.ts"), buildApp("tests/fixtures/versions/v2.ts")]);
    v2 = built2;
    fs.writeFileSync(wasm, v1);
    child = spawn(process.execPath, [CLI, "serve", wasm, "--port", "0", "--workers", "2", "--admin-port", "0", "--access-log", accessLog,
      "--slots", "8", "--arena-bytes", "256KiB"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const s = servingUrl(child, "arena serve");
    output = s.output;
    exited = s.exited;
    port = Number(new URL(await s.url).port);
    await waitFor(() => /admin on http:\/\/127\.0\.0\.1:\d+\//.test(output()));
    admin = Number(/admin on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output())![1]);
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints the budget of both workers and serves", async () => {
    assert.match(output(), /memory: 2 workers × \(8 slots × 256 KiB \+ 4 MiB startup \+ 16 MiB heap = 22 MiB\) \+ [\d.]+ [KM]iB shared = [\d.]+ MiB, fixed/);
    assert.match(output(), /serving .* with 2 workers/);
    assert.equal((await get(false, port, "/version")).body, "v1\n");
    assert.equal((await get(false, admin, "/healthz")).status, 200);
    assert.equal((await get(false, admin, "/readyz")).status, 200);
  });

  it("an admin port in use is one line, before any worker starts", { timeout: 30_000 }, () => {
    const r = spawnSync(process.execPath, [CLI, "serve", wasm, "--port", "0", "--workers", "2", "--admin-port", String(admin)], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^arena: ARENA_E_LISTEN: admin port \d+ on 127\.0\.0\.1 is already in use \(pick another --admin-port\)\n$/);
  });

  it("SIGHUP loads the new build under load with no failed request", { timeout: 60_000 }, async () => {
    // The load counts its responses too: every one must have its access log line.
    const load = keepAliveLoad(port, "/version", 8);
    await waitFor(() => load.seen.has("v1\n"), 10_000); // the load runs on the first build
    fs.writeFileSync(wasm, v2);
    child.kill("SIGHUP");
    await waitFor(() => output().includes("reload: every worker serves the new build"), 30_000);
    await waitFor(() => load.seen.has("v2\n"), 10_000);
    await load.stop();
    answered += load.answered();
    assert.equal(load.failed(), 0);
    assert.deepEqual([...load.seen].sort(), ["v1\n", "v2\n"]);
  });

  it("arena reload reports the outcome in one line; a broken build is refused and serving goes on", { timeout: 60_000 }, async () => {
    const ok = spawnSync(process.execPath, [CLI, "reload", "--admin-port", String(admin)], { cwd: ROOT, encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /every worker serves the new build/);
    fs.writeFileSync(wasm, "not wasm");
    const bad = spawnSync(process.execPath, [CLI, "reload", "--admin-port", String(admin)], { cwd: ROOT, encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^arena: ARENA_E_RELOAD: .*ARENA_E_WASM/);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    assert.equal((await get(false, port, "/version")).body, "v2\n");
    const none = spawnSync(process.execPath, [CLI, "reload"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ARENA_ADMIN_PORT: "" } });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^arena: ARENA_E_USAGE: reload needs the server's admin port/);
  });

  it("SIGTERM drains every worker and exits 0; every request is in the access log", { timeout: 30_000 }, async () => {
    child.kill("SIGTERM");
    assert.equal(await exited, 0, output());
    assert.match(output(), /shutdown complete/);
    const lines = fs.readFileSync(accessLog, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, answered, "one line per response, none lost at shutdown");
    for (const l of lines) {
      assert.equal(l.method, "GET");
      assert.equal(l.path, "/version");
      assert.equal(l.status, 200);
      assert.ok(l.worker === 0 || l.worker === 1);
    }
  });
});
