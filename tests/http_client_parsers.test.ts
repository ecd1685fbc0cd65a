// The HTTP client's byte-level parsers: the URL an app passes to fetch and the upstream's
// response head. Both decide what reaches a socket, so both are strict.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseUpstreamUrl, UpstreamUrl } from "../host/effects/fetch/upstream_url.ts";
import { findResponseHeadEnd, HEAD_INCOMPLETE, HEAD_INVALID, parseResponseHead, ResponseHead } from "../host/effects/fetch/response_parser.ts";

const enc = new TextEncoder();

function url(text: string): UpstreamUrl & { ok: boolean; target: string } {
  const bytes = enc.encode(text);
  const out = new UpstreamUrl();
  const ok = parseUpstreamUrl(bytes, 0, bytes.length, out);
  return Object.assign(out, { ok, target: new TextDecoder().decode(bytes.subarray(out.targetStart, out.targetEnd)) });
}

describe("upstream URL", () => {
  it("accepts http URLs with names, IPv4, IPv6, ports, paths and queries", () => {
    let u = url("http://Example.COM/a/b?c=d#frag");
    assert.deepEqual([u.ok, u.host, u.port, u.authority, u.origin, u.target], [true, "example.com", 80, "example.com", "example.com:80", "/a/b?c=d"]);
    u = url("http://127.0.0.1:4000");
    assert.deepEqual([u.ok, u.host, u.port, u.authority, u.target], [true, "127.0.0.1", 4000, "127.0.0.1:4000", ""]);
    u = url("HTTP://[::1]:8080/x");
    assert.deepEqual([u.ok, u.host, u.port, u.authority, u.target], [true, "::1", 8080, "[::1]:8080", "/x"]);
    u = url("http://h?q=1");
    assert.deepEqual([u.ok, u.target], [true, "?q=1"]);
    // https: port 443 by default (dropped from Host), and a pool of its own (the origin says https).
    u = url("https://API.example/v1");
    assert.deepEqual([u.ok, u.tls, u.host, u.port, u.authority, u.origin, u.target], [true, true, "api.example", 443, "api.example", "https://api.example:443", "/v1"]);
    u = url("https://127.0.0.1:8443/");
    assert.deepEqual([u.ok, u.tls, u.port, u.authority, u.origin], [true, true, 8443, "127.0.0.1:8443", "https://127.0.0.1:8443"]);
  });

  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["wss://h/", /scheme wss: is not supported; use http:\/\/ or https:\/\//],
    ["ftp://h/", /scheme ftp: is not supported/],
    ["h:80/x", /must be absolute/],
    ["/relative", /must be absolute/],
    ["http:///x", /no host/],
    ["http://u:p@h/", /user:password@/],
    ["http://h:0/", /port is 0/],
    ["http://h:70000/", /over 65535/],
    ["http://h:/", /port is empty/],
    ["http://h:8o/", /not a number/],
    ["http://h x/", /space, control or non-ASCII byte at offset 8/],
    ["http://h/\r\nX: y", /control/],
    ["http://hé/", /non-ASCII/],
    ["http://[::1/", /no closing \]/],
    ["http://[::g]/", /IPv6 address is malformed/],
    ["http://a\"b/", /character hosts cannot have/],
  ];
  for (const [text, why] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const u = url(text);
      assert.equal(u.ok, false);
      assert.match(u.error, why);
    });
  }
});

function head(text: string): ResponseHead & { ok: boolean } {
  const bytes = enc.encode(text);
  const h = new ResponseHead();
  const end = findResponseHeadEnd(bytes, 0, bytes.length, h);
  const ok = end > 0 && parseResponseHead(bytes, 0, end, h);
  return Object.assign(h, { ok });
}

/** Feeds `text` to findResponseHeadEnd one byte at a time, as a trickling upstream would:
 *  the result and at how many bytes it was known. */
function trickled(text: string, latin1 = false): { result: number; at: number; reason: string } {
  const bytes = latin1 ? Uint8Array.from(text, (c) => c.charCodeAt(0)) : enc.encode(text);
  const h = new ResponseHead();
  for (let n = 1; n <= bytes.length; n++) {
    const r = findResponseHeadEnd(bytes, 0, n, h);
    if (r !== HEAD_INCOMPLETE) return { result: r, at: n, reason: h.reason };
  }
  return { result: HEAD_INCOMPLETE, at: bytes.length, reason: h.reason };
}

describe("upstream response head", () => {
  it("reads status, fields and framing", () => {
    let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b \r\n\r\n");
    assert.deepEqual([h.ok, h.status, h.contentLength, h.chunked, h.keepAlive, h.headerCount], [true, 200, 5, false, true, 2]);
    h = head("HTTP/1.1 404 \r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert.deepEqual([h.ok, h.status, h.chunked, h.keepAlive], [true, 404, true, true]);
    h = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert.equal(h.keepAlive, false);
    h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
    assert.equal(h.keepAlive, false);
    h = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n");
    assert.equal(h.keepAlive, true);
    h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert.deepEqual([h.ok, h.chunked, h.keepAlive], [true, false, false]); // read until close
    h = head("HTTP/1.1 204\r\n\r\n");
    assert.deepEqual([h.ok, h.status], [true, 204]);
  });

  const bad: [string, RegExp][] = [
    ["HTTX/1.1 200 OK\r\n\r\n", /did not answer with an HTTP\/1\.x status line/],
    ["HTTP/2.0 200 OK\r\n\r\n", /did not answer/],
    ["HTTP/1.1 2x0 OK\r\n\r\n", /not 3 digits/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", /both Content-Length and Transfer-Encoding/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", /conflicting Content-Length/],
    ["HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", /malformed Content-Length/],
    ["HTTP/1.1 200 OK\r\nX : y\r\n\r\n", /whitespace before colon/],
    ["HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", /obsolete line folding/],
    ["HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", /control character/],
  ];
  for (const [text, why] of bad) {
    it(`refuses ${JSON.stringify(text.slice(0, 60))}`, () => {
      const h = head(text);
      assert.equal(h.ok, false);
      assert.match(h.reason, why);
    });
  }
});

describe("upstream response head, as it arrives", () => {
  it("finds the end of a valid head in any split, and only there", () => {
    const text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b \r\n\r\nhello";
    const bytes = enc.encode(text);
    const headEnd = text.indexOf("\r\n\r\n") + 4;
    assert.deepEqual(trickled(text), { result: headEnd, at: headEnd, reason: "" });
    // Split in two anywhere: the same end, and the head then parses.
    for (let cut = 0; cut <= bytes.length; cut++) {
      const h = new ResponseHead();
      let end = findResponseHeadEnd(bytes, 0, cut, h);
      if (end === HEAD_INCOMPLETE) end = findResponseHeadEnd(bytes, 0, bytes.length, h);
      assert.equal(end, headEnd, `split at ${cut}`);
      assert.ok(parseResponseHead(bytes, 0, end, h));
    }
    // Obs-text in the reason phrase and in values is not a control byte.
    assert.ok(trickled("HTTP/1.1 200 \xe9t\xe9\r\nX: \xff\r\n\r\n", true).result > 0);
  });

  // An upstream that keeps its connection open after these must not hold the fetch until
  // its timeout: each is known to be invalid at the byte where it goes wrong, before any
  // CRLFCRLF. [what, bytes, known after this many bytes, reason]
  const early: [string, string, number, RegExp][] = [
    ["an HTTP/0.9-style body", "hello world\n", 1, /did not answer with an HTTP\/1\.x status line/],
    ["a protocol banner", "SSH-2.0-OpenSSH_9.6\r\n", 1, /did not answer with an HTTP\/1\.x status line/],
    ["a leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", 1, /did not answer/],
    ["HTTP/2 preface", "HTTP/2.0 200 OK\r\n", 6, /did not answer/],
    ["HTTP/1.2", "HTTP/1.2 200 OK\r\n", 8, /unsupported HTTP version/],
    ["a 2-digit status", "HTTP/1.1 20 OK\r\n", 12, /not 3 digits/],
    ["a 4-digit status", "HTTP/1.1 2000 OK\r\n", 13, /malformed status line/],
    ["LF-only lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 16, /bare LF/],
    ["a bare LF in a field", "HTTP/1.1 200 OK\r\nX: a\nY: b\r\n", 22, /bare LF/],
    ["a bare CR in a field", "HTTP/1.1 200 OK\r\nX: a\rb\r\n", 23, /bare CR/],
    ["a NUL in a field", "HTTP/1.1 200 OK\r\nX: a\x00b\r\n", 22, /control character/],
    ["a control byte in the status line", "HTTP/1.1 200 O\x01K\r\n", 15, /control character/],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n", 27, /obsolete line folding/],
    ["whitespace before a colon", "HTTP/1.1 200 OK\r\nX : a\r\n", 24, /whitespace before colon/],
    ["a field line without a colon", "HTTP/1.1 200 OK\r\nnot-a-field\r\n", 30, /malformed field name/],
  ];
  for (const [what, text, at, why] of early) {
    it(`refuses ${what} as soon as it shows`, () => {
      const r = trickled(text);
      assert.equal(r.result, HEAD_INVALID);
      assert.equal(r.at, at);
      assert.match(r.reason, why);
    });
  }
});
