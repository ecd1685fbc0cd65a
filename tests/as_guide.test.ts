// docs/assemblyscript.md's snippets are real: every ```ts block carries a marker. A block
// marked `<!-- asguide:name -->` must appear verbatim in tests/fixtures/asguide.ts, which is
// built (check build) and served here, and the answers the guide states are asserted; a
// block marked `<!-- asguide: fails with "CODE: message" … -->` is compiled on its own and
// must fail with each quoted error.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { ROOT, startTestServer, type Running } from "./helpers.ts";

const GUIDE = "docs/assemblyscript.md";
const FIXTURE = "tests/fixtures/asguide.ts";
const PRELUDE = 'import { Router, Request, Response, ByteWriter, Json, JsonWriter, envOr, serve } from "arena";\n';

/** Errors the guide quotes in its prose, each with code that gives it. */
const PROSE_ERRORS: [string, string][] = [
  ["const point = { x: 1, y: 2 };", "TS2322: Type '<object>' is not assignable to type 'auto'"],
  ["async function load(): Promise<i32> { return 1; }", "TS1109: Expression expected."],
];

interface Snippet { marker: string; code: string; line: number }

function snippets(): Snippet[] {
  const lines = fs.readFileSync(path.join(ROOT, GUIDE), "utf8").split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```ts") continue;
    const end = lines.indexOf("```", i + 1);
    out.push({ marker: i > 0 ? lines[i - 1] : "", code: lines.slice(i + 1, end).join("\n"), line: i + 1 });
    i = end;
  }
  return out;
}

function expectedErrors(marker: string): string[] | null {
  const m = /^<!-- asguide: fails with (.*) -->$/.exec(marker);
  return m === null ? null : [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

/** asc's output for `source`, built with the arena CLI; resolves with the exit code too. */
function compile(source: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "cli/arena.ts"), "build", source, "-o", source.replace(/\.ts$/, ".wasm")], { cwd: ROOT });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("close", (code) => resolve({ code: code ?? -1, out: stripVTControlCharacters(out) }));
  });
}

it("every snippet of the guide is marked, and the compiling ones are in the fixture verbatim", () => {
  const fixture = fs.readFileSync(path.join(ROOT, FIXTURE), "utf8");
  const all = snippets();
  assert.ok(all.length >= 15, `only ${all.length} snippets found`);
  for (const s of all) {
    if (expectedErrors(s.marker) !== null) continue;
    assert.match(s.marker, /^<!-- asguide:\w+ -->$/, `${GUIDE}:${s.line}: a ts block without a marker (asguide:name, or asguide: fails with "…")`);
    assert.ok(fixture.includes(s.code + "\n"), `${GUIDE}:${s.line} (${s.marker}) is not in ${FIXTURE} verbatim: copy it there`);
  }
});

it("the snippets that do not compile fail with the errors the guide quotes", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "asguide-"));
  try {
    const failing = snippets().filter((s) => expectedErrors(s.marker) !== null);
    assert.ok(failing.length >= 6);
    // What the guide's prose quotes without a block of its own.
    const guide = fs.readFileSync(path.join(ROOT, GUIDE), "utf8");
    for (const [code, error] of PROSE_ERRORS) {
      assert.ok(guide.includes(error), `${GUIDE} no longer quotes "${error}": update PROSE_ERRORS`);
      failing.push({ marker: `<!-- asguide: fails with "${error}" -->`, code, line: 0 });
    }
    const results = await Promise.all(failing.map((s, i) => {
      const file = path.join(tmp, `snippet${i}.ts`);
      fs.writeFileSync(file, PRELUDE + s.code + "\nserve(new Router());\n");
      return compile(file);
    }));
    failing.forEach((s, i) => {
      assert.equal(results[i].code, 1, `${GUIDE}:${s.line} compiled, but the guide says it does not`);
      for (const e of expectedErrors(s.marker)!) {
        assert.ok(results[i].out.includes("ERROR " + e), `${GUIDE}:${s.line}: no "ERROR ${e}" in:\n${results[i].out}`);
      }
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

describe("the guide's fixture answers what the guide says", () => {
  let app: Running;
  before(async () => {
    app = await startTestServer({ slots: 4 }, true, FIXTURE);
  });
  after(async () => {
    await app.server.close();
  });

  async function text(p: string, init: RequestInit = {}): Promise<[number, string]> {
    const res = await fetch(`http://127.0.0.1:${app.port}${p}`, init);
    return [res.status, await res.text()];
  }

  it("closures: a module-level variable, a class with a method, a non-capturing arrow, hooks", async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/greet/Ada`);
    assert.equal(res.headers.get("x-powered-by"), "Arena");
    assert.deepEqual([res.status, await res.text()], [200, "Hello, Ada!\n"]);
    assert.deepEqual(await text("/sorted"), [200, "1,2,3\n"]);
    assert.deepEqual(await text("/admin"), [403, '{"code":"FORBIDDEN"}']);
    assert.deepEqual(await text("/admin", { headers: { "x-api-key": "dev-key" } }), [200, "welcome, admin\n"]);
  });

  it("errors as values; an abort is a 500 for that request only", async () => {
    assert.deepEqual(await text("/page?page=12"), [200, "page 12\n"]);
    assert.deepEqual(await text("/page?page=x1"), [400, "page must be a number\n"]);
    const [status, body] = await text("/unchecked/cake");
    assert.equal(status, 500);
    assert.match(body, /"code":"ARENA_E_TRAP".*Key does not exist/);
    assert.deepEqual(await text("/price/tea"), [200, "3\n"]);
    assert.deepEqual(await text("/price/cake"), [404, "no such item\n"]);
  });

  it("JSON, nulls, numbers, strings, types and generics", async () => {
    const body = JSON.stringify({ name: "ada", tags: ["x", { a: 1 }] });
    assert.deepEqual(await text("/rename", { method: "POST", body }), [200, '{"name":"ADA","tags":["x",{"a":1}]}']);
    assert.deepEqual(await text("/rename", { method: "POST", body: "{" }), [400, '{"error":"bad JSON"}']);
    assert.deepEqual(await text("/nickname?name=ada"), [200, "ADA\n"]);
    assert.deepEqual(await text("/numbers"), [200, "3 3.5 -2147483648 4294967295 3\n"]);
    assert.deepEqual(await text("/lengths"), [200, "8 11\n"]);
    assert.deepEqual(await text("/items"), [200, "<ul><li>item 1</li><li>item 2</li><li>item 3</li></ul>"]);
    assert.deepEqual(await text("/options"), [200, "Hi world Notes 5\n"]);
    assert.deepEqual(await text("/generics"), [200, "9 pear a string, an integer, a float\n"]);
  });
});
