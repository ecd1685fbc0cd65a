// Server-Sent Events (EventStream) and the wait/notify effect (Events) under them: the
// head and every field form byte for byte, refused fields, Last-Event-ID, keep-alive
// comments while waiting, a publish waking a waiting stream, and Events.waitAfter's wake,
// timeout and cancel. The app is tests/fixtures/streamapp.ts.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { buildApp, get, startTestServer, waitFor, type Running } from "./helpers.ts";
import { dechunk, RawClient } from "./stream_client.ts";

const SLOTS = 8;

describe("Server-Sent Events", () => {
  let site: Running;
  let port: number;
  let nextId = 1000;
  before(async () => {
    site = await startTestServer({ slots: SLOTS, slotBytes: 1024 * 1024 }, false, "tests/fixtures/streamapp.ts");
    port = site.port;
  });
  after(async () => {
    await site?.server.close();
  });

  const publish = async (id: number, topic = "t"): Promise<string> =>
    (await fetch(`http://127.0.0.1:${port}/publish?topic=${topic}&id=${id}`, { method: "POST" })).text();
  const body = (text: string) => dechunk(text.slice(text.indexOf("\r\n\r\n") + 4));

  it("writes the event-stream head and each field form exactly; CR or LF in a name, id or comment is refused", async () => {
    const c = new RawClient(port, get("/sse/fields", "Last-Event-ID: 41\r\n"));
    const text = await c.until((t) => t.endsWith("0\r\n\r\n"));
    c.socket.destroy();
    const head = text.slice(0, text.indexOf("\r\n\r\n") + 4);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n/);
    const b = body(text);
    assert.equal(b.complete, true);
    assert.equal(b.data,
      ": last-event-id=41\n\n" +
      "retry: 2500\n\n" +
      "data: one line\n\n" +
      "id: 7\nevent: multi\ndata: two\ndata: lines\ndata: and\ndata: three\n\n" +
      "event: check\ndata: refused\n\n" +
      "event: empty\ndata: \n\n");
  });

  it("a waiting stream wakes on each publish, sends the events after Last-Event-ID, and pings while idle", async () => {
    const first = ++nextId;
    assert.equal(await publish(first), "ok\n");
    // Resumes after the id it names: the event published before it connected is sent.
    const c = new RawClient(port, get("/sse?ping=150", `Last-Event-ID: ${first - 1}\r\n`));
    await c.until((t) => body(t).data.includes(`id: ${first}\n`));
    await c.until((t) => body(t).data.includes(": ping\n\n"), 3000);
    const second = ++nextId;
    assert.equal(await publish(second), "ok\n");
    const text = await c.until((t) => body(t).data.includes(`id: ${second}\n`));
    assert.ok(body(text).data.includes(`id: ${second}\nevent: published\ndata: {"id":${second}}\n\n`));
    assert.equal(site.server.stats().streams, 1);
    // The browser leaves: the stream's next ping or wait ends it and frees the slot.
    c.socket.destroy();
    await waitFor(() => site.server.stats().streams === 0 && site.server.stats().slotsFree === SLOTS, 3000);
  });

  it("a reload ends open streams with their last chunk, so the previous build is released", async () => {
    const c = new RawClient(port, get("/sse?ping=60000"));
    await c.until((t) => t.includes("\r\n\r\n"));
    await site.server.reload(await buildApp("tests/fixtures/streamapp.ts", false), "tests/fixtures/streamapp.ts");
    await c.until((t) => t.endsWith("0\r\n\r\n"));
    await waitFor(() => site.server.builds === 1, 3000);
    c.socket.destroy();
  });

  it("Events.waitAfter wakes on a newer publish, answers at once when one is newer already, and times out", async () => {
    const id = ++nextId;
    const waiting = fetch(`http://127.0.0.1:${port}/wait?topic=w&after=${id - 1}&ms=5000`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await publish(id, "w"), "ok\n");
    assert.equal(await waiting, `published ${id}\n`);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/wait?topic=w&after=${id - 1}&ms=5000`)).text(), `published ${id}\n`);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/wait?topic=w&after=${id}&ms=50`)).text(), `timeout ${id}\n`);
    // Ids only grow: the same id again is refused, and so is a topic name over 64 bytes.
    assert.equal(await publish(id, "w"), "refused\n");
    assert.equal(await publish(id + 1, "x".repeat(65)), "refused\n");
  });

  it("a client that leaves cancels Events.waitAfter at once and its slot comes back", async () => {
    const before = Number((await (await fetch(`http://127.0.0.1:${port}/progress`)).text()).split(" ")[1]);
    const c = new RawClient(port, get("/wait?topic=c&after=0&ms=60000"));
    await waitFor(() => site.server.stats().slotsFree === SLOTS - 1, 3000);
    c.socket.resetAndDestroy(); // a reset: a plain request's client that only half-closes still gets its answer
    await waitFor(() => site.server.stats().slotsFree === SLOTS, 3000);
    const after = Number((await (await fetch(`http://127.0.0.1:${port}/progress`)).text()).split(" ")[1]);
    assert.equal(after, before + 1, "the wait answered Cancelled");
  });
});
