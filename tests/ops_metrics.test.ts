// host/ops/ metrics: a real server counts its requests into a worker's block of the
// metrics buffer (tests/fixtures/testapp.ts's routes), the exposition has the exact counts,
// a consistent histogram and the error codes, promtool accepts the Prometheus text, and the
// OpenMetrics text follows the format's structure. A replacement worker counts on in the
// same block; the route table's overflow goes to "other".

import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { Metrics } from "../host/ops/metrics.ts";
import type { WorkerOps } from "../host/ops/worker_ops.ts";
import { WorkerRoutes, rowNames } from "../host/ops/routes.ts";
import { HEADER_BYTES, ROW_FIRST, ROW_OTHER } from "../host/ops/layout.ts";
import { METRICS_ROUTES_MAX } from "../host/limits.ts";
import type { App } from "../host/abi/app.ts";
import type { ArenaServer } from "../host/server.ts";
import { exchange, get, startTestServer, type Running } from "./helpers.ts";
import { promtoolCheck } from "./promtool.ts";

const PROCESS = { restarts: 2, workers: 2, ready: true, reloads: 1, reloadFailures: 0 };

/** The samples of an exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    const key = line.slice(0, i);
    assert.ok(!out.has(key), `one sample per series: ${key}`);
    out.set(key, Number(line.slice(i + 1)));
  }
  return out;
}

/** Checks what OpenMetrics 1.0 asks of the text this host writes: families announced by
 *  TYPE (UNIT a suffix of the name, HELP present) before their samples, samples named after
 *  their family, label sets well formed, and `# EOF` last. */
function checkOpenMetrics(text: string): void {
  assert.ok(text.endsWith("# EOF\n"), "the exposition ends with # EOF");
  const lines = text.slice(0, -"# EOF\n".length).split("\n").slice(0, -1);
  const families = new Map<string, { type: string; help: boolean }>();
  let current = "";
  for (const line of lines) {
    const meta = /^# (TYPE|UNIT|HELP) ([a-z_:][a-z0-9_:]*) (.+)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta;
      if (kind === "TYPE") {
        assert.ok(!families.has(name), `family ${name} once`);
        assert.ok(["counter", "gauge", "histogram"].includes(rest), `type of ${name}`);
        assert.ok(!(rest === "counter" && name.endsWith("_total")), `a counter's family ${name} has no _total`);
        families.set(name, { type: rest, help: false });
        current = name;
      } else {
        assert.equal(name, current, `${kind} follows its family's TYPE`);
        if (kind === "UNIT") assert.ok(name.endsWith(`_${rest}`), `${name} ends with its unit ${rest}`);
        if (kind === "HELP") families.get(name)!.help = true;
      }
      continue;
    }
    const m = /^([a-z_:][a-z0-9_:]*)(\{[a-z_]+="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-z_]+="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|\+Inf)$/.exec(line);
    assert.ok(m !== null, `a sample line: ${line}`);
    const family = families.get(current)!;
    const suffixes = family.type === "counter" ? ["_total"] : family.type === "histogram" ? ["_bucket", "_count", "_sum"] : [""];
    assert.ok(suffixes.some((s) => m[1] === current + s), `${m[1]} belongs to family ${current}`);
  }
  for (const [name, f] of families) assert.ok(f.help, `${name} has HELP`);
}

let run: Running;
let metrics: Metrics;
let ops: WorkerOps;

before(async () => {
  metrics = Metrics.create(2);
  ops = metrics.worker(1, null);
  run = await startTestServer({ observer: ops });
  for (const path of ["/hello", "/hello", "/hello", "/status/404", "/status/418", "/trap", "/bomb", "/nope"]) {
    await exchange(run.port, get(path), { expect: 1 });
  }
  await exchange(run.port, "NOT HTTP\r\n\r\n", {});
  ops.sample(run.server);
});

after(async () => {
  await run.server.close();
  await ops.close();
});

it("counts every request by route and status, with bytes, arena peaks and error codes", () => {
  const s = samples(metrics.render(PROCESS));
  const req = (route: string, status: string) => s.get(`arena_requests_total{worker="1",route="${route}",status="${status}"}`);
  assert.equal(req("/hello", "200"), 3);
  assert.equal(req("/status/:code", "404"), 1);
  assert.equal(req("/status/:code", "other"), 1, "418 is not in the status list");
  assert.equal(req("/trap", "500"), 1);
  assert.equal(req("/bomb", "500"), 1);
  assert.equal(req("none", "404"), 1, "no route matched /nope");
  assert.equal(req("none", "400"), 1, "the host refused the malformed request");
  assert.equal(s.get('arena_errors_total{worker="1",code="ARENA_E_TRAP"}'), 1);
  assert.equal(s.get('arena_errors_total{worker="1",code="ARENA_E_MEMORY"}'), 1);
  assert.equal(s.get('arena_errors_total{worker="1",code="ARENA_E_HTTP_MALFORMED"}'), 1);
  assert.ok(s.get('arena_response_bytes_total{worker="1",route="/hello"}')! > 3 * "hello\n".length);
  const peak = s.get('arena_route_arena_peak_bytes{worker="1",route="/hello"}')!;
  assert.ok(peak > 0 && peak < 256 * 1024, `the /hello arena peak is a part of the arena (${peak})`);
  assert.equal([...s.keys()].filter((k) => k.startsWith("arena_requests_total{worker=\"0\"")).length, 0, "worker 0 counted nothing");
  assert.equal(s.get('arena_slots{worker="1"}'), 16);
  assert.equal(s.get('arena_builds_loaded{worker="1"}'), 1);
  assert.ok(s.get('arena_startup_region_used_bytes{worker="1"}')! > 0);
  assert.equal(s.get("arena_worker_restarts_total"), 2);
  assert.equal(s.get("arena_ready"), 1);
});

it("keeps a consistent latency histogram: cumulative buckets, +Inf equal to the count", () => {
  const s = samples(metrics.render(PROCESS));
  const buckets = [...s].filter(([k]) => k.startsWith('arena_request_duration_seconds_bucket{worker="1"'));
  assert.equal(buckets.at(-1)![0], 'arena_request_duration_seconds_bucket{worker="1",le="+Inf"}');
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], "buckets are cumulative");
  const count = s.get('arena_request_duration_seconds_count{worker="1"}');
  assert.equal(count, 9, "every request answered is timed");
  assert.equal(buckets.at(-1)![1], count);
  const sum = s.get('arena_request_duration_seconds_sum{worker="1"}')!;
  assert.ok(sum > 0 && sum < 9 * 5, `the sum is the requests' time in seconds (${sum})`);
});

it("writes text promtool accepts, and OpenMetrics with its structure", () => {
  const prom = metrics.render(PROCESS, "prometheus");
  const r = promtoolCheck(prom);
  assert.equal(r.status, 0, `promtool check metrics: ${r.output}`);
  assert.equal(r.output.trim(), "", "promtool's lint finds nothing");
  const om = metrics.render(PROCESS);
  checkOpenMetrics(om);
  assert.deepEqual(samples(om), samples(prom), "both formats carry the same samples");
  assert.match(om, /^# TYPE arena_request_duration_seconds histogram\n# UNIT arena_request_duration_seconds seconds\n/m);
});

it("lets a replacement worker count on in its predecessor's block", async () => {
  const again = Metrics.attach(metrics.buffer);
  const next = again.worker(1, null);
  const second = await startTestServer({ observer: next });
  try {
    await exchange(second.port, get("/hello"), { expect: 1 });
    await exchange(second.port, get("/alloc/1"), { expect: 1 });
  } finally {
    await second.server.close();
    await next.close();
  }
  const s = samples(metrics.render(PROCESS));
  assert.equal(s.get('arena_requests_total{worker="1",route="/hello",status="200"}'), 4, "3 before, 1 after");
  assert.equal(s.get('arena_requests_total{worker="1",route="/alloc/:kib",status="200"}'), 1);
  assert.equal(rowNames(metrics.buffer, HEADER_BYTES + metrics.workers * 0).length, 2, "worker 0 names no route");
});

it("names METRICS_ROUTES_MAX routes and counts the rest as other", () => {
  const buffer = Metrics.create(1).buffer;
  const u8 = new Uint8Array(65536);
  const app = { memory: { u8 } } as unknown as App;
  const routes = new WorkerRoutes(buffer, HEADER_BYTES);
  const rows: number[] = [];
  for (let i = 0; i < METRICS_ROUTES_MAX + 10; i++) {
    const name = new TextEncoder().encode(`/r${i}`);
    u8.set(name, i * 16);
    rows.push(routes.row(routes.route(app, i * 16, name.length)));
    assert.equal(routes.row(routes.route(app, i * 16, name.length)), rows[i], "the same pattern keeps its row");
  }
  assert.deepEqual(rows.slice(0, METRICS_ROUTES_MAX), Array.from({ length: METRICS_ROUTES_MAX }, (_, i) => ROW_FIRST + i));
  assert.ok(rows.slice(METRICS_ROUTES_MAX).every((r) => r === ROW_OTHER));
  const names = rowNames(buffer, HEADER_BYTES);
  assert.equal(names.length, ROW_FIRST + METRICS_ROUTES_MAX);
  assert.equal(names[ROW_FIRST + 5], "/r5");
  // The access log still names the routes past the table.
  assert.equal(new TextDecoder().decode(routes.json[METRICS_ROUTES_MAX + 3]), '"/r67"');
});

it("counts refused connections from the server's stats, monotonic across samples", async () => {
  const m = Metrics.create(1);
  const w = m.worker(0, null);
  let refused = 3;
  const server = {
    stats: () => ({ slots: 4, slotsFree: 4, queued: 0, connections: 0, inProgress: 0, heapUsedBytes: 0, startupUsedBytes: 0, refused }),
    builds: 1,
    effects: { client: { stats: () => ({ origins: 0, sockets: 0, idle: 0 }) } },
  } as unknown as ArenaServer;
  w.sample(server);
  refused = 5;
  w.sample(server);
  await w.close();
  const s = samples(m.render(PROCESS));
  assert.equal(s.get('arena_connections_refused_total{worker="0"}'), 5);
  assert.equal(s.get('arena_errors_total{worker="0",code="ARENA_E_CONNECTIONS"}'), 5);
});
