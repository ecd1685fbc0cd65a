// The check build tells the truth (issue 11, item 5). Ordinary request code passes: the
// corpus (tests/fixtures/checkcorpus.ts) answers 200 with the same bytes as the release
// build. Each way of keeping a request object past its request is caught with a message
// that names the classes and the field or global, and says what to do
// (tests/fixtures/checkmisuse.ts). The rewrite of global stores (runtime/check_globals.js)
// is also tested on source text, for its scope rules, and the release build has none of it.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildApp, exchange, get, ROOT, startTestServer, type Running } from "./helpers.ts";
import type { AppMemory } from "../host/memory/app_memory.ts";
import { VIOLATION_GLOBAL, VIOLATION_LINK } from "../host/abi/constants.ts";
import { ClassTable, ViolationFormatter } from "../host/abi/violation.ts";

const CORPUS = "tests/fixtures/checkcorpus.ts";
const MISUSE = "tests/fixtures/checkmisuse.ts";
const ADVICE = "copy it into the heap first with Heap.keep(), or keep it in the request";
/** The host reads class names from the build's class table only when the server hands it
 *  to the runtime's imports: host/server.ts must pass `ClassTable.fromModule(module.module)`
 *  to appImports (host/abi/violation.ts). Until it does, messages say "an object". */

/** The corpus's routes, in the order both builds are asked (some keep state between calls). */
const CORPUS_ROUTES = ["/template?who=Ada", "/dates", "/strings", "/numbers", "/collections", "/json",
  "/long-lived", "/long-lived", "/long-lived", "/long-lived", "/long-lived", "/long-lived", "/shadowed", "/globals"];

async function fetchAll(t: Running, routes: string[]): Promise<{ status: number; body: string }[]> {
  const out = [];
  for (const route of routes) {
    const r = await exchange(t.port, get(route), { expect: 1 });
    out.push({ status: r.responses[0].status, body: r.responses[0].body.toString() });
  }
  return out;
}

describe("the corpus of ordinary request code", () => {
  let check: Running;
  let release: Running;
  let checked: { status: number; body: string }[];
  let released: { status: number; body: string }[];

  before(async () => {
    check = await startTestServer({}, true, CORPUS);
    release = await startTestServer({}, false, CORPUS);
    checked = await fetchAll(check, CORPUS_ROUTES);
    released = await fetchAll(release, CORPUS_ROUTES);
  });
  after(async () => {
    await check.server.close();
    await release.server.close();
  });

  it("answers 200 on every route in the check build, with the release build's bytes", () => {
    CORPUS_ROUTES.forEach((route, i) => {
      assert.equal(checked[i].status, 200, `${route}: ${checked[i].body}`);
      assert.equal(released[i].status, 200, `${route} (release): ${released[i].body}`);
      assert.equal(checked[i].body, released[i].body, route);
    });
  });

  it("template literals and Date#toISOString give the text JavaScript gives", () => {
    const n = "/template".length;
    const point = (x: number, y: number) => `(${x}, ${y})`;
    const name = "Ada";
    const expected = [`${name}`, `hi ${name}`, `${name}!`, `name=${name} len=${n} half=${n / 2} ok=${n > 0}`,
      `outer ${`inner ${name} ${n}`} ${point(n, 2 * n)}`, [0, 1, 2].map((i) => `${i}:${name};`).join("")].join("|");
    assert.equal(checked[0].body, `${expected}\n`);
    const d = new Date(1700000000123);
    const lines = checked[1].body.split("\n");
    assert.equal(lines[0], d.toISOString());
    assert.equal(lines[1], d.toUTCString());
    assert.equal(lines[5], new Date("2024-02-29T12:34:56.789Z").toISOString());
    assert.equal(lines[6], String(Date.UTC(2020, 0, 1)));
  });

  it("long-lived state grows with heap copies and globals take literals, functions and heap values", () => {
    const visits = checked.slice(6, 12).map((r) => r.body);
    assert.equal(visits[0], "hello green kilometre true true 1\n");
    assert.equal(visits[1], "HELLO AGAIN blue kilometre true true 2\n");
    assert.equal(visits[5], "HELLO AGAIN red kilometre true true 6\n");
  });

  it("a local or a parameter named like a global is not the global: not flagged", () => {
    assert.equal(checked[12].body, "local /shadowed!/shadowed?n//shadowed#\n");
  });

  it("stores into globals of every kind compile and run as in the release build", () => {
    // Chained and conditional stores, an enum, a u8 from a call with |=, a nullable
    // function, a `let g!: T` before its first store, generics, @inline and a callback.
    assert.equal(checked[13].body, "pick box 1 6 done box 7 start-up\n");
  });
});

describe("misuse is caught with names", () => {
  let t: Running;
  before(async () => {
    t = await startTestServer({}, true, MISUSE);
  });
  after(async () => {
    await t.server.close();
  });

  const state = "(tests/fixtures/checkstate.ts)";
  const keepDeep = "a cycle, or a long linked list? — keep a value whose objects do not refer back to each other, or keep its parts one by one";
  const keepMap = "a Map or Set has no fixed layout to copy — make the Map or Set at start-up (it grows in the heap by itself) and keep its keys and values with Heap.keep";
  const freed = "a heap object was freed twice (or a pointer that is not a heap object was freed) — drop every reference to a value once Heap.free has freed it, and free only what Heap.keep returned";
  /** [route, the whole message, the part of it that needs no class table]. */
  const cases: [string, string, string][] = [
    ["/field", `a String made during the request was stored into Note.title of a long-lived Note (start-up) — ${ADVICE}`, `(start-up) — ${ADVICE}`],
    ["/array", `a Note made during the request was stored into an Array<Note> that outlives the request (start-up) — ${ADVICE}`, `(start-up) — ${ADVICE}`],
    ["/map", `a Note made during the request was stored into a Map<String, Note> that outlives the request (start-up) — ${ADVICE}`, `(start-up) — ${ADVICE}`],
    ["/static-array", `a String made during the request was stored into a StaticArray<String> that outlives the request (start-up) — ${ADVICE}`, `(start-up) — ${ADVICE}`],
    ["/heap-field", `a String made during the request was stored into Note.title of a long-lived Note (heap) — ${ADVICE}`, `(heap) — ${ADVICE}`],
    ["/global", `a String made during the request was stored into the module-level global \`last\` (${MISUSE}) — ${ADVICE}`, `global \`last\` (${MISUSE}) — ${ADVICE}`],
    ["/append", `a String made during the request was stored into the module-level global \`last\` (${MISUSE}) — ${ADVICE}`, `global \`last\` (${MISUSE}) — ${ADVICE}`],
    ["/imported", `a String made during the request was stored into the module-level global \`shared\` ${state} — ${ADVICE}`, `global \`shared\` ${state} — ${ADVICE}`],
    ["/module-member", `a String made during the request was stored into the module-level global \`shared\` ${state} — ${ADVICE}`, `global \`shared\` ${state} — ${ADVICE}`],
    ["/namespace", `a String made during the request was stored into the module-level global \`Settings.motto\` ${state} — ${ADVICE}`, `global \`Settings.motto\` ${state} — ${ADVICE}`],
    ["/static", `a String made during the request was stored into the module-level global \`Cache.latest\` ${state} — ${ADVICE}`, `global \`Cache.latest\` ${state} — ${ADVICE}`],
    ["/keep-map", `Heap.keep cannot copy a Map<String, String>: ${keepMap}`, keepMap],
    ["/keep-deep", `Heap.keep was given objects nested deeper than 64 levels (it reached a String past the last): ${keepDeep}`, keepDeep],
    ["/free-twice", freed, freed],
  ];
  for (const [route, , stable] of cases) {
    it(`${route}: 500 ARENA_E_CHECK saying where it was stored and what to do, and the next request is served`, async () => {
      const r = await exchange(t.port, [get(route), get("/ok")], { expect: 2 });
      assert.equal(r.responses[0].status, 500);
      const body = JSON.parse(r.responses[0].body.toString());
      assert.equal(body.code, "ARENA_E_CHECK");
      assert.ok(body.message.startsWith(`GET ${route} (route ${route}): `) && body.message.endsWith(stable), body.message);
      assert.equal(r.responses[1].body.toString(), "ok\n");
    });
  }

  it("each message names the classes and the field or global", async () => {
    for (const [route, message] of cases) {
      const r = await exchange(t.port, get(route), { expect: 1 });
      assert.equal(JSON.parse(r.responses[0].body.toString()).message, `GET ${route} (route ${route}): ${message}`);
    }
  });
});

describe("the release build", () => {
  it("does not include the checks: the same stores answer 200, and no global is rewritten; a double free or an impossible keep still stops the request", async () => {
    const rel = await startTestServer({}, false, MISUSE);
    try {
      for (const route of ["/field", "/array", "/map", "/static-array", "/global", "/imported", "/static"]) {
        const r = await exchange(rel.port, get(route), { expect: 1 });
        assert.equal(r.responses[0].status, 200, route);
      }
      // What would corrupt the heap, or cannot be kept, is stopped in every build.
      for (const route of ["/free-twice", "/keep-map", "/keep-deep"]) {
        const r = await exchange(rel.port, get(route), { expect: 1 });
        assert.equal(r.responses[0].status, 500, route);
        assert.equal(JSON.parse(r.responses[0].body.toString()).code, "ARENA_E_CHECK", route);
      }
    } finally {
      await rel.server.close();
    }
    // The rewrite puts each global's label into the check build's static data (UTF-16).
    const label = Buffer.from(`${MISUSE}:last`, "utf16le");
    assert.ok(Buffer.from(await buildApp(MISUSE, true)).includes(label), "the check build checks `last`");
    assert.ok(!Buffer.from(await buildApp(MISUSE, false)).includes(label), "the release build does not");
  });

  it("carries the class table, so heap misuse in any build names its classes", async () => {
    const module = await WebAssembly.compile(await buildApp(MISUSE, false) as Uint8Array<ArrayBuffer>);
    const [section] = WebAssembly.Module.customSections(module, "arena.classes");
    const table = JSON.parse(new TextDecoder().decode(section)) as { version: number; classes: { name: string; fields: [string, number][] }[] };
    assert.equal(table.version, 1);
    const note = table.classes.find((c) => c.name === "Note");
    assert.deepEqual(note?.fields, [["title", 0], ["next", 4]]);
  });
});

/** The asc compiler's parser and the rewrite, loaded as the build loads them. */
interface Asc {
  newOptions(): unknown;
  newProgram(options: unknown): { sources: { normalizedPath: string }[] };
  parse(program: unknown, text: string, path: string, isEntry: boolean): void;
  ASTBuilder: { build(node: unknown): string };
}
const asc = await import("assemblyscript") as unknown as Asc;
const { checkGlobalStores } = await import(pathToFileURL(path.join(ROOT, "runtime/check_globals.js")).href) as
  { checkGlobalStores(sources: unknown[], baseDir: string, exclude: string[]): number };

/** `text` as the check build rewrites it (app.ts beside `others`), printed back as source. */
function rewrite(text: string, others: Record<string, string> = {}): string {
  const program = asc.newProgram(asc.newOptions());
  asc.parse(program, text, "app.ts", true);
  for (const [file, source] of Object.entries(others)) asc.parse(program, source, file, false);
  checkGlobalStores(program.sources, "/", []);
  return asc.ASTBuilder.build(program.sources.find((s) => s.normalizedPath === "app.ts"));
}

const check = (target: string, value: string, label: string) => `${target} = __arena_check_global(() => ${target}, ${value}, "${label}");`;

describe("the rewrite of global stores (check build)", () => {
  it("wraps stores into let and var globals, plain and compound, and leaves consts' fields to __link", () => {
    const out = rewrite(`let last: string = ""; var any = "a"; const holder = new Holder();
      function f(v: string): void { last = v; any += v; holder.name = v; }`);
    assert.ok(out.includes(check("last", "v", "app.ts:last")), out);
    assert.ok(out.includes(check("any", "any + v", "app.ts:any")), out);
    assert.ok(out.includes("holder.name = v;"), out);
  });

  it("leaves globals that cannot hold an object alone: number, bool and function types, number and bool literals", () => {
    const out = rewrite(`let n = 0; let x: f64 = 1; let b = true; let neg = -1; let h: ((s: string) => string) | null = null;
      function f(): void { n = 2; x = 3; b = false; neg = 4; h = null; }`);
    assert.ok(!out.includes("__arena_check_global"), out);
  });

  it("does not wrap a parameter, a local, a loop or catch variable, or an arrow's parameter named like the global", () => {
    const out = rewrite(`let last: string = "";
      function a(last: string): void { last = "p"; }
      function b(v: string): void { let last = v; last = "l"; }
      function c(v: string): void { for (let last = v; ; ) { last = "f"; } }
      function d(v: string): void { const g = (last: string): void => { last = "a"; }; }
      function e(v: string): void { var last = v; { last = "v"; } }`);
    assert.ok(!out.includes("__arena_check_global"), out);
  });

  it("scopes follow the blocks: a local ends with its block, a store before it is the global", () => {
    const out = rewrite(`let last: string = "";
      function f(v: string): void { { let last = v; last = "inner"; } last = v; }`);
    assert.ok(out.includes(`last = "inner";`), out);
    assert.ok(out.includes(check("last", "v", "app.ts:last")), out);
  });

  it("follows namespaces, static fields and imports to the global they name", () => {
    const state = `export let shared: string = ""; export namespace Settings { export let motto: string = ""; }
      export class Cache { static latest: string = ""; static hits: i32 = 0; }`;
    const out = rewrite(`import { shared as s, Settings, Cache } from "./state"; import * as st from "./state";
      namespace Local { let inner: string = ""; export function set(v: string): void { inner = v; } }
      function f(v: string): void { s = v; st.shared = v; Settings.motto = v; Cache.latest = v; Cache.hits = 1; }`,
    { "state.ts": state });
    for (const [target, label] of [["inner", "app.ts:Local.inner"], ["s", "state.ts:shared"], ["st.shared", "state.ts:shared"],
      ["Settings.motto", "state.ts:Settings.motto"], ["Cache.latest", "state.ts:Cache.latest"]]) {
      assert.ok(out.includes(check(target, "v", label)), `${target}\n${out}`);
    }
    assert.ok(out.includes("Cache.hits = 1;"), out);
  });

  it("leaves the platform's own sources alone", () => {
    const program = asc.newProgram(asc.newOptions());
    asc.parse(program, `let last: string = ""; function f(v: string): void { last = v; }`, "sdk/lib/x.ts", true);
    assert.equal(checkGlobalStores(program.sources, "/", ["/sdk"]), 0);
  });
});

describe("violation messages from the class table (host/abi/violation.ts)", () => {
  /** A memory of 64 KiB with start-up below 16 KiB and the heap below 32 KiB, and a
   *  formatter over it with the misuse fixture's class table. */
  async function formatter() {
    const table = ClassTable.fromModule(await WebAssembly.compile(await buildApp(MISUSE, false) as Uint8Array<ArrayBuffer>));
    const buffer = new ArrayBuffer(65536);
    const memory = { plan: { startupBytes: 16384, slotsBase: 32768 }, u8: new Uint8Array(buffer), dv: new DataView(buffer) };
    const strings = new Map<number, string>([[40000, `${MISUSE}:last`]]);
    const f = new ViolationFormatter(memory as unknown as AppMemory, table, (ptr) => strings.get(ptr) ?? "");
    const classId = (name: string) => {
      for (let id = 0; id < 1000; id++) if (table.get(id)?.name === name) return id;
      throw new Error(`no class ${name}`);
    };
    /** Writes an object header of class `name` for the object at `ptr`. */
    const object = (ptr: number, name: string) => memory.dv.setUint32(ptr - 8, classId(name), true);
    return { f, memory, object };
  }

  it("names the child's class, the parent's field and class, and the parent's region", async () => {
    const { f, memory, object } = await formatter();
    object(1024, "Note");
    object(40016, "String");
    memory.dv.setUint32(1024 + 4, 40016, true);
    assert.equal(f.format(VIOLATION_LINK, 1024, 40016), `a String made during the request was stored into Note.next of a long-lived Note (start-up) — ${ADVICE}`);
    object(20000, "Array<Note>");
    object(40064, "Note");
    assert.equal(f.format(VIOLATION_LINK, 20000, 40064), `a Note made during the request was stored into an Array<Note> that outlives the request (heap) — ${ADVICE}`);
  });

  it("names the global from its label and the value's class", async () => {
    const { f, object } = await formatter();
    object(40016, "String");
    assert.equal(f.format(VIOLATION_GLOBAL, 40016, 40000), `a String made during the request was stored into the module-level global \`last\` (${MISUSE}) — ${ADVICE}`);
  });

  it("without a class table says \"an object\" and still names the region and the global", async () => {
    const buffer = new ArrayBuffer(65536);
    const memory = { plan: { startupBytes: 16384, slotsBase: 32768 }, u8: new Uint8Array(buffer), dv: new DataView(buffer) };
    const f = new ViolationFormatter(memory as unknown as AppMemory, new ClassTable(), () => "app.ts:last");
    assert.equal(f.format(VIOLATION_LINK, 1024, 40016), `an object made during the request was stored into a long-lived object (start-up) — ${ADVICE}`);
    assert.equal(f.format(VIOLATION_GLOBAL, 40016, 40000), `an object made during the request was stored into the module-level global \`last\` (app.ts) — ${ADVICE}`);
  });
});
