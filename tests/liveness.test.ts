// /healthz is a liveness probe that can fail: a worker thread whose event loop is stuck
// stops sampling its gauges, and after WORKER_STALL_MS the admin listener answers 503 (an
// orchestrator then restarts the process), while /readyz and the other worker go on. Here
// the loop is held by a request allowed far more CPU than the default budget (--cpu-ms),
// an endless loop that the budget stops in the end; then /healthz is 200 again.

import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryLogger, Primary, resolveServeConfig, serverOptions } from "../host/index.ts";
import { WORKER_STALL_MS } from "../host/limits.ts";
import { buildApp, httpGet } from "./helpers.ts";

const APP = "tests/fixtures/effectsapp.ts";
/** The spinning request's CPU budget: past the stall limit, so the probe sees it. */
const SPIN_MS = WORKER_STALL_MS + 2_000;

async function status(port: number, p: string): Promise<number> {
  return (await httpGet(false, port, p)).status;
}

let primary: Primary;
before(async () => {
  const config = resolveServeConfig({ slots: "8", "arena-bytes": "256KiB", "cpu-ms": String(SPIN_MS) }, {});
  primary = await Primary.start({
    wasm: await buildApp(APP), file: APP, host: "127.0.0.1", port: 0, workers: 2, options: serverOptions(config),
    adminPort: 0, adminHost: "127.0.0.1", accessLog: null, log: new MemoryLogger(), nextBuild: async () => new Uint8Array(),
  });
});
let drained = false;
after(async () => {
  if (!drained) await primary.drain();
});

it("a worker whose event loop is stuck makes /healthz 503 until it runs again", { timeout: 60_000 }, async () => {
  const admin = primary.adminPort!;
  assert.equal(await status(admin, "/healthz"), 200);
  const t0 = performance.now();
  const spun = status(primary.servingPort, "/spin"); // holds one worker's loop for SPIN_MS
  let sick = 0;
  while (performance.now() - t0 < SPIN_MS + 5_000) {
    const s = await status(admin, "/healthz");
    if (s === 503 && sick === 0) sick = performance.now() - t0;
    if (sick > 0 && s === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(sick >= WORKER_STALL_MS - 500, `503 only once the worker had not sampled for WORKER_STALL_MS (after ${Math.round(sick)} ms)`);
  assert.equal(await spun, 500, "the budget stopped the loop in the end");
  assert.equal(await status(admin, "/healthz"), 200, "live again once the worker runs");
});

it("a draining server stays live: its workers stop sampling, and are not stuck", { timeout: 30_000 }, async () => {
  const admin = primary.adminPort!;
  // A request in flight for longer than WORKER_STALL_MS, waiting (not spinning): the drain
  // waits for it, and the draining worker no longer samples its gauges meanwhile.
  const slow = status(primary.servingPort, `/sleep?ms=${WORKER_STALL_MS + 1_500}`);
  await new Promise((r) => setTimeout(r, 200));
  drained = true;
  let done = false;
  const drain = primary.drain(false).then(() => (done = true));
  const seen = new Set<number>();
  const t0 = performance.now();
  while (!done && performance.now() - t0 < WORKER_STALL_MS + 1_000) {
    seen.add(await status(admin, "/healthz"));
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(performance.now() - t0 >= WORKER_STALL_MS + 1_000, "the drain lasted past WORKER_STALL_MS");
  assert.deepEqual([...seen], [200], "live all through the drain");
  assert.equal(await slow, 200);
  await drain;
});
