// The request-head parser and the chunked decoder on their own, byte by byte.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  checkIncomplete, HEAD_CODING, HEAD_FRAMING, HEAD_INCOMPLETE, HEAD_MALFORMED, HEAD_VERSION, HEAD_BODY_TOO_LARGE,
  parseHead, RequestHead,
} from "../host/http/request_parser.ts";
import { findHeadEnd } from "../host/http/syntax.ts";
import { ChunkedDecoder, CHUNKED_DONE, CHUNKED_MALFORMED, CHUNKED_MORE, CHUNKED_TOO_LARGE } from "../host/http/chunked.ts";
import { CHUNK_EXT_BYTES_MAX, CHUNK_FRAMING_BYTES_MIN, CHUNK_LINE_BYTES_MAX } from "../host/limits.ts";
import { statusHasNoBody, writeHead } from "../host/http/response_head.ts";
import { HttpDate } from "../host/http/date.ts";

const enc = new TextEncoder();

function parse(text: string, bodyMax = 1 << 20): { r: number; head: RequestHead; buf: Uint8Array } {
  const buf = enc.encode(text);
  const head = new RequestHead();
  const end = findHeadEnd(buf, 0, buf.length);
  assert.ok(end > 0, "head end found");
  return { r: parseHead(buf, end, head, bodyMax), head, buf };
}

describe("parseHead", () => {
  it("records method, path, query and fields as offsets", () => {
    const { r, head, buf } = parse("GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Y:  v  \r\n\r\n");
    assert.ok(r > 0);
    const s = (a: number, b: number) => new TextDecoder().decode(buf.subarray(a, b));
    assert.equal(s(0, head.methodEnd), "GET");
    assert.equal(s(head.pathStart, head.pathEnd), "/a/b");
    assert.equal(s(head.pathEnd + 1, head.targetEnd), "x=1");
    assert.equal(head.headerCount, 2);
    assert.equal(s(head.fields[6], head.fields[7]), "v");
    assert.equal(head.keepAlive, true);
    assert.equal(head.hasBody(), false);
  });

  it("understands framing fields", () => {
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: 12\r\n\r\n").head.contentLength, 12);
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").head.contentLength, 5);
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n").head.chunked, true);
    assert.equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n").head.keepAlive, false);
    assert.equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keepAlive, true);
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").head.expectContinue, true);
  });

  it("classifies errors", () => {
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n").r, HEAD_CODING);
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n").r, HEAD_FRAMING);
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n").r, HEAD_FRAMING);
    assert.equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n").r, HEAD_BODY_TOO_LARGE);
    assert.equal(parse("GET / HTTP/3.0\r\nHost: h\r\n\r\n").r, HEAD_VERSION);
    assert.equal(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n").r, HEAD_MALFORMED);
    assert.equal(parse("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n").r, HEAD_MALFORMED);
    assert.equal(parse("GET example.com HTTP/1.1\r\nHost: h\r\n\r\n").r, HEAD_MALFORMED);
  });
});

describe("ChunkedDecoder", () => {
  const body = enc.encode("4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\nNEXT");

  it("decodes the same at every split point", () => {
    for (let split = 0; split <= body.length; split++) {
      const dec = new ChunkedDecoder();
      const dst = new Uint8Array(100);
      let r = dec.feed(body, 0, split, dst, 0, 100);
      let next = dec.consumed;
      if (r === CHUNKED_MORE) {
        r = dec.feed(body, split, body.length, dst, 0, 100);
        next = dec.consumed;
      }
      assert.equal(r, CHUNKED_DONE, `split ${split}`);
      assert.equal(new TextDecoder().decode(dst.subarray(0, dec.length)), "Wikipedia in\r\n\r\nchunks.");
      assert.equal(new TextDecoder().decode(body.subarray(next)), "NEXT");
    }
  });

  it("refuses malformed and oversized bodies", () => {
    const run = (text: string, max = 100) => new ChunkedDecoder().feed(enc.encode(text), 0, text.length, new Uint8Array(200), 0, max);
    assert.equal(run("g\r\n"), CHUNKED_MALFORMED);
    assert.equal(run("5\nhello"), CHUNKED_MALFORMED);
    assert.equal(run("5\r\nhelloX"), CHUNKED_MALFORMED);
    assert.equal(run("65\r\n"), CHUNKED_TOO_LARGE);
    assert.equal(run("0\r\nBad\u0001: x\r\n\r\n"), CHUNKED_MALFORMED);
  });
});

describe("checkIncomplete refuses a head that can no longer be valid", () => {
  const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 0xff);

  /** Feeds `text` one byte at a time, as a connection does (scanFrom = len - 3), and
   *  returns the length at which checkIncomplete refused it, with the reason; -1 if never. */
  function refusedAt(text: string): { at: number; reason: string } {
    const bytes = latin1(text);
    const head = new RequestHead();
    let from = 0;
    for (let len = 1; len <= bytes.length; len++) {
      assert.equal(findHeadEnd(bytes, 0, len), -1, "the case must not hold a complete head");
      const r = checkIncomplete(bytes, len, head, from);
      if (r !== HEAD_INCOMPLETE) return { at: len, reason: head.reason };
      from = Math.max(0, len - 3);
    }
    return { at: -1, reason: "" };
  }

  // [what, bytes, length at which it must be refused, reason]
  const cases: [string, string, number, string][] = [
    ["HTTP/0.9 request line", "GET /\r\n", 6, "malformed request target"],
    ["SSH banner", "SSH-2.0-OpenSSH_9.6\r\n", 20, "malformed method"],
    ["TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 1, "malformed method"],
    ["garbage", "\x00\x01\x02", 1, "malformed method"],
    ["line ends inside the version", "GET / HTTP/1\r\n", 13, "malformed HTTP version"],
    ["line ends right after the target's space", "GET / \r\n", 7, "malformed HTTP version"],
    ["lower-case version", "GET / http/1.1\r\n", 7, "malformed HTTP version"],
    ["two spaces after the method", "GET  / HTTP/1.1\r\n", 5, "malformed request target"],
    ["control character in the target", "GET /a\x01b HTTP/1.1\r\n", 7, "malformed request target"],
    ["ftp scheme", "GET ftp://x/ HTTP/1.1\r\n", 13, "absolute-form target with a scheme other than http or https"],
    ["HTTP/2 preface line", "PRI * HTTP/2.0\r\n", 16, "unsupported HTTP version"],
    ["space in a field name", "GET / HTTP/1.1\r\nHost: t\r\nBad Field: 1", 29, "whitespace before colon"],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: t\r\n folded", 26, "obsolete line folding"],
    ["control character in a value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\x01", 30, "control character in field value"],
    ["bare CR in a value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\rb", 31, "bare CR"],
    ["invalid Host once its line is complete", "GET / HTTP/1.1\r\nHost: a b\r\n", 27, "Host with a character not allowed in a host name (RFC 9110 §7.2, RFC 3986 §3.2.2)"],
    ["malformed Content-Length once its line is complete", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n", 37, "malformed Content-Length"],
  ];
  for (const [what, text, at, reason] of cases) {
    it(`${what}: refused at byte ${at}, not left to the header timeout`, () => {
      assert.deepEqual(refusedAt(text), { at, reason });
    });
  }

  it("gives the answer parseHead gives for the complete head", () => {
    for (const [, text] of cases) {
      const bytes = latin1(text + "\r\nX: 1\r\n\r\n");
      const end = findHeadEnd(bytes, 0, bytes.length);
      const head = new RequestHead();
      const r = parseHead(bytes, end, head, 1 << 20);
      assert.ok(r < 0, text);
      assert.equal(head.reason, refusedAt(text).reason, JSON.stringify(text));
    }
  });

  it("waits for every prefix of valid heads, however they arrive", () => {
    const valid = [
      "GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nX-A:  v  \r\nCookie: a=b; c=d\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
      "GET https://User-Agent.example/p HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /p HTTP/1.0\r\nContent-Length: 3\r\nTransfer-encoding-x: 1\r\nExpect: 100-continue\r\n\r\n",
      "\r",
    ];
    for (const text of valid) {
      const bytes = latin1(text);
      const end = findHeadEnd(bytes, 0, bytes.length);
      const stop = end < 0 ? bytes.length : end - 1;
      // One byte at a time (incremental) and each prefix from scratch.
      const head = new RequestHead();
      for (let len = 1; len <= stop; len++) {
        assert.equal(checkIncomplete(bytes, len, head, Math.max(0, len - 4)), HEAD_INCOMPLETE, `${JSON.stringify(text)} at ${len}: ${head.reason}`);
        assert.equal(checkIncomplete(bytes, len, new RequestHead()), HEAD_INCOMPLETE, `${JSON.stringify(text)} at ${len} from scratch`);
      }
      if (end > 0) assert.equal(parseHead(bytes, end, new RequestHead(), 1 << 20), end, text);
    }
  });
});

describe("Host and absolute-form targets", () => {
  const hostIs = (value: string, minor = 1) => parse(`GET / HTTP/1.${minor}\r\nHost: ${value}\r\n\r\n`);

  it("accepts a reg-name, IPv4, IP literals and a port", () => {
    for (const v of ["t", "example.com", "EXAMPLE.com:8080", "127.0.0.1:3000", "xn--bcher-kva.example", "a_b-c~d.e",
      "caf%C3%A9.example", "[::1]", "[::1]:80", "[2001:db8:0:0:1:0:0:1]", "[::ffff:192.0.2.1]", "[fe80::]", "[v1.fe80::a+en1]",
      "example.com:", "example.com\t"]) {
      const { r, head } = hostIs(v);
      assert.ok(r > 0, `${JSON.stringify(v)}: ${head.reason}`);
    }
  });

  it("refuses whitespace, userinfo, delimiters, a bad port or IP literal, and an empty host", () => {
    const cases: [string, RegExp][] = [
      ["a b", /character not allowed/],
      ["x@evil.example", /userinfo/],
      ["user:pw@evil.example", /userinfo/],
      ["a/b", /character not allowed/],
      ["a?b", /character not allowed/],
      ["a#b", /character not allowed/],
      ["a\\b", /character not allowed/],
      ["a\"b", /character not allowed/],
      ["caf\xe9.example", /character not allowed/],
      ["bad%zz", /character not allowed/],
      ["a:80x", /port that is not digits/],
      ["a:80:81", /port that is not digits/],
      ["a: 80", /port that is not digits/],
      ["[::1", /IP literal/],
      ["[1:2:3:4:5:6:7:8:9]", /IP literal/],
      ["[1::2::3]", /IP literal/],
      ["[::1%25eth0]", /IP literal/],
      ["[192.0.2.1]", /IP literal/],
      ["[::256.0.0.1]", /IP literal/],
      ["", /empty Host/],
      [":80", /empty Host/],
    ];
    for (const [v, reason] of cases) {
      for (const minor of [1, 0]) {
        const { r, head } = hostIs(v, minor);
        assert.equal(r, HEAD_MALFORMED, JSON.stringify(v));
        assert.match(head.reason, reason, JSON.stringify(v));
      }
    }
  });

  it("accepts only http and https in absolute-form, with a valid authority", () => {
    for (const target of ["http://t/", "HTTPS://t:443/a?b", "http://t", "Http://[::1]:8080/x", "http://t?q"]) {
      const { r, head } = parse(`GET ${target} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.ok(r > 0, `${target}: ${head.reason}`);
    }
    const refused: [string, RegExp][] = [
      ["ftp://t/", /scheme other than http or https/],
      ["file:///etc/passwd", /scheme other than http or https/],
      ["httpx://t/", /scheme other than http or https/],
      ["ws://t/", /scheme other than http or https/],
      ["http:///p", /empty host/],
      ["http://u@evil/", /userinfo/],
      ["http://t:x/", /port that is not digits/],
      ["http://a%zz/", /character not allowed/],
    ];
    for (const [target, reason] of refused) {
      const { r, head } = parse(`GET ${target} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.equal(r, HEAD_MALFORMED, target);
      assert.match(head.reason, reason, target);
    }
  });
});

describe("ChunkedDecoder framing bounds", () => {
  const decode = (text: string, max = 1 << 20) => {
    const dec = new ChunkedDecoder();
    const src = Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff);
    const r = dec.feed(src, 0, src.length, new Uint8Array(Math.min(max, src.length) + 16), 0, max);
    return { r, reason: dec.reason, length: dec.length };
  };
  /** 1-byte chunks whose extensions (';' included) are `extLen` bytes each. */
  const extChunks = (count: number, extLen: number) => `1;${"e".repeat(extLen - 1)}\r\nx\r\n`.repeat(count) + "0\r\n\r\n";

  it("extensions up to CHUNK_EXT_BYTES_MAX in one body are fine; one byte more is 413", () => {
    const perLine = 1024;
    const lines = CHUNK_EXT_BYTES_MAX / perLine;
    assert.ok(perLine <= CHUNK_LINE_BYTES_MAX);
    assert.equal(decode(extChunks(lines, perLine)).r, CHUNKED_DONE);
    const over = decode(extChunks(lines, perLine).replace(/^1;/, "1;e"));
    assert.equal(over.r, CHUNKED_TOO_LARGE);
    assert.match(over.reason, /CHUNK_EXT_BYTES_MAX/);
  });

  it("the attack: 1-byte chunks with CHUNK_LINE_BYTES_MAX of extension each end in 413 within CHUNK_EXT_BYTES_MAX", () => {
    const src = `1;${"e".repeat(CHUNK_LINE_BYTES_MAX)}\r\nx\r\n`.repeat(1000);
    const dec = new ChunkedDecoder();
    const bytes = Uint8Array.from(src, (ch) => ch.charCodeAt(0));
    const r = dec.feed(bytes, 0, bytes.length, new Uint8Array(2048), 0, 1 << 20);
    assert.equal(r, CHUNKED_TOO_LARGE);
    assert.ok(dec.consumed < CHUNK_EXT_BYTES_MAX + 2 * CHUNK_LINE_BYTES_MAX, `read ${dec.consumed} bytes before refusing`);
  });

  it("whitespace after the size counts as extension", () => {
    assert.equal(decode(`3${" ".repeat(CHUNK_EXT_BYTES_MAX)}\r\nabc\r\n0\r\n\r\n`).r, CHUNKED_DONE);
    assert.equal(decode(`3${" ".repeat(CHUNK_EXT_BYTES_MAX + 1)}\r\nabc\r\n0\r\n\r\n`).r, CHUNKED_TOO_LARGE);
  });

  it("framing (digits and CRLFs) may be as large as the body limit, at least CHUNK_FRAMING_BYTES_MIN", () => {
    const max = 64 * 1024;
    // A 1-byte chunk is 5 bytes of framing: "1\r\n" and the CRLF after its data.
    const fits = Math.floor((max - 3) / 5);
    assert.equal(decode("1\r\nx\r\n".repeat(fits) + "0\r\n\r\n", max).r, CHUNKED_DONE);
    const over = decode("1\r\nx\r\n".repeat(fits + 1) + "0\r\n\r\n", max);
    assert.equal(over.r, CHUNKED_TOO_LARGE);
    assert.match(over.reason, /framing/);
    // A tiny limit still takes its body in tiny chunks.
    assert.equal(decode("1\r\nx\r\n".repeat(8) + "0\r\n\r\n", 8).r, CHUNKED_DONE);
    assert.equal(decode(`${"0".repeat(CHUNK_FRAMING_BYTES_MIN - 3)}1\r\nx\r\n0\r\n\r\n`, 8).r, CHUNKED_TOO_LARGE);
  });

  it("a run of leading zeros is bounded", () => {
    const r = decode(`${"0".repeat(70_000)}3\r\nabc\r\n0\r\n\r\n`, 64 * 1024);
    assert.equal(r.r, CHUNKED_TOO_LARGE);
    assert.equal(decode("0003\r\nabc\r\n0\r\n\r\n", 64 * 1024).r, CHUNKED_DONE);
  });
});

describe("writeHead framing by status", () => {
  const head = (status: number, bodyLen: number) => {
    const u8 = new Uint8Array(1024);
    const end = writeHead(u8, 0, status, 0, 0, bodyLen, new HttpDate(), true, false);
    return new TextDecoder("latin1").decode(u8.subarray(0, end));
  };

  it("1xx, 204 and 304 get neither Content-Length nor Transfer-Encoding (RFC 9110 §8.6)", () => {
    for (const status of [100, 103, 204, 304]) {
      assert.equal(statusHasNoBody(status), true, String(status));
      const h = head(status, 0);
      assert.doesNotMatch(h, /content-length|transfer-encoding/i, `${status}: ${h}`);
      assert.match(h, /\r\n\r\n$/);
    }
  });

  it("every other status has Content-Length, also when it is 0", () => {
    for (const status of [200, 201, 205, 301, 404, 500]) {
      assert.equal(statusHasNoBody(status), false, String(status));
      assert.match(head(status, 0), /\r\nContent-Length: 0\r\n/, String(status));
    }
    assert.match(head(200, 12345), /\r\nContent-Length: 12345\r\n/);
  });
});
