// Regions complete (issue 16, items 1–4): scoped arenas (Scratch) inside a request, copy
// and move between regions, uninitialised memory, and what the check build catches —
// each misuse names the region and where it was made. tests/fixtures/regionsapp.ts has one
// route per behaviour; every route is asked of both builds.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { profileCommand } from "../testing/index.ts";
import { POISON_DEAD, POISON_UNINIT } from "../host/abi/constants.ts";
import { startTestServer, type Running } from "./helpers.ts";

const APP = "tests/fixtures/regionsapp.ts";
const SOURCE = fs.readFileSync(APP, "utf8").split("\n");

/** "regionsapp.ts:N" of the first line of the fixture that contains `text`. */
function site(text: string): string {
  const line = SOURCE.findIndex((l) => l.includes(text));
  assert.ok(line >= 0, `the fixture has a line with ${text}`);
  return `regionsapp.ts:${line + 1}`;
}

async function call(port: number, route: string): Promise<{ status: number; text: string; code: string; message: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  const text = await res.text();
  let code = "";
  let message = "";
  if (res.status >= 500) ({ code, message } = JSON.parse(text) as { code: string; message: string });
  return { status: res.status, text, code, message };
}

for (const check of [false, true]) {
  describe(`scoped arenas, copy and move (${check ? "check" : "release"} build)`, () => {
    let t: Running;
    before(async () => {
      t = await startTestServer({ slots: 8, slotBytes: 1024 * 1024, heapBytes: 1024 * 1024 }, check, APP);
    });
    after(async () => {
      await t.server.close();
    });

    it("start-up code can parse in a scratch arena and keep what it copied out", async () => {
      assert.equal((await call(t.port, "/boot")).text, "booted\n");
    });

    it("docs/regions.md's request-scoped example answers from its scratch arena, and 400 on bad JSON", async () => {
      const doc = fs.readFileSync("docs/regions.md", "utf8");
      const example = /function orderSummary[\s\S]*?\n\}/.exec(doc)![0];
      assert.ok(fs.readFileSync(APP, "utf8").includes(example), "the fixture serves the handler exactly as the docs write it");
      const order = JSON.stringify({ items: [{ sku: "A-1", qty: 2 }, { sku: "B-7" }] });
      const ok = await fetch(`http://127.0.0.1:${t.port}/order`, { method: "POST", body: order });
      assert.equal(await ok.text(), "A-1 x 2\nB-7 x 1\n");
      const bad = await fetch(`http://127.0.0.1:${t.port}/order`, { method: "POST", body: "{" });
      assert.equal(bad.status, 400);
      await bad.text();
    });

    it("a JSON document read before a scratch keeps an error found inside it", async () => {
      assert.match((await call(t.port, "/doc-before-scratch")).text, /^nesting deeper than JSON_DEPTH_MAX \(\d+\) 2000\n$/);
    });

    it("docs/regions.md's device example keeps a buffer outside the wasm memory between requests and sends it", async () => {
      const doc = fs.readFileSync("docs/regions.md", "utf8");
      const example = /let report: i64 = 0;[\s\S]*?function firstBytes[\s\S]*?\n\}/.exec(doc)![0];
      assert.ok(fs.readFileSync(APP, "utf8").includes(example), "the fixture serves the example exactly as the docs write it");
      assert.equal((await call(t.port, "/device")).status, 404);
      const body = "device bytes ".repeat(10_000);
      for (const round of [1, 2]) {
        const made = await fetch(`http://127.0.0.1:${t.port}/device`, { method: "POST", body: body + round });
        assert.equal(made.status, 201);
        await made.text();
        assert.equal((await call(t.port, "/device")).text, body + round);
        assert.equal((await call(t.port, "/device/head")).text, "device bytes dev");
      }
    });

    it("SDK objects made before a scratch keep the helpers they make inside it (a stream's buffer, a response's headers)", async () => {
      const r = await fetch(`http://127.0.0.1:${t.port}/lazy`);
      const rows = Array.from({ length: 4 }, (_, i) => `row ${i} ${"x".repeat(100)}\n`).join("");
      assert.equal(await r.text(), rows);
      const h = await fetch(`http://127.0.0.1:${t.port}/header-in-scratch?x=7`);
      assert.equal(h.headers.get("x-label"), "made 7");
      assert.equal(h.headers.get("x-junk"), "4000");
      assert.equal(await h.text(), "body\n");
    });

    it("template literals and Date#toISOString work inside a scratch (no false alarm in the check build)", async () => {
      assert.equal((await call(t.port, "/templates?x=3")).text, "item 3 of list 1970-01-01T00:00:00.000Z\n");
    });

    it("a move gives up only its source object: what it shared (a string, the request's path) stays valid", async () => {
      assert.equal((await call(t.port, "/move-shared?x=a")).text, "n-a /move-shared n-a /move-shared\n");
    });

    it("a stream write inside Scratch.run's function is stopped with the sentence saying it cannot wait", async () => {
      const r = await fetch(`http://127.0.0.1:${t.port}/stream-in-run`);
      const text = await r.text().catch(() => "");
      assert.doesNotMatch(text, /from run/);
      assert.match(t.log.lines.join("\n"), /a function run by Scratch\.run waited on an effect \(fetch, sleep, a stream write, …\): it cannot wait/);
    });

    it("a scratch still entered when the handler returns goes with the request: the slot serves the next ones", async () => {
      for (let i = 0; i < 20; i++) assert.equal((await call(t.port, `/left-entered?n=${i}`)).text, `left ${"z".repeat(i)}\n`);
      assert.equal((await call(t.port, "/nested?x=2")).text, "outer-2-inner-innermost|scratch|request\n");
    });

    it("a scratch of 0 bytes has no room, and nothing used", async () => {
      assert.equal((await call(t.port, "/zero")).text, "0 0\n");
    });

    it("fetch and fetchAll work from inside a scratch (their descriptors are the scratch's)", async () => {
      const upstream = http.createServer((req, res) => res.end(`got ${req.url}`));
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
      try {
        const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
        assert.equal((await call(t.port, `/fetch-in-scratch?url=${encodeURIComponent(url)}`)).text, "in-request got /one got /a got /b 200\n");
      } finally {
        upstream.closeAllConnections();
        await new Promise((resolve) => upstream.close(resolve));
      }
    });

    it("nests scratch arenas, each copying its result out before it is disposed", async () => {
      assert.equal((await call(t.port, "/nested?x=7")).text, "outer-7-inner-innermost|scratch|request\n");
    });

    it("a request array or Map made before a scratch grows in the request's arena, and outlives the scratch", async () => {
      assert.equal((await call(t.port, "/grow")).text, "v0 v199 200 99\n");
    });

    it("a scratch survives a wait, while other requests run in their own arenas", async () => {
      const all = await Promise.all(Array.from({ length: 12 }, (_, i) => call(t.port, `/enter-wait?x=${i}`)));
      all.forEach((r, i) => assert.equal(r.text, `before-${i}-after\n`));
    });

    it("Scratch.enter past its size stops the request with ARENA_E_MEMORY naming the scratch and where it was made", async () => {
      const r = await call(t.port, "/overflow");
      assert.equal(r.status, 500);
      assert.equal(r.code, "ARENA_E_MEMORY");
      assert.match(r.message, new RegExp(`in Scratch 'tiny' \\(made at ${site('Scratch.enter(1024, "tiny")')}\\), which holds 1024 bytes`));
      // The failure was that request's alone: the next one is served.
      assert.equal((await call(t.port, "/nested?x=1")).status, 200);
    });

    it("Scratch.run answers Full as a value and disposes the scratch; Ok when the function fits", async () => {
      assert.equal((await call(t.port, "/run?n=a")).text, "ok yyy small\n");
      assert.equal((await call(t.port, `/run?n=${"a".repeat(40)}`)).text, `full ${"a".repeat(40)} small\n`);
      assert.equal((await call(t.port, "/too-big")).text, "no room\n");
    });

    it("a function run by Scratch.run that waits stops its request with a sentence saying why", async () => {
      const r = await call(t.port, "/run-wait");
      assert.equal(r.status, 500);
      assert.match(r.message, /a function run by Scratch\.run waited on an effect .* use Scratch\.enter\(\) and dispose\(\)/);
    });

    for (const [route, pattern] of [
      ["/misuse/order", new RegExp(`Scratch 'outer' \\(made at ${site('let outer = Scratch.enter(64 << 10, "outer")')}\\) was disposed while Scratch 'inner' .* is still entered`)],
      ["/misuse/twice", new RegExp(`Scratch 'once' \\(made at ${site('"once"')}\\) was used after its region was disposed`)],
      ["/misuse/stale", new RegExp(`Scratch 'stale' \\(made at ${site('"stale"')}\\) was used after its region was disposed`)],
    ] as const) {
      it(`${route}: caught in every build, named`, async () => {
        const r = await call(t.port, route);
        assert.equal(r.status, 500, r.text);
        assert.equal(r.code, "ARENA_E_CHECK");
        assert.match(r.message, pattern);
      });
    }

    it("copies between request, heap and request are deep and independent", async () => {
      assert.equal((await call(t.port, "/copy?x=1")).text, "copy 1 a,b changed\n");
    });

    it("move into the heap keeps the value between requests; move out of the heap frees it there", async () => {
      assert.equal((await call(t.port, "/move?x=2")).text, "ok\n");
      assert.equal((await call(t.port, "/kept")).text, "moved 2 m\n");
      assert.equal((await call(t.port, "/move-from-heap?x=3")).text, "heap 3 kept freed\n");
    });

    it("a copy into a region that cannot hold it is null and leaves nothing allocated; a disposed region's handle is not live", async () => {
      assert.equal((await call(t.port, "/copy-full")).text, "null rolled-back dead\n");
    });

    it("an uninitialised buffer written in full reads back what was written", async () => {
      assert.equal((await call(t.port, "/uninit/ok")).text, "aaaaaaaabbbbbbbb");
    });

    it("the wasm memory stays the same size through all of it", async () => {
      const memory = t.server.stats().memoryBytes;
      for (let i = 0; i < 50; i++) await call(t.port, "/nested?x=1");
      assert.equal(t.server.stats().memoryBytes, memory);
    });
  });
}

describe("what only the check build catches", () => {
  let check: Running;
  let release: Running;
  before(async () => {
    check = await startTestServer({ slots: 4, slotBytes: 1024 * 1024 }, true, APP);
    release = await startTestServer({ slots: 4, slotBytes: 1024 * 1024 }, false, APP);
  });
  after(async () => {
    await check.server.close();
    await release.server.close();
  });

  for (const [route, pattern] of [
    ["/misuse/escape?x=1", new RegExp(`a String made in Scratch 'leaky' \\(made at ${site('"leaky"')}\\) was stored into a Holder that outlives it — copy it out`)],
    ["/misuse/dead-read?x=1", new RegExp(`an object made in Scratch 'gone' \\(made at ${site('"gone"')}\\) was used after that scratch arena was disposed`)],
    ["/misuse/dead-doc", new RegExp(`an object made in Scratch 'json' \\(made at ${site('"json"')}\\) was used after that scratch arena was disposed`)],
    ["/misuse/moved?x=1", /a reference read out of poisoned memory was used: the object it came from was moved away/],
    ["/misuse/moved-stored?x=1", new RegExp(`a Summary was used after it was moved out of the request's arena into the heap by Regions.move at ${site("// moved here")} — use the value move returned`)],
    ["/misuse/run-escape", new RegExp(`a String made in Scratch 'run-escape' \\(made at ${site('"run-escape"')}\\) was stored into a Box that outlives it`)],
    ["/uninit/partial", new RegExp(`UninitBytes of 16 bytes \\(made at ${site("// partial")}\\) was declared initialised, but byte 10 was never written`)],
  ] as const) {
    it(`${route}: ARENA_E_CHECK naming what was misused; the release build does not look`, async () => {
      const r = await call(check.port, route);
      assert.equal(r.status, 500, r.text);
      assert.equal(r.code, "ARENA_E_CHECK");
      assert.match(r.message, pattern);
      assert.equal((await call(release.port, route)).status, 200);
    });
  }

  it("a disposed scratch arena's memory reads as poison, and so does an uninitialised buffer", async () => {
    assert.equal((await call(check.port, "/dead-bytes")).text, `${POISON_DEAD}\n`);
    assert.equal((await call(check.port, "/uninit/peek")).text, `${POISON_UNINIT}\n`);
    // The release build neither poisons nor checks: the bytes are what they were.
    assert.equal((await call(release.port, "/dead-bytes")).text, "7\n");
  });
});

describe("the memory report", () => {
  it("shows the route's peak drop when its parse runs in a scratch arena", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-regions-"));
    const requests = path.join(dir, "requests.txt");
    fs.writeFileSync(requests, "GET /summary/plain?n=400\nGET /summary/scratch?n=400&kib=384\n");
    let out = "";
    const code = await profileCommand([APP, requests], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} } });
    assert.equal(code, 0, out);
    const peak = (route: string): number => {
      const m = new RegExp(`^GET ${route.replace("/", "\\/")}\\s+1\\s+200\\s+([\\d.]+) KiB`, "m").exec(out);
      assert.ok(m, `${route} in\n${out}`);
      return Number(m[1]);
    };
    const plain = peak("/summary/plain");
    const scratch = peak("/summary/scratch");
    // The page (~130 KiB) is made after the parse (~350 KiB): in the request's arena it
    // stacks on the parse, after a scratch it reuses the parse's memory.
    assert.ok(scratch < plain * 0.85, `peak with a scratch ${scratch} KiB, without ${plain} KiB`);
    // The scratch counts with its whole carve (384 KiB), whatever it used of it: an arena of
    // the suggested size must hold it.
    assert.ok(scratch > 384, `the scratch route's peak ${scratch} KiB counts the carve`);
  });

  it("counts a scratch's whole carve, so the --arena-bytes it suggests holds the scratch", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-regions-"));
    const requests = path.join(dir, "requests.txt");
    fs.writeFileSync(requests, "GET /carve?kib=300\n");
    let out = "";
    const code = await profileCommand([APP, requests], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} } });
    assert.equal(code, 0, out);
    const m = /^GET \/carve\s+1\s+200\s+([\d.]+) KiB\s+\S+ B\s+(\S+)$/m.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 300, `peak ${m[1]} KiB for a 300 KiB scratch`);
    // And the suggestion serves it: the same request with that --arena-bytes answers 200.
    let again = "";
    const code2 = await profileCommand([APP, requests, "--arena-bytes", m[2]], { stdout: { write: (s: string) => (again += s) }, stderr: { write: () => {} } });
    assert.equal(code2, 0, again);
    assert.match(again, /^GET \/carve\s+1\s+200\s/m);
  });
});
