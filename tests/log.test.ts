// Log lines (host/log.ts): whatever a message holds, one event is one line. Client input
// reaches the log through app abort messages (the SDK quotes the header name it refused),
// so CR, LF and every other control character must come out escaped, by oneLine.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { consoleLogger, MemoryLogger, oneLine, recordLine } from "../host/log.ts";
import { exchange, get, startTestServer, type Running } from "./helpers.ts";
import { rng } from "./rng.ts";

/** What no line may hold raw: C0, DEL, C1, U+2028/2029. */
const RAW_UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
/** Random strings drawn from these: every unsafe class, backslash, quote and plain text. */
const ALPHABET = ["\r", "\n", "\t", "\0", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\\", "\\n", "\"", "a", " ", "é", "😀", "\ud800"];

function readBack(escaped: string): string {
  return JSON.parse(`"${escaped.replaceAll('"', '\\"')}"`) as string;
}

describe("oneLine", () => {
  it("escapes C0, DEL, C1 and U+2028/2029 JSON-style, and backslash as \\\\", () => {
    assert.equal(oneLine("a\r\nb\tc"), "a\\r\\nb\\tc");
    assert.equal(oneLine("\0\x1b[31m\x7f\x85\x9f\u2028\u2029"), "\\u0000\\u001b[31m\\u007f\\u0085\\u009f\\u2028\\u2029");
    assert.equal(oneLine("C:\\dir\\n"), "C:\\\\dir\\\\n");
    // Printable text, non-ASCII included, is left alone.
    assert.equal(oneLine("GET /products/2 (route /products/:id): café ✓"), "GET /products/2 (route /products/:id): café ✓");
  });

  it("is unambiguous: the escaped text reads back to the original, and holds nothing raw", () => {
    const rand = rng(0x109);
    for (let n = 0; n < 2000; n++) {
      let s = "";
      const len = Math.floor(rand() * 12);
      for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
      const e = oneLine(s);
      assert.doesNotMatch(e, RAW_UNSAFE, JSON.stringify(s));
      assert.equal(readBack(e), s);
    }
  });

  it("keeps a structured record one line that parses to the same values", () => {
    const line = recordLine("-", "info", 7, "a\u2028b\x85", { note: "x\u2029\x7f" });
    assert.doesNotMatch(line, RAW_UNSAFE);
    assert.deepEqual(JSON.parse(line), { time: "-", level: "info", req: 7, msg: "a\u2028b\x85", note: "x\u2029\x7f" });
  });
});

describe("loggers", () => {
  it("consoleLogger writes one line per event for info, error and app", () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof process.stderr.write;
    try {
      consoleLogger.info("shutdown\r\n2099-01-01T00:00:00.000Z INFO forged");
      consoleLogger.error("ARENA_E_TRAP", "req=1 x\nERROR ARENA_E_TRAP forged");
      consoleLogger.app("warn", "app req=1", "a\u2028b\rc");
    } finally {
      process.stderr.write = write;
    }
    assert.equal(written.length, 3);
    for (const w of written) {
      assert.ok(w.endsWith("\n"));
      assert.doesNotMatch(w.slice(0, -1), RAW_UNSAFE, JSON.stringify(w));
    }
    assert.match(written[0], / INFO shutdown\\r\\n2099-01-01T00:00:00\.000Z INFO forged\n$/);
    assert.match(written[1], / ERROR ARENA_E_TRAP req=1 x\\nERROR ARENA_E_TRAP forged\n$/);
    assert.match(written[2], / WARN \[app req=1\] a\\u2028b\\rc\n$/);
  });

  it("MemoryLogger keeps the lines consoleLogger prints, without the time", () => {
    const log = new MemoryLogger();
    log.info("a\nb");
    log.error("ARENA_E_TRAP", "c\rd");
    log.app("info", "app", "e\x1bf");
    assert.deepEqual(log.lines, ["INFO a\\nb", "ERROR ARENA_E_TRAP c\\rd", "INFO [app] e\\u001bf"]);
  });
});

describe("through a server", () => {
  let t: Running;
  before(async () => {
    t = await startTestServer({ slots: 2 }, true, "tests/fixtures/utf8app.ts");
  });
  after(async () => {
    await t.server.close();
  });

  it("a client cannot forge a log line through the SDK's abort message", async () => {
    const forged = "x\r\n2099-01-01T00:00:00.000Z ERROR ARENA_E_TRAP forged";
    const r = await exchange(t.port, get(`/set-header?h=${encodeURIComponent(forged)}`), { expect: 1 });
    assert.equal(r.responses[0].status, 500);
    const lines = t.log.lines.filter((l) => l.includes("invalid header name"));
    assert.equal(lines.length, 1, t.log.lines.join("\n---\n"));
    const line = lines[0];
    assert.doesNotMatch(line, RAW_UNSAFE);
    assert.ok(line.startsWith("ERROR ARENA_E_TRAP req="), line);
    assert.ok(line.includes(`'${oneLine(forged)}'`), line);
  });
});
