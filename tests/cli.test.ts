// The `arena` command as a user runs it: help, build, serve, and one readable line with a
// non-zero exit for every kind of bad input. Also graceful shutdown on SIGTERM.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { KEEPALIVE_TIMEOUT_MS } from "../host/limits.ts";
import { buildApp, exchange, get, ROOT, waitFor } from "./helpers.ts";

const CLI = path.join(ROOT, "cli/arena.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "arena-cli-"));
let helloWasm = "";
let bigStaticWasm = "";
let noServeWasm = "";

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts the process failed with exactly one `arena: CODE: …` line on stderr. */
function assertOneLine(r: { code: number | null; stderr: string }, code: string, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^arena: ${code}: `));
  assert.match(lines[0], pattern);
  assert.ok(!r.stderr.includes("    at "), "no stack trace");
}

before(async () => {
  helloWasm = path.join(tmp, "hello.wasm");
  fs.writeFileSync(helloWasm, await buildApp("examples/hello/app.ts"));
  bigStaticWasm = path.join(tmp, "bigstatic.wasm");
  fs.writeFileSync(bigStaticWasm, await buildApp("tests/fixtures/bigstatic.ts"));
  noServeWasm = path.join(tmp, "noserve.wasm");
  fs.writeFileSync(noServeWasm, await buildApp("tests/fixtures/noserve.ts"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("arena CLI", () => {
  it("--help prints usage and exits 0", () => {
    const r = run("--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /arena build <app\.ts>/);
    assert.match(r.stdout, /arena serve <app\.wasm>/);
  });

  it("an unknown command or option is one line", () => {
    assertOneLine(run("deploy"), "ARENA_E_USAGE", /unknown command 'deploy'/);
    assertOneLine(run("serve", helloWasm, "--prot", "1"), "ARENA_E_USAGE", /unknown option --prot/);
  });

  it("build compiles an app and reports asc's errors for a broken one", () => {
    const out = path.join(tmp, "built.wasm");
    const ok = run("build", "examples/hello/app.ts", "-o", out);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^built .*built\.wasm \(\d/);
    assert.ok(fs.statSync(out).size > 1000);
    const bad = run("build", "tests/fixtures/broken.ts", "-o", path.join(tmp, "broken.wasm"));
    assert.equal(bad.code, 1);
    assert.match(stripVTControlCharacters(bad.stderr), /ERROR TS2322/); // asc's own diagnostic, as asc prints it
    assert.match(bad.stderr.trim().split("\n").at(-1)!, /^arena: ARENA_E_BUILD: tests\/fixtures\/broken\.ts did not compile/);
    assertOneLine(run("build", "nope.ts"), "ARENA_E_USAGE", /nope\.ts does not exist/);
  });

  it("serve refuses a missing file, a non-wasm file and a module without the ABI", () => {
    assertOneLine(run("serve", "missing.wasm"), "ARENA_E_WASM", /missing\.wasm does not exist \(build it first/);
    assertOneLine(run("serve", "package.json"), "ARENA_E_WASM", /package\.json is not a wasm file/);
    const empty = path.join(tmp, "empty.wasm");
    fs.writeFileSync(empty, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    assertOneLine(run("serve", empty), "ARENA_E_WASM", /not an Arena app: missing exports memory, _initialize, arena_init/);
  });

  it("serve refuses an app that never called serve()", () => {
    assertOneLine(run("serve", noServeWasm, "--port", "0"), "ARENA_E_WASM",
      /noserve\.wasm never called serve\(\): it has no handler for requests \(register the routes on a Router and call `serve\(app\)` at the top level of the app\)$/);
  });

  it("serve refuses impossible memory configurations", () => {
    assertOneLine(run("serve", helloWasm, "--slots", "5000", "--arena-bytes", "1MiB"), "ARENA_E_CONFIG",
      /memory: 5000 slots × 1 MiB \+ 4 MiB startup \+ 16 MiB heap = 4\.9 GiB is over the wasm32 limit of 4 GiB \(lower --slots, --arena-bytes or --heap-bytes\)/);
    assertOneLine(run("serve", helloWasm, "--slots", "0"), "ARENA_E_CONFIG", /slots must be a whole number of at least 1/);
    assertOneLine(run("serve", helloWasm, "--arena-bytes", "0"), "ARENA_E_CONFIG", /arena size must be at least 64 KiB/);
    assertOneLine(run("serve", helloWasm, "--arena-bytes", "lots"), "ARENA_E_CONFIG", /--arena-bytes: 'lots' is not a size/);
    assertOneLine(run("serve", bigStaticWasm, "--startup-bytes", "64KiB"), "ARENA_E_CONFIG", /static data \(.*\) does not fit the startup region \(64 KiB\) \(raise --startup-bytes\)/);
    const env = spawnSync(process.execPath, [CLI, "serve", helloWasm], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ARENA_SLOTS: "many" } });
    assertOneLine({ code: env.status, stderr: env.stderr }, "ARENA_E_CONFIG", /ARENA_SLOTS: 'many' is not a whole number/);
  });

  it("serve refuses a body limit the arena cannot decode, and says what to use", () => {
    assertOneLine(run("serve", helloWasm, "--arena-bytes", "256KiB", "--body-bytes", "100KiB"), "ARENA_E_CONFIG",
      /body limit of 102400 bytes is more than a 256 KiB arena can take and decode: at most 73728 bytes .*\(lower --body-bytes to 73728 or raise --arena-bytes to 340KiB\)$/);
    const env = spawnSync(process.execPath, [CLI, "serve", helloWasm], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ARENA_BODY_BYTES: "512KiB" } });
    assertOneLine({ code: env.status, stderr: env.stderr }, "ARENA_E_CONFIG", /body limit of 524288 bytes is more than a 1 MiB arena can take and decode: at most 335872 bytes/);
  });

  it("serve refuses a port in use", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = run("serve", helloWasm, "--port", String(port));
      assertOneLine(r, "ARENA_E_LISTEN", new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      // The budget line is printed only once the server listens: nothing before the error.
      assert.equal(r.stdout, "");
    } finally {
      blocker.close();
    }
  });
});

/** Starts `arena serve` on a free port and resolves once it is listening. */
async function startServe(args: string[]): Promise<{ child: ChildProcess; port: number; out: () => string }> {
  const child = spawn(process.execPath, [CLI, "serve", helloWasm, "--port", "0", ...args], { cwd: ROOT });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    child.stdout!.on("data", () => {
      const m = /serving .* on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, port, out: () => out };
}

/** A client connection that collects what it receives. */
async function rawConnection(port: number): Promise<{ socket: net.Socket; text: () => string; closed: Promise<void> }> {
  const socket = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.on("close", () => r()));
  await new Promise((r) => socket.on("connect", r));
  return { socket, text: () => Buffer.concat(chunks).toString(), closed };
}

describe("arena serve process", () => {
  it("prints the memory budget and serves", async () => {
    const s = await startServe(["--slots", "4", "--arena-bytes", "64KiB"]);
    try {
      assert.match(s.out(), /^memory: (?:\d+ workers × \()?4 slots × 64 KiB \+ 4 MiB startup \+ 16 MiB heap = 20\.25 MiB\)? \+ [\d.]+ [KM]iB shared = [\d.]+ [KMG]iB, fixed \(startup used [\d.]+ (B|KiB)\)/);
      const r = await exchange(s.port, get("/hello/CLI"), { expect: 1 });
      assert.equal(r.responses[0].body.toString(), "Hello, CLI!\n");
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  it("SIGTERM: stops accepting, finishes in-flight requests, answers a request on an idle connection with Connection: close, exits 0", async () => {
    const s = await startServe([]);
    const exited = new Promise<number | null>((r) => s.child.on("exit", (code) => r(code)));
    // An idle keep-alive connection, after one request.
    const idle = await rawConnection(s.port);
    idle.socket.write(get("/"));
    await waitFor(() => /\r\n\r\nHello from Arena!\n$/.test(idle.text()));
    // In-flight: a request whose body is still arriving.
    const inflight = await rawConnection(s.port);
    inflight.socket.write("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nhello");
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill("SIGTERM");
    await waitFor(() => /draining: finishing 1 in-flight request/.test(s.out()));
    // New connections are refused once the listener is closed.
    await assert.rejects(new Promise((resolve, reject) => {
      const c = net.connect(s.port, "127.0.0.1");
      c.on("connect", () => { c.destroy(); resolve(null); });
      c.on("error", reject);
    }));
    // A load balancer may send on an idle connection while the server drains: the request
    // is answered, with Connection: close, instead of being lost to a closed socket.
    const before = idle.text().length;
    idle.socket.write(get("/"));
    await idle.closed;
    const late = idle.text().slice(before);
    assert.match(late, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(late, /\r\nConnection: close\r\n/);
    assert.match(late, /\r\n\r\nHello from Arena!\n$/);
    inflight.socket.write("world");
    await inflight.closed;
    const text = inflight.text();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\nConnection: close\r\n/);
    assert.match(text, /\r\n\r\nhelloworld$/);
    assert.equal(await exited, 0);
    assert.match(s.out(), /SIGTERM: shutting down/);
    assert.match(s.out(), /shutdown complete/);
  });

  it("Ctrl-C (SIGINT) closes idle keep-alive connections at once and exits 0", async () => {
    const s = await startServe([]);
    const exited = new Promise<number | null>((r) => s.child.on("exit", (code) => r(code)));
    const idle = await rawConnection(s.port);
    idle.socket.write(get("/"));
    await waitFor(() => /Hello from Arena!\n$/.test(idle.text()));
    const t0 = performance.now();
    s.child.kill("SIGINT");
    await idle.closed;
    assert.equal(await exited, 0);
    // Well before the 5 s keep-alive timeout that SIGTERM would wait for.
    assert.ok(performance.now() - t0 < KEEPALIVE_TIMEOUT_MS, `closed after ${performance.now() - t0} ms`);
    assert.match(s.out(), /idle connection\(s\) closed now/);
  });
});
