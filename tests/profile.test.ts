// `arena profile` (testing/report.ts): a requests file, in lines or as JSON, run against an
// example app; the table of each route's peak arena use and the --arena-bytes it suggests;
// one line and exit code 1 for a bad requests file or an app that does not build. And the
// same table in a check build's log when its server closes (host/memory/arena_peaks.ts).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { profileCommand, readRequests } from "../testing/index.ts";
import { startTestServer, exchange, get } from "./helpers.ts";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "arena-profile-"));
}

async function profile(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await profileCommand(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
  return { code, stdout, stderr };
}

describe("arena profile", () => {
  it("prints each route's requests, statuses, peak and suggestion for the hello example", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "big.txt"), "x".repeat(50_000));
    fs.writeFileSync(path.join(dir, "requests.txt"), [
      "# the hello example", "GET /", "", "GET /hello/Ada", "GET /hello/Grace",
      "POST /echo some text", "  content-type: text/plain", "POST /echo @big.txt", "GET /missing",
    ].join("\n"));
    const r = await profile(["examples/hello/app.ts", path.join(dir, "requests.txt")]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "arena profile: 6 request(s) to examples/hello/app.ts (plain build, --arena-bytes 1MiB)");
    assert.match(lines[1], /^route +requests +statuses +peak arena +largest body +suggests$/);
    assert.match(lines[2], /^GET \/ +1 +200 +\d+(\.\d+)? (B|KiB) +0 B +64KiB$/);
    assert.match(lines[3], /^GET \/hello\/:name +2 +200 +/);
    // A 50,000-byte body must stay under the body limit: 3 × 50,000 + 40 KiB → 192 KiB.
    assert.match(lines[4], /^POST \/echo +2 +200 +\d+(\.\d+)? KiB +48\.83 KiB +192KiB$/);
    assert.match(lines[5], /^GET \(no route\) +1 +404 /);
    assert.match(lines[6], /^--arena-bytes 192KiB serves every route above \(1\.5 × peak \+ 8 KiB response head reserve, room for the largest body, at least 64 KiB/);
    assert.equal(lines.length, 7);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("takes a JSON list, and runs the requests in order (the notes example: create, then show)", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "note.json"), JSON.stringify({ title: "Milk", body: "b".repeat(2000) }));
    fs.writeFileSync(path.join(dir, "requests.json"), JSON.stringify([
      { method: "POST", path: "/api/notes", bodyFile: "note.json" },
      { method: "GET", path: "/api/notes/1" },
      { method: "POST", path: "/notes", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "title=Eggs&body=six" },
      { method: "GET", path: "/" },
    ]));
    const r = await profile(["examples/notes/app.ts", path.join(dir, "requests.json"), "--arena-bytes", "256KiB", "--heap-bytes", "1MiB", "--check"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(check build, --arena-bytes 256KiB\)/);
    assert.match(r.stdout, /^POST \/api\/notes +1 +201 /m);
    assert.match(r.stdout, /^GET \/api\/notes\/:id +1 +200 /m);
    assert.match(r.stdout, /^POST \/notes +1 +303 /m);
    assert.match(r.stdout, /^GET \/ +1 +200 /m);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads a requests file: bodies inline or from a file, headers, content types", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "b.json"), '{"a":1}');
    const file = path.join(dir, "r.txt");
    fs.writeFileSync(file, "GET /x?y=1\nPOST /j {\"a\":1}\nPOST /t hello\n  X-One: 1\nPUT /f @b.json\n");
    const list = readRequests(file);
    assert.deepEqual(list.map((r) => [r.method, r.path, r.headers, r.body && new TextDecoder().decode(r.body), r.where]), [
      ["GET", "/x?y=1", {}, undefined, `${file}:1`],
      ["POST", "/j", { "content-type": "application/json" }, '{"a":1}', `${file}:2`],
      ["POST", "/t", { "X-One": "1", "content-type": "text/plain; charset=utf-8" }, "hello", `${file}:3`],
      ["PUT", "/f", { "content-type": "application/json" }, '{"a":1}', `${file}:5`],
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a bad requests file, a bad flag or an app that does not build: one line and exit code 1", async () => {
    const dir = tempDir();
    const file = path.join(dir, "r.txt");
    fs.writeFileSync(file, "GET /\nfetch the page\n");
    let r = await profile(["examples/hello/app.ts", file]);
    assert.deepEqual([r.code, r.stdout], [1, ""]);
    assert.equal(r.stderr, `arena: ARENA_E_USAGE: ${file}:2: expected "METHOD /path [body | @file]", got "fetch the page" (see arena profile --help)\n`);
    r = await profile(["examples/hello/app.ts"]);
    assert.equal(r.stderr, "arena: ARENA_E_USAGE: profile takes an app (.ts or .wasm) and a requests file (see arena profile --help)\n");
    r = await profile(["examples/hello/app.ts", file, "--slots", "2"]);
    assert.equal(r.stderr, "arena: ARENA_E_USAGE: unknown option --slots (see arena profile --help)\n");
    fs.writeFileSync(file, "GET /\n");
    r = await profile(["tests/fixtures/broken.ts", file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^arena: ARENA_E_BUILD: tests\/fixtures\/broken\.ts did not compile/);
    r = await profile(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^arena profile <app\.ts\|app\.wasm> <requests-file>/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("the check build's output", () => {
  it("a check build's server logs the same table when it closes; a plain build's does not", async () => {
    const check = await startTestServer({});
    await exchange(check.port, get("/alloc/20"), { expect: 1 });
    await exchange(check.port, get("/hello"), { expect: 1 });
    await check.server.close();
    const lines = check.log.lines.filter((l) => l.startsWith("INFO memory: "));
    assert.equal(lines[0], "INFO memory: arena peaks per route (this server runs with --arena-bytes 256KiB):");
    assert.match(lines[1], /^INFO memory: route +requests +statuses +peak arena +largest body +suggests$/);
    assert.match(lines[2], /^INFO memory: GET \/alloc\/:kib +1 +200 +2\d\.\d+ KiB +0 B +64KiB$/);
    assert.match(lines[3], /^INFO memory: GET \/hello +1 +200 /);
    assert.match(lines[4], /^INFO memory: --arena-bytes 64KiB serves every route above/);
    const plain = await startTestServer({}, false);
    await exchange(plain.port, get("/hello"), { expect: 1 });
    await plain.server.close();
    assert.deepEqual(plain.log.lines.filter((l) => l.includes("memory:")), []);
  });
});
