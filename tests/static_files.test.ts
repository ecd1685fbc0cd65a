// Static files (--static): a folder loaded once into the device region and answered by the
// host before the app. Content types, ETag and 304, HEAD, the variant a client's
// Accept-Encoding picks (precompressed beside the file, or compressed at load; q=0 honoured),
// /dir/ → dir/index.html, dotfiles and symlinks never served, traversal attempts sent as
// raw bytes (fetch would normalise them), 405 with Allow, the app for every other path,
// pipelining and keep-alive through the host's writer, the wasm memory untouched, and the
// CLI's one-line errors for a missing folder and one over --device-bytes.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { ArenaServer } from "../host/index.ts";
import { DeviceRegion } from "../host/memory/device_region.ts";
import { contentTypeOf, loadStatic } from "../host/memory/static_load.ts";
import { MemoryLogger } from "../host/log.ts";
import { buildApp, exchange, get, ROOT, type ParsedResponse } from "./helpers.ts";

const MiB = 1024 * 1024;
const CSS = "body { color: #333; }\n".repeat(200);
const JS = "export const x = 1;\n".repeat(100);
const PNG = crypto.randomBytes(3000);

/** A folder with what a site has, and what must never be served. */
function makeSite(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-static-"));
  fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><title>home</title>\n");
  fs.writeFileSync(path.join(dir, "style.css"), CSS);
  fs.writeFileSync(path.join(dir, "app.js"), JS);
  // Precompressed beside the file: used as they are (marked so the test can tell).
  fs.writeFileSync(path.join(dir, "app.js.br"), zlib.brotliCompressSync(JS));
  fs.writeFileSync(path.join(dir, "app.js.gz"), zlib.gzipSync(JS));
  fs.writeFileSync(path.join(dir, "logo.png"), PNG);
  fs.writeFileSync(path.join(dir, "a b.txt"), "spaced\n");
  fs.writeFileSync(path.join(dir, "data.unknownext"), "?");
  fs.writeFileSync(path.join(dir, ".env"), "SECRET=1\n");
  fs.mkdirSync(path.join(dir, ".git"));
  fs.writeFileSync(path.join(dir, ".git", "config"), "[core]\n");
  fs.mkdirSync(path.join(dir, "docs"));
  fs.writeFileSync(path.join(dir, "docs", "index.html"), "<p>docs</p>\n");
  fs.symlinkSync("/etc/passwd", path.join(dir, "passwd"));
  fs.symlinkSync("/etc", path.join(dir, "etc"));
  return dir;
}

let dir: string;
/** The fixture app as a file, for the CLI's cases (a clean clone has no built example). */
let wasmFile: string;
let server: ArenaServer;
let port: number;
/** Requests the app was called for (ServerOptions.onRequestDone). */
let appCalls = 0;

before(async () => {
  dir = makeSite();
  const wasm = await buildApp("tests/fixtures/deviceapp.ts", false);
  wasmFile = path.join(dir, ".app.wasm");
  fs.writeFileSync(wasmFile, wasm);
  const device = DeviceRegion.create(16 * MiB, loadStatic(dir, 16 * MiB));
  server = await ArenaServer.create(wasm, "deviceapp", { slots: 4, slotBytes: 256 * 1024, device, log: new MemoryLogger(), onRequestDone: () => { appCalls++; } });
  port = await server.listen(0, "127.0.0.1");
});

after(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function one(request: string, head = false): Promise<ParsedResponse> {
  const r = await exchange(port, request, { expect: 1, headRequests: [head] });
  assert.equal(r.responses.length, 1, `one response to ${JSON.stringify(request)}: ${r.bytes.toString("latin1")}`);
  return r.responses[0];
}

describe("static files", () => {
  it("answers with the content type, a strong ETag, Cache-Control and the bytes", async () => {
    const r = await one(get("/style.css"));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/css; charset=utf-8");
    assert.match(r.headers.get("etag")!, /^"[\w-]{27}"$/);
    assert.equal(r.headers.get("cache-control"), "public, max-age=0, must-revalidate");
    assert.equal(r.headers.get("vary"), "Accept-Encoding");
    assert.equal(r.headers.get("content-encoding"), undefined);
    assert.equal(r.body.toString(), CSS);
    assert.ok(r.headers.has("date"));
    const png = await one(get("/logo.png", "Accept-Encoding: gzip, br\r\n"));
    assert.equal(png.headers.get("content-type"), "image/png");
    assert.equal(png.headers.get("content-encoding"), undefined, "an image is not compressed");
    assert.equal(png.headers.get("vary"), undefined, "nothing varies for a file with one variant");
    assert.deepEqual(png.body, PNG);
    assert.equal((await one(get("/data.unknownext"))).headers.get("content-type"), "application/octet-stream");
    assert.equal((await one(get("/a%20b.txt"))).body.toString(), "spaced\n");
  });

  it("knows the content types of the web's files", () => {
    const want: Record<string, string> = {
      "a.html": "text/html; charset=utf-8", "a.css": "text/css; charset=utf-8", "a.js": "text/javascript; charset=utf-8",
      "a.mjs": "text/javascript; charset=utf-8", "a.json": "application/json", "a.svg": "image/svg+xml", "a.png": "image/png",
      "a.jpg": "image/jpeg", "a.JPEG": "image/jpeg", "a.gif": "image/gif", "a.webp": "image/webp", "a.ico": "image/x-icon",
      "a.txt": "text/plain; charset=utf-8", "a.woff2": "font/woff2", "a.wasm": "application/wasm", "a.map": "application/json",
      "a.xml": "application/xml", "a.pdf": "application/pdf", "Makefile": "application/octet-stream",
      "a.htm": "text/html; charset=utf-8", "a.csv": "text/csv; charset=utf-8", "site.webmanifest": "application/manifest+json",
      "a.avif": "image/avif", "a.woff": "font/woff", "a.ttf": "font/ttf", "a.otf": "font/otf", "a.mp4": "video/mp4", "a.webm": "video/webm",
    };
    for (const [name, type] of Object.entries(want)) assert.equal(contentTypeOf(name), type, name);
  });

  it("answers If-None-Match holding the ETag with 304, no body; another tag gets the file", async () => {
    const etag = (await one(get("/style.css"))).headers.get("etag")!;
    const r = await one(get("/style.css", `If-None-Match: "nope", W/${etag}\r\n`));
    assert.equal(r.status, 304);
    assert.equal(r.headers.get("etag"), etag);
    assert.equal(r.headers.get("content-length"), undefined);
    assert.equal(r.body.length, 0);
    assert.equal((await one(get("/style.css", "If-None-Match: *\r\n"))).status, 304);
    assert.equal((await one(get("/style.css", 'If-None-Match: "other"\r\n'))).status, 200);
  });

  it("answers HEAD with the headers and Content-Length, and no body", async () => {
    const r = await exchange(port, `HEAD /style.css HTTP/1.1\r\nHost: t\r\n\r\n${get("/a%20b.txt")}`, { expect: 2, headRequests: [true, false] });
    assert.equal(r.responses[0].status, 200);
    assert.equal(r.responses[0].headers.get("content-length"), String(CSS.length));
    assert.equal(r.responses[0].body.length, 0);
    assert.equal(r.responses[1].body.toString(), "spaced\n", "the next response follows the head at once");
  });

  it("picks br, gzip or identity from Accept-Encoding, each with its own ETag, q=0 honoured", async () => {
    const as = async (ae: string) => one(get("/style.css", ae === "" ? "" : `Accept-Encoding: ${ae}\r\n`));
    const identity = await as("");
    const br = await as("gzip, deflate, br");
    const gz = await as("gzip");
    assert.equal(br.headers.get("content-encoding"), "br", "at equal q the smaller brotli");
    assert.equal(zlib.brotliDecompressSync(br.body).toString(), CSS);
    assert.ok(br.body.length < CSS.length);
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    assert.equal(zlib.gunzipSync(gz.body).toString(), CSS);
    const tags = new Set([identity, br, gz].map((r) => r.headers.get("etag")));
    assert.equal(tags.size, 3, "each encoding has its own ETag");
    for (const r of [identity, br, gz]) assert.equal(r.headers.get("vary"), "Accept-Encoding");
    assert.equal((await as("br;q=0, gzip")).headers.get("content-encoding"), "gzip");
    assert.equal((await as("br;q=0.5, gzip;q=0.8")).headers.get("content-encoding"), "gzip");
    assert.equal((await as("gzip;q=0, br;q=0")).headers.get("content-encoding"), undefined);
    assert.equal((await as("identity, gzip;q=0.5")).headers.get("content-encoding"), undefined);
    assert.equal((await as("*;q=0, identity")).headers.get("content-encoding"), undefined);
    assert.equal((await as("deflate")).headers.get("content-encoding"), undefined);
    // A 304 is per variant: the identity ETag does not match the brotli variant.
    assert.equal((await one(get("/style.css", `Accept-Encoding: br\r\nIf-None-Match: ${br.headers.get("etag")}\r\n`))).status, 304);
    assert.equal((await one(get("/style.css", `Accept-Encoding: br\r\nIf-None-Match: ${identity.headers.get("etag")}\r\n`))).status, 200);
  });

  it("sends the .br and .gz beside a file as they are", async () => {
    const br = await one(get("/app.js", "Accept-Encoding: br\r\n"));
    assert.equal(br.headers.get("content-encoding"), "br");
    assert.deepEqual(br.body, fs.readFileSync(path.join(dir, "app.js.br")));
    const gz = await one(get("/app.js", "Accept-Encoding: gzip\r\n"));
    assert.deepEqual(gz.body, fs.readFileSync(path.join(dir, "app.js.gz")));
    assert.equal(gz.headers.get("content-type"), "text/javascript; charset=utf-8");
    // The variants are not files of their own: the path goes to the app.
    assert.equal((await one(get("/app.js.br"))).body.toString(), "app: GET /app.js.br");
  });

  it("serves dir/index.html for /dir/ and index.html for /", async () => {
    assert.equal((await one(get("/"))).body.toString(), "<!doctype html><title>home</title>\n");
    assert.equal((await one(get("/docs/"))).body.toString(), "<p>docs</p>\n");
    assert.equal((await one(get("/docs/index.html"))).body.toString(), "<p>docs</p>\n");
    assert.equal((await one(get("/docs"))).body.toString(), "app: GET /docs", "no redirect: the app has it");
  });

  it("never serves a dotfile or what a symlink points at: those paths are the app's", async () => {
    for (const p of ["/.env", "/.git/config", "/passwd", "/etc/passwd", "/etc/hostname"]) {
      const r = await one(get(p));
      assert.equal(r.body.toString(), `app: GET ${p}`, p);
    }
  });

  it("no request path reaches outside the folder, however it is encoded", async () => {
    const attempts = [
      "/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "//etc/passwd", "/docs/../../etc/passwd", "/docs/..%2f..%2fstyle.css", "/..\\..\\etc\\passwd", "/%5c..%5cetc%5cpasswd",
      "/style.css%00.png", "/style.css%00", "/docs%2findex.html", "/./style.css", "/docs/./index.html", "/%2e/style.css",
      "/passwd%2f", "/%ZZ", "/style.css%", "/STYLE.CSS",
    ];
    for (const p of attempts) {
      const r = await exchange(port, `GET ${p} HTTP/1.1\r\nHost: t\r\n\r\n`, { expect: 1 });
      const res = r.responses[0];
      assert.ok(res === undefined || res.status === 400 || res.body.toString().startsWith("app: "), `${p}: ${r.bytes.toString("latin1").slice(0, 200)}`);
      assert.ok(!r.bytes.toString().includes("root:"), `${p} leaked /etc/passwd`);
      assert.ok(!r.bytes.toString().includes("color: #333"), `${p} named style.css by another path`);
    }
  });

  it("answers other methods with 405 and Allow, keeping the connection; the app has every other path", async () => {
    const r = await exchange(port, [
      "POST /style.css HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", "DELETE /style.css HTTP/1.1\r\nHost: t\r\n\r\n", get("/style.css"),
      "POST /other HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    ].join(""), { expect: 4 });
    assert.equal(r.responses[0].status, 405);
    assert.equal(r.responses[0].headers.get("allow"), "GET, HEAD");
    assert.match(r.responses[0].body.toString(), /ARENA_E_STATIC_METHOD/);
    assert.equal(r.responses[1].status, 405);
    assert.equal(r.responses[2].status, 200);
    assert.equal(r.responses[3].body.toString(), "app: POST /other");
    assert.equal(r.closed, false);
    // A request with a body is answered, and its connection closed (the body is not read).
    const withBody = await exchange(port, "POST /style.css HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", { expect: 1, timeoutMs: 2000 });
    assert.equal(withBody.responses[0].status, 405);
    assert.equal(withBody.responses[0].headers.get("connection"), "close");
  });

  it("serves pipelined requests in order, static and app mixed, with HTTP/1.0 too", async () => {
    const reqs = [get("/style.css"), get("/hello"), get("/logo.png"), get("/"), get("/a%20b.txt")];
    const r = await exchange(port, reqs.join(""), { expect: reqs.length });
    assert.deepEqual(r.responses.map((x) => x.status), [200, 200, 200, 200, 200]);
    assert.equal(r.responses[1].body.toString(), "app: GET /hello");
    assert.deepEqual(r.responses[2].body, PNG);
    const old = await exchange(port, "GET /a%20b.txt HTTP/1.0\r\n\r\n", { expect: 1 });
    assert.equal(old.responses[0].body.toString(), "spaced\n");
    assert.equal(old.responses[0].headers.get("connection"), "close", "HTTP/1.0 without keep-alive closes");
  });

  it("opens a static file from the app by path, read-only", async () => {
    const h = Number((await one(get("/open?path=/style.css"))).body.toString());
    assert.ok(h > 0);
    assert.equal((await one(get(`/size/${h}`))).body.toString(), String(CSS.length));
    assert.equal((await one(get(`/read/${h}?off=0&len=4`))).body.toString(), "body");
    assert.equal((await one(get(`/write/${h}?off=0&s=x`))).body.toString(), "ReadOnly");
    assert.equal((await one(get(`/free/${h}`))).body.toString(), "ReadOnly");
    assert.equal((await one(get(`/send/${h}`))).body.toString(), CSS);
    assert.equal((await one(get("/open?path=/nope.css"))).body.toString(), "-Absent");
    assert.ok(Number((await one(get("/startup"))).body.toString()) > 0, "start-up code opened it too");
  });

  it("does not touch the wasm memory: its size is the same and no slot is taken", async () => {
    const before = server.app.memory.memory.buffer.byteLength;
    const calls = appCalls;
    const r = await exchange(port, Array.from({ length: 50 }, () => get("/style.css", "Accept-Encoding: br\r\n")).join(""), { expect: 50 });
    assert.equal(r.responses.length, 50);
    assert.equal(server.app.memory.memory.buffer.byteLength, before);
    assert.equal(appCalls, calls, "the app handled none of them");
    assert.equal((await one(get("/hello"))).body.toString(), "app: GET /hello");
    assert.equal(appCalls, calls + 1, "the count sees the app's requests");
  });
});

describe("--static on the command line", () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "cli/arena.ts"), "serve", "nope.wasm", ...args], {
    cwd: ROOT, encoding: "utf8", timeout: 20_000,
  });

  it("a missing folder is one line and exit 1", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "cli/arena.ts"), "serve", wasmFile, "--static", "/no/such/dir", "--workers", "1", "--port", "0"], {
      cwd: ROOT, encoding: "utf8", timeout: 20_000, env: { ...process.env, ARENA_WORKERS: "" },
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, "arena: ARENA_E_CONFIG: --static: cannot read /no/such/dir (ENOENT) (give the folder of the files to serve)\n");
  });

  it("a folder over --device-bytes is one line that names the flag", () => {
    const site = makeSite();
    try {
      const r = spawnSync(process.execPath, [path.join(ROOT, "cli/arena.ts"), "serve", wasmFile, "--static", site, "--device-bytes", "4KiB", "--workers", "1", "--port", "0"], {
        cwd: ROOT, encoding: "utf8", timeout: 20_000,
      });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^arena: ARENA_E_CONFIG: --static: .* holds [\d.]+ KiB of files, over the device region's 4 KiB \(raise --device-bytes \(env ARENA_DEVICE_BYTES\), or serve fewer files\)\n$/);
    } finally {
      fs.rmSync(site, { recursive: true, force: true });
    }
  });

  it("an empty --static is one line, not a silent \"no static files\"", () => {
    const r = cli(["--static", ""]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "arena: ARENA_E_CONFIG: --static is empty (give the folder of static files, e.g. --static public, or leave it out)\n");
  });

  it("a file name that is not UTF-8 is skipped, one with a byte-order mark keeps it, and the rest of the folder is served", () => {
    const site = makeSite();
    try {
      fs.writeFileSync(Buffer.concat([Buffer.from(`${site}/bad`), Buffer.from([0xff]), Buffer.from(".txt")]), "x");
      // A name that starts with a byte-order mark is valid UTF-8 and keeps its mark.
      fs.writeFileSync(path.join(site, "\uFEFFbom.css"), "b{}");
      const files = loadStatic(site, 16 * MiB);
      assert.ok(files.bodyOf("/style.css") !== null, "the others load");
      assert.ok(files.bodyOf("/\uFEFFbom.css") !== null, "the name with its mark");
      assert.equal(files.bodyOf("/bom.css"), null, "not the name without it");
    } finally {
      fs.rmSync(site, { recursive: true, force: true });
    }
  });

  it("a bad --device-bytes is one line", () => {
    const r = cli(["--device-bytes", "lots"]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "arena: ARENA_E_CONFIG: --device-bytes: 'lots' is not a size (use e.g. 1MiB, 512KiB or 1048576)\n");
  });
});
