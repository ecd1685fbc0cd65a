// The flagship example end to end: the catalogue app over the embedded upstream. Pages,
// search, paging, escaping of the dataset's strings, the 502 page for an upstream that is
// down, slow or sends invalid JSON, and 100,000 list pages with wasm memory unchanged and
// every slot free afterwards.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { startUpstream, type Upstream } from "../examples/catalog/upstream.ts";
import { ROOT, startCatalog, waitFor, type Running } from "./helpers.ts";

async function page(port: number, p: string): Promise<{ status: number; type: string; html: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`);
  return { status: res.status, type: res.headers.get("content-type") ?? "", html: await res.text() };
}

/** A server that accepts and answers with `reply` (or never, when null). */
async function fakeUpstream(reply: string | null): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    s.once("data", () => {
      if (reply !== null) s.end(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

let upstream: Upstream;
let site: Running;

before(async () => {
  upstream = await startUpstream();
  site = await startCatalog({ UPSTREAM_URL: upstream.url });
});

after(async () => {
  await site?.server.close();
  await upstream?.close();
});

describe("catalogue pages", () => {
  it("lists the first 20 of 200 products with paging", async () => {
    const r = await page(site.port, "/");
    assert.equal(r.status, 200);
    assert.equal(r.type, "text/html; charset=utf-8");
    assert.match(r.html, /^<!doctype html>/);
    assert.match(r.html, /<p class="summary">200 products<\/p>/);
    assert.equal(r.html.match(/<tr><td><a href="\/products\/\d+">/g)?.length, 20);
    assert.match(r.html, /Page 1 of 10/);
    assert.match(r.html, /<a href="\/\?page=2" rel="next">Next →<\/a>/);
    assert.doesNotMatch(r.html, /rel="prev"/);
  });

  it("the last page has a previous link and no next", async () => {
    const r = await page(site.port, "/?page=10");
    assert.match(r.html, /Page 10 of 10/);
    assert.match(r.html, /<a href="\/\?page=9" rel="prev">/);
    assert.doesNotMatch(r.html, /rel="next"/);
  });

  it("searches, keeps the query in the box and in the paging links, escaped", async () => {
    const r = await page(site.port, "/?q=kitchen");
    assert.match(r.html, /<p class="summary">\d+ products matching “kitchen”<\/p>/);
    assert.match(r.html, /value="kitchen"/);
    const none = await page(site.port, `/?q=${encodeURIComponent('<script>"x"&')}`);
    assert.match(none.html, /No products match “&lt;script&gt;&quot;x&quot;&amp;”/);
    assert.match(none.html, /value="&lt;script&gt;&quot;x&quot;&amp;"/);
    assert.doesNotMatch(none.html, /<script>/);
    // "&" matches 41 products (the brands "Tom & Sons", "Iron & Oak", …): three pages, so
    // the paging links carry the query, percent-encoded in the URL and escaped in HTML.
    const first = await page(site.port, "/?q=%26");
    assert.match(first.html, /<p class="summary">41 products matching “&amp;”<\/p>/);
    assert.match(first.html, /Page 1 of 3/);
    assert.match(first.html, /<a href="\/\?page=2&amp;q=%26" rel="next">/);
    const middle = await page(site.port, "/?q=%26&page=2");
    assert.match(middle.html, /value="&amp;"/);
    assert.match(middle.html, /<a href="\/\?page=1&amp;q=%26" rel="prev">/);
    assert.match(middle.html, /<a href="\/\?page=3&amp;q=%26" rel="next">/);
  });

  it("escapes the dataset's strings and keeps UTF-8 intact", async () => {
    const all: string[] = [];
    for (let p = 1; p <= 10; p++) all.push((await page(site.port, `/?page=${p}`)).html);
    const html = all.join("");
    assert.match(html, /Tom &amp; Sons/);
    assert.doesNotMatch(html, /Bright<Byte>|Desk<Works>/);
    assert.match(html, /Bright&lt;Byte&gt;|Desk&lt;Works&gt;/);
    assert.match(html, /Küchenwerk/);
  });

  it("shows a product and its reviews from the second endpoint", async () => {
    const r = await page(site.port, "/products/2");
    assert.equal(r.status, 200);
    assert.match(r.html, /<h1>Weekend Rain Shell<\/h1>/);
    assert.match(r.html, /pit zips &amp; a helmet-ready hood/);
    assert.match(r.html, /<div class="review"><strong>Aoife Ní Bhriain<\/strong>/);
    assert.match(r.html, /Solid\. I&#39;d buy it again — it&#39;s my go-to now ☕\./);
    assert.match(r.html, /\$167\.99/);
  });

  it("answers 404 pages for unknown products and paths", async () => {
    const r = await page(site.port, "/products/999");
    assert.equal(r.status, 404);
    assert.match(r.html, /There is no product 999\./);
    const n = await page(site.port, "/no/such/page");
    assert.equal(n.status, 404);
    assert.match(n.html, /Nothing lives at \/no\/such\/page\./);
  });

  it("serves its icon", async () => {
    const r = await page(site.port, "/favicon.svg");
    assert.equal(r.type, "image/svg+xml");
    assert.match(r.html, /^<svg /);
  });

  it("links its stylesheet, a static file of examples/catalog/public served from the device region with an ETag and 304", async () => {
    assert.match((await page(site.port, "/")).html, /<link rel="stylesheet" href="\/style\.css">/);
    const css = await fetch(`http://127.0.0.1:${site.port}/style.css`);
    assert.equal(css.status, 200);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    const tag = css.headers.get("etag");
    assert.match(tag ?? "", /^"[^"]+"$/);
    assert.equal(await css.text(), fs.readFileSync("examples/catalog/public/style.css", "utf8"));
    const again = await fetch(`http://127.0.0.1:${site.port}/style.css`, { headers: { "If-None-Match": tag! } });
    assert.equal(again.status, 304);
    await again.text();
  });
});

describe("502 when the upstream fails", () => {
  const cases: [string, () => Promise<{ url: string; close(): Promise<void> }>, RegExp, RegExp][] = [
    ["down", async () => ({ url: "http://127.0.0.1:1", close: async () => {} }),
      /could not be reached/, /connection refused by 127\.0\.0\.1:1/],
    ["slow", () => fakeUpstream(null), /too slow to answer/, /no complete response from 127\.0\.0\.1:\d+ within 300 ms/],
    ["invalid JSON", () => fakeUpstream('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{"products": [1, 2,'),
      /sent invalid JSON/, /at byte 19/],
    ["a 500", () => fakeUpstream("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"),
      /answered with an error/, /HTTP 500 from \/products/],
  ];
  for (const [name, make, what, detail] of cases) {
    it(`upstream ${name} → 502 page that says so`, async () => {
      const up = await make();
      const s = await startCatalog({ UPSTREAM_URL: up.url, UPSTREAM_TIMEOUT_MS: "300" }, 4);
      try {
        const r = await page(s.port, "/");
        assert.equal(r.status, 502);
        assert.equal(r.type, "text/html; charset=utf-8");
        assert.match(r.html, /The catalogue is unavailable right now/);
        assert.match(r.html, what);
        assert.match(r.html, detail);
        await waitFor(() => s.server.stats().slotsFree === 4);
      } finally {
        await s.server.close();
        await up.close();
      }
    });
  }
});

describe("visitors who leave", () => {
  it("a visitor who leaves while the page waits for the upstream is not logged as an upstream failure", async () => {
    const up = await fakeUpstream(null);
    const s = await startCatalog({ UPSTREAM_URL: up.url, UPSTREAM_TIMEOUT_MS: "5000" }, 4);
    try {
      const sock = net.connect(s.port, "127.0.0.1");
      await new Promise((r) => sock.on("connect", r));
      sock.write("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
      await waitFor(() => s.server.stats().slotsFree === 3);
      // A reset: the visitor is gone (a half-close would still be answered).
      sock.resetAndDestroy();
      await waitFor(() => s.server.stats().slotsFree === 4);
      assert.deepEqual(s.log.lines.filter((l) => l.includes("upstream failed") || l.startsWith("ERROR")), []);
    } finally {
      await s.server.close();
      await up.close();
    }
  });
});

describe("steady state", () => {
  it("100,000 list pages leave wasm memory unchanged and every slot free", async () => {
    // The upstream runs in its own process, as it would in production; the test client
    // pipelines requests on 8 connections and checks every page byte for byte.
    const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "examples/catalog/upstream.ts"), "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (d: Buffer) => {
          const m = /listening on (http:\/\/\S+)/.exec(d.toString());
          if (m) resolve(m[1]);
        });
        child.on("exit", (code) => reject(new Error(`upstream exited with ${code}`)));
      });
      const s = await startCatalog({ UPSTREAM_URL: url }, 64);
      try {
        const paths = ["/", "/?page=2", "/?q=kitchen", "/?q=tom"];
        const expected = await Promise.all(paths.map(async (p) => Buffer.from((await page(s.port, p)).html)));
        const memory = s.server.stats().memoryBytes;
        const total = 100_000;
        const conns = 8;
        let served = 0;
        await Promise.all(Array.from({ length: conns }, (_, c) => pipeline(s.port, total / conns, 64, (i) => paths[(i + c) % paths.length], (i, body) => {
          const want = expected[paths.indexOf(paths[(i + c) % paths.length])];
          if (!body.equals(want)) assert.fail(`connection ${c} response ${i}: ${body.subarray(0, 200).toString()}`);
          served++;
        })));
        assert.equal(served, total);
        assert.equal(s.server.stats().memoryBytes, memory);
        await waitFor(() => s.server.stats().slotsFree === 64);
      } finally {
        await s.server.close();
      }
    } finally {
      child.kill("SIGTERM");
    }
  });
});

/**
 * Sends `count` GETs on one connection, at most `window` in flight, and hands each
 * response body (Content-Length framed, 200 only) to `check` in order.
 */
function pipeline(port: number, count: number, window: number, pathFor: (i: number) => string,
  check: (i: number, body: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let sent = 0;
    let received = 0;
    let buf: Buffer = Buffer.alloc(0);
    const fill = () => {
      let out = "";
      while (sent < count && sent - received < window) out += `GET ${pathFor(sent++)} HTTP/1.1\r\nHost: t\r\n\r\n`;
      if (out) socket.write(out);
    };
    socket.on("connect", fill);
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = buf.subarray(0, end).toString("latin1");
        const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? -1);
        if (!head.startsWith("HTTP/1.1 200 ") || len < 0) {
          socket.destroy();
          const body = buf.subarray(end + 4, end + 4 + Math.max(len, 0)).toString();
          reject(new Error(`unexpected response ${received}: ${head.slice(0, 200)}\n${body.slice(0, 300)}`));
          return;
        }
        if (buf.length < end + 4 + len) break;
        try {
          check(received, buf.subarray(end + 4, end + 4 + len));
        } catch (err) {
          socket.destroy();
          reject(err);
          return;
        }
        received++;
        buf = buf.subarray(end + 4 + len);
      }
      if (received === count) {
        socket.end();
        resolve();
      } else {
        fill();
      }
    });
  });
}
