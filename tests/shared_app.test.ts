// The shared region from an app (issue 14, item 2; sdk/lib/arena/shared.ts through the
// `arena.shared_*` imports): two servers over one region stand for two workers, each with
// its own wasm memory and instance, as `--workers 2` runs them. Counters and the store are
// seen by both, concurrent requests lose no addition, full and too large are answers the
// app gets, and start-up code reaches the region too.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { ArenaError } from "../host/index.ts";
import { SharedRegion } from "../host/memory/shared_region.ts";
import { startTestServer, type Running } from "./helpers.ts";

const APP = "tests/fixtures/sharedapp.ts";

async function call(port: number, path: string, query: Record<string, string> = {}, body?: string | Uint8Array<ArrayBuffer>): Promise<{ status: number; text: string }> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`http://127.0.0.1:${port}${path}${qs ? `?${qs}` : ""}`, { method: body === undefined ? "GET" : "POST", body });
  return { status: res.status, text: await res.text() };
}

describe("shared region between two servers (two workers)", () => {
  const shared = SharedRegion.create({ bytes: 256 * 1024, counters: 16, keyBytes: 32, valueBytes: 2048 });
  let a: Running;
  let b: Running;
  before(async () => {
    a = await startTestServer({ slots: 8, slotBytes: 256 * 1024, shared }, false, APP);
    b = await startTestServer({ slots: 8, slotBytes: 256 * 1024, shared }, true, APP);
  });
  after(async () => {
    await a.server.close();
    await b.server.close();
  });

  it("start-up code in each worker names the same counter and seeds the store", async () => {
    assert.equal((await call(a.port, "/starts")).text, "2");
    assert.equal((await call(b.port, "/starts")).text, "2");
    assert.equal((await call(b.port, "/kv/get", { k: "seed" })).text, "from start-up");
  });

  it("a counter added to in one worker is seen in the other; set returns the old value", async () => {
    assert.equal((await call(a.port, "/counter/add", { name: "hits" })).text, "1");
    assert.equal((await call(b.port, "/counter/add", { name: "hits", d: "41" })).text, "42");
    assert.equal((await call(a.port, "/counter/value", { name: "hits" })).text, "42");
    assert.equal((await call(b.port, "/counter/set", { name: "hits", d: "0" })).text, "42");
    assert.equal((await call(a.port, "/counter/add", { name: "hits", d: "-3" })).text, "-3");
    assert.equal((await call(a.port, "/counter/value", { name: "x".repeat(49) })).text, "null", "a name over 48 bytes");
  });

  it("400 concurrent requests over both workers lose no addition", async () => {
    const name = "concurrent";
    const sent = Array.from({ length: 400 }, (_, i) => call(i % 2 ? a.port : b.port, "/counter/add", { name }));
    const values = (await Promise.all(sent)).map((r) => Number(r.text));
    assert.deepEqual(values.sort((x, y) => x - y), Array.from({ length: 400 }, (_, i) => i + 1), "every addition saw its own total");
    assert.equal((await call(b.port, "/counter/value", { name })).text, "400");
  });

  it("the store: set in one worker, get, has and delete in the other, UTF-8 and bytes", async () => {
    assert.equal((await call(a.port, "/kv/set", { k: "ключ", v: "héllo 😀" })).text, "Ok");
    assert.equal((await call(b.port, "/kv/get", { k: "ключ" })).text, "héllo 😀");
    assert.equal((await call(b.port, "/kv/has", { k: "ключ" })).text, "true");
    assert.equal((await call(b.port, "/kv/getbytes", { hex: Buffer.from("ключ").toString("hex") })).text, Buffer.from("héllo 😀").toString("hex"));
    assert.equal((await call(a.port, "/kv/setbytes", { hex: "00ff", v: "000102" })).text, "Ok");
    assert.equal((await call(b.port, "/kv/getbytes", { hex: "00ff" })).text, "000102");
    assert.equal((await call(b.port, "/kv/delete", { k: "ключ" })).text, "true");
    assert.equal((await call(a.port, "/kv/delete", { k: "ключ" })).text, "false");
    assert.equal((await call(a.port, "/kv/get", { k: "ключ" })).status, 404);
    assert.equal((await call(a.port, "/kv/has", { k: "ключ" })).text, "false");
  });

  it("values past a first get's room are read whole; a body of every byte round-trips", async () => {
    assert.equal((await call(a.port, "/kv/repeat", { k: "big", n: "2048" })).text, "Ok", "exactly the largest value");
    assert.equal((await call(b.port, "/kv/get", { k: "big" })).text, "x".repeat(2048));
    const body = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.equal((await call(b.port, "/kv/setbody", { k: "all" }, body)).text, "Ok");
    assert.equal((await call(a.port, "/kv/getbytes", { hex: Buffer.from("all").toString("hex") })).text, Buffer.from(body).toString("hex"));
  });

  it("a key and value kept in the heap region are copied for the host, which reads no heap memory", async () => {
    assert.equal((await call(a.port, "/heapkey", { k: "from heap", v: "kept" })).text, "Ok kept");
    assert.equal((await call(b.port, "/kv/get", { k: "from heap" })).text, "kept");
  });

  it("TooLarge and Full are answers, not traps, and change nothing", async () => {
    assert.equal((await call(a.port, "/kv/repeat", { k: "big", n: "2049" })).text, "TooLarge");
    assert.equal((await call(a.port, "/kv/get", { k: "big" })).text.length, 2048, "the old value stays");
    assert.equal((await call(a.port, "/kv/set", { k: "k".repeat(33), v: "v" })).text, "TooLarge");
    for (let i = shared.store.size; i < shared.entries; i++) {
      assert.equal((await call(i % 2 ? a.port : b.port, "/kv/set", { k: `fill ${i}`, v: "v" })).text, "Ok");
    }
    assert.equal((await call(a.port, "/kv/set", { k: "one more", v: "v" })).text, "Full");
    assert.equal((await call(b.port, "/kv/set", { k: "seed", v: "overwrite" })).text, "Ok", "an overwrite needs no new entry");
    assert.equal((await call(b.port, "/kv/delete", { k: "seed" })).text, "true");
    assert.equal((await call(a.port, "/kv/set", { k: "one more", v: "v" })).text, "Ok");
  });

});

describe("shared region with no bytes", () => {
  it("a start-up `Shared.counter(name)!` that cannot have its counter stops the app before it serves, in one line", async () => {
    await assert.rejects(startTestServer({ slots: 2, slotBytes: 256 * 1024, shared: SharedRegion.create({ bytes: 0 }) }, false, APP), (err: unknown) => {
      assert.ok(err instanceof ArenaError, String(err));
      assert.equal(err.code, "ARENA_E_WASM");
      assert.match(err.line(), /^arena: ARENA_E_WASM: tests\/fixtures\/sharedapp\.ts failed during start-up/);
      assert.ok(!err.line().includes("\n"));
      return true;
    });
  });
});
