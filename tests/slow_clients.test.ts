// Slow and greedy clients: a client that stops reading its responses is closed once the
// write makes no progress for the send timeout, and its slot is freed; past the connection
// limit a new connection gets 503 ARENA_E_CONNECTIONS and is closed, and the server keeps
// serving the connections it has.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { exchange, get, startTestServer, waitFor } from "./helpers.ts";

describe("slow readers", () => {
  it("a client that never reads is closed after the send timeout and frees its slot; others are served meanwhile", { timeout: 30_000 }, async () => {
    const s = await startTestServer({ slots: 4, sendTimeoutMs: 500 });
    try {
      const body = "y".repeat(60_000);
      const greedy = net.connect(s.port, "127.0.0.1");
      greedy.pause(); // never reads
      const closed = new Promise<void>((resolve) => greedy.on("close", () => resolve()));
      greedy.on("error", () => {});
      // 15 MB of responses: far more than the kernel buffers hold on loopback.
      greedy.on("connect", () => {
        for (let i = 0; i < 250; i++) greedy.write(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
      await waitFor(() => s.log.lines.some((l) => l.includes("made no progress")), 15_000);
      const r = await exchange(s.port, get("/hello"), { expect: 1 });
      assert.equal(r.responses[0].body.toString(), "hello\n");
      await closed;
      await waitFor(() => s.server.stats().slotsFree === 4);
      assert.match(s.log.lines.find((l) => l.includes("made no progress"))!, /its response made no progress for 500 ms \(\d+ bytes unsent\)/);
    } finally {
      await s.server.close();
    }
  });
});

describe("connection limit", () => {
  it("past --connections a new connection gets 503 ARENA_E_CONNECTIONS and is closed; the others keep working", { timeout: 30_000 }, async () => {
    const s = await startTestServer({ connectionsMax: 3 });
    try {
      const held = await Promise.all([0, 1, 2].map(() => new Promise<net.Socket>((resolve) => {
        const c = net.connect(s.port, "127.0.0.1", () => resolve(c));
      })));
      await waitFor(() => s.server.stats().connections === 3);
      const refused = await exchange(s.port, get("/hello"));
      assert.equal(refused.closed, true);
      assert.equal(refused.responses[0].status, 503);
      assert.equal(refused.responses[0].headers.get("connection"), "close");
      assert.equal(refused.responses[0].headers.get("retry-after"), "1");
      assert.equal(JSON.parse(refused.responses[0].body.toString()).code, "ARENA_E_CONNECTIONS");
      assert.ok(s.log.lines.some((l) => l.startsWith("ERROR ARENA_E_CONNECTIONS 3 connections open; refused 1")));
      // A held connection still works, and once one closes a new one is accepted.
      held[0].write(get("/hello"));
      const answer = await new Promise<string>((resolve) => held[0].once("data", (d: Buffer) => resolve(d.toString())));
      assert.match(answer, /\r\n\r\nhello\n$/);
      held[1].destroy();
      await waitFor(() => s.server.stats().connections === 2);
      const ok = await exchange(s.port, get("/hello"), { expect: 1 });
      assert.equal(ok.responses[0].status, 200);
      for (const c of held) c.destroy();
    } finally {
      await s.server.close();
    }
  });
});
