// The notes example on SQLite (NOTES_DB, examples/notes/sqlite_store.ts): the same JSON and
// HTML behaviour as the heap store (tests/notes.test.ts run again with NOTES_DB=:memory:,
// but for its two suites that fill the heap until a 507, which
// only the heap answers; the restart here runs on the check build instead), notes that survive a restart of
// the server, and two workers that share the file (`--workers 2`: each opens its own
// connection, and every one of them sees every note).

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildApp, httpGet, ROOT, servingUrl, startTestServer } from "./helpers.ts";

const APP = "examples/notes/app.ts";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-notes-sqlite-"));
const MiB = 1024 * 1024;

after(() => {
  delete process.env.NOTES_DB;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function json(port: number, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text.length > 0 ? JSON.parse(text) : null };
}

describe("notes on SQLite", () => {
  it("behaves as on the heap: tests/notes.test.ts passes with NOTES_DB=:memory: (its suites that fill the heap left out)", () => {
    // Without NODE_TEST_CONTEXT the child reports for itself, not to this runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ["--test", "--test-reporter=spec", "--test-skip-pattern=a full heap", "--test-skip-pattern=the check build", "tests/notes.test.ts"], {
      cwd: ROOT, encoding: "utf8", env: { ...env, NOTES_DB: ":memory:" }, timeout: 240_000,
    });
    const out = r.stdout + r.stderr;
    assert.equal(r.status, 0, out);
    assert.match(out, /ℹ fail 0/);
    const passed = Number(/ℹ pass (\d+)/.exec(out)?.[1] ?? 0);
    assert.ok(passed >= 6, out);
  });

  it("keeps the notes across a restart of the server, deletions too", async () => {
    process.env.NOTES_DB = path.join(dir, "restart.db");
    const options = { slots: 4, slotBytes: MiB };
    let s = await startTestServer(options, false, APP);
    const a = await json(s.port, "POST", "/api/notes", { title: "Groceries ✓", body: "milk, eggs", tags: ["home", "errands"] });
    const b = await json(s.port, "POST", "/api/notes", { title: "Work", body: "", tags: [] });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    await s.server.close();

    // The check build: storing the notes in SQLite keeps nothing of a request in long-lived memory.
    s = await startTestServer(options, true, APP);
    assert.deepEqual((await json(s.port, "GET", `/api/notes/${a.json.id}`)).json, a.json);
    const list = (await json(s.port, "GET", "/api/notes?tag=home")).json;
    assert.equal(list.total, 1);
    assert.equal(list.notes[0].title, "Groceries ✓");
    assert.equal((await json(s.port, "DELETE", `/api/notes/${b.json.id}`)).status, 204);
    assert.deepEqual(s.log.lines.filter((l) => /ARENA_E_/.test(l)), []);
    await s.server.close();

    s = await startTestServer(options, false, APP);
    try {
      assert.equal((await json(s.port, "GET", `/api/notes/${b.json.id}`)).status, 404);
      assert.equal((await json(s.port, "GET", "/api/notes")).json.total, 1);
      const c = await json(s.port, "POST", "/api/notes", { title: "After", body: "x" });
      assert.ok(c.json.id > b.json.id, "ids are never reused (AUTOINCREMENT)");
    } finally {
      await s.server.close();
      delete process.env.NOTES_DB;
    }
  });

  it("serves from two workers over one file: every worker sees every note", async () => {
    const wasm = path.join(dir, "notes.wasm");
    fs.writeFileSync(wasm, await buildApp(APP));
    const child = spawn(process.execPath, ["cli/arena.ts", "serve", wasm, "--port", "0", "--workers", "2", "--slots", "8"], {
      cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NOTES_DB: path.join(dir, "workers.db") },
    });
    try {
      const port = Number(new URL(await servingUrl(child, "arena serve").url).port);
      // Fresh connections spread over both workers; every answer must list every note.
      for (let i = 1; i <= 12; i++) {
        const made = await fetch(`http://127.0.0.1:${port}/api/notes`, { method: "POST", body: JSON.stringify({ title: `n${i}`, body: "" }) });
        assert.equal(made.status, 201);
        const listed = JSON.parse((await httpGet(false, port, "/api/notes")).body);
        assert.equal(listed.total, i);
      }
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
});
