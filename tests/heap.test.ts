// The heap region (issue 11): state kept between requests with Heap.keep / Heap.free,
// start-up containers that grow in the heap, the TLSF allocator under random operation
// sequences, exhaustion as a value, and no request reading another's bytes.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startTestServer, type Running } from "./helpers.ts";

const APP = "tests/fixtures/heapapp.ts";

async function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, body });
  return { status: res.status, text: await res.text() };
}

/** heap used, capacity, notes, order length, remembered words. */
async function stats(port: number): Promise<number[]> {
  return (await call(port, "GET", "/stats")).text.trim().split(" ").map(Number);
}

describe("heap region", () => {
  let t: Running;
  before(async () => {
    t = await startTestServer({ slots: 4, slotBytes: 1024 * 1024, heapBytes: 1024 * 1024 }, false, APP);
  });
  after(async () => {
    await t.server.close();
  });

  it("keeps notes between requests and gives their memory back when they are deleted", async () => {
    const [base] = await stats(t.port);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await call(t.port, "POST", `/notes?title=note%20${i}&tags=a,b${i}`, `body ${i}`);
      assert.equal(r.status, 201);
      ids.push(r.text);
    }
    // Every field survives the requests that made it: strings, an array of strings, a
    // number and bytes from the request body.
    for (let i = 0; i < 40; i++) {
      assert.equal((await call(t.port, "GET", `/notes/${ids[i]}`)).text, `${ids[i]}|note ${i}|a,b${i}|1.5|body ${i}`);
    }
    const [used, , notes, order] = await stats(t.port);
    assert.ok(used > base, "the notes use heap memory");
    assert.equal(notes, 40);
    assert.equal(order, 40);
    for (const id of ids) assert.equal((await call(t.port, "DELETE", `/notes/${id}`)).status, 204);
    assert.equal((await call(t.port, "GET", `/notes/${ids[0]}`)).status, 404);
    const [after, , left] = await stats(t.port);
    assert.equal(left, 0);
    // The map's and the array's tables stay (they shrink on later growth); the notes are gone.
    assert.ok(after - base < 4096, `heap use after deleting every note: ${after} vs ${base} at start`);
  });

  it("100,000 create/delete cycles leave heap use where it started and the wasm memory unchanged", async () => {
    const memory = t.server.stats().memoryBytes;
    await call(t.port, "GET", "/cycles?n=2000");
    const [start] = await stats(t.port);
    for (let i = 0; i < 50; i++) {
      const r = await call(t.port, "GET", "/cycles?n=2000");
      assert.equal(r.status, 200, r.text);
      const [before, after] = r.text.trim().split(" ").map(Number);
      assert.equal(after, before, `cycle batch ${i}: heap ${before} → ${after}`);
    }
    const [end] = await stats(t.port);
    assert.equal(end, start);
    assert.equal(t.server.stats().memoryBytes, memory);
  });

  it("a Set made at start-up grows in the heap", async () => {
    for (let i = 0; i < 300; i++) assert.equal((await call(t.port, "GET", `/remember?w=w${i}`)).text, "new\n");
    assert.equal((await call(t.port, "GET", "/remember?w=w7")).text, "known\n");
    const [, , , , words] = await stats(t.port);
    assert.equal(words, 300);
  });

  it("a start-up container that cannot grow because the heap is full fails only its request, with ARENA_E_MEMORY", async () => {
    const small = await startTestServer({ slots: 2, slotBytes: 1024 * 1024, heapBytes: 128 * 1024 }, false, APP);
    try {
      let last = { status: 200, text: "" };
      for (let i = 0; i < 100 && last.status === 200; i++) last = await call(small.port, "GET", "/grow?n=500");
      assert.equal(last.status, 500);
      const body = JSON.parse(last.text);
      assert.equal(body.code, "ARENA_E_MEMORY");
      assert.match(body.message, /the heap region is full: asked \d+ bytes to grow a long-lived object/);
      // The containers are intact and everything else still answers.
      assert.equal((await call(small.port, "GET", "/grow?n=0")).status, 200);
      assert.equal((await call(small.port, "POST", "/notes?title=t", "b")).status, 507, "no room left to keep a note either");
      assert.equal((await call(small.port, "GET", "/stats")).status, 200);
    } finally {
      await small.server.close();
    }
  });

  it("a fresh allocation never shows bytes an earlier request left in the arena or the heap", async () => {
    const one = await startTestServer({ slots: 1, slotBytes: 1024 * 1024 }, false, APP);
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await call(one.port, "GET", "/dirty")).status, 200);
        assert.equal((await call(one.port, "GET", "/fresh")).text, "0\n");
      }
    } finally {
      await one.server.close();
    }
  });
});

describe("heap allocator", () => {
  let t: Running;
  before(async () => {
    // A small heap, so random sequences reach exhaustion.
    t = await startTestServer({ slots: 2, slotBytes: 1024 * 1024, heapBytes: 128 * 1024 }, false, APP);
  });
  after(async () => {
    await t.server.close();
  });

  type Op = { kind: "a"; size: number } | { kind: "f"; pick: number } | { kind: "r"; pick: number; size: number };
  const size = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 70_000 }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: size.map((s) => ({ kind: "a" as const, size: s })) },
    { weight: 2, arbitrary: fc.nat().map((p) => ({ kind: "f" as const, pick: p })) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), size).map(([p, s]) => ({ kind: "r" as const, pick: p, size: s })) },
  );

  it("random alloc/realloc/free sequences: no overlap, 16-byte alignment, exhaustion is 0, all memory comes back", async () => {
    let exhausted = 0;
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), async (ops) => {
      // Picks become allocation numbers; the fixture skips those that failed or are freed.
      let n = 0;
      const lines = ops.map((o) => o.kind === "a" ? `a ${o.size}` : n === 0 ? "" : o.kind === "f" ? `f ${o.pick % n}` : `r ${o.pick % n} ${o.size}`)
        .map((l) => (l.startsWith("a ") ? (n++, l) : l)).filter((l) => l !== "");
      const r = await call(t.port, "POST", "/ops", lines.join("\n"));
      assert.equal(r.status, 200, r.text);
      const out = r.text.trim().split("\n");
      assert.deepEqual(out.filter((l) => l.startsWith("bad")), [], "a live block was overwritten");
      // Replay the answers: live blocks are 16-byte aligned and never overlap.
      const blocks = new Map<number, [number, number]>();
      const place = (i: number, ptr: number, size: number) => {
        assert.equal(ptr % 16, 0, `block at ${ptr} is 16-byte aligned`);
        for (const [j, [s, e]] of blocks) if (j !== i) assert.ok(ptr + size <= s || ptr >= e, `[${ptr}, ${ptr + size}) overlaps [${s}, ${e})`);
        blocks.set(i, [ptr, ptr + size]);
      };
      let k = 0;
      for (const l of lines) {
        const p = l.split(" ");
        if (p[0] === "a") {
          const [i, ptr, size] = out[k++].split(" ").map(Number);
          if (ptr === 0) exhausted++;
          else place(i, ptr, size);
        } else if (blocks.has(Number(p[1]))) {
          if (p[0] === "f") {
            blocks.delete(Number(p[1]));
          } else {
            const [, i, ptr, size] = out[k++].split(" ").map(Number);
            if (ptr === 0) exhausted++;
            else place(i, ptr, size);
          }
        }
      }
      const [, before, after] = out[out.length - 1].split(" ");
      assert.equal(after, before, "every block freed: the heap is back where the sequence started");
    }), { numRuns: 60, seed: 11 });
    assert.ok(exhausted > 0, "some sequences reached exhaustion (the heap is small enough to test it)");
    // The server is fine after all of it.
    assert.equal((await call(t.port, "POST", "/notes?title=after", "x")).status, 201);
  });
});
