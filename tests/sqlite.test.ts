// SQLite from an app (tests/fixtures/sqliteapp.ts over host/effects/sqlite.ts): every
// argument and result type, NULL, blobs and unicode; many rows, bounded; constraint and
// syntax errors as values; transactions committed, rolled back, in conflict and left open;
// migrations in order, once, and a failing one that stops start-up; the CPU budget
// charged for a long query; what start-up code may do and a request may not; bad handles
// and pointers refused as values.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ArenaServer } from "../host/server.ts";
import { MemoryLogger } from "../host/log.ts";
import { buildApp, startTestServer, type Running } from "./helpers.ts";

const APP = "tests/fixtures/sqliteapp.ts";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arena-sqlite-"));
const file = path.join(dir, "test.db");

let srv: Running;

async function text(p: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${srv.port}${p}`);
  return { status: res.status, body: await res.text() };
}

async function body(p: string): Promise<string> {
  const r = await text(p);
  assert.equal(r.status, 200, `${p}: ${r.body}`);
  return r.body;
}

before(async () => {
  process.env.SQLITE_TEST_DB = file;
  srv = await startTestServer({ slots: 8, slotBytes: 1024 * 1024, cpuBudgetMs: 100 }, false, APP);
});

after(async () => {
  await srv?.server.close();
  delete process.env.SQLITE_TEST_DB;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("statements and rows", () => {
  it("binds every type and reads every type back, unicode and blobs whole", async () => {
    assert.equal(await body("/echo?type=int&v=-9007199254740993"), "rows 1 changes 0 last 0\nv=integer:-9007199254740993 t=text:integer\n");
    assert.equal(await body("/echo?type=float&v=0.1"), "rows 1 changes 0 last 0\nv=float:0.1 t=text:real\n");
    assert.equal(await body(`/echo?type=text&v=${encodeURIComponent("héllo ✓ 🎉")}`), "rows 1 changes 0 last 0\nv=text:héllo ✓ 🎉 t=text:text\n");
    assert.equal(await body("/echo?type=blob&v=00ff7f80"), "rows 1 changes 0 last 0\nv=blob:00ff7f80 t=text:blob\n");
    assert.equal(await body("/echo?type=blob&v="), "rows 1 changes 0 last 0\nv=blob: t=text:blob\n");
    assert.equal(await body("/echo?type=null"), "rows 1 changes 0 last 0\nv=null:NULL t=text:null\n");
    assert.equal(await body("/types"), "rows 1 changes 0 last 0\ni=integer:42 f=float:2.5 s=text:héllo ✓ 🎉 b=blob:00ff10 n=null:NULL m=integer:-9223372036854775808\n");
  });

  it("start-up code may query; a missing argument binds NULL", async () => {
    assert.equal(await body("/start"), "from start-up");
    assert.equal(await body("/args"), "rows 1 changes 0 last 0\nv=null:NULL t=text:null\n");
  });

  it("writes report changes and the last rowid, RETURNING rows too", async () => {
    assert.equal(await body("/put?k=a&v=1"), "rows 0 changes 1 last 1\n");
    assert.equal(await body("/put?k=b&iv=7"), "rows 0 changes 1 last 2\n");
    assert.equal(await body("/get?k=b"), "rows 1 changes 0 last 0\nv=integer:7 typeof(v)=text:integer\n");
    assert.equal(await body("/del?k=b"), "rows 0 changes 1 last 2\n");
    assert.equal(await body("/del?k=b"), "rows 0 changes 0 last 2\n");
    assert.match(await body("/item?name=first"), /^rows 1 changes 1 last (\d+)\nid=integer:\1 name=text:first\n$/);
  });

  it("returns many rows, and more than SQLITE_ROWS_MAX or than the arena holds is a TooLarge value", async () => {
    const some = (await body("/count?n=300")).trimEnd().split("\n");
    assert.equal(some.length, 301);
    assert.equal(some[0], "rows 300 changes 0 last 0");
    assert.equal(some[300], "x=integer:300 'row ' || x=text:row 300");
    // 10,000 rows of two cells: about 490 KB of the 1 MiB arena.
    const chars = Array.from({ length: 10000 }, (_, i) => `row ${i + 1}`.length).reduce((a, b) => a + b);
    assert.equal(await body("/sum?n=10000"), `rows 10000 seen 10000 sum 50005000 chars ${chars}`);
    assert.deepEqual(await text("/count?n=10001"), { status: 422, body: "TooLarge: the query returned more than 10000 rows (SQLITE_ROWS_MAX): add a LIMIT" });
    const wide = await text("/wide?n=100&bytes=20000"); // 2 MB: more than the 1 MiB arena
    assert.equal(wide.status, 422);
    assert.match(wide.body, /^TooLarge: the result does not fit the \d+ bytes the caller passed/);
    // The arena is whole again after a result that did not fit.
    assert.match(await body("/wide?n=3&bytes=4"), /^rows 3 /);
  });
});

describe("errors are values", () => {
  it("a constraint error says SQLite's sentence, and changes nothing", async () => {
    await body("/put?k=dup&v=1");
    assert.deepEqual(await text("/put?k=dup&v=2"), { status: 422, body: "Constraint: UNIQUE constraint failed: kv.k" });
    assert.deepEqual(await text("/item?name="), { status: 422, body: "Constraint: CHECK constraint failed: length(name) > 0" });
    assert.equal(await body("/get?k=dup"), "rows 1 changes 0 last 0\nv=text:1 typeof(v)=text:text\n");
  });

  it("a statement with a syntax error keeps its error, and every run of it answers it", async () => {
    assert.equal(await body("/broken"), 'Error: near "SELEC": syntax error / BadArgument');
  });

  it("bad handles, pointers and argument cells are refused as values", async () => {
    assert.equal(await body("/raw?case=handle"), "5 there is no statement 9999: use a handle Sqlite.prepare returned");
    assert.equal(await body("/raw?case=negative"), "5 there is no statement -1: use a handle Sqlite.prepare returned");
    assert.equal(await body("/raw?case=out"), "5 ");
    assert.equal(await body("/raw?case=small"), "5 ");
    assert.equal(await body("/raw?case=args"), "5 argument 1's bytes lie outside the caller's memory");
    assert.equal(await body("/raw?case=type"), "5 argument 1 has type 77, not one of SQL_TYPE_NULL to SQL_TYPE_BLOB");
  });

  it("open and prepare belong to start-up code: in a request they are Unavailable values", async () => {
    assert.equal(await body("/late?what=open"), "open Sqlite.open is allowed only in start-up code (the app's top level)");
    assert.equal(await body("/late?what=prepare"), "prepare Unavailable: Sqlite.prepare is allowed only in start-up code (the app's top level) / BadArgument");
  });
});

describe("transactions", () => {
  it("commit keeps, rollback drops, a conflict inside is a value and the rollback undoes the rest", async () => {
    assert.equal(await body("/tx?k=t1&mode=commit"), "Ok Ok");
    assert.match(await body("/get?k=t1"), /^rows 1 /);
    assert.equal(await body("/tx?k=t2&mode=rollback"), "Ok Ok");
    assert.match(await body("/get?k=t2"), /^rows 0 /);
    assert.equal(await body("/tx?k=t3&mode=conflict"), "Constraint: UNIQUE constraint failed: kv.k; rollback Ok");
    assert.match(await body("/get?k=t3"), /^rows 0 /);
  });

  it("a transaction a request leaves open is rolled back when it ends, with a warning", async () => {
    assert.equal(await body("/tx?k=t4&mode=leave"), "left open");
    assert.match(await body("/get?k=t4"), /^rows 0 /);
    assert.ok(srv.log.lines.some((l) => /a request ended with a transaction open on .*test\.db; it was rolled back/.test(l)), srv.log.lines.join("\n"));
    assert.equal(await body("/tx?k=t4&mode=commit"), "Ok Ok");
  });
});

describe("migrations", () => {
  it("ran in order, once each, and user_version records them", async () => {
    assert.equal(await body("/logged"), "rows 1 changes 0 last 0\ngroup_concat(n, ',')=text:1,2\n");
    assert.equal(await body("/version"), "rows 1 changes 0 last 0\nuser_version=integer:2\n");
  });

  it("a second start on the same file applies nothing again; a failing migration stops start-up and leaves nothing of it", async () => {
    const wasm = await buildApp(APP, false);
    const again = await ArenaServer.create(wasm, APP, { slots: 2, slotBytes: 256 * 1024, log: new MemoryLogger() });
    await again.close();
    process.env.SQLITE_TEST_BAD_MIGRATION = "1";
    try {
      await assert.rejects(ArenaServer.create(wasm, APP, { slots: 2, slotBytes: 256 * 1024, log: new MemoryLogger() }), (err: Error & { code?: string }) => {
        assert.equal(err.code, "ARENA_E_WASM");
        assert.match(err.message, /failed during start-up: Sqlite\.migrate: migration 3 failed: incomplete input/);
        return true;
      });
    } finally {
      delete process.env.SQLITE_TEST_BAD_MIGRATION;
    }
    const check = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal(check.prepare("SELECT group_concat(n, ',') AS g FROM log").get()?.g, "1,2");
      assert.equal(check.prepare("PRAGMA user_version").get()?.user_version, 2);
      assert.equal(check.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    } finally {
      check.close();
    }
  });
});

describe("CPU", () => {
  it("a long query is charged to its request: over the budget it fails with ARENA_E_CPU, and the next request runs", async () => {
    const r = await text("/slow?n=2000000");
    assert.equal(r.status, 500, r.body);
    assert.equal(JSON.parse(r.body).code, "ARENA_E_CPU");
    assert.match(await body("/slow?n=1000"), /^rows 1 changes 0 last 0\nsum\(x\)=integer:500500\n$/);
  });
});
