// The catalogue example's dataset and its upstream JSON API (examples/catalog/upstream.ts).

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DATA_FILE, generate, serialize, withoutReviews, type Product } from "../examples/catalog/data/generate.ts";
import { startUpstream, type Upstream } from "../examples/catalog/upstream.ts";

// Not from helpers.ts: this test needs nothing of the host.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const products = JSON.parse(fs.readFileSync(DATA_FILE, "utf8")) as Product[];

async function getJson(up: Upstream, p: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(up.url + p, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? null : JSON.parse(text) };
}

describe("dataset", () => {
  test("has 200 products with unique ids 1..200 and the documented shape", () => {
    assert.equal(products.length, 200);
    assert.deepEqual(products.map((p) => p.id), Array.from({ length: 200 }, (_, i) => i + 1));
    for (const p of products) {
      assert.deepEqual(Object.keys(p), ["id", "title", "brand", "category", "description", "price", "rating", "stock", "tags", "reviews"]);
      assert.ok(p.title && p.brand && p.category && p.description, `product ${p.id} has empty strings`);
      assert.match(String(p.price), /^[1-9]\d*(\.\d\d?)?$/, "price in dollars with at most 2 decimals");
      assert.ok(p.rating >= 1 && p.rating <= 5, `rating ${p.rating}`);
      assert.match(String(p.rating), /^\d(\.\d\d?)?$/);
      assert.ok(Number.isInteger(p.stock) && p.stock >= 0);
      assert.ok(p.tags.length >= 1 && p.tags.every((t) => typeof t === "string"));
      assert.ok(p.reviews.length <= 4);
      for (const r of p.reviews) {
        assert.ok(Number.isInteger(r.rating) && r.rating >= 1 && r.rating <= 5);
        assert.equal(new Date(r.date).toISOString(), r.date);
        assert.ok(r.reviewer && r.comment);
      }
    }
    assert.equal(new Set(products.map((p) => `${p.brand}|${p.title}`)).size, 200, "brand + title are unique");
    assert.ok(new Set(products.map((p) => p.category)).size >= 8);
  });

  test("is what generate.ts produces (deterministic)", () => {
    assert.equal(fs.readFileSync(DATA_FILE, "utf8"), serialize(generate()));
    assert.deepEqual(generate(), generate());
  });

  test("contains strings that need HTML escaping and non-ASCII, non-BMP UTF-8", () => {
    const listText = JSON.stringify(products.map(withoutReviews));
    const fields = products.flatMap((p) => [p.title, p.brand, p.description, ...p.tags]);
    for (const ch of ["&", "<", ">", '"', "'"]) {
      assert.ok(fields.filter((s) => s.includes(ch)).length >= 5, `several product strings contain ${ch}`);
    }
    assert.ok(products.some((p) => p.description.includes("Fits <A4> paper")));
    assert.ok(products.some((p) => / < \d+ cm/.test(p.description)));
    assert.ok(products.some((p) => p.brand === "Tom & Sons"));
    const nonBmp = (s: string) => /[\u{10000}-\u{10FFFF}]/u.test(s);
    assert.ok(fields.some(nonBmp), "a non-BMP character (emoji) in the list fields");
    assert.ok(fields.some((s) => s.includes("🚀")) && fields.some((s) => s.includes("☕")));
    assert.ok(fields.some((s) => /日本/.test(s)));
    for (const ch of ["é", "ü", "ß", "ñ"]) assert.ok(listText.includes(ch), `contains ${ch}`);
    const reviewText = products.flatMap((p) => p.reviews.flatMap((r) => [r.reviewer, r.comment]));
    assert.ok(reviewText.some((s) => s.includes("<")) && reviewText.some((s) => s.includes("&")) && reviewText.some(nonBmp));
    // The list without reviews, compact, is the page-sized payload the app renders.
    const size = Buffer.byteLength(listText);
    assert.ok(size >= 45_000 && size <= 60_000, `list without reviews is ${size} B`);
    // Distribution sanity: some reviewless products, some out of stock.
    assert.ok(products.some((p) => p.reviews.length === 0) && products.some((p) => p.reviews.length === 4));
    assert.ok(products.some((p) => p.stock === 0));
  });
});

describe("upstream API", () => {
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
  });

  test("GET /health", async () => {
    const r = await getJson(up, "/health");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(r.body, { ok: true });
    assert.match(up.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test("GET /products: first page of 20 without reviews", async () => {
    const r = await getJson(up, "/products");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(r.body.total, 200);
    assert.equal(r.body.skip, 0);
    assert.equal(r.body.limit, 20);
    assert.deepEqual(r.body.products, products.slice(0, 20).map(withoutReviews));
    assert.ok(r.body.products.every((p: object) => !("reviews" in p)));
  });

  test("GET /products: paging and its bounds", async () => {
    let r = await getJson(up, "/products?skip=190&limit=20");
    assert.deepEqual(r.body.products.map((p: Product) => p.id), [191, 192, 193, 194, 195, 196, 197, 198, 199, 200]);
    assert.equal(r.body.total, 200);
    r = await getJson(up, "/products?skip=500");
    assert.deepEqual([r.status, r.body.products, r.body.total, r.body.skip], [200, [], 200, 500]);
    r = await getJson(up, "/products?limit=0");
    assert.equal(r.body.products.length, 200);
    assert.equal(r.body.limit, 0);
    r = await getJson(up, "/products?limit=200&skip=1");
    assert.equal(r.body.products.length, 199);
    r = await getJson(up, "/products?limit=1&skip=41");
    assert.deepEqual(r.body.products, [withoutReviews(products[41])]);
    // An empty parameter is the default.
    r = await getJson(up, "/products?skip=&limit=");
    assert.deepEqual([r.body.skip, r.body.limit, r.body.products.length], [0, 20, 20]);
    for (const bad of ["limit=201", "limit=-1", "limit=abc", "limit=1.5", "skip=-3", "skip=x", "skip=1e3"]) {
      r = await getJson(up, `/products?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(typeof r.body.message, "string", bad);
      assert.match(r.body.message, /^(limit|skip) must be an integer from 0 to \d+/);
    }
  });

  test("GET /products?q=: case-insensitive substring of title, brand, category and tags", async () => {
    const matches = (q: string) => products.filter((p) =>
      [p.title, p.brand, p.category, ...p.tags].some((s) => s.toLowerCase().includes(q.toLowerCase())));
    for (const q of ["knife", "KNIFE", "tom & sons", "kitchen", "work-from-home", "日本", "🚀", "müller", "bär", "<byte>"]) {
      const expected = matches(q);
      assert.ok(expected.length > 0, `fixture has matches for ${q}`);
      const r = await getJson(up, `/products?q=${encodeURIComponent(q)}&limit=0`);
      assert.equal(r.status, 200);
      assert.equal(r.body.total, expected.length, q);
      assert.deepEqual(r.body.products.map((p: Product) => p.id), expected.map((p) => p.id), q);
    }
    // Only those fields: description words don't match.
    assert.equal(matches("neuschwanstein").length, 0);
    let r = await getJson(up, "/products?q=neuschwanstein");
    assert.deepEqual([r.body.total, r.body.products], [0, []]);
    // total counts all matches; paging applies to them.
    const books = matches("books");
    r = await getJson(up, "/products?q=Books&skip=3&limit=5");
    assert.equal(r.body.total, books.length);
    assert.deepEqual(r.body.products.map((p: Product) => p.id), books.slice(3, 8).map((p) => p.id));
  });

  test("GET /products/:id and /products/:id/reviews", async () => {
    for (const id of [1, 2, 100, 200]) {
      let r = await getJson(up, `/products/${id}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, withoutReviews(products[id - 1]));
      r = await getJson(up, `/products/${id}/reviews`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { productId: id, reviews: products[id - 1].reviews });
    }
    const withReviews = products.find((p) => p.reviews.length === 4)!;
    const r = await getJson(up, `/products/${withReviews.id}/reviews`);
    assert.equal(r.body.reviews.length, 4);
  });

  test("404 for unknown products and paths, as JSON", async () => {
    const cases: [string, string][] = [
      ["/products/999", "Product 999 not found"],
      ["/products/0", "Product 0 not found"],
      ["/products/999/reviews", "Product 999 not found"],
      ["/products/abc", "Product abc not found"],
      ["/nope", "Not found: /nope"],
      ["/products/1/nope", "Not found: /products/1/nope"],
      ["/", "Not found: /"],
    ];
    for (const [p, message] of cases) {
      const r = await getJson(up, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(r.body, { message }, p);
    }
  });

  test("405 with Allow for methods other than GET and HEAD", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = await getJson(up, "/products", { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get("allow"), "GET, HEAD");
      assert.match(r.body.message, new RegExp(`^Method ${method} not allowed`));
    }
    const head = await fetch(up.url + "/products/1", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  test("bodies are UTF-8 with exact content-length", async () => {
    const res = await fetch(up.url + "/products?limit=0");
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(Number(res.headers.get("content-length")), bytes.length);
    const text = bytes.toString("utf8");
    assert.ok(text.includes("🚀") && text.includes("Tom & Sons") && text.includes("<A4>"));
    assert.deepEqual(JSON.parse(text).products, products.map(withoutReviews));
  });

  test("delay=ms answers late; bad delays are 400", async () => {
    let t = performance.now();
    let r = await getJson(up, "/health?delay=300");
    let took = performance.now() - t;
    assert.deepEqual([r.status, r.body], [200, { ok: true }]);
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
    t = performance.now();
    r = await getJson(up, "/products/999?delay=200");
    took = performance.now() - t;
    assert.equal(r.status, 404);
    assert.ok(took >= 190, `404 delayed too (${took} ms)`);
    t = performance.now();
    r = await getJson(up, "/products?limit=1&delay=0");
    assert.ok(performance.now() - t < 250);
    for (const bad of ["delay=30001", "delay=-1", "delay=soon"]) {
      r = await getJson(up, `/health?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.body.message, /^delay must be an integer from 0 to 30000/);
    }
  });

  test("a client that gives up during a delay does not break the server; close() ends pending delays", async () => {
    const ac = new AbortController();
    const pending = fetch(up.url + "/health?delay=5000", { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await assert.rejects(pending);
    assert.equal((await getJson(up, "/health")).status, 200);

    const other = await startUpstream();
    const sock = net.connect(other.port, "127.0.0.1");
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    sock.write("GET /health?delay=30000 HTTP/1.1\r\nHost: t\r\n\r\n");
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await other.close();
    assert.ok(performance.now() - t < 2000, "close() does not wait for the delay");
    sock.destroy();
  });

  test("keep-alive: several requests on one connection", async () => {
    const sock = net.connect(up.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    await new Promise((r) => sock.once("connect", r));
    sock.write("GET /health HTTP/1.1\r\nHost: t\r\n\r\nGET /products/7 HTTP/1.1\r\nHost: t\r\n\r\n");
    const until = Date.now() + 3000;
    while (Buffer.concat(chunks).toString().split("HTTP/1.1 200").length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const text = Buffer.concat(chunks).toString();
    assert.equal(text.split("HTTP/1.1 200 OK").length, 3);
    assert.match(text, /Keep-Alive: timeout=5/);
    sock.destroy();
  });
});

describe("upstream CLI", () => {
  const script = path.join(ROOT, "examples/catalog/upstream.ts");
  const run = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [script, ...args], { timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err as any).code ?? 1 : 0, stdout, stderr });
    });
  });

  test("prints one line when listening and one-line errors otherwise", async () => {
    const up = await startUpstream();
    try {
      const busy = await run(["--port", String(up.port)]);
      assert.equal(busy.code, 1);
      assert.equal(busy.stderr, `upstream: port ${up.port} is already in use (127.0.0.1:${up.port})\n`);
    } finally {
      await up.close();
    }
    const bad = await run(["--port", "http"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'upstream: --port must be a number from 0 to 65535, got "http"\n');
    const missing = await run(["--data", "/nonexistent/products.json"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "upstream: data file not found: /nonexistent/products.json\n");
  });

  test("serves until SIGTERM", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [script, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d;
          if (out.includes("\n")) resolve(out);
        });
        child.once("exit", () => reject(new Error(`exited early: ${out}`)));
      });
      const m = /^upstream listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(line);
      assert.ok(m, line);
      const res = await fetch(`${m[1]}/products/1`);
      assert.equal((await res.json()).id, 1);
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
