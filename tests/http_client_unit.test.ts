// The fetch client on its own: no wasm module, no server. The memory and the per-slot
// contexts exist before any instance (host/memory/app_memory.ts, host/abi/caller.ts), so
// the client is built from them and driven the way the app would drive it: a fetch
// descriptor written into a slot's arena, the request's region header set as the runtime
// sets it, and the response read back from the same arena.

import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import {
  EFFECT_OK, EFFECT_REFUSED, FETCH_DESC_BYTES, FETCH_MAX_BYTES, FETCH_METHOD_LEN, FETCH_METHOD_PTR, FETCH_RES_BODY_LEN,
  FETCH_RES_BODY_PTR, FETCH_RES_ERROR_LEN, FETCH_RES_ERROR_PTR, FETCH_RES_HEADER_COUNT, FETCH_RES_STATUS, FETCH_TIMEOUT_MS,
  FETCH_URL_LEN, FETCH_URL_PTR, REGION_END, REGION_HEADER_BYTES, REGION_PTR, REGION_START,
} from "../host/abi/constants.ts";
import { Caller } from "../host/abi/caller.ts";
import { HttpClient } from "../host/effects/fetch/client.ts";
import { AppMemory } from "../host/memory/app_memory.ts";
import { planMemory } from "../host/memory/plan.ts";

let upstream: http.Server;
let port = 0;

before(async () => {
  upstream = http.createServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`upstream saw ${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  port = (upstream.address() as import("node:net").AddressInfo).port;
});

after(() => new Promise<void>((r) => upstream.close(() => r())));

/** A client over a fresh memory of two slots; slot 0's region is set up as the runtime's
 *  arena_begin would, and `desc` is a fetch descriptor for `method url` in it. */
function setUp(method: string, url: string) {
  const memory = new AppMemory(planMemory(2, 64 * 1024, 64 * 1024));
  const caller = new Caller(2);
  const client = new HttpClient(memory, caller.contexts, { timeoutMs: 2000 });
  const { u8, dv } = memory;
  const base = memory.slotBase(0);
  const enc = new TextEncoder();
  const desc = base + REGION_HEADER_BYTES;
  const methodPtr = desc + FETCH_DESC_BYTES;
  const urlPtr = methodPtr + 16;
  u8.set(enc.encode(method), methodPtr);
  u8.set(enc.encode(url), urlPtr);
  dv.setUint32(desc + FETCH_METHOD_PTR, methodPtr, true);
  dv.setUint32(desc + FETCH_METHOD_LEN, method.length, true);
  dv.setUint32(desc + FETCH_URL_PTR, urlPtr, true);
  dv.setUint32(desc + FETCH_URL_LEN, url.length, true);
  dv.setUint32(desc + FETCH_TIMEOUT_MS, 2000, true);
  dv.setUint32(desc + FETCH_MAX_BYTES, 0, true);
  // The region: everything after what the "app" wrote is free, up to the arena's end.
  const top = urlPtr + 256 + 12;
  dv.setUint32(base + REGION_START, top, true);
  dv.setUint32(base + REGION_PTR, top, true);
  dv.setUint32(base + REGION_END, base + memory.plan.arenaBytes, true);
  const ctx = caller.contexts[0];
  ctx.begin(1);
  return { memory, client, ctx, desc };
}

it("fetches from an upstream with no app instance: status, headers and body land in the slot's arena", async () => {
  const { memory, client, ctx, desc } = setUp("GET", `http://127.0.0.1:${port}/items?x=1`);
  try {
    const started = client.fetch(ctx, desc);
    assert.ok(started instanceof Promise, "a fetch that reaches the network waits");
    assert.equal(await started, EFFECT_OK);
    const { u8, dv } = memory;
    assert.equal(dv.getUint32(desc + FETCH_RES_STATUS, true), 200);
    assert.ok(dv.getUint32(desc + FETCH_RES_HEADER_COUNT, true) >= 2);
    const bodyPtr = dv.getUint32(desc + FETCH_RES_BODY_PTR, true);
    const body = new TextDecoder().decode(u8.subarray(bodyPtr, bodyPtr + dv.getUint32(desc + FETCH_RES_BODY_LEN, true)));
    assert.equal(body, "upstream saw GET /items?x=1");
    // The body lies inside slot 0's arena.
    assert.ok(memory.validRange(0, bodyPtr, body.length));
  } finally {
    client.close();
  }
});

it("a refused connection is a status and a message in the arena, not an exception", async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const deadPort = (closed.address() as import("node:net").AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const { memory, client, ctx, desc } = setUp("GET", `http://127.0.0.1:${deadPort}/`);
  try {
    assert.equal(await client.fetch(ctx, desc), EFFECT_REFUSED);
    const { u8, dv } = memory;
    const ptr = dv.getUint32(desc + FETCH_RES_ERROR_PTR, true);
    const message = new TextDecoder().decode(u8.subarray(ptr, ptr + dv.getUint32(desc + FETCH_RES_ERROR_LEN, true)));
    assert.match(message, /refused/i);
  } finally {
    client.close();
  }
});
