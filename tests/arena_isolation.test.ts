// One request's failure stays its own: memory bombs, traps, aborts and bad responses get a
// 500 with a code while every other request gets exactly its own bytes; memory never
// grows; every slot is free afterwards.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { exchange, get, startTestServer, waitFor, type Running } from "./helpers.ts";
import { ArenaError } from "../host/errors.ts";

let t: Running;

before(async () => {
  t = await startTestServer({ slots: 8, slotBytes: 256 * 1024, queueDepth: 64 });
});
after(async () => {
  await t.server.close();
});

function allSlotsFree(): boolean {
  const s = t.server.stats();
  return s.slotsFree === s.slots && s.queued === 0;
}

describe("errors stay in their request", () => {
  it("a request over its arena gets 500 with code, route and bytes while 50 concurrent requests get their exact bodies", async () => {
    const good = Array.from({ length: 50 }, (_, i) =>
      exchange(t.port, `POST /ident?x=${i} HTTP/1.1\r\nHost: t\r\nX-Tag: c${i}\r\nContent-Length: ${String(i).length + 5}\r\n\r\nbody-${i}`, { expect: 1 }));
    const bombs = Array.from({ length: 5 }, () => exchange(t.port, get("/alloc/1000"), { expect: 1 }));
    const [goods, bads] = [await Promise.all(good), await Promise.all(bombs)];
    goods.forEach((r, i) => assert.equal(r.responses[0].body.toString(), `POST /ident x=${i} tag=c${i} body=body-${i}\n`));
    for (const r of bads) {
      const res = r.responses[0];
      assert.equal(res.status, 500);
      const body = JSON.parse(res.body.toString());
      assert.equal(body.code, "ARENA_E_MEMORY");
      assert.match(body.message, /^GET \/alloc\/1000 \(route \/alloc\/:kib\): asked \d+ bytes, arena limit \d+ bytes$/);
    }
    assert.ok(t.log.lines.some((l) => /^ERROR ARENA_E_MEMORY req=\d+ slot=\d+ GET \/alloc\/1000 \(route \/alloc\/:kib\): asked/.test(l)));
    await waitFor(allSlotsFree);
  });

  it("a single huge allocation is refused the same way", async () => {
    const r = await exchange(t.port, [get("/bomb"), get("/hello")], { expect: 2 });
    assert.equal(r.responses[0].status, 500);
    assert.equal(JSON.parse(r.responses[0].body.toString()).code, "ARENA_E_MEMORY");
    assert.equal(r.responses[1].body.toString(), "hello\n");
    assert.equal(r.closed, false, "a 500 from the app keeps the connection");
  });

  it("an abort reports the app's message in the body and the log", async () => {
    const r = await exchange(t.port, get("/trap"), { expect: 1 });
    assert.equal(r.responses[0].status, 500);
    const body = JSON.parse(r.responses[0].body.toString());
    assert.equal(body.code, "ARENA_E_TRAP");
    assert.match(body.message, /deliberate trap from \/trap/);
    assert.ok(t.log.lines.some((l) => l.includes("ARENA_E_TRAP") && l.includes("deliberate trap from /trap")));
  });

  it("unreachable and thrown errors are traps too", async () => {
    const r = await exchange(t.port, [get("/unreachable"), get("/throw")], { expect: 2 });
    assert.equal(JSON.parse(r.responses[0].body.toString()).code, "ARENA_E_TRAP");
    assert.match(JSON.parse(r.responses[0].body.toString()).message, /unreachable/);
    assert.match(JSON.parse(r.responses[1].body.toString()).message, /thrown from \/throw/);
  });

  it("a header-injection attempt is refused by the SDK", async () => {
    const r = await exchange(t.port, get("/bad-header"), { expect: 1 });
    assert.equal(r.responses[0].status, 500);
    assert.match(JSON.parse(r.responses[0].body.toString()).message, /CR, LF or NUL/);
    assert.ok(!r.bytes.toString().includes("Injected: yes\r\n"));
  });

  it("a status outside 200-599 is a response error", async () => {
    const r = await exchange(t.port, [get("/status/99"), get("/status/201")], { expect: 2 });
    assert.equal(r.responses[0].status, 500);
    assert.equal(JSON.parse(r.responses[0].body.toString()).code, "ARENA_E_RESPONSE");
    assert.equal(r.responses[1].status, 201);
  });

  it("10,000 trapping requests interleaved with good ones: every good one is exact", async () => {
    const conns = 10;
    const rounds = 250; // × 4 traps × 10 connections = 10,000 traps
    const traps = ["/trap", "/unreachable", "/throw", "/alloc/1000"];
    const runs = Array.from({ length: conns }, async (_, c) => {
      for (let batch = 0; batch < rounds; batch += 25) {
        let payload = "";
        for (let k = batch; k < batch + 25; k++) {
          for (const trap of traps) payload += get(trap) + get(`/ident?x=${c}-${k}-${trap}`);
        }
        const r = await exchange(t.port, payload, { expect: 25 * traps.length * 2, timeoutMs: 20_000 });
        assert.equal(r.responses.length, 25 * traps.length * 2);
        let i = 0;
        for (let k = batch; k < batch + 25; k++) {
          for (const trap of traps) {
            assert.equal(r.responses[i++].status, 500);
            assert.equal(r.responses[i++].body.toString(), `GET /ident x=${c}-${k}-${trap} tag=- body=\n`);
          }
        }
      }
    });
    await Promise.all(runs);
    await waitFor(allSlotsFree);
  });
});

describe("fixed memory", () => {
  it("wasm memory is identical before and after 100,000 requests, and every slot is free", async () => {
    const before = t.server.stats().memoryBytes;
    const conns = 8;
    const perConn = 12_500;
    const batch = 250;
    await Promise.all(Array.from({ length: conns }, async (_, c) => {
      for (let done = 0; done < perConn; done += batch) {
        let payload = "";
        for (let k = 0; k < batch; k++) payload += k % 5 === 0 ? `POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nc${c}k${k % 10}x` : get(`/ident?x=${k}`);
        const r = await exchange(t.port, payload, { expect: batch, timeoutMs: 30_000 });
        assert.equal(r.responses.length, batch);
        for (let k = 0; k < batch; k++) {
          const want = k % 5 === 0 ? `c${c}k${k % 10}x` : `GET /ident x=${k} tag=- body=\n`;
          if (r.responses[k].body.toString() !== want) assert.fail(`response ${k} on connection ${c}: ${r.responses[k].body}`);
        }
      }
    }));
    assert.equal(t.server.stats().memoryBytes, before);
    await waitFor(allSlotsFree);
    assert.ok(t.server.stats().requests >= 100_000);
  });
});

describe("slot pool and queue", () => {
  it("queues when every slot is busy, answers 503 with Retry-After past the queue, and serves the queue afterwards", async () => {
    // The hostile-client fixture has a route that waits (GET /sleep?ms=N).
    const s = await startTestServer({ slots: 2, queueDepth: 1 }, false, "tests/fixtures/hostileapp.ts");
    try {
      // Two requests that are with the app (sleeping) hold both slots.
      const holders = [0, 1].map(() => exchange(s.port, get("/sleep?ms=500"), { expect: 1 }));
      await waitFor(() => s.server.stats().slotsFree === 0);
      const queued = exchange(s.port, get("/"), { expect: 1 });
      await waitFor(() => s.server.stats().queued === 1);
      const refused = await exchange(s.port, get("/"));
      assert.equal(refused.responses[0].status, 503);
      assert.equal(refused.responses[0].headers.get("retry-after"), "1");
      assert.equal(JSON.parse(refused.responses[0].body.toString()).code, "ARENA_E_OVERLOAD");
      for (const r of await Promise.all(holders)) assert.equal(r.responses[0].body.toString(), "rested\n");
      assert.equal((await queued).responses[0].body.toString(), "ok\n");
      await waitFor(() => s.server.stats().slotsFree === 2);
      assert.equal(s.server.stats().memoryBytes, s.server.app.memory.plan.pages * 65536);
    } finally {
      await s.server.close();
    }
  });

  it("a client that disconnects mid-body releases its slot", async () => {
    const sock = net.connect(t.port, "127.0.0.1");
    await new Promise((r) => sock.on("connect", r));
    // A body larger than the connection buffer streams into a slot (a small one is read
    // before any slot is taken).
    sock.write("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\npartial");
    await waitFor(() => t.server.stats().slotsFree < t.server.stats().slots);
    sock.destroy();
    await waitFor(allSlotsFree);
  });
});

describe("apps without a handler", () => {
  it("an app that never called serve() is refused at start, with a hint", async () => {
    await assert.rejects(startTestServer({}, false, "tests/fixtures/noserve.ts"), (err: unknown) => {
      assert.ok(err instanceof ArenaError, String(err));
      assert.equal(err.code, "ARENA_E_WASM");
      assert.equal(err.line(), "arena: ARENA_E_WASM: tests/fixtures/noserve.ts never called serve(): it has no handler for requests " +
        "(register the routes on a Router and call `serve(app)` at the top level of the app)");
      return true;
    });
  });
});

describe("check build", () => {
  it("traps when a request object is stored into a startup object", async () => {
    const r = await exchange(t.port, [get("/leak"), get("/hello")], { expect: 2 });
    assert.equal(r.responses[0].status, 500);
    const body = JSON.parse(r.responses[0].body.toString());
    assert.equal(body.code, "ARENA_E_CHECK");
    // tests/check_build.test.ts has the messages in full, with the class and field names.
    assert.match(body.message, /^GET \/leak \(route \/leak\): an? \w+ made during the request was stored into .*long-lived \w+ \(start-up\) — copy it into the heap first with Heap\.keep\(\), or keep it in the request$/);
    assert.equal(r.responses[1].body.toString(), "hello\n");
  });

  it("the release build does not pay for the checks", async () => {
    const rel = await startTestServer({}, false);
    try {
      const r = await exchange(rel.port, get("/leak"), { expect: 1 });
      assert.equal(r.responses[0].status, 200);
    } finally {
      await rel.server.close();
    }
  });
});
