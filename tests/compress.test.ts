// Response compression (host/http/compress.ts): which coding Accept-Encoding picks, which
// responses qualify, what the headers become, and that the bytes round-trip, over real
// connections to an app (tests/fixtures/compressapp.ts) and on the module's own parts.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { resolveServeConfig } from "../host/index.ts";
import {
  chooseEncoding, compressibleType, ENC_BR, ENC_GZIP, ENC_IDENTITY, ResponseCompression,
} from "../host/http/compress.ts";
import { ZlibEngine } from "../host/http/zlib_engine.ts";
import { parseHead, RequestHead } from "../host/http/request_parser.ts";
import { COMPRESS_BODY_BYTES_MAX, COMPRESS_MIN_BYTES_DEFAULT } from "../host/limits.ts";
import { exchange, get, type ParsedResponse, type Running, startTestServer } from "./helpers.ts";

const APP = "tests/fixtures/compressapp.ts";

function decode(res: ParsedResponse): Buffer {
  const ce = res.headers.get("content-encoding");
  if (ce === "gzip") return zlib.gunzipSync(res.body);
  if (ce === "br") return zlib.brotliDecompressSync(res.body);
  assert.equal(ce, undefined, "no other coding");
  return res.body;
}

/** Parses a request head with the server's own parser: what chooseEncoding reads. */
function headOf(fields: string): { buf: Uint8Array; head: RequestHead } {
  const buf = Buffer.from(`GET / HTTP/1.1\r\nHost: t\r\n${fields}\r\n`, "latin1");
  const head = new RequestHead();
  assert.ok(parseHead(buf, buf.length, head, 0) > 0, fields);
  return { buf, head };
}

function choose(acceptEncoding: string | string[] | null): number {
  const lines = acceptEncoding === null ? [] : Array.isArray(acceptEncoding) ? acceptEncoding : [acceptEncoding];
  const { buf, head } = headOf(lines.map((v) => `Accept-Encoding: ${v}\r\n`).join(""));
  return chooseEncoding(buf, 0, head);
}

describe("Accept-Encoding", () => {
  it("prefers gzip at equal q, follows q-values, and treats q=0 as a refusal", () => {
    const cases: [string | string[] | null, number][] = [
      [null, ENC_IDENTITY],
      ["", ENC_IDENTITY],
      ["gzip", ENC_GZIP],
      ["br", ENC_BR],
      ["gzip, br", ENC_GZIP],
      ["gzip, deflate, br, zstd", ENC_GZIP],
      ["gzip;q=0.9, br", ENC_BR],
      ["GZIP", ENC_GZIP],
      ["x-gzip", ENC_GZIP],
      ["gzip;q=1, br;q=0.5", ENC_GZIP],
      ["gzip;q=0.8, br;q=0.9", ENC_BR],
      ["br;q=0, gzip", ENC_GZIP],
      ["br;q=0", ENC_IDENTITY],
      ["br;q=0.000", ENC_IDENTITY],
      ["gzip;q=0, br;q=0", ENC_IDENTITY],
      ["*", ENC_GZIP],
      ["*, gzip;q=0.5", ENC_BR],
      ["*;q=0.5, gzip", ENC_GZIP],
      ["*;q=0", ENC_IDENTITY],
      ["*, br;q=0", ENC_GZIP],
      ["gzip;q=0.5, identity", ENC_IDENTITY],
      ["gzip;q=0.5, identity;q=0.5", ENC_GZIP],
      ["identity;q=0, gzip;q=0", ENC_IDENTITY],
      ["deflate, compress", ENC_IDENTITY],
      ["gzip ; q=0.5 , br ; Q=0.4", ENC_GZIP],
      ["gzip;q=1.5", ENC_IDENTITY],
      ["gzip;q=0.1234", ENC_IDENTITY],
      ["gzip;q=", ENC_IDENTITY],
      ["gzip;q=abc", ENC_IDENTITY],
      ["gzip;level=9", ENC_GZIP],
      ["gzip, gzip;q=0", ENC_IDENTITY],
      [", ,gzip,", ENC_GZIP],
      [["identity;q=0.1", "gzip"], ENC_GZIP],
      [["gzip", "br;q=0"], ENC_GZIP],
    ];
    for (const [ae, want] of cases) assert.equal(choose(ae), want, JSON.stringify(ae));
  });

  it("reads the fields where the head's bytes are (the copy in the slot)", () => {
    const { buf, head } = headOf("Accept-Encoding: gzip\r\n");
    const moved = new Uint8Array(buf.length + 100);
    moved.set(buf, 100);
    assert.equal(chooseEncoding(moved, 100, head), ENC_GZIP);
  });
});

describe("compressible types", () => {
  it("text, JSON, JavaScript, XML and +json/+xml; not images, archives or bytes", () => {
    const yes = ["text/html; charset=utf-8", "TEXT/CSS", "text/plain", "application/json", "application/javascript",
      "application/xml", "image/svg+xml", "application/problem+json", "application/ld+json", "application/x-javascript"];
    const no = ["image/png", "application/zip", "application/octet-stream", "application/gzip", "video/mp4", "font/woff2",
      "application/jsonx", "nonsense", ""];
    for (const t of yes) assert.equal(compressibleType(Buffer.from(t), 0, t.length), true, t);
    for (const t of no) assert.equal(compressibleType(Buffer.from(t), 0, t.length), false, t);
  });
});

describe("the engines", () => {
  it("gzip and br round-trip through the reused native handle and the public fallback, body after body", () => {
    const body = Buffer.from("<tr><td>product</td><td>12.50</td></tr>\n".repeat(400));
    const out = Buffer.alloc(body.length);
    for (const usePublic of [false, true]) {
      for (const [coding, level] of [["gzip", 5], ["br", 4]] as const) {
        const e = new ZlibEngine(coding, level, usePublic);
        assert.equal(e.path, usePublic ? "public" : "handle");
        let first = -1;
        for (let i = 0; i < 3; i++) {
          const n = e.compress(body, 0, body.length, out, 0, out.length);
          assert.ok(n > 0 && n < body.length / 10, `${coding} compresses (${n})`);
          if (first < 0) first = n;
          assert.equal(n, first, "the same size each time: the level survives the reset");
          const plain = coding === "gzip" ? zlib.gunzipSync(out.subarray(0, n)) : zlib.brotliDecompressSync(out.subarray(0, n));
          assert.ok(plain.equals(body));
        }
        assert.equal(e.compress(body, 0, body.length, out, 0, 10), -1, "does not fit: -1");
        assert.ok(e.compress(body, 0, body.length, out, 0, out.length) > 0, "and the next body is fine");
        e.close();
      }
    }
  });

  it("a response in an arena with no room past the app's allocations is left as it is", () => {
    // A fake slot: descriptor at 32, arena end at 64 KiB, bump pointer at the end.
    const u8 = new Uint8Array(70 * 1024);
    const body = Buffer.from("x".repeat(4096));
    u8.set(body, 1000);
    const hdr = Buffer.from("Content-Type: text/plain\r\n");
    u8.set(hdr, 900);
    new DataView(u8.buffer).setUint32(0, 64 * 1024 - 10, true);
    const { head } = headOf("Accept-Encoding: gzip\r\n");
    const bridge = { u8, descriptor: () => 32, headReserve: () => 64 * 1024 };
    const r = { status: 200, headersPtr: 900, headersLen: hdr.length, bodyPtr: 1000, bodyLen: body.length };
    new ResponseCompression(COMPRESS_MIN_BYTES_DEFAULT).apply(bridge, 0, head, r);
    assert.deepEqual(r, { status: 200, headersPtr: 900, headersLen: hdr.length, bodyPtr: 1000, bodyLen: body.length });
  });
});

describe("compressed responses", () => {
  let srv: Running;
  before(async () => {
    srv = await startTestServer({ slotBytes: 1024 * 1024, slots: 8 }, false, APP);
  });
  after(async () => {
    await srv.server.close();
  });

  async function fetchOne(path: string, ae: string | null, extra = "", headRequest = false): Promise<ParsedResponse> {
    const fields = (ae === null ? "" : `Accept-Encoding: ${ae}\r\n`) + extra;
    const req = headRequest ? `HEAD ${path} HTTP/1.1\r\nHost: t\r\n${fields}\r\n` : get(path, fields);
    const r = await exchange(srv.port, req, { expect: 1, headRequests: [headRequest] });
    assert.equal(r.responses.length, 1);
    return r.responses[0];
  }

  it("each coding round-trips to the identity body, with its length, Vary and Content-Encoding", async () => {
    const plain = await fetchOne("/page?n=20000", null);
    assert.equal(plain.headers.get("content-encoding"), undefined);
    assert.equal(plain.headers.get("vary"), "Accept-Encoding", "Vary also when this client took identity");
    assert.equal(plain.body.length, Number(plain.headers.get("content-length")));
    for (const [ae, coding] of [["gzip", "gzip"], ["br", "br"], ["gzip, deflate, br", "gzip"], ["br;q=0.1, gzip", "gzip"], ["gzip;q=0.5, br", "br"]]) {
      const res = await fetchOne("/page?n=20000", ae);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-encoding"), coding, ae);
      assert.equal(res.headers.get("vary"), "Accept-Encoding");
      assert.equal(res.headers.get("x-after"), "kept", "the app's other headers stay");
      assert.equal(Number(res.headers.get("content-length")), res.body.length);
      assert.ok(res.body.length < plain.body.length / 4, `${coding}: ${res.body.length} bytes`);
      assert.ok(decode(res).equals(plain.body), ae);
    }
  });

  it("refusals and unknown codings get identity", async () => {
    for (const ae of ["br;q=0, gzip;q=0", "*;q=0", "deflate", "identity"]) {
      const res = await fetchOne("/page?n=5000", ae);
      assert.equal(res.headers.get("content-encoding"), undefined, ae);
      assert.equal(res.body.length, Number(res.headers.get("content-length")));
    }
  });

  it("bodies under the minimum or over COMPRESS_BODY_BYTES_MAX, and other types, are sent as they are, without Vary", async () => {
    const paths = [`/page?n=${COMPRESS_MIN_BYTES_DEFAULT - 200}`, `/page?n=${COMPRESS_BODY_BYTES_MAX + 1000}`,
      "/page?n=5000&type=image/png", "/page?n=5000&type=application/zip", "/page?n=5000&type=application/octet-stream"];
    for (const p of paths) {
      const res = await fetchOne(p, "gzip, br");
      assert.equal(res.headers.get("content-encoding"), undefined, p);
      assert.equal(res.headers.get("vary"), undefined, p);
    }
    for (const t of ["application/json", "application/javascript", "image/svg+xml", "text/css"]) {
      const res = await fetchOne(`/page?n=5000&type=${encodeURIComponent(t)}`, "gzip");
      assert.equal(res.headers.get("content-encoding"), "gzip", t);
      assert.equal(res.headers.get("content-type"), t);
    }
  });

  it("leaves alone what the app encoded, cut or marked no-transform; compresses other statuses but 206", async () => {
    const own = await fetchOne("/page?n=5000&ce=identity", "gzip");
    assert.equal(own.headers.get("content-encoding"), "identity");
    assert.equal(own.headers.get("vary"), undefined);
    assert.equal(own.body.length, Number(own.headers.get("content-length")));
    for (const p of ["/page?n=5000&cc=public,%20no-transform", "/page?n=5000&range=1&status=206"]) {
      const res = await fetchOne(p, "gzip");
      assert.equal(res.headers.get("content-encoding"), undefined, p);
    }
    const missing = await fetchOne("/page?n=5000&status=404", "gzip");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-encoding"), "gzip");
  });

  it("merges Accept-Encoding into the app's Vary, once", async () => {
    const cases: [string, string][] = [["Origin", "Origin, Accept-Encoding"], ["accept-encoding", "accept-encoding"],
      ["Origin,%20Accept-Encoding", "Origin, Accept-Encoding"], ["*", "*"]];
    for (const [vary, want] of cases) {
      for (const ae of ["gzip", null]) {
        const res = await fetchOne(`/page?n=5000&vary=${vary}`, ae);
        assert.equal(res.headers.get("vary"), want, `${vary} (${ae})`);
        assert.equal(res.raw.match(/^vary:/gim)?.length, 1, "one Vary line");
      }
    }
  });

  it("weakens a strong ETag when compressing; a 304 for it is left as the app made it", async () => {
    const plain = await fetchOne("/page?n=5000&etag=1", null);
    const tag = plain.headers.get("etag")!;
    assert.match(tag, /^"/);
    const gz = await fetchOne("/page?n=5000&etag=1", "gzip");
    assert.equal(gz.headers.get("etag"), `W/${tag}`);
    const again = await fetchOne("/page?n=5000&etag=1", "gzip", `If-None-Match: W/${tag}\r\n`);
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.get("etag"), tag);
    assert.equal(again.headers.get("content-encoding"), undefined);
    assert.equal(again.headers.get("content-length"), undefined);
  });

  it("HEAD gets the headers GET would, with no body, and the connection goes on", async () => {
    const gz = await fetchOne("/page?n=20000&etag=1", "br");
    const head = `HEAD /page?n=20000&etag=1 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br\r\n\r\n`;
    const r = await exchange(srv.port, [head, get("/page?n=3000", "Accept-Encoding: gzip\r\n")], { expect: 2, headRequests: [true, false], delayMs: 50 });
    assert.equal(r.responses.length, 2);
    const [h, next] = r.responses;
    for (const name of ["content-encoding", "content-length", "vary", "etag", "content-type"]) assert.equal(h.headers.get(name), gz.headers.get(name), name);
    assert.equal(h.body.length, 0);
    assert.equal(next.headers.get("content-encoding"), "gzip");
    assert.equal(decode(next).length, Number((await fetchOne("/page?n=3000", null)).headers.get("content-length")));
  });

  it("keep-alive and pipelined requests go on after compressed responses, each its own body", async () => {
    const codings = ["gzip", "br", null, "br", "gzip", null, "gzip, br", "br"];
    const reqs = codings.map((ae, i) => get(`/page?n=${3000 + 1500 * i}`, ae === null ? "" : `Accept-Encoding: ${ae}\r\n`));
    const expected = await Promise.all(codings.map((_, i) => fetchOne(`/page?n=${3000 + 1500 * i}`, null)));
    for (const parts of [reqs.join(""), reqs]) {
      const r = await exchange(srv.port, parts, { expect: reqs.length, delayMs: Array.isArray(parts) ? 10 : 0 });
      assert.equal(r.responses.length, reqs.length);
      assert.equal(r.closed, false);
      r.responses.forEach((res, i) => {
        const want = codings[i] === null ? undefined : codings[i] === "br" ? "br" : "gzip";
        assert.equal(res.headers.get("content-encoding"), want, String(i));
        assert.ok(decode(res).equals(expected[i].body), String(i));
      });
    }
  });
});

describe("the off switch and the minimum", () => {
  it("compress: false sends every body as it is, without Vary", async () => {
    const srv = await startTestServer({ compress: false }, false, APP);
    try {
      const r = await exchange(srv.port, get("/page?n=20000", "Accept-Encoding: gzip, br\r\n"), { expect: 1 });
      assert.equal(r.responses[0].headers.get("content-encoding"), undefined);
      assert.equal(r.responses[0].headers.get("vary"), undefined);
      assert.equal(r.responses[0].body.length, Number(r.responses[0].headers.get("content-length")));
    } finally {
      await srv.server.close();
    }
  });

  it("compressMinBytes moves the threshold", async () => {
    const srv = await startTestServer({ compressMinBytes: 8192 }, false, APP);
    try {
      const small = await exchange(srv.port, get("/page?n=5000", "Accept-Encoding: gzip\r\n"), { expect: 1 });
      assert.equal(small.responses[0].headers.get("content-encoding"), undefined);
      const big = await exchange(srv.port, get("/page?n=9000", "Accept-Encoding: gzip\r\n"), { expect: 1 });
      assert.equal(big.responses[0].headers.get("content-encoding"), "gzip");
    } finally {
      await srv.server.close();
    }
  });

  it("--compress and ARENA_COMPRESS take on and off; --compress-min-bytes a size", () => {
    assert.equal(resolveServeConfig({}, {}).compress, true);
    assert.equal(resolveServeConfig({ compress: "off" }, {}).compress, false);
    assert.equal(resolveServeConfig({}, { ARENA_COMPRESS: "off" }).compress, false);
    assert.equal(resolveServeConfig({ compress: "on" }, { ARENA_COMPRESS: "off" }).compress, true);
    assert.throws(() => resolveServeConfig({ compress: "maybe" }, {}), /--compress: 'maybe' is neither on nor off/);
    assert.equal(resolveServeConfig({}, {}).compressMinBytes, COMPRESS_MIN_BYTES_DEFAULT);
    assert.equal(resolveServeConfig({ "compress-min-bytes": "4KiB" }, {}).compressMinBytes, 4096);
    assert.equal(resolveServeConfig({}, { ARENA_COMPRESS_MIN_BYTES: "100" }).compressMinBytes, 100);
  });
});
