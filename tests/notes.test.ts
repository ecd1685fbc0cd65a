// The notes example (examples/notes/app.ts) end to end through the Node host: the JSON
// API (create, read, delete, list; Location; a 400 with a code for every invalid field;
// 404s), the HTML list (form → 303, delete buttons, newest first, tag filter, paging,
// escaping), a full heap (507 while everything else answers, and deleting makes room), and
// the same flows in the check build, which must find no violation in the app.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type Running } from "./helpers.ts";

const APP = "examples/notes/app.ts";
const MiB = 1024 * 1024;

async function startNotes(heapBytes?: number, check = false): Promise<Running> {
  return startTestServer({ slots: 8, slotBytes: MiB, ...(heapBytes ? { heapBytes } : {}) }, check, APP);
}

interface Reply { status: number; headers: Headers; text: string; json: any }

async function call(port: number, method: string, path: string, body?: string, type = "application/json"): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    body,
    redirect: "manual",
    headers: body === undefined ? {} : { "content-type": type },
  });
  const text = await res.text();
  let json: any = null;
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, json };
}

function create(port: number, note: object): Promise<Reply> {
  return call(port, "POST", "/api/notes", JSON.stringify(note));
}

function form(port: number, fields: Record<string, string>): Promise<Reply> {
  return call(port, "POST", "/notes", new URLSearchParams(fields).toString(), "application/x-www-form-urlencoded");
}

/** The titles of the notes on an HTML list page, in order. */
function titles(html: string): string[] {
  return [...html.matchAll(/<h2><a href="\/notes\/\d+">([^<]*)<\/a><\/h2>/g)].map((m) => m[1]);
}

/** Checks the flows a visitor and an API client use; `s` starts empty. */
async function basicFlow(s: Running): Promise<void> {
  const made = await create(s.port, { title: "Groceries", body: "milk, eggs", tags: ["home", "errands"] });
  assert.equal(made.status, 201);
  assert.equal(made.headers.get("content-type"), "application/json");
  assert.equal(made.headers.get("location"), `/api/notes/${made.json.id}`);
  assert.deepEqual({ ...made.json, created: 0 }, { id: made.json.id, title: "Groceries", body: "milk, eggs", tags: ["home", "errands"], created: 0 });
  assert.ok(Math.abs(made.json.created - Date.now()) < 60_000, "created is ms since the epoch");

  const got = await call(s.port, "GET", made.headers.get("location")!);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, made.json);

  const list = await call(s.port, "GET", "/api/notes");
  assert.deepEqual(list.json, { total: 1, page: 1, pages: 1, notes: [{ id: made.json.id, title: "Groceries", tags: ["home", "errands"], created: made.json.created }] });

  const posted = await form(s.port, { title: "From the form", body: "hello", tags: " work, ,home ,," });
  assert.equal(posted.status, 303);
  assert.equal(posted.headers.get("location"), "/");
  const page = await call(s.port, "GET", "/");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.deepEqual(titles(page.text), ["From the form", "Groceries"]);
  assert.match(page.text, /<a class="tag" href="\/\?tag=work">work<\/a><a class="tag" href="\/\?tag=home">home<\/a>/);
  assert.match(page.text, /<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z">/);

  assert.equal((await call(s.port, "DELETE", `/api/notes/${made.json.id}`)).status, 204);
  const gone = await call(s.port, "GET", `/api/notes/${made.json.id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.json.code, "NOTES_E_NOT_FOUND");
  assert.equal((await call(s.port, "DELETE", `/api/notes/${made.json.id}`)).status, 404);

  const id = /action="\/notes\/(\d+)\/delete"/.exec((await call(s.port, "GET", "/")).text)![1];
  const deleted = await call(s.port, "POST", `/notes/${id}/delete`);
  assert.equal(deleted.status, 303);
  assert.equal(deleted.headers.get("location"), "/");
  assert.deepEqual(titles((await call(s.port, "GET", "/")).text), []);
  assert.match((await call(s.port, "GET", "/")).text, /No notes yet/);
}

describe("notes: API and pages", () => {
  let s: Running;
  before(async () => { s = await startNotes(); });
  after(async () => { await s?.server.close(); });

  it("creates, reads, lists and deletes notes through the JSON API and the HTML forms", async () => {
    await basicFlow(s);
  });

  it("answers 400 with a JSON error and a code for every missing, ill-typed or oversized field", async () => {
    const ok = { title: "t", body: "b", tags: ["x"] };
    const cases: [string, string | object, string][] = [
      ["malformed JSON", '{"title": "t",', "NOTES_E_JSON"],
      ["an empty body", "", "NOTES_E_JSON"],
      ["not an object", '["t"]', "NOTES_E_JSON"],
      ["no title", { body: "b" }, "NOTES_E_TITLE"],
      ["a numeric title", { ...ok, title: 5 }, "NOTES_E_TITLE"],
      ["an empty title", { ...ok, title: "" }, "NOTES_E_TITLE"],
      ["a title of 201 bytes (101 × é)", { ...ok, title: "é".repeat(101) }, "NOTES_E_TITLE"],
      ["a title of 100 KB", { ...ok, title: "x".repeat(100_000) }, "NOTES_E_TITLE"],
      ["no body", { title: "t" }, "NOTES_E_BODY"],
      ["a null body", { ...ok, body: null }, "NOTES_E_BODY"],
      ["a body of 10,001 bytes", { ...ok, body: "b".repeat(10_001) }, "NOTES_E_BODY"],
      ["tags not an array", { ...ok, tags: "x" }, "NOTES_E_TAGS"],
      ["11 tags", { ...ok, tags: "abcdefghijk".split("") }, "NOTES_E_TAGS"],
      ["a numeric tag", { ...ok, tags: ["x", 1] }, "NOTES_E_TAGS"],
      ["an empty tag", { ...ok, tags: [""] }, "NOTES_E_TAGS"],
      ["a tag of 33 bytes", { ...ok, tags: ["t".repeat(33)] }, "NOTES_E_TAGS"],
    ];
    for (const [name, body, code] of cases) {
      const r = await call(s.port, "POST", "/api/notes", typeof body === "string" ? body : JSON.stringify(body));
      assert.equal(r.status, 400, name);
      assert.equal(r.headers.get("content-type"), "application/json", name);
      assert.equal(r.json.code, code, name);
      assert.equal(typeof r.json.message, "string", name);
    }
    // The limits themselves are allowed, and tags may be left out.
    const edge = await create(s.port, { title: "é".repeat(100), body: "b".repeat(10_000), tags: Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(32, "t")) });
    assert.equal(edge.status, 201);
    const bare = await create(s.port, { title: "bare", body: "" });
    assert.equal(bare.status, 201);
    assert.deepEqual(bare.json.tags, []);
    // The form says what is wrong on an HTML page, with the same codes.
    const bad = await form(s.port, { title: "  ", body: "x" });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /<code>NOTES_E_TITLE<\/code>/);
    const long = await form(s.port, { title: "t", body: "b".repeat(10_001) });
    assert.equal(long.status, 400);
    assert.match(long.text, /<code>NOTES_E_BODY<\/code>/);
    for (const id of [edge.json.id, bare.json.id]) assert.equal((await call(s.port, "DELETE", `/api/notes/${id}`)).status, 204);
  });

  it("answers 404 for absent and malformed ids and unknown paths (JSON under /api, HTML elsewhere)", async () => {
    for (const p of ["/api/notes/999999", "/api/notes/abc", "/api/notes/99999999999", "/api/notes/0", "/api/nothing"]) {
      const r = await call(s.port, "GET", p);
      assert.equal(r.status, 404, p);
      assert.equal(r.json.code, "NOTES_E_NOT_FOUND", p);
    }
    const page = await call(s.port, "GET", "/notes/999999");
    assert.equal(page.status, 404);
    assert.match(page.text, /there is no note 999999/);
    assert.equal((await call(s.port, "POST", "/notes/999999/delete")).status, 404);
    assert.equal((await call(s.port, "GET", "/no/such/page")).status, 404);
  });

  it("escapes a <script> title, body and tag in the list, the note's page and the JSON", async () => {
    const evil = '<script>alert("x")</script> & \'q\'';
    const made = await create(s.port, { title: evil, body: evil, tags: ["<b>"] });
    assert.equal(made.status, 201);
    assert.equal(made.json.title, evil);
    const escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";
    for (const p of ["/", `/notes/${made.json.id}`]) {
      const html = (await call(s.port, "GET", p)).text;
      assert.doesNotMatch(html, /<script>|<b>/, p);
      assert.ok(html.includes(escaped), p);
      assert.ok(html.includes('<a class="tag" href="/?tag=%3Cb%3E">&lt;b&gt;</a>'), p);
    }
    assert.equal((await call(s.port, "DELETE", `/api/notes/${made.json.id}`)).status, 204);
  });
});

describe("notes: newest first, tag filter and paging", () => {
  let s: Running;
  before(async () => {
    s = await startNotes();
    for (let i = 1; i <= 45; i++) {
      const r = await create(s.port, { title: `note ${i}`, body: "", tags: i % 3 === 0 ? ["three", "all"] : ["all"] });
      assert.equal(r.status, 201);
    }
  });
  after(async () => { await s?.server.close(); });

  it("pages 20 at a time, newest first, with previous and next links", async () => {
    const first = (await call(s.port, "GET", "/")).text;
    assert.deepEqual(titles(first), Array.from({ length: 20 }, (_, i) => `note ${45 - i}`));
    assert.match(first, /<p class="summary">45 notes<\/p>/);
    assert.match(first, /Page 1 of 3/);
    assert.match(first, /<a href="\/\?page=2" rel="next">/);
    assert.doesNotMatch(first, /rel="prev"/);
    const last = (await call(s.port, "GET", "/?page=3")).text;
    assert.deepEqual(titles(last), ["note 5", "note 4", "note 3", "note 2", "note 1"]);
    assert.match(last, /<a href="\/\?page=2" rel="prev">/);
    assert.doesNotMatch(last, /rel="next"/);
    const api = await call(s.port, "GET", "/api/notes?page=3");
    assert.deepEqual({ total: api.json.total, page: api.json.page, pages: api.json.pages }, { total: 45, page: 3, pages: 3 });
    assert.deepEqual(api.json.notes.map((n: any) => n.title), ["note 5", "note 4", "note 3", "note 2", "note 1"]);
    assert.deepEqual(titles((await call(s.port, "GET", "/?page=nonsense")).text), titles(first));
  });

  it("filters by tag, and the paging links keep the tag", async () => {
    const tagged = (await call(s.port, "GET", "/?tag=three")).text;
    assert.deepEqual(titles(tagged), Array.from({ length: 15 }, (_, i) => `note ${45 - 3 * i}`));
    assert.match(tagged, /<p class="summary">15 notes tagged “three” · <a href="\/">show all<\/a><\/p>/);
    assert.doesNotMatch(tagged, /Page 1 of/);
    const all2 = (await call(s.port, "GET", "/?tag=all&page=2")).text;
    assert.deepEqual(titles(all2), Array.from({ length: 20 }, (_, i) => `note ${25 - i}`));
    assert.match(all2, /<a href="\/\?page=1&amp;tag=all" rel="prev">/);
    assert.match(all2, /<a href="\/\?page=3&amp;tag=all" rel="next">/);
    const none = (await call(s.port, "GET", "/?tag=nope")).text;
    assert.deepEqual(titles(none), []);
    assert.match(none, /No note has this tag\./);
    assert.equal((await call(s.port, "GET", "/api/notes?tag=three")).json.total, 15);
  });
});

describe("notes: a full heap", () => {
  let s: Running;
  before(async () => { s = await startNotes(256 * 1024); });
  after(async () => { await s?.server.close(); });

  /** Creates notes until the answer is not 201; returns their ids and that answer. */
  async function fill(note: object): Promise<{ ids: number[]; last: Reply }> {
    const ids: number[] = [];
    for (;;) {
      const r = await create(s.port, note);
      if (r.status !== 201) return { ids, last: r };
      ids.push(r.json.id);
    }
  }

  it("answers 507 NOTES_E_FULL while the list and the notes still answer; deleting makes room", async () => {
    const empty = s.server.stats().heapUsedBytes;
    const { ids, last } = await fill({ title: "a note", body: "x".repeat(1000), tags: ["full"] });
    assert.ok(ids.length > 50, `${ids.length} notes of 1 KB fit in 256 KiB`);
    assert.equal(last.status, 507);
    assert.equal(last.json.code, "NOTES_E_FULL");
    const page = await form(s.port, { title: "one more", body: "x".repeat(2000) });
    assert.equal(page.status, 507);
    assert.match(page.text, /<code>NOTES_E_FULL<\/code>/);
    assert.equal((await call(s.port, "GET", "/")).status, 200);
    assert.equal((await call(s.port, "GET", `/api/notes/${ids[0]}`)).status, 200);
    assert.equal((await call(s.port, "GET", "/api/notes?tag=full")).json.total, ids.length);
    assert.equal((await create(s.port, { title: "a note", body: "x".repeat(2000) })).status, 507, "still full");

    for (const id of ids.slice(0, 10)) assert.equal((await call(s.port, "DELETE", `/api/notes/${id}`)).status, 204);
    const again = await create(s.port, { title: "after deleting", body: "x".repeat(1000) });
    assert.equal(again.status, 201);
    // Deleting every note gives the heap back: to where it was empty, but for the map's
    // tables, which now live in the heap (a few hundred bytes at most).
    for (const id of [...ids.slice(10), again.json.id]) assert.equal((await call(s.port, "DELETE", `/api/notes/${id}`)).status, 204);
    const used = s.server.stats().heapUsedBytes;
    assert.ok(used - empty < 1024, `heap used ${empty} → ${used}`);
    // A second fill holds as many notes as the first: nothing leaked.
    const second = await fill({ title: "a note", body: "x".repeat(1000), tags: ["full"] });
    assert.equal(second.ids.length, ids.length);
    for (const id of second.ids) await call(s.port, "DELETE", `/api/notes/${id}`);
  });

  it("a heap full of tiny notes answers 507 too, never 500 (the map's growth keeps room)", async () => {
    const { ids, last } = await fill({ title: "t", body: "" });
    assert.ok(ids.length > 1000, `${ids.length} tiny notes`);
    assert.equal(last.status, 507, last.text);
    assert.equal((await call(s.port, "GET", "/")).status, 200);
    for (const id of ids) await call(s.port, "DELETE", `/api/notes/${id}`);
    assert.equal((await create(s.port, { title: "t", body: "" })).status, 201);
    assert.deepEqual(s.log.lines.filter((l) => /ARENA_E_/.test(l)), []);
  });
});

describe("notes: the check build", () => {
  let s: Running;
  before(async () => { s = await startNotes(256 * 1024, true); });
  after(async () => { await s?.server.close(); });

  it("runs the create, read, list and delete flows with no check-build violation", async () => {
    await basicFlow(s);
    // Past the map's first growths, into a full heap and back.
    const ids: number[] = [];
    for (;;) {
      const r = await create(s.port, { title: "check", body: "y".repeat(500), tags: ["a", "b"] });
      if (r.status !== 201) {
        assert.equal(r.status, 507, r.text);
        break;
      }
      ids.push(r.json.id);
    }
    assert.ok(ids.length > 50);
    assert.equal((await call(s.port, "GET", "/?tag=a&page=2")).status, 200);
    for (const id of ids) assert.equal((await call(s.port, "DELETE", `/api/notes/${id}`)).status, 204);
    assert.deepEqual(s.log.lines.filter((l) => /ARENA_E_/.test(l)), []);
  });
});
