// The build's may-wait analysis (cli/instrument.ts): which table functions may reach a
// waiting import, written as the `arena.may_wait` section, and what the host does with
// the section: routes it lists skip the plain call, a module without it runs everything
// through JSPI, and a section that is wrong is a loud 500, never a silent second run.
// And the SDK loops the CPU budget leaves uncounted (cli/uncounted.ts): which they are in a
// built module, that the calls around them still stop a runaway, and that the list cannot
// name app code or a function the SDK does not have.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import binaryen from "assemblyscript/binaryen";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import asc from "assemblyscript/asc";
import { ascArgs } from "../cli/build.ts";
import { appendCustomSection, CPU_CHECK_STEP, markMayWait, mayWaitTableIndices } from "../cli/instrument.ts";
import { splitTypeArgs, UncountedLoops, type UncountedEntry } from "../cli/uncounted.ts";
import { MAY_WAIT_SECTION } from "../host/abi/constants.ts";
import { ArenaError } from "../host/errors.ts";
import { MemoryLogger } from "../host/log.ts";
import { ArenaServer } from "../host/server.ts";
import { buildApp, countJspiCalls, type Running } from "./helpers.ts";

const i32 = binaryen.i32;

/** A module with a table at offset 1 of [a, b, c, d, e, r] (table indices 1–6):
 *  - a calls fetch through two levels of direct calls (a → a1 → a2 → arena.fetch);
 *  - b calls a non-waiting import (arena.clock_wall) and never waits;
 *  - c waits only through call_indirect: its signature () → i32 is d's, and d sleeps
 *    (c comes before d, so one pass over the functions is not enough);
 *  - e has d's signature but never waits; r recurses into itself and never waits. */
function sampleModule(): Uint8Array {
  const m = new binaryen.Module();
  try {
    m.addFunctionImport("fetch", "arena", "fetch", i32, i32);
    m.addFunctionImport("sleep", "arena", "sleep", binaryen.f64, i32);
    m.addFunctionImport("clock_wall", "arena", "clock_wall", binaryen.none, binaryen.f64);
    m.addTable("0", 7, 7);
    m.addFunction("c", i32, i32, [], m.call_indirect("0", m.local.get(0, i32), [], binaryen.none, i32));
    m.addFunction("a", i32, i32, [], m.call("a1", [m.local.get(0, i32)], i32));
    m.addFunction("a1", i32, i32, [], m.call("a2", [m.local.get(0, i32)], i32));
    m.addFunction("a2", i32, i32, [], m.call("fetch", [m.local.get(0, i32)], i32));
    m.addFunction("b", i32, i32, [], m.block(null, [m.drop(m.call("clock_wall", [], binaryen.f64)), m.i32.const(0)], i32));
    m.addFunction("d", binaryen.none, i32, [], m.call("sleep", [m.f64.const(1)], i32));
    m.addFunction("e", binaryen.none, i32, [], m.i32.const(0));
    m.addFunction("r", i32, i32, [], m.call("r", [m.local.get(0, i32)], i32));
    m.addActiveElementSegment("0", "elem", ["a", "b", "c", "d", "e", "r"], m.i32.const(1));
    for (const name of ["a", "b", "c", "d", "e", "r"]) m.addFunctionExport(name, name);
    assert.ok(m.validate(), "the sample module is valid");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** The section's table indices, or null when the module has none. */
function section(bytes: Uint8Array): number[] | null {
  const sections = WebAssembly.Module.customSections(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), MAY_WAIT_SECTION);
  if (sections.length === 0) return null;
  assert.equal(sections.length, 1);
  return [...new Uint32Array(sections[0])];
}

/** `bytes` without its custom sections named `name`. */
function withoutSection(bytes: Uint8Array, name: string): Uint8Array {
  const leb = (at: number): [number, number] => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++];
      value |= (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) return [value >>> 0, at];
    }
  };
  const kept: Uint8Array[] = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const [size, contentAt] = leb(at + 1);
    const end = contentAt + size;
    let drop = false;
    if (bytes[at] === 0) {
      const [nameLen, nameAt] = leb(contentAt);
      drop = new TextDecoder().decode(bytes.subarray(nameAt, nameAt + nameLen)) === name;
    }
    if (!drop) kept.push(bytes.subarray(at, end));
    at = end;
  }
  return Buffer.concat(kept);
}

describe("may-wait analysis", () => {
  it("lists handlers that wait through direct calls or call_indirect, not those that never wait", () => {
    // a = 1, c = 3, d = 4; b = 2, e = 5 and r = 6 never wait.
    assert.deepEqual(mayWaitTableIndices(sampleModule()), [1, 3, 4]);
  });

  it("writes the list as the arena.may_wait section, u32 little-endian, and leaves the code valid", () => {
    const plain = sampleModule();
    const marked = markMayWait(plain);
    assert.ok(WebAssembly.validate(marked as Uint8Array<ArrayBuffer>));
    assert.deepEqual(section(marked), [1, 3, 4]);
    // Appended after the module: every byte before it is the input's.
    assert.deepEqual(marked.subarray(0, plain.length), plain);
  });

  it("a module without a table lists nothing (an empty section, not a missing one)", () => {
    const m = new binaryen.Module();
    m.addFunctionImport("sleep", "arena", "sleep", binaryen.f64, i32);
    m.addFunction("f", binaryen.none, i32, [], m.call("sleep", [m.f64.const(1)], i32));
    m.addFunctionExport("f", "f");
    const bytes = m.emitBinary();
    m.dispose();
    assert.deepEqual(section(markMayWait(bytes)), []);
  });

  it("an app built by arena build carries the section, listing its waiting handlers and no others", async () => {
    // A check build keeps function names, so the table can be read by handler name.
    const bytes = await buildApp("tests/fixtures/effectsapp.ts", true);
    const listed = new Set(section(bytes));
    const m = binaryen.readBinary(bytes);
    const byName = new Map<string, boolean>();
    try {
      assert.equal(m.getNumElementSegments(), 1);
      const seg = binaryen.getElementSegmentInfo(m.getElementSegmentByIndex(0));
      const base = (binaryen.getExpressionInfo(seg.offset) as unknown as { value: number }).value;
      seg.data.forEach((name, k) => byName.set(name.replace(/^.*\//, ""), listed.has(base + k)));
    } finally {
      m.dispose();
    }
    for (const name of ["counted", "doFetch", "isolated", "twice", "doSleep", "spinAfterSleep", "indirect", "napThenCount"]) {
      assert.equal(byName.get(name), true, `${name} waits`);
    }
    for (const name of ["spin", "spinNested", "recurse", "doLog", "doEnv", "doRandom"]) {
      assert.equal(byName.get(name), false, `${name} never waits`);
    }
    assert.deepEqual(section(await buildApp("examples/hello/app.ts")), []);
  });
});

describe("the host and the section", () => {
  let wasm: Uint8Array;
  const servers: Running[] = [];

  async function serve(bytes: Uint8Array): Promise<Running> {
    const log = new MemoryLogger();
    const server = await ArenaServer.create(bytes, "effectsapp.wasm", { slots: 4, slotBytes: 256 * 1024, log });
    const port = await server.listen(0, "127.0.0.1");
    const running = { server, port, log };
    servers.push(running);
    return running;
  }

  async function text(s: Running, path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${s.port}${path}`);
    return { status: res.status, body: await res.text() };
  }

  before(async () => {
    wasm = await buildApp("tests/fixtures/effectsapp.ts");
  });

  after(async () => {
    for (const s of servers) await s.server.close();
  });

  it("without the section every route runs through JSPI, and runs once", async () => {
    const s = await serve(withoutSection(wasm, MAY_WAIT_SECTION));
    const jspi = await countJspiCalls(s.server, async () => {
      assert.equal((await text(s, "/counted")).body, "1\n");
      assert.equal((await text(s, "/counted")).body, "2\n");
      assert.equal((await text(s, "/random")).status, 200);
    });
    assert.equal(jspi, 3);
  });

  it("a section that misses a waiting handler makes its request a loud 500, not a second run", async () => {
    // An empty list claims no handler waits: /counted then reaches sleep in a plain call.
    const s = await serve(appendCustomSection(withoutSection(wasm, MAY_WAIT_SECTION), MAY_WAIT_SECTION, new Uint8Array(0)));
    const r = await text(s, "/counted");
    assert.equal(r.status, 500);
    const err = JSON.parse(r.body);
    assert.equal(err.code, "ARENA_E_TRAP");
    assert.match(err.message, /assert: a waiting effect was reached in a plain call/);
    assert.ok(s.log.lines.some((l) => l.includes("assert: a waiting effect was reached in a plain call")), s.log.lines.join("\n"));
    // The instance keeps serving; the route is not quietly moved to JSPI either.
    assert.equal((await text(s, "/random")).status, 200);
    assert.equal((await text(s, "/counted")).status, 500);
  });

  it("a section that is not a list of u32 is refused at start", async () => {
    const bad = appendCustomSection(withoutSection(wasm, MAY_WAIT_SECTION), MAY_WAIT_SECTION, new Uint8Array(3));
    await assert.rejects(ArenaServer.create(bad, "bad.wasm", { slots: 1, log: new MemoryLogger() }), (err: unknown) => {
      assert.ok(err instanceof ArenaError);
      assert.equal(err.code, "ARENA_E_WASM");
      assert.match(err.message, /bad\.wasm's arena\.may_wait section is 3 bytes, not a list of u32 table indices/);
      return true;
    });
  });
});

describe("uncounted SDK loops", () => {
  const FIXTURE = "tests/fixtures/uncounted_app.ts";
  const UTF8 = "~lib/arena/text/utf8/utf8";
  const COMPARE = "~lib/arena/crypto/constantTimeEqual";

  /** Per function with loops: its loops, its loop counters and whether it counts its calls. */
  function loopsByFunction(bytes: Uint8Array): Map<string, { loops: number; counters: number; turns: number; entry: boolean }> {
    const m = binaryen.readBinary(bytes);
    const out = new Map<string, { loops: number; counters: number; turns: number; entry: boolean }>();
    try {
      for (let i = 0; i < m.getNumFunctions(); i++) {
        const fn = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
        if (fn.body === 0) continue;
        const text = binaryen.emitText(fn.body);
        const loops = (text.match(/\(loop\b/g) ?? []).length;
        if (loops === 0) continue;
        // A loop counter masks with CPU_CHECK_STEP - 1; the entry countdown reads the global.
        const counters = text.split(`(i32.const ${CPU_CHECK_STEP - 1})`).length - 1;
        // The entry countdown sets the global twice (decrement, reset); a listed loop's turn once.
        const turns = text.split("global.set $__arena_cpu_calls").length - 1 - 2;
        out.set(fn.name, { loops, counters, turns, entry: text.includes("global.get $__arena_cpu_calls") });
      }
    } finally {
      m.dispose();
    }
    return out;
  }

  /** Runs asc as arena build does, with `list` as the uncounted list; the error, stderr and the
   *  functions found uncounted. */
  async function compileWith(list: readonly UncountedEntry[]): Promise<{ error: Error | null; stderr: string; names: Set<string> }> {
    const transform = new UncountedLoops(list);
    let stderr = "";
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "arena-uncounted-")), "app.wasm");
    const { error } = await asc.main(ascArgs(FIXTURE, out, false), {
      stdout: { write: () => true }, stderr: { write: (s: string) => { stderr += s; return true; } },
      transforms: [transform],
    } as unknown as Parameters<typeof asc.main>[1]);
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
    return { error, stderr, names: transform.names };
  }

  it("a listed SDK loop counts its turns with no check of its own, the app's loop of the same shape has the full counter", async () => {
    // A check build keeps function names; its instrumentation is the release build's.
    const fns = loopsByFunction(await buildApp(FIXTURE, true));
    for (const name of [UTF8, COMPARE]) {
      const f = fns.get(name);
      assert.ok(f !== undefined, `${name} is in the module with its loop: ${[...fns.keys()].join(", ")}`);
      assert.equal(f.counters, 0, `${name}'s loop has no check of its own`);
      assert.equal(f.turns, f.loops, `${name}'s loop turns count down the global countdown`);
      assert.ok(f.entry, `${name}'s calls are still counted at entry`);
    }
    const app = [...fns].filter(([name]) => name.startsWith("tests/fixtures/uncounted_app/"));
    // appHash's loop (inlined or not) and spinCompare's loop.
    assert.ok(app.reduce((n, [, f]) => n + f.loops, 0) >= 2, app.map(([n]) => n).join(", "));
    for (const [name, f] of app) {
      assert.equal(f.counters, f.loops, `${name}: every app loop is counted`);
      assert.equal(f.turns, 0, `${name}: no app loop takes the listed loops' way`);
    }
  });

  it("an app loop that calls a listed function forever is stopped with 500 ARENA_E_CPU", async () => {
    const server = await ArenaServer.create(await buildApp(FIXTURE), "uncounted_app.wasm", { slots: 2, slotBytes: 256 * 1024, log: new MemoryLogger() });
    const port = await server.listen(0, "127.0.0.1");
    try {
      const spin = await fetch(`http://127.0.0.1:${port}/spin-compare`);
      assert.equal(spin.status, 500);
      assert.equal(JSON.parse(await spin.text()).code, "ARENA_E_CPU");
      const ok = await fetch(`http://127.0.0.1:${port}/decode`);
      assert.match(await ok.text(), /^héllo, wörld: ☃ \d+ true\n$/);
    } finally {
      await server.close();
    }
  });

  it("an app loop calling a listed function on a large input is stopped within a few times its budget", async () => {
    // Each call scans the whole body (findKey over 40,000 members, listed); were its turns
    // not counted, 8,192 calls would pass between two checks: over a second past a 50 ms
    // budget. Counted, the next call checks. The bound, 10x, is far from both.
    const budgetMs = 50;
    const server = await ArenaServer.create(await buildApp(FIXTURE), "uncounted_app.wasm",
      { slots: 2, slotBytes: 2 * 1024 * 1024, cpuBudgetMs: budgetMs, log: new MemoryLogger() });
    const port = await server.listen(0, "127.0.0.1");
    try {
      const body = "{" + Array.from({ length: 40_000 }, () => '"a":0').join(",") + "}";
      const t0 = performance.now();
      const spin = await fetch(`http://127.0.0.1:${port}/spin-has`, { method: "POST", body });
      const ms = performance.now() - t0;
      assert.equal(spin.status, 500);
      assert.equal(JSON.parse(await spin.text()).code, "ARENA_E_CPU");
      assert.ok(ms < budgetMs * 10, `stopped after ${Math.round(ms)} ms, budget ${budgetMs} ms`);
    } finally {
      await server.close();
    }
  });

  it("a listed function the SDK does not declare fails the build with one line", async () => {
    for (const [fn, message] of [
      [`${UTF8}Decode`, `cli/uncounted.ts: ${UTF8}Decode is listed, but the SDK declares no such function: fix the name or take it off the list`],
      ["~lib/arena/text/utf16/utf16", "cli/uncounted.ts: ~lib/arena/text/utf16/utf16 is listed, but sdk/lib/arena/text/utf16.ts does not exist: fix the name or take it off the list"],
      ["~lib/arena/router/Router#dispatch", "cli/uncounted.ts: ~lib/arena/router/Router#dispatch is listed, but the SDK declares no such function: fix the name or take it off the list"],
    ]) {
      const { error, stderr } = await compileWith([{ fn, why: "a test" }]);
      assert.equal(error?.message, message);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    }
  });

  it("app code cannot be listed, and an SDK function that can run app code stays counted", async () => {
    for (const fn of ["tests/fixtures/uncounted_app/appHash", "~lib/string/String#indexOf", `${UTF8}<i32>`]) {
      assert.throws(() => new UncountedLoops([{ fn, why: "a test" }]), /^Error: cli\/uncounted.ts: /);
    }
    // Router#handle calls the app's handlers (indirectly): listing it must not exempt it.
    const { error, names } = await compileWith([{ fn: UTF8, why: "a test" }, { fn: "~lib/arena/router/Router#handle", why: "a test" }]);
    assert.equal(error, null);
    assert.deepEqual([...names], [UTF8]);
  });

  it("generic instances match by their name without type arguments", () => {
    assert.deepEqual(splitTypeArgs("~lib/a/F<i32>#m<~lib/b/C<u8>,x/T>"), { base: "~lib/a/F#m", args: ["i32", "~lib/b/C", "u8", "x/T"] });
    assert.deepEqual(splitTypeArgs(UTF8), { base: UTF8, args: [] });
  });
});
