// The app test harness (testing/index.ts, `arena/testing`): startApp builds and serves an
// app, request() reads status, headers and body with the request's arena peak, and
// memoryReport() gives each route's peak; an app that does not build or start is an Error
// with the CLI's one-line message.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startApp, type TestApp } from "../testing/index.ts";
import { buildApp } from "./helpers.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

describe("startApp on the test app", () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(fixture("testapp.ts"), { arenaBytes: "256KiB", slots: 8 });
  });
  after(() => app.close());

  it("reads status, headers and body", async () => {
    const res = await app.request("GET", "/hello");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.text(), "hello\n");
    assert.equal(res.route, "/hello");
    assert.ok(res.arenaBytes > 0 && res.arenaBytes < 4096, `${res.arenaBytes}`);
    const id = await app.request("POST", "/ident?x=1", { headers: { "X-Tag": "t" }, body: "héllo" });
    assert.equal(id.text(), "POST /ident x=1 tag=t body=héllo\n");
    const echo = await app.request("POST", "/echo", { body: new Uint8Array([0, 1, 255]) });
    assert.deepEqual([...echo.bytes], [0, 1, 255]);
  });

  it("json() parses the body, and says what it got when it is not JSON", async () => {
    const res = await app.request("GET", "/status/418");
    assert.equal(res.status, 418);
    assert.throws(() => res.json(), /GET \/status\/418: the body of the 418 response is not JSON: "status\\n"/);
    const err = await app.request("GET", "/trap");
    assert.equal(err.status, 500);
    assert.equal(err.json().code, "ARENA_E_TRAP");
    assert.ok(app.logs.some((l) => l.startsWith("ERROR ARENA_E_TRAP") && l.includes("deliberate trap")));
  });

  it("arenaBytes grows with what the route allocates, each response with its own, concurrently", async () => {
    const kibs = [1, 64, 8, 128, 32];
    const all = await Promise.all(kibs.map((k) => app.request("GET", `/alloc/${k}`)));
    for (const [i, res] of all.entries()) {
      assert.equal(res.text(), `${kibs[i] * 1024}\n`);
      assert.equal(res.route, "/alloc/:kib");
    }
    const one = all[0].arenaBytes;
    for (const [i, res] of all.entries()) {
      // Per piece 1 KiB, its object headers and the Uint8Array over it (1088 B in all),
      // beside the same request bytes.
      const grew = res.arenaBytes - one;
      assert.ok(grew >= (kibs[i] - 1) * 1024 && grew <= (kibs[i] - 1) * 1100, `${kibs[i]} KiB: grew ${grew}`);
    }
  });

  it("memoryReport lists each route with its peak and the --arena-bytes it suggests", async () => {
    await app.request("GET", "/alloc/100");
    await app.request("GET", "/nowhere");
    const report = app.memoryReport();
    const alloc = report.routes.find((r) => r.route === "GET /alloc/:kib")!;
    assert.ok(alloc.requests >= 6 && alloc.peakBytes > 128 * 1024, JSON.stringify(alloc));
    // 1.5 × ~130 KiB + 8 KiB → 256 KiB.
    assert.equal(alloc.suggestedBytes, 256 * 1024);
    const hello = report.routes.find((r) => r.route === "GET /hello")!;
    assert.deepEqual([hello.requests, hello.statuses, hello.suggestedBytes], [1, [200], 64 * 1024]);
    assert.deepEqual(report.routes.find((r) => r.route === "GET (no route)")?.statuses, [404]);
    assert.equal(report.suggestedArenaBytes, 256 * 1024);
    assert.match(report.text, /^route +requests +statuses +peak arena +largest body +suggests$/m);
    assert.match(report.text, /^GET \/alloc\/:kib +\d+ +200 +\d+(\.\d+)? KiB +0 B +256KiB$/m);
    assert.match(report.text, /^--arena-bytes 256KiB serves every route above \(1\.5 × peak \+ 8 KiB response head reserve/m);
  });

  it("a request past its arena is a 500 ARENA_E_MEMORY, and the report says its peak is at least that", async () => {
    const res = await app.request("GET", "/alloc/1000");
    assert.equal(res.status, 500);
    assert.equal(res.json().code, "ARENA_E_MEMORY");
    assert.ok(res.arenaBytes > 200 * 1024, `${res.arenaBytes}`);
    const alloc = app.memoryReport().routes.find((r) => r.route === "GET /alloc/:kib")!;
    assert.equal(alloc.overflows, 1);
    assert.deepEqual(alloc.statuses, [200, 500]);
    assert.match(app.memoryReport().text, /^GET \/alloc\/:kib .* ≥ \d/m);
  });

  it("the check build is the default: a request object stored into a start-up object is a 500 ARENA_E_CHECK", async () => {
    const res = await app.request("GET", "/leak");
    assert.equal(res.status, 500);
    assert.equal(res.json().code, "ARENA_E_CHECK");
  });
});

describe("startApp on the notes example", () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(new URL("../examples/notes/app.ts", import.meta.url), { heapBytes: "1MiB" });
  });
  after(() => app.close());

  it("creates, shows and deletes a note over its JSON API", async () => {
    const made = await app.request("POST", "/api/notes", { headers: { "content-type": "application/json" }, body: '{"title":"Milk","body":"2 litres"}' });
    assert.equal(made.status, 201, made.text());
    const note = made.json<{ id: number; title: string }>();
    assert.equal(note.title, "Milk");
    assert.equal(made.headers.get("location"), `/api/notes/${note.id}`);
    const shown = await app.request("GET", `/api/notes/${note.id}`);
    assert.deepEqual([shown.status, shown.json().body, shown.route], [200, "2 litres", "/api/notes/:id"]);
    assert.equal((await app.request("DELETE", `/api/notes/${note.id}`)).status, 204);
    assert.equal((await app.request("GET", `/api/notes/${note.id}`)).status, 404);
    const routes = app.memoryReport().routes.map((r) => r.route);
    assert.deepEqual(routes, ["POST /api/notes", "GET /api/notes/:id", "DELETE /api/notes/:id"]);
  });
});

describe("startApp's options and errors", () => {
  it("env is what the app's env() reads, at start-up and in requests, and is restored at close", async () => {
    assert.equal(process.env.ARENA_TEST_GREETING, undefined);
    const app = await startApp(fixture("effectsapp.ts"), { env: { ARENA_TEST_GREETING: "hi", ARENA_TEST_X: "x" } });
    try {
      assert.equal((await app.request("GET", "/env?name=ARENA_TEST_X")).text(), "x startup=hi");
      // A waiting request and a plain one at once: each gets its own report.
      const [slow, fast] = await Promise.all([app.request("GET", "/sleep?ms=50"), app.request("GET", "/hello")]);
      assert.deepEqual([slow.route, fast.status], ["/sleep", 404]);
      assert.ok(slow.arenaBytes > 0);
    } finally {
      await app.close();
    }
    assert.equal(process.env.ARENA_TEST_GREETING, undefined);
  });

  it("loads a built .wasm", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-harness-"));
    const wasm = path.join(dir, "hello.wasm");
    fs.writeFileSync(wasm, await buildApp("examples/hello/app.ts"));
    const app = await startApp(wasm);
    try {
      const res = await app.request("GET", "/hello/Ada");
      assert.deepEqual([res.status, res.text(), res.route], [200, "Hello, Ada!\n", "/hello/:name"]);
    } finally {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an app that does not compile is an Error with the CLI's line", async () => {
    await assert.rejects(startApp("tests/fixtures/broken.ts"),
      { message: /^arena: ARENA_E_BUILD: tests\/fixtures\/broken\.ts did not compile: .* \(see the compiler's messages above\)$/ });
  });

  it("an app that does not start, or is not there, is an Error with the CLI's line", async () => {
    await assert.rejects(startApp("tests/fixtures/noserve.ts"),
      { message: /^arena: ARENA_E_WASM: tests\/fixtures\/noserve\.ts never called serve\(\): it has no handler for requests \(register the routes/ });
    await assert.rejects(startApp("tests/fixtures/nothere.ts"), { message: "arena: ARENA_E_USAGE: tests/fixtures/nothere.ts does not exist (pass the path of your app's .ts file)" });
    await assert.rejects(startApp("nothere.wasm"), { message: /^arena: ARENA_E_WASM: nothere\.wasm does not exist \(build it first/ });
    await assert.rejects(startApp("tests/fixtures/testapp.ts", { arenaBytes: "1KiB" }), { message: /^arena: ARENA_E_CONFIG: arena size must be at least 64 KiB/ });
  });
});
