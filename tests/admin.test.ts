// host/ops/admin.ts: every endpoint of the admin listener, the metrics format a scraper
// asks for, reloads taken from loopback clients only, JSON errors for the rest, and a port
// in use as one ARENA_E_LISTEN line.

import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { ArenaError } from "../host/errors.ts";
import { MemoryLogger } from "../host/log.ts";
import { isLoopback, startAdmin, type Admin } from "../host/ops/admin.ts";
import { Metrics } from "../host/ops/metrics.ts";

const metrics = Metrics.create(1);
const state = { live: true, ready: false, reloads: 0, reloadOk: true };
const log = new MemoryLogger();
let admin: Admin;
let base: string;

before(async () => {
  admin = await startAdmin("127.0.0.1", 0, {
    metrics: (format) => metrics.render({ restarts: 0, workers: 1, ready: state.ready, reloads: state.reloads, reloadFailures: 0 }, format),
    live: () => state.live,
    ready: () => state.ready,
    reload: async () => {
      state.reloads++;
      return state.reloadOk ? { ok: true, line: "serving app.wasm" } : { ok: false, line: "arena: ARENA_E_RELOAD: app.wasm was not loaded" };
    },
  }, log);
  base = `http://127.0.0.1:${admin.port}`;
});

after(() => admin.close());

it("serves the metrics as OpenMetrics, or as Prometheus text when asked for text/plain", async () => {
  const om = await fetch(`${base}/metrics`, { headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5" } });
  assert.equal(om.status, 200);
  assert.equal(om.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  const text = await om.text();
  assert.ok(text.endsWith("# EOF\n"));
  assert.match(text, /^arena_workers 1$/m);
  const plain = await fetch(`${base}/metrics`); // curl, a browser, promtool: no openmetrics in Accept
  assert.equal(plain.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  await plain.arrayBuffer();
  const prom = await fetch(`${base}/metrics`, { headers: { accept: "text/plain" } });
  assert.equal(prom.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const ptext = await prom.text();
  assert.ok(!ptext.includes("# EOF") && ptext.includes("# TYPE arena_requests_total counter"));
  const head = await fetch(`${base}/metrics`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});

it("answers /healthz and /readyz from the handlers", async () => {
  state.ready = false;
  let r = await fetch(`${base}/readyz`);
  assert.deepEqual([r.status, await r.text()], [503, "not ready\n"]);
  state.ready = true;
  r = await fetch(`${base}/readyz`);
  assert.deepEqual([r.status, await r.text()], [200, "ready\n"]);
  r = await fetch(`${base}/healthz?verbose=1`);
  assert.deepEqual([r.status, await r.text()], [200, "ok\n"]);
  state.live = false;
  r = await fetch(`${base}/healthz`);
  assert.equal(r.status, 503);
  state.live = true;
});

it("reloads on POST /reload from a loopback client, answering the handler's line", async () => {
  const before = state.reloads;
  let r = await fetch(`${base}/reload`, { method: "POST", body: "ignored" });
  assert.deepEqual([r.status, await r.text()], [200, "serving app.wasm\n"]);
  assert.equal(state.reloads, before + 1);
  state.reloadOk = false;
  r = await fetch(`${base}/reload`, { method: "POST" });
  assert.deepEqual([r.status, await r.text()], [500, "arena: ARENA_E_RELOAD: app.wasm was not loaded\n"]);
  state.reloadOk = true;
});

it("answers 404 and 405 with JSON bodies", async () => {
  let r = await fetch(`${base}/nope`);
  assert.equal(r.status, 404);
  assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
  const body = (await r.json()) as { statusCode: number; error: string; message: string };
  assert.deepEqual([body.statusCode, body.error], [404, "Not Found"]);
  r = await fetch(`${base}/reload`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "POST");
  assert.equal(((await r.json()) as { statusCode: number }).statusCode, 405);
  r = await fetch(`${base}/metrics`, { method: "DELETE" });
  assert.equal(r.status, 405);
});

it("takes reloads from loopback clients only", async () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("127.8.9.10") && isLoopback("::1") && isLoopback("::ffff:127.0.0.1"));
  assert.ok(!isLoopback("10.0.0.1") && !isLoopback("::ffff:10.0.0.1") && !isLoopback("fe80::1") && !isLoopback(undefined));
  // A real non-loopback client, when this machine has an address other than loopback.
  const outside = Object.values((await import("node:os")).networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal);
  if (outside === undefined) return;
  const wide = await startAdmin("0.0.0.0", 0, { metrics: () => "", live: () => true, ready: () => true, reload: async () => ({ ok: true, line: "x" }) }, log);
  try {
    const r = await fetch(`http://${outside!.address}:${wide.port}/reload`, { method: "POST" });
    assert.equal(r.status, 403);
    assert.ok(log.lines.some((l) => l.includes("refused POST /reload")));
  } finally {
    await wide.close();
  }
});

it("refuses a port in use with ARENA_E_LISTEN", async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    await assert.rejects(startAdmin("127.0.0.1", port, { metrics: () => "", live: () => true, ready: () => true, reload: async () => ({ ok: true, line: "" }) }, log),
      (err: unknown) => err instanceof ArenaError && err.code === "ARENA_E_LISTEN" && err.line().includes(`admin port ${port}`));
  } finally {
    taken.close();
  }
});
