// Effects: suspension (other requests run while one waits), the HTTP client (pool,
// framing, every failure as a value), sleep, env, random, clocks; and the isolation claims
// under suspension: 500 concurrent awaiting requests each get exactly their bytes, one that
// blows its arena after an await fails alone, a client that leaves cancels its fetch.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { countJspiCalls, exchange, get, startTestServer, waitFor, type Running } from "./helpers.ts";
import { startTestUpstream, type TestUpstream } from "./upstream_fixture.ts";

const APP = "tests/fixtures/effectsapp.ts";

let up: TestUpstream;
let srv: Running;
let base: string;

async function text(path: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, body: await res.text() };
}

function q(url: string): string {
  return encodeURIComponent(url);
}

before(async () => {
  process.env.ARENA_TEST_GREETING = "hi from env";
  up = await startTestUpstream();
  srv = await startTestServer({ slots: 64, slotBytes: 256 * 1024, queueDepth: 1024, fetch: { timeoutMs: 2000 } }, true, APP);
  base = `http://127.0.0.1:${srv.port}`;
});

after(async () => {
  // Either may be missing when `before` failed; close what exists so the run ends.
  await srv?.server.close();
  await up?.close();
});

describe("fetch", () => {
  it("returns status, headers and body from the upstream", async () => {
    const r = await text(`/fetch?url=${q(`${up.url}/echo?id=7`)}`);
    assert.equal(r.status, 200);
    assert.match(r.body, /^status 200\ncontent-type text\/plain\nheaders \d+\n\nupstream 7 x{7}$/);
  });

  it("reads chunked and read-until-close bodies, skips interim responses", async () => {
    assert.match((await text(`/fetch?url=${q(`${up.url}/chunked`)}`)).body, /\n\npart one, part two, end$/);
    assert.match((await text(`/fetch?url=${q(`${up.rawUrl}/until-close`)}`)).body, /\n\nread until close$/);
    assert.match((await text(`/fetch?url=${q(`${up.rawUrl}/interim`)}`)).body, /^status 200\n[\s\S]*\n\nfinal$/);
  });

  it("passes upstream error statuses through as responses, not errors", async () => {
    const r = await text(`/fetch?url=${q(`${up.url}/status?code=503`)}`);
    assert.match(r.body, /^status 503\n/);
  });

  it("sends methods, bodies and Host; refuses headers the client owns", async () => {
    const r = await text(`/fetch?url=${q(`${up.url}/method`)}`, { method: "POST", body: "payload" });
    assert.match(r.body, /\n\nPOST 7 payload host=127\.0\.0\.1:\d+$/);
    const d = await text(`/fetch?method=DELETE&url=${q(`${up.url}/method`)}`);
    assert.match(d.body, /\n\nDELETE - {2}host=/);
    const bad = await text(`/fetch?header=Content-Length&url=${q(`${up.url}/method`)}`);
    assert.equal(bad.status, 502);
    assert.equal(bad.body, "error BadArgument: request headers: content-length is set by the host, not the app\n");
  });

  it("reuses keep-alive connections", async () => {
    const before = up.connections();
    for (let i = 0; i < 20; i++) await text(`/fetch?url=${q(`${up.url}/echo?id=${i}`)}`);
    assert.ok(up.connections() - before <= 1, `opened ${up.connections() - before} connections for 20 sequential fetches`);
  });

  it("does two fetches in one handler", async () => {
    const r = await text(`/twice?url=${q(`${up.url}/echo?id=3`)}`);
    assert.equal(r.body, "upstream 3 xxx|upstream 3 xxx");
  });

  // [name, the /fetch query (made when the upstream is up), what the app reports]
  const failures: [string, () => string, RegExp][] = [
    ["bad URL (scheme)", () => `url=${q("ftp://127.0.0.1/")}`, /^error BadUrl: the URL scheme ftp: is not supported/],
    ["bad URL (no scheme)", () => `url=${q("127.0.0.1:1/x")}`, /^error BadUrl: the URL must be absolute/],
    ["bad URL (port)", () => `url=${q("http://127.0.0.1:99999/")}`, /^error BadUrl: the URL's port is over 65535/],
    ["DNS", () => `url=${q("http://no-such-host.invalid/")}`, /^error Dns: cannot resolve no-such-host\.invalid/],
    ["refused", () => `url=${q("http://127.0.0.1:1/")}`, /^error Refused: connection refused by 127\.0\.0\.1:1/],
    ["timeout", () => `timeout=300&url=${q(`${up.url}/hang`)}`, /^error Timeout: no complete response from 127\.0\.0\.1:\d+ within 300 ms \(waiting for the response head\)/],
    ["reset mid-body", () => `url=${q(`${up.rawUrl}/reset-mid-body`)}`, /^error Reset: 127\.0\.0\.1:\d+ closed the connection after 11 bytes of the body/],
    ["closed before the head", () => `url=${q(`${up.rawUrl}/close-early`)}`, /^error Reset: 127\.0\.0\.1:\d+ closed the connection before a complete response head/],
    ["not HTTP", () => `url=${q(`${up.rawUrl}/garbage`)}`, /^error Protocol: the upstream did not answer with an HTTP\/1\.x status line/],
    ["ambiguous framing", () => `url=${q(`${up.rawUrl}/smuggle`)}`, /^error Protocol: the upstream sent both Content-Length and Transfer-Encoding/],
    ["huge head", () => `url=${q(`${up.rawUrl}/huge-head`)}`, /^error Protocol: the upstream's response head is over FETCH_HEAD_BYTES_MAX/],
    ["body over the fetch limit", () => `limit=1000&url=${q(`${up.url}/big?n=5000`)}`, /^error TooLarge: the upstream's body is 5000 bytes, over the fetch's body limit \(1000 bytes\)/],
    ["body over the arena", () => `url=${q(`${up.url}/big?n=400000`)}`, /^error TooLarge: the upstream's body is 400000 bytes, over what is free in the request's arena/],
  ];
  for (const [name, query, expected] of failures) {
    it(`comes back as an error value: ${name}`, async () => {
      const r = await text(`/fetch?${query()}`);
      assert.equal(r.status, 502);
      assert.match(r.body, expected);
    });
  }

  it("after every failure the server still serves and all slots come back", async () => {
    const r = await text(`/fetch?url=${q(`${up.url}/echo?id=1`)}`);
    assert.equal(r.status, 200);
    await waitFor(() => srv.server.stats().slotsFree === 64);
  });
});

describe("suspension and isolation", () => {
  it("500 concurrent requests awaiting the upstream with random delays each get exactly their bytes", async () => {
    const n = 500;
    const results = await Promise.all(Array.from({ length: n }, async (_, i) => {
      const delay = Math.floor(Math.random() * 50);
      const r = await text(`/isolated?id=${i}&url=${q(`${up.url}/echo?id=${i}&delay=${delay}`)}`);
      return { i, ...r };
    }));
    for (const r of results) {
      assert.equal(r.status, 200, `request ${r.i}: ${r.body}`);
      assert.equal(r.body, `id=${r.i} upstream ${r.i} ${"x".repeat(r.i % 97)}`);
    }
    await waitFor(() => srv.server.stats().slotsFree === 64);
  });

  it("a request that exceeds its arena after an await gets 500 while the others finish", async () => {
    const bombs = Array.from({ length: 10 }, () => text(`/bomb-after-fetch?url=${q(`${up.url}/echo?id=1&delay=20`)}`));
    const good = Array.from({ length: 100 }, (_, i) => text(`/isolated?id=${i}&url=${q(`${up.url}/echo?id=${i}&delay=${i % 30}`)}`));
    const [b, g] = await Promise.all([Promise.all(bombs), Promise.all(good)]);
    for (const r of b) {
      assert.equal(r.status, 500);
      assert.equal(JSON.parse(r.body).code, "ARENA_E_MEMORY");
    }
    g.forEach((r, i) => assert.equal(r.body, `id=${i} upstream ${i} ${"x".repeat(i % 97)}`));
  });

  it("a trap after a sleep is that request's 500 only", async () => {
    const [bad, good] = await Promise.all([text("/trap-after-sleep"), text("/sleep?ms=20")]);
    assert.equal(bad.status, 500);
    const err = JSON.parse(bad.body);
    assert.equal(err.code, "ARENA_E_TRAP");
    assert.match(err.message, /gave up after sleeping/);
    assert.match(good.body, /^slept \d+\n$/);
  });

  it("sleeping requests overlap instead of queueing behind each other", async () => {
    const t0 = performance.now();
    const rs = await Promise.all(Array.from({ length: 50 }, () => text("/sleep?ms=200")));
    const elapsed = performance.now() - t0;
    for (const r of rs) {
      const m = /^slept (\d+)\n$/.exec(r.body);
      assert.ok(m && Number(m[1]) >= 190, r.body);
    }
    assert.ok(elapsed < 2000, `50 sleeps of 200 ms took ${elapsed.toFixed(0)} ms`);
  });

  it("a client that goes away cancels its in-flight fetch and frees the slot", async () => {
    const hangsBefore = up.hits.get("/hang") ?? 0;
    const logBefore = srv.log.lines.length;
    const sock = net.connect(srv.port, "127.0.0.1");
    await new Promise((r) => sock.on("connect", r));
    sock.write(get(`/fetch?timeout=60000&url=${q(`${up.url}/hang`)}`));
    await waitFor(() => (up.hits.get("/hang") ?? 0) > hangsBefore);
    assert.ok(srv.server.stats().slotsFree < 64);
    // Gone: a reset (a client that only half-closes is still answered).
    sock.resetAndDestroy();
    await waitFor(() => srv.server.stats().slotsFree === 64, 2000);
    // Cancelled quietly: the app saw FetchError.Cancelled and returned; nothing trapped.
    assert.deepEqual(srv.log.lines.slice(logBefore), []);
  });
});

describe("CPU budget", () => {
  it("an endless loop is stopped with 500 ARENA_E_CPU while in-flight requests finish", async () => {
    const inflight = Array.from({ length: 20 }, (_, i) => text(`/isolated?id=${i}&url=${q(`${up.url}/echo?id=${i}&delay=50`)}`));
    const t0 = performance.now();
    const [spin, spinLater, spinNested] = await Promise.all([text("/spin"), text("/spin-after-sleep"), text("/spin-nested")]);
    const elapsed = performance.now() - t0;
    for (const r of [spin, spinLater, spinNested]) {
      assert.equal(r.status, 500);
      const err = JSON.parse(r.body);
      assert.equal(err.code, "ARENA_E_CPU");
      assert.match(err.message, /stopped after \d+\.\d ms of CPU, budget 100 ms/);
    }
    assert.ok(elapsed < 2000, `three runaway requests took ${elapsed.toFixed(0)} ms to stop`);
    (await Promise.all(inflight)).forEach((r, i) => assert.equal(r.body, `id=${i} upstream ${i} ${"x".repeat(i % 97)}`));
    assert.equal((await text("/sleep?ms=1")).status, 200);
  });

  it("unbounded recursion is a trap for that request only", async () => {
    const r = await text("/recurse");
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.body).code, "ARENA_E_TRAP");
    assert.equal((await text("/sleep?ms=1")).status, 200);
  });
});

describe("plain calls first", () => {
  const jspiCalls = (run: () => Promise<void>) => countJspiCalls(srv.server, run);

  it("a handler's code before its first wait runs once, on the first request and after", async () => {
    // The route's handler may wait (the build says so), so even its first request goes
    // through JSPI before any of its code runs: the counter before the sleep counts 1, 2, 3.
    assert.equal((await text("/counted")).body, "1\n");
    assert.equal((await text("/counted")).body, "2\n");
    assert.equal((await text("/counted")).body, "3\n");
    assert.deepEqual(srv.log.lines.filter((l) => l.includes("/counted")), []);
  });

  it("a handler that reaches sleep only through a function pointer also runs once, through JSPI", async () => {
    assert.deepEqual(await text("/indirect"), { status: 200, body: "1\n" });
    assert.deepEqual(await text("/indirect"), { status: 200, body: "2\n" });
    assert.deepEqual(srv.log.lines.filter((l) => l.includes("/indirect")), []);
  });

  it("routes that never wait stay plain calls; routes that may wait skip the plain call's handler", async () => {
    assert.equal(await jspiCalls(async () => {
      for (let i = 0; i < 5; i++) assert.equal((await text("/env?name=ARENA_TEST_GREETING")).status, 200);
      assert.equal((await text("/random")).status, 200);
    }), 0);
    assert.equal(await jspiCalls(async () => {
      for (let i = 0; i < 3; i++) assert.equal((await text("/sleep?ms=1")).status, 200);
    }), 3);
  });
});

describe("other effects", () => {
  it("env reads the server's environment, at start-up and in a handler", async () => {
    const r = await text("/env?name=ARENA_TEST_GREETING");
    assert.equal(r.body, "hi from env startup=hi from env");
    assert.equal((await text("/env?name=ARENA_TEST_NOT_SET")).body, "(unset) startup=hi from env");
  });

  it("log writes one structured line per call, tagged with the request id", async () => {
    const before = srv.log.lines.length;
    const res = await fetch(`${base}/log`);
    assert.equal(await res.text(), "logged\n");
    const lines = srv.log.lines.slice(before).map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    const [a, b] = lines;
    assert.ok(typeof a.req === "number" && a.req > 0);
    assert.deepEqual(a, { time: "-", level: "info", req: a.req, msg: 'handled "log"', path: "/log", n: 42, ms: 1.5, ok: true });
    assert.deepEqual(b, { time: "-", level: "warn", req: a.req, msg: "plain warning" });
  });

  it("random gives fresh bytes each time; the wall clock is now", async () => {
    const a = await text("/random");
    const b = await text("/random");
    assert.match(a.body, /^[0-9a-f]{32} wall=\d+\n$/);
    assert.notEqual(a.body.slice(0, 32), b.body.slice(0, 32));
    const wall = Number(/wall=(\d+)/.exec(a.body)![1]);
    assert.ok(Math.abs(wall - Date.now()) < 5000);
  });
});
