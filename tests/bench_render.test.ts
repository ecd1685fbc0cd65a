// The benchmark's pages without the benchmark: the Arena bench app (bench/apps/bench.ts)
// and the JavaScript peers' render (bench/peers/render.ts) answer every workload with the
// bytes of the independent reference (bench/reference.ts), and the second document's
// numbers are ones JavaScript and AssemblyScript format alike. No wrk: one GET per route,
// on 127.0.0.1, against a real bench/upstream.ts.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { prepareBenchData, type BenchData } from "../bench/data.ts";
import { decimalText, ordersDocument, TRICKY_AMOUNTS } from "../bench/orders.ts";
import { cents, formatMoney, renderOrders, renderTable } from "../bench/peers/render.ts";
import { HELLO_BODY, HELLO_TYPE, HTML_TYPE, exactCents, firstDifference, referenceOrders, referenceTable } from "../bench/reference.ts";
import { ArenaServer, MemoryLogger } from "../host/index.ts";
import { buildApp, ROOT, servingUrl } from "./helpers.ts";

const data: BenchData = prepareBenchData(ROOT);

function assertSameBytes(got: Buffer, want: Buffer, what: string): void {
  const at = firstDifference(got, want);
  if (at < 0) return;
  const show = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, at - 40), at + 40).toString("utf8"));
  assert.fail(`${what}: differs at byte ${at} (got ${got.length} bytes, expected ${want.length}): got ${show(got)}, expected ${show(want)}`);
}

describe("the orders document (W3/W3b)", () => {
  test("is deterministic, about the first document's size, and every amount is whole cents", () => {
    assert.ok(ordersDocument().equals(data.orders));
    assert.ok(data.orders.length > 40_000 && data.orders.length < 64_000, `${data.orders.length} bytes`);
    const text = data.orders.toString("utf8");
    for (const m of text.matchAll(/"(price|shipping|adjustment)":([^,}\]]+)/g)) exactCents(m[2]);
    // The forms the render must survive are all in it: exponents both cases, -0, \u escapes.
    for (const form of ["e-2", "E+", "\\u00e9", "\\ud83c\\udf81", "\\/", "\\\""]) assert.ok(text.includes(form), form);
    for (const amount of TRICKY_AMOUNTS) assert.ok(text.includes(`:${amount},`) || text.includes(`:${amount}}`), amount);
  });

  test("JavaScript's Math.round(x × 100) gives the exact cents of every form the generator writes", () => {
    const amounts = [...TRICKY_AMOUNTS];
    for (let c = -2000; c <= 30_000; c += 7) for (let form = 0; form < 5; form++) amounts.push(decimalText(c, form));
    for (const text of amounts) {
      const exact = exactCents(text);
      assert.equal(cents(Number(text)) + 0, Number(exact), text); // + 0: -0 is 0 here
      const abs = exact < 0n ? -exact : exact;
      assert.equal(formatMoney(cents(Number(text))), `${exact < 0n ? "-" : ""}$${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`, text);
    }
    assert.equal(formatMoney(cents(-0)), "$0.00");
    assert.throws(() => exactCents("1.005"), /not a whole number of cents/);
  });
});

describe("the JavaScript peers' render", () => {
  test("W2/W2b and W3/W3b pages equal the reference", () => {
    assertSameBytes(Buffer.from(renderTable(JSON.parse(data.products.toString("utf8")))), referenceTable(data.products), "products");
    assertSameBytes(Buffer.from(renderOrders(JSON.parse(data.orders.toString("utf8")))), referenceOrders(data.orders), "orders");
  });
});

describe("the Arena bench app", () => {
  let upstream: ChildProcess;
  let server: ArenaServer;
  let port: number;

  before(async () => {
    upstream = spawn(process.execPath, ["bench/upstream.ts"], {
      cwd: ROOT, env: { ...process.env, PORT: "0", BENCH_DATA: data.productsFile, BENCH_ORDERS: data.ordersFile }, stdio: ["ignore", "pipe", "pipe"],
    });
    const upstreamPort = await servingUrl(upstream, "bench/upstream.ts", /listening (\d+)/).url;
    const wasm = await buildApp("bench/apps/bench.ts");
    // The app reads BENCH_UPSTREAM_URL in its start-up code, during create.
    const saved = process.env.BENCH_UPSTREAM_URL;
    process.env.BENCH_UPSTREAM_URL = `http://127.0.0.1:${upstreamPort}`;
    try {
      server = await ArenaServer.create(wasm, "bench/apps/bench.ts", { slots: 4, slotBytes: 1024 * 1024, log: new MemoryLogger() });
    } finally {
      if (saved === undefined) delete process.env.BENCH_UPSTREAM_URL;
      else process.env.BENCH_UPSTREAM_URL = saved;
    }
    port = await server.listen(0, "127.0.0.1");
  });

  after(async () => {
    await server?.close();
    if (upstream && upstream.exitCode === null) {
      const exited = new Promise((r) => upstream.once("exit", r));
      upstream.kill();
      await exited;
    }
  });

  const routes: [string, string, () => Buffer][] = [
    ["/", HELLO_TYPE, () => HELLO_BODY],
    ["/w2", HTML_TYPE, () => referenceTable(data.products)],
    ["/w2b", HTML_TYPE, () => referenceTable(data.products)],
    ["/w2t", HTML_TYPE, () => referenceTable(data.products)],
    ["/w3", HTML_TYPE, () => referenceOrders(data.orders)],
    ["/w3b", HTML_TYPE, () => referenceOrders(data.orders)],
  ];
  for (const [route, type, expected] of routes) {
    test(`GET ${route} answers the reference bytes`, async () => {
      const res = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(10_000) });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, body.toString("utf8").slice(0, 200));
      assert.equal(res.headers.get("content-type"), type);
      assertSameBytes(body, expected(), route);
    });
  }
});
