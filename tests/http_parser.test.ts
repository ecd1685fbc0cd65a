// The request-head parser and the chunked decoder on their own, byte by byte.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  findHeadEnd, HEAD_CODING, HEAD_FRAMING, HEAD_MALFORMED, HEAD_VERSION, HEAD_BODY_TOO_LARGE, parseHead, RequestHead,
} from "../host/http_parser.ts";
import { ChunkedDecoder, CHUNKED_DONE, CHUNKED_MALFORMED, CHUNKED_MORE, CHUNKED_TOO_LARGE } from "../host/chunked.ts";

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
