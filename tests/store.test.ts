// The bounded key-value store (issue 11, item 4; sdk/lib/arena/store.ts): string and byte
// keys and values through real requests, overwrites and deletes that give heap memory back,
// LRU eviction, the full result, TTL expiry, no allocation in the request arena, a model
// comparison against a JS Map over random operation runs, and the start-up failure when
// the heap cannot hold a store's table.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ArenaError } from "../host/index.ts";
import { startTestServer, type Running } from "./helpers.ts";
import { rng } from "./rng.ts";

const APP = "tests/fixtures/storeapp.ts";

async function call(port: number, path: string, query: Record<string, string> = {}, body?: string | Uint8Array<ArrayBuffer>): Promise<{ status: number; text: string }> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`http://127.0.0.1:${port}${path}${qs ? `?${qs}` : ""}`, { method: body === undefined ? "GET" : "POST", body });
  return { status: res.status, text: await res.text() };
}

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store's behaviour in JS: a Map whose order is the recency order, oldest first. */
class Model {
  readonly map = new Map<string, string>();
  used = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly lru: boolean;
  constructor(maxEntries: number, maxBytes: number, lru: boolean) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.lru = lru;
  }

  private evictOther(keep?: string): boolean {
    for (const [k, v] of this.map) {
      if (k === keep) continue;
      this.map.delete(k);
      this.used -= utf8Length(k) + utf8Length(v);
      return true;
    }
    return false;
  }

  set(k: string, v: string): string {
    const need = utf8Length(k) + utf8Length(v);
    if (need > this.maxBytes) return "TooLarge";
    const had = this.map.get(k);
    const old = had === undefined ? 0 : utf8Length(k) + utf8Length(had);
    const entries = had === undefined ? 1 : 0;
    while (this.map.size + entries > this.maxEntries || this.used + need - old > this.maxBytes) {
      if (!this.lru || !this.evictOther(k)) return "Full";
    }
    this.map.delete(k);
    this.map.set(k, v);
    this.used += need - old;
    return "Ok";
  }

  get(k: string): string {
    const v = this.map.get(k);
    if (v === undefined) return "-";
    this.map.delete(k);
    this.map.set(k, v);
    return `=${v}`;
  }

  delete(k: string): string {
    const v = this.map.get(k);
    if (v === undefined) return "0";
    this.map.delete(k);
    this.used -= utf8Length(k) + utf8Length(v);
    return "1";
  }
}

type Op = { o: "s"; k: string; v: string } | { o: "g" | "h" | "d"; k: string } | { o: "n" };

function runModel(model: Model, ops: Op[]): string[] {
  return ops.map((op) => {
    if (op.o === "s") return model.set(op.k, op.v);
    if (op.o === "g") return model.get(op.k);
    if (op.o === "h") return model.map.has(op.k) ? "1" : "0";
    if (op.o === "d") return model.delete(op.k);
    return `${model.map.size} ${model.used}`;
  });
}

function opLine(op: Op): string {
  return op.o === "s" ? `s ${op.k} ${op.v}` : op.o === "n" ? "n" : `${op.o} ${op.k}`;
}

describe("store in a heap too small for its byte budget", () => {
  it("answers HeapFull, never a trap, keeps its entries, and the server keeps serving", async () => {
    // 256 KiB: the stores' tables fit, the kv store's 64 KiB of values do not all fit beside them.
    const t = await startTestServer({ slots: 2, slotBytes: 1024 * 1024, heapBytes: 256 * 1024 }, false, APP);
    try {
      const value = new Uint8Array(4000).fill(0x61);
      let last = "Ok";
      let stored = 0;
      for (let i = 0; i < 16 && last === "Ok"; i++) {
        last = (await call(t.port, "/kv/setbody", { k: `k${i}` }, value)).text;
        if (last === "Ok") stored++;
      }
      assert.equal(last, "HeapFull", `after ${stored} values`);
      assert.ok(stored > 0, "some values fit before the heap filled");
      assert.equal((await call(t.port, "/kv/size")).text.split(" ")[0], String(stored), "nothing changed on HeapFull");
      assert.equal((await call(t.port, "/kv/get", { k: "k0" })).text, "a".repeat(4000));
      // Two neighbours deleted merge into one free block; one alone may not serve a value of
      // its own size, since TLSF searches the next size class up (docs/regions.md, sizing).
      assert.equal((await call(t.port, "/kv/delete", { k: "k0" })).text, "true");
      assert.equal((await call(t.port, "/kv/delete", { k: "k1" })).text, "true");
      assert.equal((await call(t.port, "/kv/setbody", { k: "kz" }, value)).text, "Ok", "deletes make room again");
    } finally {
      await t.server.close();
    }
  });
});

describe("store", () => {
  let t: Running;
  let port: number;
  before(async () => {
    t = await startTestServer({ slots: 4, slotBytes: 1024 * 1024, heapBytes: 1024 * 1024 }, false, APP);
    port = t.port;
  });
  after(async () => {
    await t.server.close();
  });
  const heap = async () => Number((await call(port, "/heap")).text);

  it("round-trips string keys and values, UTF-8 included, with has, delete and size", async () => {
    const key = "ключ/😀";
    const value = "héllo wörld 😀 €";
    assert.equal((await call(port, "/kv/size")).text, "0 0");
    assert.equal((await call(port, "/kv/set", { k: key, v: value })).text, "Ok");
    assert.equal((await call(port, "/kv/get", { k: key })).text, value);
    assert.equal((await call(port, "/kv/has", { k: key })).text, "true");
    assert.equal((await call(port, "/kv/size")).text, `1 ${utf8Length(key) + utf8Length(value)}`);
    assert.equal((await call(port, "/kv/get", { k: "ключ" })).status, 404);
    assert.equal((await call(port, "/kv/set", { k: "", v: "" })).text, "Ok", "an empty key and value are an entry too");
    assert.equal((await call(port, "/kv/has", { k: "" })).text, "true");
    assert.equal((await call(port, "/kv/delete", { k: key })).text, "true");
    assert.equal((await call(port, "/kv/delete", { k: key })).text, "false");
    assert.equal((await call(port, "/kv/delete", { k: "" })).text, "true");
    assert.equal((await call(port, "/kv/get", { k: key })).status, 404);
    assert.equal((await call(port, "/kv/size")).text, "0 0");
  });

  it("bytes keys and values round-trip, and a string key is the same key as its UTF-8 bytes", async () => {
    assert.equal((await call(port, "/bytes/set", { k: "00ff10", v: "0001fffe00" })).text, "Ok");
    assert.equal((await call(port, "/bytes/get", { k: "00ff10" })).text, "0001fffe00");
    assert.equal((await call(port, "/bytes/has", { k: "00ff" })).text, "false");
    // "é" is C3 A9 in UTF-8: set as bytes, read with a string key, and the other way round.
    assert.equal((await call(port, "/bytes/setstr", { k: "c3a9", v: "accent" })).text, "Ok");
    assert.equal((await call(port, "/kv/get", { k: "é" })).text, "accent");
    assert.equal((await call(port, "/kv/set", { k: "😀", v: "€" })).text, "Ok");
    assert.equal((await call(port, "/bytes/get", { k: "f09f9880" })).text, "e282ac");
    assert.equal((await call(port, "/bytes/getstr", { k: "f09f9880" })).text, "€");
    assert.equal((await call(port, "/bytes/setlone", { v: "lone" })).text, "Ok");
    assert.equal((await call(port, "/bytes/getstr", { k: "efbfbd78" })).text, "lone");
    assert.equal((await call(port, "/bytes/delete", { k: "efbfbd78" })).text, "true");
    // A value body with every byte value survives as bytes.
    const body = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.equal((await call(port, "/kv/setbody", { k: "all" }, body)).text, "Ok");
    assert.equal((await call(port, "/bytes/get", { k: Buffer.from("all").toString("hex") })).text, Buffer.from(body).toString("hex"));
    for (const k of ["00ff10", "c3a9", "f09f9880", Buffer.from("all").toString("hex")]) {
      assert.equal((await call(port, "/bytes/delete", { k })).text, "true");
    }
    assert.equal((await call(port, "/kv/size")).text, "0 0");
  });

  it("an overwrite frees the old value: heap use is stable over 10,000 overwrites", async () => {
    const r = await call(port, "/overwrite", { n: "10000" });
    assert.equal(r.status, 200, r.text);
    const [before, most, afterAll] = r.text.split(" ").map(Number);
    assert.equal(afterAll, before, `heap use ${before} before, ${afterAll} after`);
    // At most one value (300 bytes) more than at the start, block rounding included.
    assert.ok(most - before <= 320, `heap grew by ${most - before} bytes during the overwrites`);
    // And the same through requests, each its own arena.
    const base = await heap();
    for (let i = 0; i < 200; i++) assert.equal((await call(port, "/kv/set", { k: "o", v: "v".repeat(i % 97) })).text, "Ok");
    assert.equal((await call(port, "/kv/set", { k: "o", v: "" })).text, "Ok");
    const end = await heap();
    assert.equal((await call(port, "/kv/delete", { k: "o" })).text, "true");
    assert.ok(end - base <= 32, `200 overwrites left ${end - base} more bytes in the heap`);
  });

  it("delete gives the heap memory back", async () => {
    const base = await heap();
    for (let i = 0; i < 100; i++) assert.equal((await call(port, "/kv/set", { k: `key ${i}`, v: "x".repeat(i * 10) })).text, "Ok");
    assert.ok((await heap()) > base + 100 * 450);
    for (let i = 0; i < 100; i++) assert.equal((await call(port, "/kv/delete", { k: `key ${i}` })).text, "true");
    assert.equal(await heap(), base);
  });

  it("an LRU store evicts the least recently used entry; get refreshes it, has does not", async () => {
    for (const k of ["a", "b", "c"]) assert.equal((await call(port, "/lru/set", { k, v: k.toUpperCase() })).text, "Ok");
    assert.equal((await call(port, "/lru/get", { k: "a" })).text, "A");
    assert.equal((await call(port, "/lru/has", { k: "b" })).text, "true");
    assert.equal((await call(port, "/lru/set", { k: "d", v: "D" })).text, "Ok");
    assert.equal((await call(port, "/lru/has", { k: "b" })).text, "false", "b was the least recently used");
    for (const k of ["a", "c", "d"]) assert.equal((await call(port, "/lru/has", { k })).text, "true");
    // The byte bound evicts too: 1,023 of the 1,024 bytes leave room for nothing else.
    assert.equal((await call(port, "/lru/set", { k: "big", v: "x".repeat(1020) })).text, "Ok");
    assert.equal((await call(port, "/lru/size")).text, "1 1023");
    assert.equal((await call(port, "/lru/get", { k: "big" })).text.length, 1020);
    assert.equal((await call(port, "/lru/clear")).text, "cleared");
  });

  it("a full-mode store answers Full and keeps its entries", async () => {
    for (const k of ["a", "b", "c"]) assert.equal((await call(port, "/full/set", { k, v: k })).text, "Ok");
    assert.equal((await call(port, "/full/set", { k: "d", v: "d" })).text, "Full");
    assert.equal((await call(port, "/full/has", { k: "d" })).text, "false");
    for (const k of ["a", "b", "c"]) assert.equal((await call(port, "/full/get", { k })).text, k);
    assert.equal((await call(port, "/full/set", { k: "a", v: "overwrite" })).text, "Ok", "an overwrite needs no new entry");
    // The byte bound: 1,024 bytes in all.
    assert.equal((await call(port, "/full/set", { k: "b", v: "x".repeat(1020) })).text, "Full");
    assert.equal((await call(port, "/full/get", { k: "b" })).text, "b", "a refused overwrite leaves the old value");
    assert.equal((await call(port, "/full/size")).text, "3 14");
    assert.equal((await call(port, "/full/delete", { k: "c" })).text, "true");
    assert.equal((await call(port, "/full/set", { k: "d", v: "d" })).text, "Ok");
    assert.equal((await call(port, "/full/clear")).text, "cleared");
  });

  it("TooLarge for a key and value over maxBytes, in every mode, and nothing changes", async () => {
    assert.equal((await call(port, "/full/set", { k: "k", v: "x".repeat(1024) })).text, "TooLarge");
    assert.equal((await call(port, "/full/set", { k: "k", v: "x".repeat(1023) })).text, "Ok", "exactly maxBytes fits");
    assert.equal((await call(port, "/lru/set", { k: "k", v: "x".repeat(2000) })).text, "TooLarge");
    const body = new Uint8Array(64 * 1024 + 1);
    assert.equal((await call(port, "/kv/setbody", { k: "" }, body)).text, "TooLarge");
    assert.equal((await call(port, "/kv/size")).text, "0 0");
    assert.equal((await call(port, "/full/clear")).text, "cleared");
  });

  it("TTL: an expired entry is invisible and its memory is reclaimed; per-set TTLs override the store's", async () => {
    const base = await heap();
    assert.equal((await call(port, "/ttl/set", { k: "short", v: "gone soon" })).text, "Ok");
    assert.equal((await call(port, "/ttl/set", { k: "forever", v: "stays", ttl: "0" })).text, "Ok");
    assert.equal((await call(port, "/ttl/set", { k: "long", v: "stays too", ttl: "60000" })).text, "Ok");
    await sleep(120);
    assert.equal((await call(port, "/ttl/get", { k: "short" })).status, 404);
    assert.equal((await call(port, "/ttl/has", { k: "short" })).text, "false");
    assert.equal((await call(port, "/ttl/get", { k: "forever" })).text, "stays");
    assert.equal((await call(port, "/ttl/get", { k: "long" })).text, "stays too");
    assert.equal((await call(port, "/ttl/size")).text, `2 ${"foreverstayslongstays too".length}`);
    // Many entries expire together; size reclaims them all and the heap is back.
    for (let i = 0; i < 50; i++) assert.equal((await call(port, "/ttl/set", { k: `s${i}`, v: "v".repeat(i) })).text, "Ok");
    await sleep(120);
    assert.equal((await call(port, "/ttl/size")).text.split(" ")[0], "2");
    assert.equal((await call(port, "/ttl/delete", { k: "forever" })).text, "true");
    assert.equal((await call(port, "/ttl/delete", { k: "long" })).text, "true");
    assert.equal(await heap(), base);
  });

  it("TTLs set in any order, overwritten and deleted: the short ones expire, the rest stay (the expiry heap)", async () => {
    const base = await heap();
    const random = rng(11);
    const ttls = ["20", "40", "60", "10000", "0"];
    const lives = new Map<string, boolean>();
    const setOne = async (k: string) => {
      const ttl = ttls[Math.floor(random() * ttls.length)];
      assert.equal((await call(port, "/ttl/set", { k, v: "v", ttl })).text, "Ok");
      lives.set(k, Number(ttl) === 0 || Number(ttl) > 1000);
    };
    for (let i = 0; i < 80; i++) await setOne(`k${i}`);
    for (let i = 0; i < 60; i++) {
      const k = `k${Math.floor(random() * 80)}`;
      if (random() < 0.7) await setOne(k);
      else {
        await call(port, "/ttl/delete", { k });
        lives.set(k, false);
      }
    }
    await sleep(150);
    const staying = [...lives].filter(([, stays]) => stays).map(([k]) => k);
    assert.equal((await call(port, "/ttl/size")).text.split(" ")[0], String(staying.length));
    for (const [k, stays] of lives) assert.equal((await call(port, "/ttl/has", { k })).text, String(stays), k);
    for (const k of staying) assert.equal((await call(port, "/ttl/delete", { k })).text, "true");
    assert.equal(await heap(), base);
  });

  it("store calls allocate nothing in the request arena but the copy get returns", async () => {
    const [set, has, get, del, miss, len] = (await call(port, "/arena", { k: "key é", v: "value 😀".repeat(20) })).text.split(" ").map(Number);
    assert.deepEqual([set, has, del, miss], [0, 0, 0, 0]);
    assert.equal(len, utf8Length("value 😀".repeat(20)));
    assert.ok(get >= len && get <= len + 64, `getBytes of ${len} bytes used ${get} arena bytes`);
  });

  it("matches a JS Map model over random set/get/has/delete runs, LRU and full", async () => {
    // Few keys (21, the empty one included) and values of 0–24 bytes, against 6 entries and
    // 48 bytes: runs overwrite, evict and fill the store often.
    const key = fc.string({ unit: fc.constantFrom("a", "b", "é", "😀"), maxLength: 2, size: "max" });
    const value = fc.string({ unit: fc.constantFrom("x", "ü", "€", "😀"), maxLength: 6, size: "max" });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ o: fc.constant("s" as const), k: key, v: value }),
      fc.record({ o: fc.constantFrom("g" as const, "h" as const, "d" as const), k: key }),
      fc.constant({ o: "n" as const }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80, size: "max" }), async (ops) => {
      const body = ops.map(opLine).join("\n");
      for (const [store, lru] of [["mlru", true], ["mfull", false]] as const) {
        const r = await call(port, `/model/${store}`, {}, body);
        assert.equal(r.status, 200, r.text);
        const lines = r.text === "" ? [] : r.text.replace(/\n$/, "").split("\n");
        assert.deepEqual(lines, runModel(new Model(6, 48, lru), ops), `${store}:\n${body}`);
      }
    }), { numRuns: 150, seed: 11 });
  });
});

describe("store in a check build", () => {
  it("using a start-up store during requests is not a check violation", async () => {
    const t = await startTestServer({ slots: 2, slotBytes: 1024 * 1024, heapBytes: 1024 * 1024 }, true, APP);
    try {
      assert.equal((await call(t.port, "/kv/set", { k: "a", v: "b" })).text, "Ok");
      assert.equal((await call(t.port, "/kv/get", { k: "a" })).text, "b");
      assert.equal((await call(t.port, "/lru/set", { k: "a", v: "b" })).text, "Ok");
      assert.equal((await call(t.port, "/kv/delete", { k: "a" })).text, "true");
    } finally {
      await t.server.close();
    }
  });
});

describe("store at start-up", () => {
  it("a heap too small for the stores' tables stops the app at start, in one line that says to raise --heap-bytes", async () => {
    for (const heapBytes of [64 * 1024, 0]) {
      await assert.rejects(startTestServer({ slots: 2, heapBytes }, false, APP), (err: unknown) => {
        assert.ok(err instanceof ArenaError, String(err));
        assert.equal(err.code, "ARENA_E_WASM");
        assert.match(err.line(), /^arena: ARENA_E_WASM: tests\/fixtures\/storeapp\.ts failed during start-up: Store: a table of 4096 entries needs 196608 bytes of the heap, which has \d+ of \d+ bytes free: raise --heap-bytes/);
        assert.ok(!err.line().includes("\n"));
        return true;
      });
    }
  });
});
