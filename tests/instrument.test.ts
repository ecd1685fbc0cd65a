// The build's may-wait analysis (cli/instrument.ts): which table functions may reach a
// waiting import, written as the `arena.may_wait` section, and what the host does with
// the section: routes it lists skip the plain call, a module without it runs everything
// through JSPI, and a section that is wrong is a loud 500, never a silent second run.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import binaryen from "assemblyscript/binaryen";
import { appendCustomSection, markMayWait, mayWaitTableIndices } from "../cli/instrument.ts";
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
