// HTTP/1.1 behaviour over real sockets on 127.0.0.1: framing, keep-alive, pipelining,
// HEAD, 100-continue, HTTP/1.0, and every limit with its status.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { exchange, get, parseResponses, startTestServer, waitFor, type Running } from "./helpers.ts";
import { HEADER_BYTES_MAX, HEADER_COUNT_MAX, PIPELINE_BATCH_MAX, URI_BYTES_MAX } from "../host/limits.ts";
import { TLS_CLIENT_HELLO } from "./smuggling_corpus.ts";

let t: Running;

before(async () => {
  t = await startTestServer({ headersTimeoutMs: 300, bodyTimeoutMs: 300, keepAliveTimeoutMs: 400, bodyBytesMax: 64 * 1024 });
});
after(async () => {
  await t.server.close();
});

describe("responses", () => {
  it("answers GET with Date, Content-Length and the body", async () => {
    const r = await exchange(t.port, get("/hello"), { expect: 1 });
    assert.equal(r.responses.length, 1);
    const res = r.responses[0];
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), "hello\n");
    assert.equal(res.headers.get("content-length"), "6");
    assert.match(res.headers.get("date")!, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.headers.has("connection"), false);
  });

  it("answers HEAD with the GET headers and no body", async () => {
    const r = await exchange(t.port, ["HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", get("/hello")], { expect: 2, headRequests: [true, false] });
    assert.equal(r.responses[0].status, 200);
    assert.equal(r.responses[0].headers.get("content-length"), "6");
    assert.equal(r.responses[0].body.length, 0);
    assert.equal(r.responses[1].body.toString(), "hello\n");
  });

  it("sends 204 without Content-Length or body", async () => {
    const r = await exchange(t.port, get("/no-content"), { expect: 1 });
    assert.equal(r.responses[0].status, 204);
    assert.equal(r.responses[0].headers.has("content-length"), false);
  });

  it("sends 304 and 204 without Content-Length, Transfer-Encoding or body (RFC 9110 §8.6)", async () => {
    const r = await exchange(t.port, [get("/status/304"), get("/no-content"), get("/hello")], { expect: 3 });
    assert.deepEqual(r.responses.map((res) => res.status), [304, 204, 200]);
    for (const res of r.responses.slice(0, 2)) {
      assert.equal(res.headers.has("content-length"), false, res.raw);
      assert.equal(res.headers.has("transfer-encoding"), false, res.raw);
      assert.ok(res.raw.endsWith("\r\n\r\n"), "no body after the head");
    }
    assert.equal(r.responses[2].body.toString(), "hello\n");
  });

  it("routes 404 and 405 with Allow", async () => {
    const r = await exchange(t.port, [get("/missing"), "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"], { expect: 2 });
    assert.equal(r.responses[0].status, 404);
    assert.equal(r.responses[1].status, 405);
    assert.equal(r.responses[1].headers.get("allow"), "GET, HEAD, DELETE");
  });

  it("passes path parameters, wildcards and decoded query parameters", async () => {
    const r = await exchange(t.port, [get("/ident/Ada?x=caf%C3%A9+au+lait&y=2", "X-Tag: t1\r\n"), get("/files/a/b/c.txt")], { expect: 2 });
    assert.equal(r.responses[0].body.toString(), "GET /ident/Ada x=café au lait tag=t1 body=\n");
    assert.equal(r.responses[1].body.toString(), "rest=a/b/c.txt\n");
  });

  it("gives the app every header as sent", async () => {
    const r = await exchange(t.port, get("/headers", "X-A: 1\r\nx-b:  two words  \r\n"), { expect: 1 });
    assert.equal(r.responses[0].body.toString(), "Host=t\nX-A=1\nx-b=two words\n");
  });

  it("accepts absolute-form targets", async () => {
    const r = await exchange(t.port, "GET http://t/ident?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", { expect: 1 });
    assert.equal(r.responses[0].body.toString(), "GET /ident x=1 tag=- body=\n");
  });
});

describe("connections", () => {
  it("keeps a connection alive across requests", async () => {
    const r = await exchange(t.port, [get("/hello"), get("/hello"), get("/hello")], { expect: 3, delayMs: 20 });
    assert.equal(r.responses.length, 3);
    assert.equal(r.closed, false);
  });

  it("answers pipelined requests in order", async () => {
    const reqs = [];
    for (let i = 0; i < 50; i++) reqs.push(get(`/ident?x=${i}`));
    const r = await exchange(t.port, reqs.join(""), { expect: 50 });
    assert.equal(r.responses.length, 50);
    r.responses.forEach((res, i) => assert.equal(res.body.toString(), `GET /ident x=${i} tag=- body=\n`));
  });

  it("closes after Connection: close", async () => {
    const r = await exchange(t.port, get("/hello", "Connection: close\r\n"));
    assert.equal(r.responses[0].status, 200);
    assert.equal(r.responses[0].headers.get("connection"), "close");
    assert.equal(r.closed, true);
  });

  it("closes HTTP/1.0 by default and keeps it with Connection: keep-alive", async () => {
    const a = await exchange(t.port, "GET /hello HTTP/1.0\r\n\r\n");
    assert.equal(a.responses[0].status, 200);
    assert.equal(a.closed, true);
    const b = await exchange(t.port, ["GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET /hello HTTP/1.0\r\n\r\n"], { delayMs: 20 });
    assert.equal(b.responses.length, 2);
    assert.equal(b.responses[0].headers.get("connection"), "keep-alive");
    assert.equal(b.closed, true);
  });

  it("answers every request a client sent before half-closing, then closes", async () => {
    // The client sends its requests and its FIN at once and keeps its own reading side
    // open (allowHalfOpen). More requests than one turn serves (PIPELINE_BATCH_MAX), so the
    // FIN is seen while some are still unanswered: every response must still arrive, in
    // order, and the server must then end the connection itself, well before the idle
    // timeout (keepAliveTimeoutMs, 400 ms here) would.
    const count = PIPELINE_BATCH_MAX * 2 + 1;
    const sock = net.connect({ port: t.port, host: "127.0.0.1", allowHalfOpen: true });
    try {
      let got = "";
      sock.on("data", (d: Buffer) => { got += d.toString("latin1"); });
      const ended = new Promise<void>((resolve) => sock.on("end", () => resolve()));
      await new Promise<void>((resolve) => sock.on("connect", () => resolve()));
      sock.end(Array.from({ length: count }, (_, i) => get(`/ident?x=${i}`)).join(""));
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no FIN from the server after ${got.length} bytes`)), 3000);
      })]).finally(() => clearTimeout(timer));
      const ms = performance.now() - t0;
      assert.ok(ms < 300, `the server took ${ms.toFixed(0)} ms to close`);
      const { responses, rest } = parseResponses(Buffer.from(got, "latin1"));
      assert.deepEqual(responses.map((res) => res.body.toString()), Array.from({ length: count }, (_, i) => `GET /ident x=${i} tag=- body=\n`));
      assert.equal(rest.length, 0);
    } finally {
      sock.destroy();
    }
  });

  it("closes an idle keep-alive connection quietly after the idle timeout", async () => {
    const r = await exchange(t.port, get("/hello"), { timeoutMs: 3000 });
    assert.equal(r.responses.length, 1);
    assert.equal(r.closed, true);
  });

  it("sends a large body completely", async () => {
    const r = await exchange(t.port, [get("/big"), get("/hello")], { expect: 2 });
    assert.equal(r.responses[0].body.length, 200 * 1024);
    assert.equal(r.responses[0].body.subarray(0, 3).toString(), "abc");
    assert.equal(r.responses[1].body.toString(), "hello\n");
  });
});

describe("request bodies", () => {
  it("reads a Content-Length body, also when it arrives in pieces", async () => {
    const r = await exchange(t.port, ["POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhel", "lo w", "orld"], { expect: 1, delayMs: 10 });
    assert.equal(r.responses[0].body.toString(), "hello world");
  });

  it("decodes chunked bodies with extensions and trailers", async () => {
    const body = "5;name=value\r\nhello\r\n1\r\n \r\n5 ; ext\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n";
    const r = await exchange(t.port, ["POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", body, get("/hello")], { expect: 2 });
    assert.equal(r.responses[0].body.toString(), "hello world");
    assert.equal(r.responses[1].body.toString(), "hello\n");
  });

  it("decodes a chunked body split at every byte", async () => {
    const full = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n";
    const r = await exchange(t.port, full.split(""), { expect: 1, delayMs: 1 });
    assert.equal(r.responses[0].body.toString(), "0123456789");
  });

  it("sends 100 Continue before reading a body announced with Expect", async () => {
    const r = await exchange(t.port, ["POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", "ok"], { expect: 1, delayMs: 50 });
    assert.match(r.bytes.toString(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.equal(r.responses.at(-1)!.body.toString(), "ok");
  });

  it("refuses a body over the limit with 413", async () => {
    const r = await exchange(t.port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 70000\r\n\r\n");
    assert.equal(r.responses[0].status, 413);
    assert.equal(r.closed, true);
    const chunk = "f000\r\n" + "x".repeat(0xf000) + "\r\n";
    const c = await exchange(t.port, ["POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", chunk, chunk, "0\r\n\r\n"]);
    assert.equal(c.responses[0].status, 413);
    assert.equal(c.closed, true);
  });
});

describe("closing", () => {
  it("a client still sending a refused body reads the whole 413 (lingering close)", async () => {
    const filler = Buffer.alloc(64 * 1024, 0x78);
    const r = await exchange(t.port, ["POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", filler, filler, filler], { delayMs: 20 });
    assert.equal(r.responses[0].status, 413);
    assert.match(JSON.parse(r.responses[0].body.toString()).message, /Content-Length 1000000 is over the body limit of 65536 bytes/);
  });

  it("a half-closed connection whose client never closes is closed after the idle timeout", async () => {
    await waitFor(() => t.server.stats().connections === 0);
    const sock = net.connect({ port: t.port, host: "127.0.0.1", allowHalfOpen: true });
    let got = "";
    sock.on("data", (d: Buffer) => (got += d.toString()));
    sock.on("end", () => { /* the server's FIN: keep our side open on purpose */ });
    sock.write(get("/hello", "Connection: close\r\n"));
    await waitFor(() => got.includes("hello\n"));
    assert.match(got, /^HTTP\/1\.1 200 OK/);
    assert.equal(t.server.stats().connections, 1);
    // The server lingers for keepAliveTimeoutMs (400 ms here), then closes its socket.
    await waitFor(() => t.server.stats().connections === 0, 3000);
    sock.destroy();
  });
});

describe("limits and malformed requests", () => {
  const cases: [string, string | string[], number][] = [
    ["garbage", "HELLO\r\n\r\n", 400],
    ["missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400],
    ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["URI too long", `GET /${"a".repeat(URI_BYTES_MAX + 10)} HTTP/1.1\r\nHost: t\r\n\r\n`, 414],
    ["header section too large", `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${"a".repeat(HEADER_BYTES_MAX)}\r\n\r\n`, 431],
    ["too many header fields", `GET / HTTP/1.1\r\nHost: t\r\n${"X-A: 1\r\n".repeat(HEADER_COUNT_MAX)}\r\n`, 431],
    ["unknown transfer coding", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505],
    ["HTTP/1.2 request line", "GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505],
    ["malformed version", "GET / HTTX/1.1\r\nHost: t\r\n\r\n", 400],
    ["unsupported expectation", "GET / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", 417],
    ["malformed chunk size", ["POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n"], 400],
  ];
  for (const [name, bytes, status] of cases) {
    it(`${name} → ${status} and close`, async () => {
      const r = await exchange(t.port, bytes);
      assert.equal(r.responses.length, 1, r.bytes.toString().slice(0, 200));
      assert.equal(r.responses[0].status, status);
      assert.equal(r.responses[0].headers.get("connection"), "close");
      const body = JSON.parse(r.responses[0].body.toString());
      assert.equal(body.statusCode, status);
      assert.match(body.code, /^ARENA_E_HTTP_/);
      assert.equal(r.closed, true);
    });
  }

  // Each case is not complete: without an early refusal it would wait for the header
  // timeout (300 ms here) and get 408.
  const notHttp: [string, string | Buffer][] = [
    ["HTTP/0.9 request line", "GET /\r\n"],
    ["SSH banner", "SSH-2.0-OpenSSH_9.6\r\n"],
    ["TLS ClientHello", Buffer.from(TLS_CLIENT_HELLO, "latin1")],
    ["binary garbage", Buffer.from([0x00, 0x01, 0x02, 0x03])],
    ["request line ending before its version is complete", "GET / HTTP/1\r\n"],
    ["header line that can no longer be valid", "GET / HTTP/1.1\r\nHost: t\r\nBad Field: 1"],
    ["invalid Host before the head is complete", "GET / HTTP/1.1\r\nHost: a b\r\n"],
  ];
  for (const [name, bytes] of notHttp) {
    it(`${name} → 400 at once, not the header timeout's 408`, async () => {
      const r = await exchange(t.port, bytes, { timeoutMs: 1000 });
      assert.equal(r.responses.length, 1, r.bytes.toString("latin1").slice(0, 200));
      assert.equal(r.responses[0].status, 400);
      assert.equal(JSON.parse(r.responses[0].body.toString()).code, "ARENA_E_HTTP_MALFORMED");
      assert.equal(r.closed, true);
    });
  }

  it("408 when the head does not arrive in time", async () => {
    const r = await exchange(t.port, "GET /hello HTTP/1.1\r\nHost: t\r\n", { timeoutMs: 3000 });
    assert.equal(r.responses[0].status, 408);
    assert.equal(r.closed, true);
  });

  it("408 when the body does not arrive in time, and the slot is released", async () => {
    const r = await exchange(t.port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", { timeoutMs: 3000 });
    assert.equal(r.responses[0].status, 408);
    await waitFor(() => t.server.stats().slotsFree === t.server.stats().slots);
  });
});

describe("request smuggling defences (RFC 9112)", () => {
  // Each case has one right answer: a framing or syntax error is 400 with the code that
  // names it, and only a chunk size past the body limit is 413.
  const cases: [string, string, number, string, string][] = [
    ["Content-Length with Transfer-Encoding (CL.TE)", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "ARENA_E_HTTP_FRAMING", "both Content-Length and Transfer-Encoding"],
    ["Transfer-Encoding with Content-Length (TE.CL)", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400, "ARENA_E_HTTP_FRAMING", "both Content-Length and Transfer-Encoding"],
    ["conflicting Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400, "ARENA_E_HTTP_FRAMING", "conflicting Content-Length fields"],
    ["Content-Length list", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4, 5\r\n\r\nabcde", 400, "ARENA_E_HTTP_FRAMING", "malformed Content-Length"],
    ["signed Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +4\r\n\r\nabcd", 400, "ARENA_E_HTTP_FRAMING", "malformed Content-Length"],
    ["hex Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0x4\r\n\r\nabcd", 400, "ARENA_E_HTTP_FRAMING", "malformed Content-Length"],
    ["chunked not last", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, "ARENA_E_HTTP_FRAMING", "chunked is not the final transfer coding"],
    ["chunked twice", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "ARENA_E_HTTP_FRAMING", "chunked applied more than once"],
    ["obfuscated chunked", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n", 400, "ARENA_E_HTTP_FRAMING", "chunked is not the final transfer coding"],
    ["Transfer-Encoding on HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "ARENA_E_HTTP_FRAMING", "Transfer-Encoding in an HTTP/1.0 request"],
    ["whitespace before colon", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "whitespace before colon"],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n folded\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "obsolete line folding"],
    ["bare LF in a field", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\nX-B: 2\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "bare LF"],
    ["bare CR in a field", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\rX-B: 2\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "bare CR"],
    ["NUL in a field value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\u0000b\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "control character in field value"],
    ["control character in the target", "GET /a\u0001b HTTP/1.1\r\nHost: t\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "malformed request target"],
    ["bare LF after chunk data", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n", 400, "ARENA_E_HTTP_MALFORMED", "chunk data longer than its size"],
    ["chunk size overflow", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 413, "ARENA_E_HTTP_BODY_TOO_LARGE", "chunked body over the body limit of 65536 bytes"],
  ];
  for (const [name, bytes, status, code, message] of cases) {
    it(`${name} → ${status} ${code} and close, nothing reaches the app`, async () => {
      const r = await exchange(t.port, bytes + get("/ident?x=smuggled"));
      assert.equal(r.responses.length, 1, r.bytes.toString().slice(0, 300));
      assert.equal(r.responses[0].status, status);
      const body = JSON.parse(r.responses[0].body.toString());
      assert.equal(body.code, code);
      assert.equal(body.message, message);
      assert.equal(r.closed, true);
      assert.ok(!r.bytes.toString().includes("smuggled"));
    });
  }
});
