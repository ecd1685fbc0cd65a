// host/ops/access_log.ts: one JSON line per request of a real server, none lost at close,
// request bytes escaped (quotes, backslashes, controls, bytes past ASCII), lines dropped
// and counted when both buffers are full, stdout as a target, and no garbage per request
// on the observer path (metrics and access log together).

import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { REQ_PATH_LEN, REQ_PATH_PTR } from "../host/abi/constants.ts";
import type { FinishedRequest, RequestObserver } from "../host/http/observer.ts";
import { AccessLog } from "../host/ops/access_log.ts";
import { Metrics } from "../host/ops/metrics.ts";
import { exchange, get, pipelined, ROOT, startTestServer } from "./helpers.ts";

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "arena-access-")), name);
}

function lines(file: string): Record<string, unknown>[] {
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text === "" || text.endsWith("\n"), "the log ends with a whole line");
  return text.split("\n").slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** An observer passing every request to `ops`, remembering the slot of the last one. */
function watching(ops: RequestObserver): RequestObserver & { lastSlot: number } {
  return {
    record: ops.record,
    lastSlot: -1,
    finished(r: FinishedRequest) {
      this.lastSlot = r.slot;
      ops.finished(r);
    },
  };
}

it("writes one JSON line per request, with every field, and loses none at close", async () => {
  const file = tmpFile("access.log");
  const ops = Metrics.create(3).worker(2, AccessLog.open(file, 2));
  const run = await startTestServer({ observer: ops });
  await pipelined(run.port, Array.from({ length: 600 }, () => Buffer.from(get("/hello"))));
  await exchange(run.port, get("/trap"), { expect: 1 });
  await exchange(run.port, get("/nope?x=1"), { expect: 1 });
  await exchange(run.port, "BAD\r\n\r\n", {});
  await run.server.close();
  await ops.close();
  const all = lines(file);
  assert.equal(all.length, 603, "every request has its line");
  const keys = ["time", "method", "path", "status", "bytes", "duration_ms", "arena_bytes", "id", "worker", "route", "code"];
  for (const l of all) assert.deepEqual(Object.keys(l), keys);
  const hello = all[0];
  assert.equal(hello.method, "GET");
  assert.equal(hello.path, "/hello");
  assert.equal(hello.status, 200);
  assert.equal(hello.route, "/hello");
  assert.equal(hello.worker, 2);
  assert.equal(hello.code, null);
  assert.equal(hello.id, 1);
  assert.ok((hello.arena_bytes as number) > 0 && (hello.bytes as number) > 6);
  assert.ok(Math.abs(Date.parse(hello.time as string) - Date.now()) < 60_000, "the time is now, as ISO 8601");
  assert.match(hello.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(all.map((l) => l.id).slice(0, 600), Array.from({ length: 600 }, (_, i) => i + 1), "in order");
  assert.deepEqual([all[600].route, all[600].status, all[600].code], ["/trap", 500, "ARENA_E_TRAP"]);
  assert.deepEqual([all[601].path, all[601].route, all[601].status], ["/nope", null, 404]);
  assert.deepEqual([all[602].method, all[602].path, all[602].id, all[602].arena_bytes, all[602].code], ["-", "-", 0, 0, "ARENA_E_HTTP_MALFORMED"]);
});

it("escapes quotes, backslashes, control bytes and bytes past ASCII in the request's path", async () => {
  const file = tmpFile("escape.log");
  const log = AccessLog.open(file, 0);
  const ops = Metrics.create(1).worker(0, log);
  const watch = watching(ops);
  const run = await startTestServer({ observer: watch });
  await exchange(run.port, get("/files/aQbBcCdDeLf"), { expect: 1 });
  // The parser refuses these bytes in a request line, so they are put into the slot's
  // copy of the path afterwards, and the request's record is replayed.
  const bridge = run.server.bridge;
  const dv = bridge.app.memory.dv;
  const desc = bridge.descriptor(watch.lastSlot);
  const ptr = dv.getUint32(desc + REQ_PATH_PTR, true);
  const len = dv.getUint32(desc + REQ_PATH_LEN, true);
  const bytes = bridge.u8.subarray(ptr, ptr + len);
  const swap: Record<string, number> = { Q: 0x22, B: 0x5c, C: 0x01, D: 0xff, L: 0x0a };
  for (let i = 0; i < len; i++) bytes[i] = swap[String.fromCharCode(bytes[i])] ?? bytes[i];
  Object.assign(ops.record, { id: 99, status: 200, code: null, bytes: 1, durationMs: 1, slot: watch.lastSlot, bridge });
  ops.finished(ops.record);
  await run.server.close();
  await ops.close();
  const text = fs.readFileSync(file, "latin1");
  assert.equal(text.split("\n").length, 3, "a line feed in the path does not break the line");
  assert.ok(/^[\x20-\x7e\n]*$/.test(text), "the log is printable ASCII");
  const l = lines(file)[1];
  assert.equal(l.path, '/files/a"b\\c\u0001d\u00ffe\nf');
  assert.equal(l.route, "/files/*");
});

it("drops lines, and counts them, when both buffers are full", async () => {
  const file = tmpFile("drop.log");
  const log = AccessLog.open(file, 0);
  const m = Metrics.create(1);
  const ops = m.worker(0, log);
  const r = ops.record;
  Object.assign(r, { id: 0, status: 400, code: "ARENA_E_HTTP_MALFORMED", bytes: 10, durationMs: 0, slot: -1, bridge: null });
  const total = 5000;
  for (let i = 0; i < total; i++) ops.finished(r); // no turn of the event loop: no write completes
  assert.ok(log.dropped > 0, "the writer fell behind");
  await ops.close();
  assert.equal(lines(file).length + log.dropped, total);
  assert.match(m.render({ restarts: 0, workers: 1, ready: true, reloads: 0, reloadFailures: 0 }),
    new RegExp(`arena_access_log_dropped_lines_total\\{worker="0"\\} ${log.dropped}\\n`));
});

it("writes to stdout for the target -", () => {
  const script = `import { AccessLog } from ${JSON.stringify(path.join(ROOT, "host/ops/access_log.ts"))};
    import { FinishedRequest } from ${JSON.stringify(path.join(ROOT, "host/http/observer.ts"))};
    const log = AccessLog.open("-", 7);
    const r = new FinishedRequest();
    r.status = 503; r.code = "ARENA_E_OVERLOAD";
    for (let i = 0; i < 300; i++) log.log(r, 0, null);
    await log.close();`;
  const out = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  const got = out.stdout.split("\n").slice(0, -1).map((l) => JSON.parse(l) as { worker: number; code: string });
  assert.equal(got.length, 300);
  assert.ok(got.every((l) => l.worker === 7 && l.code === "ARENA_E_OVERLOAD"));
});

it("allocates no garbage per request on the observer path (metrics and access log)", async () => {
  const log = AccessLog.open("/dev/null", 0);
  const ops = Metrics.create(1).worker(0, log);
  const watch = watching(ops);
  const run = await startTestServer({ observer: watch });
  await exchange(run.port, get("/status/201"), { expect: 1 });
  const bridge = run.server.bridge;
  const r = ops.record;
  const slot = watch.lastSlot;
  // Bytes allocated per request, the median over batches of 200: heapUsed grows by every
  // allocation until a GC (a batch with a GC in it is an outlier the median ignores), and
  // reading it costs one small object per batch.
  const replay = async (requests: number): Promise<number> => {
    const perRequest: number[] = [];
    for (let done = 0; done < requests; done += 200) {
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 200; i++) {
        // Field by field: an object literal here would be the test's own garbage.
        r.id = done + i + 1;
        r.status = 201;
        r.code = null;
        r.bytes = 120;
        r.durationMs = 0.25 + i / 1000;
        r.slot = slot;
        r.bridge = bridge;
        ops.finished(r);
      }
      perRequest.push((process.memoryUsage().heapUsed - before) / 200);
      // A buffer holds about 300 lines: each batch is written before the next, none dropped
      // (on a loaded machine a write to /dev/null can take longer than a batch).
      log.flush();
      while (log.flushing) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return perRequest.sort((a, b) => a - b)[perRequest.length >> 1];
  };
  await replay(10_000); // warm up: the path is optimized
  const perRequest = await replay(20_000);
  await run.server.close();
  await ops.close();
  assert.equal(log.dropped, 0);
  // No string, view or object per line: a line as a string alone would be 200 bytes and
  // more. The bound leaves room for one boxed number (16 bytes), which V8 makes in some of
  // its optimization states of the log path (about 17 bytes a request under the test
  // runner, 0 in a plain script), and for memoryUsage()'s own result.
  assert.ok(perRequest < 24, `${perRequest} bytes allocated per request`);
});
