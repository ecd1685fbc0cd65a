// Issue 11 item 7: a body the server accepts never ends in 500 when the handler decodes it.
// The body limit is derived from the arena (bodyBytesDecodable: the body, its UTF-16 text and
// BODY_DECODE_RESERVE_BYTES), so a body of exactly the limit, ASCII (the most UTF-16 per
// byte), "é", emoji or a JSON document, decodes with req.text() or Json.parse and .str(),
// even behind the largest head; one byte more is 413 with the limit in the message, and a
// --body-bytes the arena cannot decode is refused at start.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ArenaError, ArenaServer, MemoryLogger } from "../host/index.ts";
import { ARENA_BYTES_DEFAULT, BODY_DECODE_FACTOR, BODY_DECODE_RESERVE_BYTES, HEADER_BYTES_MAX, RESPONSE_HEAD_BYTES_MAX } from "../host/limits.ts";
import { bodyBytesDecodable } from "../host/server.ts";
import { buildApp, exchange, ROOT, startTestServer, type ParsedResponse, type Running } from "./helpers.ts";

const APP = "tests/fixtures/bodyapp.ts";
const KiB = 1024;

/** `n` bytes of `unit` repeated, with ASCII 'a' in front for what does not divide. */
function filled(unit: string, n: number): Buffer {
  const u = Buffer.from(unit);
  const b = Buffer.alloc(n, "a");
  for (let i = n % u.length; i < n; i += u.length) u.copy(b, i);
  return b;
}

/** A JSON document of exactly `n` bytes: short strings with escapes and non-ASCII, and a
 *  large "body" string (mixed content) that fills the rest. */
function jsonDoc(n: number): Buffer {
  const head = Buffer.from('{"title":"Gr\\u00fc\\u00dfe \u{1F600}","tags":["caf\u00e9","\\"b\\""],"body":"');
  const tail = Buffer.from('"}');
  return Buffer.concat([head, filled("x\u00e9\u{1F600}", n - head.length - tail.length), tail]);
}

async function post(port: number, route: string, body: Buffer, extraHeaders = ""): Promise<ParsedResponse> {
  const head = `POST ${route} HTTP/1.1\r\nHost: t\r\n${extraHeaders}Content-Length: ${body.length}\r\n\r\n`;
  const r = await exchange(port, [Buffer.from(head), body], { expect: 1, timeoutMs: 10_000 });
  assert.equal(r.responses.length, 1, r.bytes.toString().slice(0, 300));
  return r.responses[0];
}

/** Sends `body` chunked, in 16 KiB chunks. */
async function postChunked(port: number, route: string, body: Buffer): Promise<ParsedResponse> {
  const parts: Buffer[] = [Buffer.from(`POST ${route} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n`)];
  for (let i = 0; i < body.length; i += 16 * KiB) {
    const chunk = body.subarray(i, i + 16 * KiB);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  const r = await exchange(port, [Buffer.concat(parts)], { expect: 1, timeoutMs: 10_000 });
  assert.equal(r.responses.length, 1, r.bytes.toString().slice(0, 300));
  return r.responses[0];
}

/** Asserts the app decoded `body` whole: 200, its length in UTF-16 units and its last unit. */
function assertDecoded(res: ParsedResponse, body: Buffer, units: number, last: number): void {
  assert.equal(res.status, 200, res.body.toString());
  assert.deepEqual(JSON.parse(res.body.toString()), { bytes: body.length, units, last });
}

function assertTooLarge(res: ParsedResponse, message: RegExp): void {
  assert.equal(res.status, 413);
  const err = JSON.parse(res.body.toString());
  assert.equal(err.code, "ARENA_E_HTTP_BODY_TOO_LARGE");
  assert.match(err.message, message);
}

/** The same checks for a server whose slots are `slotBytes` and whose limit must be `limit`. */
function decodesUpToTheLimit(name: string, slotBytes: number, limit: number): void {
  describe(name, () => {
    let t: Running;
    before(async () => {
      t = await startTestServer({ slots: 4, slotBytes }, true, APP);
    });
    after(() => t.server.close());

    it(`the body limit is (arena − ${BODY_DECODE_RESERVE_BYTES / KiB} KiB) / ${BODY_DECODE_FACTOR}: ${limit} bytes`, () => {
      assert.equal(t.server.bodyBytesMax, limit);
      assert.equal(bodyBytesDecodable(slotBytes - RESPONSE_HEAD_BYTES_MAX), limit);
    });

    for (const unit of ["a", "\u00e9", "\u{1F600}", "a\u00e9\u20ac\u{1F600}"]) {
      it(`a body of exactly the limit in ${JSON.stringify(unit)} decodes with req.text()`, async () => {
        const body = filled(unit, limit);
        const text = body.toString("utf8");
        assertDecoded(await post(t.port, "/text", body), body, text.length, text.charCodeAt(text.length - 1));
      });
    }

    it("so does an ASCII one behind the largest head, and one sent chunked", async () => {
      const body = filled("a", limit);
      // Header fields up to HEADER_BYTES_MAX in all (the request line and Host take the rest).
      const pad = `X-Pad: ${"p".repeat(HEADER_BYTES_MAX - 200)}\r\n`;
      assertDecoded(await post(t.port, "/text", body, pad), body, limit, 0x61);
      assertDecoded(await postChunked(t.port, "/text", body), body, limit, 0x61);
    });

    it("a JSON document of exactly the limit is parsed and every string read with .str()", async () => {
      const body = jsonDoc(limit);
      const doc = JSON.parse(body.toString("utf8"));
      const units = doc.title.length + doc.body.length + doc.tags.reduce((n: number, s: string) => n + s.length, 0);
      assertDecoded(await post(t.port, "/json", body), body, units, doc.body.charCodeAt(doc.body.length - 1));
    });

    it("a dense JSON document of the limit ([0,0,…]) is parsed, or refused as a value: never a 500", async () => {
      const body = Buffer.from(`[${"0,".repeat((limit - 3) / 2)}0]`.padEnd(limit, " "));
      assert.equal(body.length, limit);
      const r = await post(t.port, "/json", body);
      // One value per 2 bytes is 4 tape bytes per body byte: from 256 KiB up the tape cannot
      // fit beside the body (the fixture answers 400 with Json's error when it is not ok).
      assert.ok(r.status === 400 || r.status === 200, `status ${r.status}: ${r.body}`);
      if (slotBytes >= 256 * KiB) assert.equal(r.status, 400);
      if (r.status === 400) assert.match(r.body.toString(), /^document too large for the request's arena \(\d+ values parsed\) at byte \d+\n$/);
      assert.equal(t.log.lines.filter((l) => l.includes("ARENA_E_MEMORY")).length, 0);
    });

    it("one byte over is 413 with the limit in the message, Content-Length or chunked", async () => {
      const over = filled("a", limit + 1);
      assertTooLarge(await post(t.port, "/text", over), new RegExp(`^Content-Length ${limit + 1} is over the body limit of ${limit} bytes$`));
      assertTooLarge(await postChunked(t.port, "/text", over), new RegExp(`^chunked body over the body limit of ${limit} bytes$`));
      assert.equal(t.log.lines.filter((l) => l.includes("ARENA_E_MEMORY")).length, 0);
    });
  });
}

decodesUpToTheLimit("the default arena (1 MiB)", ARENA_BYTES_DEFAULT, 335_872);
decodesUpToTheLimit("a 256 KiB arena", 256 * KiB, 73_728);
decodesUpToTheLimit("the smallest arena (64 KiB)", 64 * KiB, 8_192);

describe("the README tutorial's /shout", () => {
  const dir = `tests/.build/body-decode-shout-${process.pid}`;
  let t: Running;
  before(async () => {
    // The app as the README writes it, served as the tutorial serves it (64 × 256 KiB).
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const m = /<!-- tutorial:app -->[\s\S]*?<<'EOF'\n([\s\S]*?)\nEOF\n/.exec(readme);
    assert.ok(m, "README has the tutorial app");
    fs.mkdirSync(path.join(ROOT, dir), { recursive: true });
    fs.writeFileSync(path.join(ROOT, dir, "app.ts"), m[1]);
    t = await startTestServer({ slots: 64, slotBytes: 256 * KiB }, false, `${dir}/app.ts`);
  });
  after(async () => {
    await t?.server.close();
    fs.rmSync(path.join(ROOT, dir), { recursive: true, force: true });
  });

  it("answers a body of the limit, JSON with multi-byte text, and 413 one byte past it", async () => {
    const limit = t.server.bodyBytesMax;
    assert.equal(limit, 73_728);
    const body = jsonDoc(limit);
    const res = await post(t.port, "/shout", body);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), `{"said":${body.toString("utf8").length}}`);
    assertTooLarge(await post(t.port, "/shout", Buffer.concat([body, Buffer.from(" ")])), /over the body limit of 73728 bytes/);
  });
});

describe("--body-bytes the arena cannot decode", () => {
  it("is refused at start with the largest body that fits and an arena that fits the one asked", async () => {
    const wasm = await buildApp(APP, false);
    const log = new MemoryLogger();
    const create = (slotBytes: number, bodyBytesMax: number) => ArenaServer.create(wasm, APP, { slots: 1, slotBytes, bodyBytesMax, log });
    await assert.rejects(create(256 * KiB, 100 * KiB), (err: ArenaError) => {
      assert.equal(err.code, "ARENA_E_CONFIG");
      assert.equal(err.line(), "arena: ARENA_E_CONFIG: body limit of 102400 bytes is more than a 256 KiB arena can take and decode: " +
        "at most 73728 bytes (req.text() needs the body and its UTF-16 text, 3 bytes per body byte, beside the head) " +
        "(lower --body-bytes to 73728 or raise --arena-bytes to 340KiB)");
      return true;
    });
    // Both ways out work: the largest body that fits, or the arena the hint names.
    for (const [slotBytes, body] of [[256 * KiB, 73_728], [340 * KiB, 100 * KiB]]) {
      const s = await create(slotBytes, body);
      assert.equal(s.bodyBytesMax, body);
      await s.close();
    }
  });
});
