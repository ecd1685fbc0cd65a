// The notes example's GET /events (examples/notes/live.ts): a Server-Sent Events stream
// that announces each note created (`created`, {"id","title"}) and deleted (`deleted`,
// {"id"}) with a growing sequence number as the event id, from the form as from the JSON
// API, and resumes after the Last-Event-ID a reconnecting browser sends. Built as a check
// build too, so the announcements kept in the heap break none of its rules.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { get, startTestServer, type Running } from "./helpers.ts";
import { RawClient, dechunk, split } from "./stream_client.ts";

/** The events in an event-stream body: id, event and data of each block. */
function events(text: string): { id: string; event: string; data: string }[] {
  if (!text.includes("\r\n\r\n")) return [];
  const data = dechunk(split(text).body).data;
  return data.split("\n\n").filter((b) => b.length > 0 && !b.startsWith(":")).map((b) => {
    const f = Object.fromEntries(b.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
    return { id: f.id ?? "", event: f.event ?? "", data: f.data ?? "" };
  });
}

for (const check of [false, true]) {
  describe(`notes /events${check ? " (check build)" : ""}`, () => {
    let site: Running;
    let base: string;
    before(async () => {
      site = await startTestServer({ slots: 8, slotBytes: 1024 * 1024 }, check, "examples/notes/app.ts");
      base = `http://127.0.0.1:${site.port}`;
    });
    after(async () => {
      await site?.server.close();
    });

    it("announces notes created and deleted through the API and the form, and resumes after Last-Event-ID", async () => {
      const c = new RawClient(site.port, get("/events"));
      await c.until((t) => t.includes("\r\n\r\n"));
      assert.match(c.text, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/event-stream\r\nCache-Control: no-store\r\n/);
      const res = await fetch(`${base}/api/notes`, { method: "POST", body: JSON.stringify({ title: "Hello \"live\"", body: "b", tags: [] }) });
      assert.equal(res.status, 201);
      const id = ((await res.json()) as { id: number }).id;
      const form = await fetch(`${base}/notes`, { method: "POST", redirect: "manual", body: new URLSearchParams({ title: "From the form", body: "", tags: "" }) });
      assert.equal(form.status, 303);
      assert.equal((await fetch(`${base}/api/notes/${id}`, { method: "DELETE" })).status, 204);
      await c.until((t) => events(t).length >= 3);
      const seen = events(c.text);
      assert.deepEqual(seen.map((e) => e.event), ["created", "created", "deleted"]);
      assert.deepEqual(JSON.parse(seen[0].data), { id, title: "Hello \"live\"" });
      assert.deepEqual(JSON.parse(seen[2].data), { id });
      const ids = seen.map((e) => Number(e.id));
      assert.deepEqual(ids, [ids[0], ids[0] + 1, ids[0] + 2], "sequence numbers as ids");
      c.socket.destroy();

      // A browser that reconnects names the last id it got and is sent what it missed.
      const again = new RawClient(site.port, get("/events", `Last-Event-ID: ${ids[0]}\r\n`));
      await again.until((t) => events(t).length >= 2);
      assert.deepEqual(events(again.text).map((e) => [e.id, e.event]), [[String(ids[1]), "created"], [String(ids[2]), "deleted"]]);
      again.socket.destroy();
    });
  });
}
