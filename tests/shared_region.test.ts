// The shared region (issue 14, item 2; host/memory/shared_region.ts, shared_store.ts): its
// fixed layout and bounds, named counters, the key-value store against a JS Map model, and
// real worker_threads hammering counters and the store at once (exact totals, no torn
// values), and the imports' argument checks (host/effects/shared.ts). The app's side,
// through served apps, is tests/shared_app.test.ts.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { ArenaError } from "../host/errors.ts";
import {
  SHARED_BYTES_DEFAULT, SHARED_COUNTER_NAME_BYTES_MAX, SHARED_COUNTERS_DEFAULT, SHARED_KEY_BYTES_MAX_DEFAULT, SHARED_LOCK_WAIT_MS_MAX,
  SHARED_VALUE_BYTES_MAX_DEFAULT,
} from "../host/limits.ts";
import { SHARED_ABSENT, SHARED_FULL, SHARED_OK, SHARED_TOO_LARGE, SharedRegion } from "../host/memory/shared_region.ts";
import { Caller } from "../host/abi/caller.ts";
import { SHARED_BAD_ARGUMENT } from "../host/abi/constants.ts";
import { SharedEffects } from "../host/effects/shared.ts";
import { AppMemory } from "../host/memory/app_memory.ts";
import { planMemory } from "../host/memory/plan.ts";
import { rng } from "./rng.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string) => enc.encode(s);

function set(r: SharedRegion, k: string, v: string | Uint8Array): number {
  const key = b(k);
  const value = typeof v === "string" ? b(v) : v;
  return r.store.set(key, 0, key.length, value, 0, value.length);
}
function get(r: SharedRegion, k: string): string | null {
  const key = b(k);
  const out = new Uint8Array(r.valueBytes);
  const n = r.store.get(key, 0, key.length, out, 0, out.length);
  return n < 0 ? null : dec.decode(out.subarray(0, n));
}
function del(r: SharedRegion, k: string): number {
  const key = b(k);
  return r.store.delete(key, 0, key.length);
}

describe("shared region layout", () => {
  it("create() with no options is SHARED_BYTES_DEFAULT with the default counters, key and value sizes", () => {
    const r = SharedRegion.create();
    assert.equal(r.bytes, SHARED_BYTES_DEFAULT);
    assert.equal(r.buffer.byteLength, SHARED_BYTES_DEFAULT);
    assert.deepEqual([r.counters, r.keyBytes, r.valueBytes], [SHARED_COUNTERS_DEFAULT, SHARED_KEY_BYTES_MAX_DEFAULT, SHARED_VALUE_BYTES_MAX_DEFAULT]);
    // Nearly all of it is entries: each costs its key and value, 8 B of head, a free-list
    // word and at most four 8-byte index records.
    const perEntry = SHARED_KEY_BYTES_MAX_DEFAULT + SHARED_VALUE_BYTES_MAX_DEFAULT + 8;
    assert.ok(r.entries > (SHARED_BYTES_DEFAULT - SHARED_COUNTERS_DEFAULT * 64) / (perEntry + 36), `${r.entries} entries`);
    assert.ok(r.entries < SHARED_BYTES_DEFAULT / perEntry);
    assert.match(r.describe(), /^4 MiB shared \(256 counters, [\d,]+ entries of ≤ 128 B keys and 1 KiB values\)$/);
  });

  it("the entries fill the bytes given, for many sizes, and the region never grows", () => {
    for (const bytes of [20_000, 100_000, 1 << 20, 3_333_333]) {
      const r = SharedRegion.create({ bytes, counters: 16, keyBytes: 32, valueBytes: 100 });
      assert.equal(r.bytes, bytes);
      const more = SharedRegion.create({ bytes: bytes + 200, counters: 16, keyBytes: 32, valueBytes: 100 });
      assert.ok(more.entries <= r.entries + 2, "a few bytes more make at most room for an entry or two");
      for (let i = 0; i < r.entries + 5; i++) set(r, `k${i}`, "v".repeat(i % 100));
      assert.equal(r.store.size, r.entries, "it holds exactly its entries");
      assert.equal(r.buffer.byteLength, bytes);
    }
  });

  it("0 bytes is no region: counters and sets are Full, gets Absent", () => {
    const r = SharedRegion.create({ bytes: 0 });
    assert.equal(r.describe(), "no shared region");
    assert.equal(r.counter(b("hits")), -SHARED_FULL);
    assert.equal(set(r, "a", "b"), SHARED_FULL);
    assert.equal(get(r, "a"), null);
    assert.equal(del(r, "a"), SHARED_ABSENT);
  });

  it("impossible options are one ARENA_E_CONFIG line that says what to change", () => {
    assert.throws(() => SharedRegion.create({ bytes: 1000 }), (err: unknown) => {
      assert.ok(err instanceof ArenaError);
      assert.equal(err.code, "ARENA_E_CONFIG");
      assert.match(err.line(), /shared region: 1000 B cannot hold 256 counters and one entry of 128 \+ 1024 bytes .*raise --shared-bytes/);
      return true;
    });
    for (const options of [{ bytes: -1 }, { bytes: 1.5 }, { bytes: 2 ** 31 }, { counters: -1 }, { keyBytes: 0 }]) {
      assert.throws(() => SharedRegion.create(options), /ARENA_E_CONFIG|must be a whole number/);
    }
  });

  it("attach() reads the layout back from the buffer, and refuses a buffer that is no region", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 8, keyBytes: 16, valueBytes: 64 });
    const a = SharedRegion.attach(r.buffer);
    assert.deepEqual([a.counters, a.entries, a.keyBytes, a.valueBytes], [r.counters, r.entries, r.keyBytes, r.valueBytes]);
    assert.equal(set(r, "k", "v"), SHARED_OK);
    assert.equal(get(a, "k"), "v", "the same store through either");
    assert.equal(a.counter(b("c")), r.counter(b("c")));
    assert.throws(() => SharedRegion.attach(new SharedArrayBuffer(4096)), /assert: attach\(\) is given the buffer of a shared region/);
  });
});

describe("shared counters", () => {
  it("a name is interned once: the same index for the same name, a new one for another", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 8 });
    const hits = r.counter(b("hits"));
    assert.ok(hits >= 0 && hits < 8);
    assert.equal(r.counter(b("hits")), hits);
    assert.notEqual(r.counter(b("misses")), hits);
    assert.equal(r.countersNamed, 2);
    assert.equal(r.add(hits, 5n), 5n);
    assert.equal(r.add(hits, -2n), 3n);
    assert.equal(r.load(hits), 3n);
    assert.equal(r.exchange(hits, 10n), 3n);
    assert.equal(r.load(hits), 10n);
    assert.equal(r.counter(b("")), r.counter(new Uint8Array(0)), "the empty name is a name too");
  });

  it("values wrap at 64 bits; a name over the limit is TooLarge; past the last counter is Full", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 4 });
    const c = r.counter(b("max"));
    r.exchange(c, 2n ** 63n - 1n);
    assert.equal(r.add(c, 1n), -(2n ** 63n));
    assert.equal(r.counter(b("x".repeat(SHARED_COUNTER_NAME_BYTES_MAX))) >= 0, true, "exactly the longest name fits");
    assert.equal(r.counter(b("x".repeat(SHARED_COUNTER_NAME_BYTES_MAX + 1))), -SHARED_TOO_LARGE);
    const names = ["max", "x".repeat(SHARED_COUNTER_NAME_BYTES_MAX), "c", "d"];
    const indices = names.map((n) => r.counter(b(n)));
    assert.deepEqual([...new Set(indices)].sort(), [0, 1, 2, 3]);
    assert.equal(r.counter(b("e")), -SHARED_FULL);
    assert.deepEqual(names.map((n) => r.counter(b(n))), indices, "a full table still finds every name it has");
    assert.equal(r.validCounter(4), false);
    assert.equal(r.validCounter(-1), false);
  });

  it("an index counter() never gave out is refused", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 4 });
    assert.equal(r.validCounter(0), false);
    assert.throws(() => r.add(0, 1n), /assert: add\(\) is given a counter counter\(\) returned/);
  });
});

describe("shared store", () => {
  it("set, get, overwrite and delete; a key over keyBytes or a value over valueBytes is TooLarge", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 4, keyBytes: 8, valueBytes: 16 });
    assert.equal(set(r, "k", "héllo"), SHARED_OK);
    assert.equal(get(r, "k"), "héllo");
    assert.equal(set(r, "k", ""), SHARED_OK);
    assert.equal(get(r, "k"), "");
    assert.equal(set(r, "", "empty key"), SHARED_OK);
    assert.equal(get(r, ""), "empty key");
    assert.equal(set(r, "12345678", "x".repeat(16)), SHARED_OK, "exactly the largest key and value fit");
    assert.equal(set(r, "123456789", "x"), SHARED_TOO_LARGE);
    assert.equal(set(r, "k", "x".repeat(17)), SHARED_TOO_LARGE);
    assert.equal(get(r, "k"), "", "a refused set changes nothing");
    assert.equal(get(r, "123456789"), null);
    assert.equal(r.store.size, 3);
    assert.equal(del(r, "k"), SHARED_OK);
    assert.equal(del(r, "k"), SHARED_ABSENT);
    assert.equal(get(r, "k"), null);
  });

  it("a get with too little room writes nothing and says how much to ask for", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 4 });
    assert.equal(set(r, "k", "0123456789"), SHARED_OK);
    const out = new Uint8Array(16).fill(0xee);
    assert.equal(r.store.get(b("k"), 0, 1, out, 4, 9), 10);
    assert.ok(out.every((x) => x === 0xee), "nothing written");
    assert.equal(r.store.get(b("k"), 0, 1, out, 4, 10), 10);
    assert.equal(dec.decode(out.subarray(4, 14)), "0123456789");
    assert.equal(r.store.get(b("nope"), 0, 4, out, 0, 16), -SHARED_ABSENT);
  });

  it("Full at the last entry, with nothing changed; an overwrite needs no new entry; a delete makes room", () => {
    const r = SharedRegion.create({ bytes: 6 * 1024, counters: 0, keyBytes: 8, valueBytes: 8 });
    const n = r.entries;
    for (let i = 0; i < n; i++) assert.equal(set(r, `k${i}`, `v${i}`), SHARED_OK);
    assert.equal(set(r, "new", "v"), SHARED_FULL);
    assert.equal(get(r, "new"), null);
    assert.equal(set(r, "k0", "again"), SHARED_OK);
    assert.equal(del(r, "k1"), SHARED_OK);
    assert.equal(set(r, "new", "v"), SHARED_OK);
    for (let i = 2; i < n; i++) assert.equal(get(r, `k${i}`), `v${i}`);
  });

  it("matches a JS Map over long random runs of set, get and delete on a crowded index", () => {
    // 40-odd entries and keys from a small alphabet: runs fill, delete and refill, so probe
    // runs wrap and backward-shift deletion is exercised everywhere.
    const random = rng(14);
    const r = SharedRegion.create({ bytes: 8 * 1024, counters: 0, keyBytes: 4, valueBytes: 12 });
    const model = new Map<string, string>();
    for (let step = 0; step < 60_000; step++) {
      const k = String(Math.floor(random() * 64));
      const op = random();
      if (op < 0.45) {
        const v = "v".repeat(Math.floor(random() * 13));
        const want = model.has(k) || model.size < r.entries ? SHARED_OK : SHARED_FULL;
        assert.equal(set(r, k, v), want, `step ${step}: set ${k}`);
        if (want === SHARED_OK) model.set(k, v);
      } else if (op < 0.75) {
        assert.equal(get(r, k), model.get(k) ?? null, `step ${step}: get ${k}`);
      } else {
        assert.equal(del(r, k), model.delete(k) ? SHARED_OK : SHARED_ABSENT, `step ${step}: delete ${k}`);
      }
      assert.equal(r.store.size, model.size);
    }
    for (const [k, v] of model) assert.equal(get(r, k), v);
  });

  it("a lock held by a thread that died fails loudly after SHARED_LOCK_WAIT_MS_MAX instead of hanging", () => {
    const r = SharedRegion.create({ bytes: 64 * 1024, counters: 0 });
    const words = new Int32Array(r.buffer);
    Atomics.store(words, 8, 1); // the store's lock word (shared_store.ts H_LOCK), as a dead holder leaves it
    const t0 = performance.now();
    assert.throws(() => set(r, "k", "v"), /assert: the shared store's lock is taken within/);
    const waited = performance.now() - t0;
    assert.ok(waited >= SHARED_LOCK_WAIT_MS_MAX - 5 && waited < SHARED_LOCK_WAIT_MS_MAX + 500, `waited ${waited} ms`);
  });
});

/** Runs `workers` threads of tests/fixtures/shared_worker.ts over `region`; their results. */
async function hammer(region: SharedRegion, workers: number, kind: "count" | "store", rounds: number): Promise<Record<string, unknown>[]> {
  const gate = new SharedArrayBuffer(4);
  const url = new URL("./fixtures/shared_worker.ts", import.meta.url);
  const runs = Array.from({ length: workers }, (_, id) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const w = new Worker(url, { workerData: { buffer: region.buffer, gate, workers, id, kind, rounds } });
    w.once("message", (m: Record<string, unknown>) => resolve(m));
    w.once("error", reject);
    w.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`worker ${id} exited with ${code}`))));
  }));
  return Promise.all(runs);
}

describe("shared region across worker threads", () => {
  it("4 workers adding 100,000 times each: the exact total, and every worker named the same counters", async () => {
    const region = SharedRegion.create({ bytes: 256 * 1024, counters: 64 });
    const rounds = 100_000;
    const results = await hammer(region, 4, "count", rounds);
    const hits = region.counter(b("hits"));
    assert.deepEqual(new Set(results.map((r) => r.hits)), new Set([hits]), "one index for one name in every thread");
    assert.equal(region.load(hits), BigInt(4 * rounds));
    assert.equal(new Set(results.map((r) => r.mine)).size, 4);
    for (let id = 0; id < 4; id++) assert.equal(region.load(region.counter(b(`worker ${id}`))), BigInt(2 * rounds));
    assert.equal(region.load(region.counter(b("by name"))), BigInt(4 * (rounds / 1000)));
    assert.equal(region.countersNamed, 4 + 2, "hits, by name and one per worker: no name twice");
    const lasts = results.map((r) => BigInt(r.last as string));
    assert.ok(lasts.includes(BigInt(4 * rounds)), "the last add of some worker saw the total");
  });

  it("3 workers setting, reading and deleting keys at once: every read is whole, nothing is lost or left", async () => {
    const region = SharedRegion.create({ bytes: 1 << 20, counters: 0, keyBytes: 16, valueBytes: 1024 });
    const results = await hammer(region, 3, "store", 20_000);
    for (const r of results) {
      assert.equal(r.torn, 0, "no read mixed two values");
      assert.equal(r.wrong, 0, "a worker reads back what it set on its own keys");
      assert.equal(r.full, 0);
      assert.ok((r.reads as number) > 19_000);
    }
    assert.equal(region.store.size, 4, "only the four hot keys are left");
    for (let i = 0; i < 4; i++) {
      const v = get(region, `hot ${i}`)!;
      assert.ok(v.length > 0 && [...v].every((c) => c === v[0]));
    }
  });
});

describe("shared effects (the arena.shared_* imports)", () => {
  it("every pointer is checked against the caller's arena, and a bad one or an unknown counter is SHARED_BAD_ARGUMENT", () => {
    const plan = planMemory(2, 64 * 1024, 64 * 1024, 0);
    const memory = new AppMemory(plan);
    const caller = new Caller(2);
    caller.bind(() => 0); // slot 0 is calling
    const region = SharedRegion.create({ bytes: 64 * 1024, counters: 4 });
    const fx = new SharedEffects(memory, caller, region).imports() as Record<string, (...args: (number | bigint)[]) => number>;
    const mine = memory.slotBase(0) + 1024;
    const other = memory.slotBase(1) + 1024;
    memory.u8.set(b("key"), mine);
    memory.u8.set(b("value"), mine + 16);
    assert.equal(fx.shared_set(mine, 3, mine + 16, 5), SHARED_OK);
    assert.equal(fx.shared_get(mine, 3, mine + 64, 5), 5);
    assert.equal(dec.decode(memory.u8.subarray(mine + 64, mine + 69)), "value");
    assert.equal(fx.shared_get(mine, 3, 0, 0), 5, "room 0 asks the length");
    assert.equal(fx.shared_set(other, 3, mine + 16, 5), SHARED_BAD_ARGUMENT, "another request's slot");
    assert.equal(fx.shared_get(mine, 3, other, 5), -SHARED_BAD_ARGUMENT);
    assert.equal(fx.shared_get(mine, 3, memory.slotBase(0) + plan.arenaBytes - 2, 5), -SHARED_BAD_ARGUMENT, "past the arena's end");
    assert.equal(fx.shared_delete(plan.totalBytes + 100, 3), SHARED_BAD_ARGUMENT);
    const index = fx.shared_counter(mine, 3);
    assert.ok(index >= 0);
    assert.equal(fx.shared_add(index, 5n, mine + 128), SHARED_OK);
    assert.equal(memory.dv.getBigInt64(mine + 128, true), 5n);
    assert.equal(fx.shared_exchange(index, 7n, mine + 128), SHARED_OK);
    assert.equal(memory.dv.getBigInt64(mine + 128, true), 5n);
    assert.equal(fx.shared_load(index, mine + 128), SHARED_OK);
    assert.equal(memory.dv.getBigInt64(mine + 128, true), 7n);
    assert.equal(fx.shared_add(index, 1n, other), SHARED_BAD_ARGUMENT);
    assert.equal(fx.shared_add((index + 1) % 4, 1n, mine), SHARED_BAD_ARGUMENT, "a counter never named");
    assert.equal(fx.shared_load(-1, mine), SHARED_BAD_ARGUMENT);
    assert.equal(fx.shared_counter(other, 3), -SHARED_BAD_ARGUMENT);
    assert.equal(fx.shared_delete(mine, 3), SHARED_OK);
    assert.equal(fx.shared_delete(mine, 3), SHARED_ABSENT);
    assert.equal(fx.shared_get(mine, 3, 0, 0), -SHARED_ABSENT);
  });

  it("with no region (null) the imports exist over an empty one", () => {
    const memory = new AppMemory(planMemory(1, 64 * 1024, 64 * 1024, 0));
    const caller = new Caller(1);
    caller.bind(() => 0);
    const fx = new SharedEffects(memory, caller, null).imports() as Record<string, (...args: number[]) => number>;
    const p = memory.slotBase(0) + 1024;
    assert.equal(fx.shared_counter(p, 1), -SHARED_FULL);
    assert.equal(fx.shared_set(p, 1, p, 1), SHARED_FULL);
    assert.equal(fx.shared_get(p, 1, p, 1), -SHARED_ABSENT);
  });
});
